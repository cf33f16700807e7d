"""A model with nothing to attend over (a decoder-only language model) is searched by the same code.

The toy model here is a bigram table: its next-token logits depend only on the previous token, so
the best outputs can be worked out by hand. It keeps the decode contract of `seq2seq.models.base`:
`encode` returns `Memory.empty`, and `step` returns zero-width attention.
"""

import numpy as np
import tensorflow as tf
from keras import ops

from seq2seq.config import DecodeConfig
from seq2seq.models.base import Memory
from seq2seq.search import CompiledSearch, InputKind
from seq2seq.tokens import BOS_ID, EOS_ID, PAD_ID

VOCABULARY = 7


class BigramModel:
    """logits[previous] is the next token's score table; the start token is BOS."""

    def __init__(self, table):
        self.table = tf.constant(table, tf.float32)

    def encode(self, prompts):
        batch = ops.shape(prompts)[0]
        return [ops.zeros((batch, 1))], Memory.empty(batch)

    def step(self, token_ids, states, memory):
        logits = tf.gather(self.table, token_ids)
        return logits, states, ops.zeros((ops.shape(token_ids)[0], 0))


def fixed_length(limit):
    """Inputs are one placeholder id per output wanted; every output has at most `limit` tokens."""
    def frame(prompts, decode):
        batch = ops.shape(prompts)[0]
        return ops.full((batch,), limit, dtype="int32"), ops.zeros((batch, 0), dtype="bool"), limit

    return InputKind(tf.TensorSpec([None, 1], tf.int32), frame)


def chain_table():
    """BOS -> 4 -> 5 -> 6 -> EOS is the most likely path; from BOS, 5 is a close second."""
    table = np.full((VOCABULARY, VOCABULARY), -5.0, np.float32)
    table[BOS_ID, 4], table[BOS_ID, 5] = 2.0, 1.9
    table[4, 5], table[5, 6], table[6, EOS_ID] = 3.0, 3.0, 3.0
    return table


def test_greedy_search_follows_the_most_likely_chain_with_zero_width_attention():
    search = CompiledSearch(BigramModel(chain_table()), DecodeConfig(beam_size=1), kind=fixed_length(6))
    found = search(np.zeros((2, 1), np.int32))
    np.testing.assert_array_equal(found.tokens[:, 0, :4], [[4, 5, 6, EOS_ID]] * 2)
    assert found.attention.shape == (2, 1, 6, 0)
    allowed = chain_table()
    allowed[:, [PAD_ID, BOS_ID]] = -1e9  # search never outputs padding or BOS
    log_probs = tf.nn.log_softmax(allowed, axis=-1).numpy()
    expected = log_probs[BOS_ID, 4] + log_probs[4, 5] + log_probs[5, 6] + log_probs[6, EOS_ID]
    np.testing.assert_allclose(found.scores[:, 0], expected, rtol=1e-5)


def test_beam_search_ranks_the_runner_up_second():
    search = CompiledSearch(BigramModel(chain_table()), DecodeConfig(beam_size=3, n_best=2), kind=fixed_length(6),
                            with_attention=False)
    found = search(np.zeros((1, 1), np.int32))
    np.testing.assert_array_equal(found.tokens[0, 0, :4], [4, 5, 6, EOS_ID])
    np.testing.assert_array_equal(found.tokens[0, 1, :3], [5, 6, EOS_ID])
    assert found.scores[0, 0] > found.scores[0, 1]


def test_sampling_draws_from_the_table_and_respects_the_length_limit():
    table = np.zeros((VOCABULARY, VOCABULARY), np.float32)  # uniform: every path is possible
    search = CompiledSearch(BigramModel(table), DecodeConfig(sample=True, n_best=4, seed=3), kind=fixed_length(5))
    found = search(np.zeros((2, 1), np.int32))
    assert found.tokens.shape == (2, 4, 5)
    for tokens in found.tokens.reshape(-1, 5):
        assert EOS_ID in tokens.tolist()  # ended by EOS at the latest at the limit
        assert BOS_ID not in tokens.tolist()
    assert len({tuple(tokens) for tokens in found.tokens.reshape(-1, 5)}) > 1
