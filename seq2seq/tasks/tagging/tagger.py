"""Python API: `Tagger.load(run_dir).tag(["Juan vive en Madrid"])` -> [[("Juan", "B-PER"), ...]].

A text is a string, cut into words at whitespace, or a list of words. A truecasing run reads a text as
its training verses were read (`seq2seq.data.truecase.words_and_labels`: lowercased, the marks around
words taken away), so it takes text in any case, punctuated or not, and `restore` writes it back
cased and punctuated. Each word's label is the best one at its first piece (`seq2seq.tasks.tagging.pieces`).
"""


import tensorflow as tf
from keras import ops

from seq2seq.batch_shapes import padded_ids
from seq2seq.data.labels import LABELS_FILE, LabelVocabulary
from seq2seq.data.readers import normalize_text
from seq2seq.data.tokenizer import SOURCE_NAME, Tokenizer
from seq2seq.data.truecase import restore, words_and_labels
from seq2seq.errors import Seq2SeqError
from seq2seq.models.loading import check_size, load_run_model
from seq2seq.tasks.tagging import TRUECASE_CORPUS
from seq2seq.tasks.tagging.model import TaggingModel
from seq2seq.tasks.tagging.pieces import to_pieces

TOKENIZER_FILE = f"{SOURCE_NAME}.model"


class Tagger:
    """Labels every word of lists of texts with one model, `batch_size` sentences at a time."""

    def __init__(self, model, tokenizer, labels: LabelVocabulary, batch_size=64, truecase=False):
        if batch_size < 1:
            raise Seq2SeqError(f"the batch size must be at least 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.labels = labels
        self.batch_size = batch_size
        self.truecase = truecase
        # One trace serves every batch shape.
        self._best_label_ids = tf.function(self._best_labels_of,
                                           input_signature=[tf.TensorSpec((None, None), tf.int32)])

    @classmethod
    def load(cls, run_dir, model_file=None, batch_size=None, precision=None):
        """The best model of a tagging run (or `model_file`), its tokenizer and labels.

        `batch_size` and `precision` default to the run's `decode:` settings.
        """
        run, config, model, model_file = load_run_model(run_dir, "tagging", TaggingModel, model_file, precision)
        run.require(run.path / TOKENIZER_FILE, "was it made by `seq2seq train`?")
        tokenizer = Tokenizer.load(run.path / TOKENIZER_FILE)
        labels = LabelVocabulary.load(run.path)
        settings = model.get_config()
        check_size(model_file, settings["vocab_size"], tokenizer.vocab_size, "pieces", tokenizer.model_file)
        check_size(model_file, settings["num_labels"], len(labels), "labels", run.path / LABELS_FILE)
        return cls(model, tokenizer, labels, config.decode.batch_size if batch_size is None else batch_size,
                   truecase=config.data.corpus == TRUECASE_CORPUS)

    def tag(self, texts) -> list:
        """-> per text, its words each with its label: [(word, label), ...]."""
        sentences = self.words_of(texts)
        return [list(zip(words, labels)) for words, labels in zip(sentences, self.tag_words(sentences))]

    def restore(self, texts) -> list:
        """Truecasing runs: -> each text cased and punctuated as the model predicts, words separated by spaces."""
        if not self.truecase:
            raise Seq2SeqError("restore needs a truecasing run (data.corpus: bible-truecase); use tag")
        sentences = self.words_of(texts)
        return [restore(words, labels) for words, labels in zip(sentences, self.tag_words(sentences))]

    def words_of(self, texts) -> list:
        """The words the model reads in each text; a text without words is an error naming it."""
        return [self._words(text, number) for number, text in enumerate(texts, start=1)]

    def _words(self, text, number) -> list:
        if isinstance(text, str):
            given = text.split()
        elif isinstance(text, (list, tuple)) and all(isinstance(word, str) for word in text):
            given = list(text)
        else:
            raise Seq2SeqError(f"text {number} is a {type(text).__name__}: give a string or a list of words")
        if self.truecase:
            words = words_and_labels(" ".join(given))[0]
        else:
            words = [normalize_text(word) for word in given]
        if not words or not all(words):
            what = "no word (letters or digits)" if self.truecase else "an empty word or no word at all"
            raise Seq2SeqError(f"text {number} has {what}: give words to tag")
        return words

    def tag_words(self, sentences) -> list:
        """Sentences already as the run's words (lists of them) -> a label per word."""
        pieced = to_pieces(self.tokenizer, sentences)
        results = [None] * len(sentences)
        # Sorting by length keeps padding, and so wasted steps, small in every batch; the shapes are
        # rounded to a few (batch_shapes.py), so a service's memory stops growing.
        order = sorted(range(len(sentences)), key=lambda index: len(pieced.ids[index]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            best = self._best_label_ids(padded_ids([pieced.ids[index] for index in batch])).numpy()
            for row, index in enumerate(batch):
                results[index] = [self.labels.names[best[row, position]] for position in pieced.word_starts[index]]
        return results

    def _best_labels_of(self, ids):
        """ids (B, S) -> the best label id at each position; id 0 ("no label") is never a word's label."""
        first = self.labels.first_real_id
        return ops.argmax(self.model(ids, training=False)[..., first:], axis=-1) + first

