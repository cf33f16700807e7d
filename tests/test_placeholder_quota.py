"""Searches that keep every source placeholder (seq2seq.search.placeholder_quota), against references.

The model is a bigram table (`BigramModel`) over PAD, UNK, BOS, EOS, a word (4) and two placeholder
symbols (5 and 6; 10 and 11 in the source vocabulary). Its EOS is likely and its symbols are not, so
an unconstrained search leaves them out: every test first checks that it does, so that the quota's
effect is seen rather than assumed.
"""

import itertools
from collections import Counter

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from test_memoryless_search import BigramModel
from seq2seq.config import DecodeConfig
from seq2seq.search import InputKind, search
from seq2seq.search.greedy import greedy_search
from seq2seq.search.placeholder_quota import PlaceholderQuota
from seq2seq.tokens import BOS_ID, EOS_ID, PAD_ID, UNK_ID

WORD, SYMBOLS, SOURCE_SYMBOLS = 4, (5, 6), (10, 11)
LIMIT = 5
# Sources: one symbol once; the first symbol twice and the second once; no symbol at all.
SOURCES = np.array([[7, 10, 8, PAD_ID], [10, 11, 10, 9], [7, 8, 9, PAD_ID]], np.int32)
OWED = [Counter({5: 1}), Counter({5: 2, 6: 1}), Counter()]


def bigram_table(seed=0, symbol_penalty=1.0):
    """EOS likeliest almost everywhere; symbols `symbol_penalty` less likely than other tokens; noise so
    that the order of tokens matters."""
    table = np.random.default_rng(seed).normal(scale=0.3, size=(7, 7)).astype("float32")
    table[:, EOS_ID] += 2.0
    table[:, list(SYMBOLS)] -= symbol_penalty
    return table


def fixed_limit():
    """Source-shaped inputs (B, S), every output at most LIMIT tokens, EOS included."""
    def frame(inputs, decode):
        batch = ops.shape(inputs)[0]
        return ops.full((batch,), LIMIT, dtype="int32"), ops.zeros((batch, 0), dtype="bool"), LIMIT

    return InputKind(tf.TensorSpec([None, None], tf.int32), frame)


def quota():
    return PlaceholderQuota(SOURCE_SYMBOLS, SYMBOLS, target_vocab_size=7)


def log_probabilities(table):
    allowed = table.astype("float64")
    allowed[:, [PAD_ID, BOS_ID]] = -np.inf
    return allowed - np.log(np.exp(allowed).sum(axis=1, keepdims=True))


def keeps_quota(output, owed):
    """The rule, stated on a finished output: never more of a symbol than owed, and all of them unless
    the output ran into its length limit (where EOS is forced)."""
    counts = Counter(token for token in output if token in SYMBOLS)
    if any(counts[symbol] > owed[symbol] for symbol in counts):
        return False
    return counts == owed or len(output) == LIMIT


def cut_at_eos(row):
    row = np.asarray(row).tolist()
    return row[:row.index(EOS_ID) + 1]


def test_the_quota_counts_each_sources_symbols_and_maps_them_into_the_logits():
    owed, columns = quota().start(tf.constant(SOURCES))
    np.testing.assert_array_equal(owed, [[1, 0], [2, 1], [0, 0]])
    np.testing.assert_array_equal(columns, [2, 2, 2, 2, 2, 0, 1])
    _, shortlisted = quota().start(tf.constant(SOURCES), vocabulary=tf.constant([0, 1, 2, 3, 6], tf.int32))
    np.testing.assert_array_equal(shortlisted, [2, 2, 2, 2, 1])


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_a_wide_beam_returns_the_best_outputs_that_keep_the_quota_like_exhaustive_search(alpha):
    """Every output of at most LIMIT tokens is enumerated and scored independently; among those that keep
    the quota, a beam wide enough for every prefix must return the n best in order."""
    table = bigram_table()
    decode = DecodeConfig(beam_size=80, n_best=4, length_penalty=alpha)
    free = search(BigramModel(table), SOURCES, decode, with_attention=False, kind=fixed_limit())
    assert not any(SYMBOLS[0] in cut_at_eos(row) for row in free.tokens[:2, 0])  # the model alone drops them

    found = search(BigramModel(table), SOURCES, decode, with_attention=False, kind=fixed_limit(), placeholders=quota())
    log_probs = log_probabilities(table)

    def score(output):
        log_probability = sum(log_probs[previous, token] for previous, token in zip([BOS_ID, *output], output))
        return log_probability / ((5 + len(output)) / 6) ** alpha

    outputs = [[*prefix, EOS_ID] for length in range(LIMIT)
               for prefix in itertools.product((UNK_ID, WORD, *SYMBOLS), repeat=length)]
    for row, owed in enumerate(OWED):
        best_scores = sorted((score(output) for output in outputs if keeps_quota(output, owed)), reverse=True)[:4]
        produced = [cut_at_eos(tokens) for tokens in found.tokens[row]]
        # A bigram model scores reorderings of the same transitions alike, so ties are compared by score.
        assert all(keeps_quota(output, owed) for output in produced) and len(set(map(tuple, produced))) == 4
        np.testing.assert_allclose([score(output) for output in produced], best_scores, atol=1e-4)
        np.testing.assert_allclose(found.scores[row], best_scores, atol=1e-4)


