"""`LanguageModel`: generate text from a trained language model run, and score text with it.

    model = LanguageModel.load("runs/lm_char_en", temperature=0.8, n_best=3)
    model.generate(["In the beginning"])   # -> [[three continuations of the prompt]]
    model.score(["And God said"])          # -> [bits per character]

Generation runs the same compiled greedy, beam and sampling search as translation (`seq2seq.search`),
on a model with nothing to attend over: the prompt is read first, and each continuation ends at the
end of its line (EOS) or after `decode.max_generated_length` pieces.
"""

import numpy as np

from seq2seq.config import updated_decode
from seq2seq.data.readers import normalize_text
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.errors import Seq2SeqError
from seq2seq.models.loading import check_size, load_run_model
from seq2seq.search import PROMPT_IDS, CompiledSearch
from seq2seq.tasks.language_model.model import RecurrentLanguageModel
from seq2seq.tasks.language_model.scoring import bits_per_character, text_nats
from seq2seq.tasks.language_model.training import TOKENIZER_FILE
from seq2seq.tokens import EOS_ID, PAD_ID


class LanguageModel:
    def __init__(self, model, tokenizer, decode):
        self.model = model
        self.tokenizer = tokenizer
        self.decode = decode
        self._search = CompiledSearch(model, decode, with_attention=False, kind=PROMPT_IDS)

    @classmethod
    def load(cls, run_dir, model_file=None, **decode_settings):
        """The best model of a language model run (or `model_file`); keyword arguments change its
        decode settings, e.g. `temperature=0.7, n_best=5, seed=3`."""
        run, config, model, model_file = load_run_model(run_dir, "language_model", RecurrentLanguageModel, model_file,
                                                        decode_settings.get("precision"))
        run.require(run.path / TOKENIZER_FILE, "was it made by `seq2seq train`?")
        tokenizer = Tokenizer.load(run.path / TOKENIZER_FILE)
        check_size(model_file, model.get_config()["vocab_size"], tokenizer.vocab_size, "pieces", tokenizer.model_file)
        return cls(model, tokenizer, updated_decode(config.decode, decode_settings))

    def generate(self, prompts=("",)) -> list:
        """-> for each prompt, its `decode.n_best` texts (the prompt and its continuation), best or first drawn first."""
        prompts = [normalize_text(prompt) for prompt in prompts]
        results = []
        for start in range(0, len(prompts), self.decode.batch_size):
            batch = prompts[start:start + self.decode.batch_size]
            prompt_ids = [[EOS_ID, *ids] for ids in self.tokenizer.encode(batch)]
            found = self._search(_padded(prompt_ids))
            for row, ids in enumerate(prompt_ids):
                continuations = [list(tokens) for tokens in found.tokens[row]]
                results.append(self.tokenizer.decode([ids[1:] + tokens for tokens in continuations]))
        return results

    def score(self, texts) -> list:
        """-> bits per character of each text, read alone from the start of a line to its end."""
        texts = [normalize_text(text) for text in texts]
        for number, text in enumerate(texts, start=1):
            if not text:
                raise Seq2SeqError(f"text {number} is empty: give text to score")
        nats = text_nats(self.model, self.tokenizer, texts, self.decode.batch_size)
        return [bits_per_character(value, len(text) + 1) for value, text in zip(nats, texts)]

    def next_piece_probabilities(self, text) -> tuple:
        """-> (the pieces of `text`, probabilities (len + 1, V)): row i is the distribution of the piece
        after the first i pieces (row 0: of the first piece, after a line end)."""
        pieces = self.tokenizer.pieces(normalize_text(text))
        ids = np.asarray([[EOS_ID, *self.tokenizer.encode([normalize_text(text)])[0]]], np.int32)
        logits = np.asarray(self.model(ids))[0]
        probabilities = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return pieces, probabilities / probabilities.sum(axis=-1, keepdims=True)


def _padded(id_lists) -> np.ndarray:
    grid = np.full((len(id_lists), max(map(len, id_lists))), PAD_ID, np.int32)
    for row, ids in enumerate(id_lists):
        grid[row, :len(ids)] = ids
    return grid
