"""Python API: `Classifier.load(run_dir).classify(["Bienaventurados los pobres"])[0].label`."""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from seq2seq.batch_shapes import padded_ids
from seq2seq.config import SETTINGS_WITHOUT_SEARCH
from seq2seq.data.labels import LABELS_FILE, LabelVocabulary
from seq2seq.data.readers import normalize_text
from seq2seq.data.tokenizer import SOURCE_NAME, Tokenizer
from seq2seq.errors import Seq2SeqError
from seq2seq.models.loading import check_size, load_run_model
from seq2seq.tasks.classification.model import SequenceClassifier
from seq2seq.tokens import EOS_ID


@dataclass
class Classification:
    """A text, the pieces the model read, and its most probable labels."""

    text: str
    pieces: list  # the input pieces, EOS last, cut to data.max_source_length
    truncated: bool  # whether the text had more pieces than the model read
    top: list  # (label, probability) pairs, the most probable first
    pooling_weights: object  # how much each piece counted, (len(pieces),) summing to 1; None for pooling: last

    @property
    def label(self) -> str:
        return self.top[0][0]


def encode_texts(tokenizer, texts, max_length) -> tuple[list, list]:
    """-> (one id list per text, EOS last, at most `max_length` long; per text, whether it was cut).

    A long text keeps its first pieces rather than being dropped: a classifier must answer for every
    text it is given, so training sees long texts cut exactly as prediction cuts them.
    """
    pieces = tokenizer.encode(texts)
    return [ids[:max_length - 1] + [EOS_ID] for ids in pieces], [len(ids) >= max_length for ids in pieces]


class Classifier:
    """Labels texts with one model, its tokenizer and its label set."""

    def __init__(self, model, tokenizer, labels, max_length, batch_size=64):
        self.model = model
        self.tokenizer = tokenizer
        self.labels = labels
        self.max_length = max_length
        self.batch_size = batch_size
        # One trace for every batch shape (batches are padded to one of a few: batch_shapes.py).
        self._predict = tf.function(self._probabilities_and_weights, reduce_retracing=True,
                                    input_signature=[tf.TensorSpec((None, None), tf.int32)])

    @classmethod
    def load(cls, run_dir, model_file=None, **decode_settings):
        """Load the best model (or `model_file`, e.g. from `seq2seq average`), tokenizer and labels of a
        run made by `seq2seq train` with `task: classification`.

        Of the decode settings only `batch_size` (texts classified together) and `precision` apply; a
        classifier takes the most probable label, so search settings are refused rather than ignored.
        """
        search_settings = sorted(set(decode_settings) - set(SETTINGS_WITHOUT_SEARCH))
        if search_settings:
            raise Seq2SeqError(f"search settings ({', '.join(search_settings)}) do not apply to a classification "
                               "run, which takes the most probable label; drop them")
        run, config, model, model_file = load_run_model(run_dir, "classification", SequenceClassifier, model_file,
                                                        decode_settings.get("precision"))
        run.require(run.path / f"{SOURCE_NAME}.model", "the tokenizer is missing")
        tokenizer = Tokenizer.load(run.path / f"{SOURCE_NAME}.model")
        labels = LabelVocabulary.load(run.path)
        settings = model.get_config()
        check_size(model_file, settings["vocab_size"], tokenizer.vocab_size, "pieces", tokenizer.model_file)
        check_size(model_file, settings["num_classes"], len(labels), "labels", run.path / LABELS_FILE)
        return cls(model, tokenizer, labels, config.data.max_source_length,
                   decode_settings.get("batch_size") or config.decode.batch_size)

    def classify(self, texts, top_k=1) -> list:
        """-> one `Classification` per text, in order, with its `top_k` most probable labels."""
        texts = [text if not isinstance(text, str) else normalize_text(text) for text in texts]
        for number, text in enumerate(texts, start=1):
            if not isinstance(text, str) or not text:
                raise Seq2SeqError(f"text {number} is empty: give text to classify")
        if not 1 <= top_k <= len(self.labels):
            raise Seq2SeqError(f"top_k must be between 1 and the {len(self.labels)} labels of this run, got {top_k}")
        ids, truncated = encode_texts(self.tokenizer, texts, self.max_length)
        results = [None] * len(texts)
        # Sorting by length keeps padding, and so wasted recurrent steps, small in every batch; the shapes
        # are rounded to a few (batch_shapes.py), so a service's memory stops growing.
        order = sorted(range(len(texts)), key=lambda index: len(ids[index]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            padded = padded_ids([ids[index] for index in batch])
            probabilities, weights = (None if value is None else value.numpy() for value in self._predict(padded))
            for row, index in enumerate(batch):
                best = np.argsort(-probabilities[row], kind="stable")[:top_k]
                results[index] = Classification(
                    texts[index], self.tokenizer.id_to_piece(ids[index]), truncated[index],
                    [(self.labels.names[label], float(probabilities[row, label])) for label in best],
                    None if weights is None else weights[row, :len(ids[index])])
        return results

    def _probabilities_and_weights(self, ids):
        logits, weights = self.model.logits_and_weights(ids)
        return tf.nn.softmax(logits), weights