def reference_greedy(table, owed):
    """Greedy search by the rule, one numpy step per token."""
    log_probs, owed, previous, output = log_probabilities(table), Counter(owed), BOS_ID, []
    while not output or output[-1] != EOS_ID:
        scores = log_probs[previous].copy()
        if len(output) + 1 == LIMIT:
            token = EOS_ID
        else:
            scores[[symbol for symbol in SYMBOLS if owed[symbol] == 0]] = -np.inf
            if sum(owed.values()):
                scores[EOS_ID] = -np.inf
            token = int(np.argmax(scores))
        owed[token] -= token in SYMBOLS
        output.append(token)
        previous = token
    return output


@pytest.mark.parametrize("shrink_batch", [True, False])
def test_greedy_search_places_each_owed_symbol_where_the_model_likes_it_best(shrink_batch):
    table = bigram_table(seed=3, symbol_penalty=0.0)  # a table where greedy places both symbols
    decode = DecodeConfig(shrink_batch=shrink_batch)
    free = search(BigramModel(table), SOURCES, decode, kind=fixed_limit())
    found = search(BigramModel(table), SOURCES, decode, kind=fixed_limit(), placeholders=quota())
    assert not set(np.asarray(free.tokens).ravel()) & set(SYMBOLS)
    for row, owed in enumerate(OWED):
        output = cut_at_eos(found.tokens[row, 0])
        assert output == reference_greedy(table, owed) and keeps_quota(output, owed)
    assert set(np.asarray(found.tokens).ravel()) >= set(SYMBOLS)


def test_an_output_at_its_limit_ends_even_while_it_owes_a_symbol():
    """Three owed symbols do not fit into the two tokens before a limit of three: the output ends at the
    limit (not before: EOS is likeliest), with its true score rather than an impossible one."""
    table = bigram_table(seed=2)
    sources = np.array([[10, 10, 11]], np.int32)

    def limit_of_three(inputs, decode):
        return ops.full((1,), 3, dtype="int32"), ops.zeros((1, 0), dtype="bool"), 3

    kind = InputKind(tf.TensorSpec([None, None], tf.int32), limit_of_three)
    for decode in (DecodeConfig(), DecodeConfig(beam_size=4)):
        found = search(BigramModel(table), sources, decode, kind=kind, placeholders=quota())
        output = cut_at_eos(found.tokens[0, 0])
        assert len(output) == 3 and found.scores[0, 0] > -100


def test_every_sample_keeps_the_quota_and_unconstrained_samples_do_not():
    table = bigram_table(seed=3)
    decode = DecodeConfig(sample=True, n_best=30, seed=4)
    free = search(BigramModel(table), SOURCES, decode, kind=fixed_limit())
    kept = search(BigramModel(table), SOURCES, decode, kind=fixed_limit(), placeholders=quota())
    for row, owed in enumerate(OWED):
        assert all(keeps_quota(cut_at_eos(tokens), owed) for tokens in kept.tokens[row])
    assert not all(keeps_quota(cut_at_eos(tokens), owed) for row, owed in enumerate(OWED) for tokens in free.tokens[row])


def test_a_shortlist_vocabulary_maps_the_symbols_to_their_positions():
    """With a batch vocabulary (a shortlist's sorted ids) the search works on positions: without the
    (here unlikely) word 4, the symbols 5 and 6 are at positions 4 and 5, and the outputs must be those of
    the whole vocabulary."""
    table = bigram_table(seed=1)
    table[:, WORD] -= 20.0
    limits = np.full(3, LIMIT, np.int32)
    no_memory = np.zeros((3, 0), bool)
    whole = greedy_search(BigramModel(table), SOURCES, limits, no_memory, LIMIT, placeholders=quota())
    vocabulary = tf.constant([PAD_ID, UNK_ID, BOS_ID, EOS_ID, *SYMBOLS], tf.int32)

    class Positions(BigramModel):
        """The bigram model scoring only `vocabulary`, as `restricted_step` asks of a real model."""

        def output_weights(self, vocabulary):
            return vocabulary

        def step(self, token_ids, states, memory, vocabulary=None):
            logits, states, weights = super().step(token_ids, states, memory)
            return (logits if vocabulary is None else tf.gather(logits, vocabulary, axis=1)), states, weights

    shortlisted = greedy_search(Positions(table), SOURCES, limits, no_memory, LIMIT, vocabulary=vocabulary,
                                placeholders=quota())
    np.testing.assert_array_equal(np.asarray(shortlisted.tokens), np.asarray(whole.tokens))
