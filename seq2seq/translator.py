"""Python API: `Translator.load(run_dir).translate(["¿Dónde está el libro?"])`."""

from dataclasses import dataclass

import numpy as np

from seq2seq.errors import Seq2SeqError
from seq2seq.run_dir import RunDirectory, load_model_file
from seq2seq.search import CompiledSearch
from seq2seq.tokenizer import EOS_ID, load_tokenizers


@dataclass
class Translation:
    """One translation with what produced it, for display and attention plots."""

    source: str
    text: str
    source_pieces: list
    target_pieces: list
    attention: np.ndarray  # (target pieces incl. EOS, source pieces incl. EOS)


class Translator:
    def __init__(self, model, source_tokenizer, target_tokenizer, decode_config):
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.batch_size = decode_config.batch_size
        self._search = CompiledSearch(model, decode_config.max_length_ratio, decode_config.max_length_offset)

    @classmethod
    def load(cls, run_dir):
        """Load the best model and tokenizers of a run directory made by `seq2seq train`."""
        run = RunDirectory(run_dir)
        config = run.load_config()
        run.require(run.model_file, "training has not finished an epoch yet")
        source_tokenizer, target_tokenizer = load_tokenizers(run.path)
        model = load_model_file(run.model_file, compile=False)
        _check_vocabularies(model, source_tokenizer, target_tokenizer, run.path)
        return cls(model, source_tokenizer, target_tokenizer, config.decode)

    def translate(self, sentences) -> list:
        """Translate a list of sentences; returns a list of strings in the same order."""
        return [result.text for result in self.translate_with_details(sentences)]

    def translate_with_details(self, sentences) -> list:
        sentences = list(sentences)
        for index, sentence in enumerate(sentences):
            if not isinstance(sentence, str) or not sentence.strip():
                raise Seq2SeqError(f"sentence {index + 1} is empty: give text to translate")
        source_ids = [ids + [EOS_ID] for ids in self.source_tokenizer.encode(sentences)]
        results = [None] * len(sentences)
        # Sorting by length keeps padding, and so wasted steps, small in every batch.
        order = sorted(range(len(sentences)), key=lambda i: len(source_ids[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            padded = np.zeros((len(batch), max(len(source_ids[i]) for i in batch)), dtype=np.int32)
            for row, index in enumerate(batch):
                padded[row, :len(source_ids[index])] = source_ids[index]
            tokens, attention = self._search(padded)
            for row, index in enumerate(batch):
                results[index] = self._describe(sentences[index], source_ids[index], tokens[row], attention[row])
        return results

    def _describe(self, sentence, source_ids, tokens, attention):
        tokens = list(tokens)
        length = tokens.index(EOS_ID) + 1 if EOS_ID in tokens else len(tokens)
        target_ids = tokens[:length]
        return Translation(
            source=sentence,
            text=self.target_tokenizer.decode([target_ids])[0],
            source_pieces=self.source_tokenizer.id_to_piece(source_ids),
            target_pieces=self.target_tokenizer.id_to_piece(target_ids),
            attention=attention[:length, :len(source_ids)],
        )


def _check_vocabularies(model, source_tokenizer, target_tokenizer, run_path):
    """Tokenizer files from another run would feed out-of-range ids deep into TensorFlow."""
    settings = model.get_config()
    for side, tokenizer in (("source", source_tokenizer), ("target", target_tokenizer)):
        expected = settings[f"{side}_vocab_size"]
        if expected != tokenizer.vocab_size:
            raise Seq2SeqError(
                f"{tokenizer.model_file}: {tokenizer.vocab_size} pieces, but the model in {run_path} was "
                f"trained with {expected} {side} pieces; the tokenizer files belong to another run")
