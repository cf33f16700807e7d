"""What every search strategy shares: its result type, length limits, and the scores it ranks by."""

from typing import NamedTuple, Optional

from keras import ops

from seq2seq.tokens import BOS_ID, PAD_ID

# A finite "minus infinity": sums of it stay finite, so masked scores never turn into NaN.
NEGATIVE = -1e9


# Every search takes `limits` (B,), each input's maximum output length in tokens, and `capacity`,
# an upper bound on them fixed by the input shape, which sizes the output buffers. Under XLA the
# capacity is then a compile-time constant while the loop still stops at the longest limit.


class Hypotheses(NamedTuple):
    """The n best outputs per input, best first.

    tokens (B, N, L) end with EOS and are PAD after it; scores (B, N) are `Scoring.final` scores
    (NEGATIVE marks a slot the search could not fill); attention (B, N, L, S), or None when not asked for.
    """

    tokens: object
    scores: object
    attention: Optional[object]


def first_tokens(model, inputs, batch):
    """What each output's first step reads: BOS; or, for a model that continues its inputs (a language
    model's prompt), the last token of each input, from the model's `start_tokens(inputs)`."""
    if hasattr(model, "start_tokens"):
        return model.start_tokens(inputs)
    return ops.full((batch,), BOS_ID, dtype="int32")


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


class Scoring(NamedTuple):
    """How every search scores a finished output (GNMT, Wu et al. 2016):

        log P(y | x) / ((5 + |y|) / 6) ** length_penalty
        + coverage_penalty * sum_i log(min(attention received by source piece i, 1)),

    where |y| counts the EOS. The length penalty stops the bias to short outputs; the coverage
    penalty, zero once every source piece has had its share of attention, discourages dropping some.
    A source piece that received no attention at all counts as 1e-10, not zero.
    """

    length_penalty: float = 0.0
    coverage_penalty: float = 0.0

    def final(self, log_probability, length, coverage, attention_mask):
        capped = ops.clip(coverage, 1e-10, 1.0)
        covered = ops.sum(ops.log(capped) * ops.cast(attention_mask, "float32"), axis=-1)
        return log_probability / self._length_penalty(length) + self.coverage_penalty * covered

    def best_reachable(self, log_probability, limit):
        """An upper bound on the final score of any completion of an output with this log-probability.

        Log-probabilities only fall as tokens are added and the coverage term is at most zero, so with
        both penalties at least zero the best a completion can do is keep `log_probability` and reach
        the length limit with full coverage.
        """
        return log_probability / self._length_penalty(limit)

    def _length_penalty(self, length):
        return ops.power((5.0 + ops.cast(length, "float32")) / 6.0, self.length_penalty)
