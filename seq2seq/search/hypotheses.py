"""Search results as text: what `Translator` and `Captioner` return for each output."""

from dataclasses import dataclass

import numpy as np

from seq2seq.errors import Seq2SeqError
from seq2seq.search import is_real
from seq2seq.tokens import EOS_ID


@dataclass
class Hypothesis:
    """One output of the search, with what produced it, for n-best lists and attention plots."""

    text: str
    score: float
    target_pieces: list
    attention: np.ndarray  # (target pieces incl. EOS, memory positions: source pieces or image cells), or None


class BestHypothesis:
    """For results holding `hypotheses`, best first: the best one's text, score, pieces and attention."""

    text = property(lambda self: self.hypotheses[0].text)
    score = property(lambda self: self.hypotheses[0].score)
    target_pieces = property(lambda self: self.hypotheses[0].target_pieces)
    attention = property(lambda self: self.hypotheses[0].attention)


def read_hypotheses(found, row, tokenizer, memory_length) -> list:
    """The n-best `Hypothesis` list of one input of a search's `Hypotheses`, best first."""
    hypotheses = []
    for rank in range(found.scores.shape[1]):
        if not is_real(found.scores[row, rank]):
            continue
        tokens = list(found.tokens[row, rank])
        length = tokens.index(EOS_ID) + 1 if EOS_ID in tokens else len(tokens)
        attention = None if found.attention is None else found.attention[row, rank][:length, :memory_length]
        hypotheses.append(Hypothesis(text=tokenizer.decode([tokens[:length]])[0], score=float(found.scores[row, rank]),
                                     target_pieces=tokenizer.id_to_piece(tokens[:length]), attention=attention))
    if not hypotheses:  # every search finishes at least one output unless its scores are NaN
        raise Seq2SeqError("the model's scores are not numbers (NaN): its weights are broken, "
                           "e.g. saved from a run whose loss diverged")
    return hypotheses
