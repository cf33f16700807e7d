"""What every search strategy shares: its result type, length limits, and the scores it ranks by."""

from typing import NamedTuple, Optional

from keras import ops

from seq2seq.tokenizer import BOS_ID, PAD_ID

# A finite "minus infinity": sums of it stay finite, so masked scores never turn into NaN.
NEGATIVE = -1e9


# Every search takes `limits` (B,), each input's maximum output length in tokens, and `capacity`,
# an upper bound on them fixed by the input shape, which sizes the output buffers. Under XLA the
# capacity is then a compile-time constant while the loop still stops at the longest limit.


class Hypotheses(NamedTuple):
    """The n best outputs per input, best first.

    tokens (B, N, L) end with EOS and are PAD after it; scores (B, N) are what the search ranked by
    (NEGATIVE marks a slot the search could not fill); attention (B, N, L, S), or None when not asked for.
    """

    tokens: object
    scores: object
    attention: Optional[object]


def output_length_limits(source_lengths, ratio, offset):
    """Per-sentence maximum output length: `ratio * source length + offset` tokens."""
    return ops.cast(ops.cast(source_lengths, "float32") * ratio, "int32") + offset


def log_probabilities(logits):
    """Float32 log-probabilities in which PAD and BOS are impossible.

    Label smoothing gives PAD and BOS some probability; a hypothesis must never contain them.
    """
    logits = ops.cast(logits, "float32")
    vocabulary = ops.arange(ops.shape(logits)[-1])
    banned = ops.logical_or(vocabulary == PAD_ID, vocabulary == BOS_ID)
    return ops.log_softmax(ops.where(banned, NEGATIVE, logits), axis=-1)


def is_real(scores):
    """False where a score carries NEGATIVE, i.e. for an empty beam slot."""
    return scores > NEGATIVE / 2


def length_penalty(lengths, alpha):
    """GNMT's ((5 + length) / 6) ** alpha: dividing log-probabilities by it stops the bias to short outputs."""
    return ops.power((5.0 + ops.cast(lengths, "float32")) / 6.0, alpha)


def coverage_penalty(coverage, attention_mask, beta):
    """GNMT's beta * sum_i log(min(attention received by source piece i, 1)); zero once all is covered.

    A source piece that received no attention at all is counted as 1e-10, not zero.
    """
    capped = ops.clip(coverage, 1e-10, 1.0)
    return beta * ops.sum(ops.log(capped) * ops.cast(attention_mask, "float32"), axis=-1)
