"""Every source placeholder in every output, as often as the source has it, and no other.

A run trained with `tokenizer.placeholders` translates masked sentences: the source's i-th distinct
placeholder (`%s`, `{0}`, `<b>`) is the one-piece symbol ⦅i⦆ on both sides (seq2seq.data.placeholders),
and unmasking puts the source's text back. Unmasking can remove a symbol the source lacks or a repeat,
but it cannot put back one the decoder left out: where it belongs is known only while decoding. So
the search keeps, for each output, how many of each symbol it still owes, and at every step

- a symbol owed nothing cannot be chosen (one the source lacks, or a repeat beyond the source's count);
- EOS cannot be chosen while a symbol is owed, except at the output's length limit, where EOS is
  forced anyway (an output that reaches its limit can still lack a placeholder).

The model still chooses where each symbol goes: the rules only remove continuations that cannot be
right. This is lexically constrained decoding (Hokamp and Liu 2017; Post and Vilar 2018) in its
simplest case, constraints of one token each in any order, which needs no grid of beams: an output's
constraint state is just its owed counts. Scores stay the model's log-probabilities of the tokens
chosen (nothing is renormalised), so constrained and free outputs are scored on one scale.
"""

import tensorflow as tf
from keras import ops

from seq2seq.data.placeholders import placeholder_symbols
from seq2seq.errors import Seq2SeqError
from seq2seq.search.common import NEGATIVE
from seq2seq.tokens import EOS_ID, UNK_ID


class PlaceholderQuota:
    """The placeholder symbols' ids in the source and target vocabularies (the same symbol at the same place)."""

    def __init__(self, source_ids, target_ids, target_vocab_size):
        self.source_ids, self.target_ids = list(source_ids), list(target_ids)
        self.target_vocab_size = target_vocab_size

    @classmethod
    def from_tokenizers(cls, source_tokenizer, target_tokenizer):
        """The quota of a run trained with `tokenizer.placeholders`, whose tokenizers hold each symbol as one piece."""
        ids = []
        for side, tokenizer in (("source", source_tokenizer), ("target", target_tokenizer)):
            side_ids = [tokenizer.piece_to_id(symbol) for symbol in placeholder_symbols()]
            if UNK_ID in side_ids:
                raise Seq2SeqError(f"{tokenizer.model_file}: the {side} tokenizer has no placeholder symbols "
                                   "(it was not trained with tokenizer.placeholders)")
            ids.append(side_ids)
        return cls(*ids, target_tokenizer.vocab_size)

    def start(self, source_ids, vocabulary=None):
        """-> (owed (B, Q) int32: how often each symbol occurs in each source row of `source_ids` (B, S);
        columns (V',) int32: the symbol number 0..Q-1 at each position of the logits over `vocabulary`
        (a shortlist's sorted ids; None: every piece), Q at a position that is no symbol)."""
        owed = ops.sum(ops.cast(ops.expand_dims(source_ids, 2) == tf.constant(self.source_ids, tf.int32), "int32"), axis=1)
        if vocabulary is None:
            vocabulary = tf.range(self.target_vocab_size)
        is_symbol = ops.expand_dims(vocabulary, 1) == tf.constant(self.target_ids, tf.int32)  # (V', Q)
        columns = ops.where(ops.any(is_symbol, axis=1), ops.argmax(ops.cast(is_symbol, "int32"), axis=1),
                            len(self.target_ids))
        return owed, ops.cast(columns, "int32")


def constrain(log_probs, owed, columns, at_limit):
    """`log_probs` (..., V') with the continuations the quota forbids at NEGATIVE: symbols owed nothing
    (`owed` (..., Q)), and EOS while something is owed unless `at_limit` (...,) bool."""
    exhausted = ops.concatenate([owed <= 0, ops.zeros_like(owed[..., :1], dtype="bool")], axis=-1)
    banned = ops.take(exhausted, columns, axis=-1)
    owing = ops.logical_and(ops.any(owed > 0, axis=-1), ops.logical_not(at_limit))
    is_eos = ops.arange(ops.shape(log_probs)[-1]) == EOS_ID
    banned = ops.logical_or(banned, ops.logical_and(ops.expand_dims(owing, -1), is_eos))
    return ops.where(banned, NEGATIVE, log_probs)


def spend(owed, chosen, columns):
    """`owed` (..., Q) after each output added the token at logits position `chosen` (...)."""
    symbol_count = ops.shape(owed)[-1]
    return owed - ops.one_hot(ops.take(columns, chosen), symbol_count + 1, dtype="int32")[..., :symbol_count]
