"""Search correctness: greedy, sampling and beam search against independent references."""

import itertools

import numpy as np
import pytest

from conftest import padded_source, tiny_model
from test_memoryless_search import BigramModel, fixed_length
from seq2seq.config import DecodeConfig
from seq2seq.search import (NEGATIVE, SOURCE_IDS, CompiledSearch, Scoring, beam_search, is_real,
                            output_length_limits, sample_search, search)
from seq2seq.tokens import BOS_ID, EOS_ID, PAD_ID, UNK_ID


def cut_at_eos(row):
    row = list(row)
    return row[:row.index(EOS_ID) + 1] if EOS_ID in row else row


def rescore(model, source_row, tokens):
    """Reference scoring, one eager step per token: -> (log-probability, attention rows (T, S))."""
    length = int((source_row != PAD_ID).sum())
    states, memory = model.encode(source_row[None, :length])
    previous, total, attention = np.array([BOS_ID], "int32"), 0.0, []
    for token in tokens:
        logits, states, weights = model.step(previous, states, memory)
        logits = np.asarray(logits, "float64")[0]
        logits[[PAD_ID, BOS_ID]] = -np.inf
        total += logits[token] - np.log(np.exp(logits - logits.max()).sum()) - logits.max()
        attention.append(np.asarray(weights)[0])
        previous = np.array([token], "int32")
    return total, np.array(attention)


def gnmt_score(model, source_row, tokens, alpha, beta):
    log_probability, attention = rescore(model, source_row, tokens)
    coverage = np.clip(attention.sum(axis=0), 1e-10, 1.0)
    return log_probability / ((5 + len(tokens)) / 6) ** alpha + beta * np.log(coverage).sum()


def python_loop_greedy(model, source, limits):
    """Reference greedy search: one Python step per token, no compilation."""
    states, memory = model.encode(source)
    previous = np.full(len(source), BOS_ID, "int32")
    outputs = []
    for _ in range(max(limits)):
        logits, states, _ = model.step(previous, states, memory)
        logits = np.asarray(logits).copy()
        logits[:, [PAD_ID, BOS_ID]] = -np.inf
        previous = np.argmax(logits, axis=-1).astype("int32")
        outputs.append(previous)
    return np.stack(outputs, axis=1)


def test_compiled_greedy_matches_a_python_loop_and_respects_limits():
    model, source = tiny_model(), padded_source()
    found = CompiledSearch(model, DecodeConfig(max_length_ratio=1.0, max_length_offset=2))(source)
    lengths = (source != PAD_ID).sum(axis=1)
    limits = lengths + 2
    reference = python_loop_greedy(model, source, limits)
    for row in range(len(source)):
        produced = cut_at_eos(found.tokens[row, 0])
        assert produced == cut_at_eos(list(reference[row, :limits[row] - 1]) + [EOS_ID])
        assert np.all(found.tokens[row, 0, len(produced):] == PAD_ID)
        log_probability, attention = rescore(model, source[row], produced)
        assert found.scores[row, 0] == pytest.approx(log_probability, abs=1e-4)
        np.testing.assert_allclose(found.attention[row, 0, :len(produced), :lengths[row]], attention, atol=1e-5)
        assert np.all(found.attention[row, 0, :, lengths[row]:] == 0.0)


@pytest.mark.parametrize("decode", [DecodeConfig(), DecodeConfig(beam_size=4, length_penalty=0.6)],
                         ids=["greedy", "beam"])
def test_search_traces_once_for_any_shape(decode):
    model, source = tiny_model(), padded_source()
    search = CompiledSearch(model, decode)
    search(source)
    search(source[:2, :3])
    search(np.concatenate([source, source], axis=1))
    assert search._compiled.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("decode", [DecodeConfig(), DecodeConfig(beam_size=3, n_best=3, coverage_penalty=0.2),
                                    DecodeConfig(sample=True, n_best=2)], ids=["greedy", "beam", "sample"])
def test_search_never_outputs_pad_or_bos(decode):
    model = tiny_model()
    bias = model.decoder.output_projection.bias
    boosted = np.asarray(bias).copy()
    boosted[[PAD_ID, BOS_ID]] += 100.0  # the model now prefers PAD and BOS over everything
    bias.assign(boosted)
    found = CompiledSearch(model, decode)(padded_source())
    for row in found.tokens.reshape(-1, found.tokens.shape[-1]):
        produced = cut_at_eos(row)
        assert PAD_ID not in produced and BOS_ID not in produced


@pytest.mark.parametrize("limit, beam_size, n_best", [(2, 6, 4), (3, 13, 13), pytest.param(4, 40, 1, marks=pytest.mark.slow),
                                                        pytest.param(4, 40, 3, marks=pytest.mark.slow)])
def test_beam_search_with_a_wide_beam_ranks_every_short_output_like_exhaustive_search(limit, beam_size, n_best):
    """Target vocabulary of 6 (UNK, EOS and two words usable): every output of at most `limit` tokens
    is enumerated and scored independently; a beam at least as wide as any step's candidates must
    return the n best of them in order. With n_best below the number of outputs, the search may stop
    before the limit, so this also checks the stopping bound."""
    model, source = tiny_model(target_vocab_size=6), padded_source()
    alpha, beta = 0.8, 0.3
    words = [UNK_ID, 4, 5]
    outputs = [list(prefix) + [EOS_ID] for length in range(limit) for prefix in itertools.product(words, repeat=length)]
    assert beam_size >= 6 and 4 * len(words) ** (limit - 2) <= beam_size
    decode = DecodeConfig(max_length_ratio=0.0, max_length_offset=limit, beam_size=beam_size,
                          n_best=n_best, length_penalty=alpha, coverage_penalty=beta)
    found = CompiledSearch(model, decode)(source)
    for row in range(len(source)):
        expected = sorted(((gnmt_score(model, source[row], output, alpha, beta), output) for output in outputs),
                          reverse=True)[:n_best]
        np.testing.assert_allclose(found.scores[row], [score for score, _ in expected], atol=1e-4)
        produced = [cut_at_eos(tokens) for tokens in found.tokens[row]]
        assert produced == [output for _, output in expected]


@pytest.mark.parametrize("alpha, beta", [(0.0, 0.0), (1.0, 0.3)])
def test_beam_of_one_is_greedy_search(alpha, beta):
    model, source = tiny_model(), padded_source()
    greedy = CompiledSearch(model, DecodeConfig(length_penalty=alpha, coverage_penalty=beta))(source)
    mask = source != PAD_ID
    # The beam code itself: DecodeConfig(beam_size=1) would take the greedy shortcut.
    found = beam_search(model, source, output_length_limits(mask.sum(axis=1), 1.5, 10), mask,
                        capacity=output_length_limits(source.shape[1], 1.5, 10), beam_size=1,
                        scoring=Scoring(alpha, beta))
    np.testing.assert_array_equal(np.asarray(found.tokens), greedy.tokens)
    np.testing.assert_allclose(np.asarray(found.scores), greedy.scores, atol=1e-5)
    for row in range(len(source)):
        output = cut_at_eos(greedy.tokens[row, 0])
        assert greedy.scores[row, 0] == pytest.approx(gnmt_score(model, source[row], output, alpha, beta), abs=1e-4)


def test_beam_search_returns_the_attention_and_score_of_each_n_best_hypothesis():
    model, source = tiny_model(), padded_source()
    found = CompiledSearch(model, DecodeConfig(beam_size=4, n_best=3, length_penalty=0.6, coverage_penalty=0.2))(source)
    for row in range(len(source)):
        assert np.all(np.diff(found.scores[row]) <= 1e-6), "n-best lists are best first"
        produced = [tuple(cut_at_eos(tokens)) for tokens in found.tokens[row]]
        assert len(set(produced)) == len(produced)
        for rank, output in enumerate(produced):
            assert found.scores[row, rank] == pytest.approx(gnmt_score(model, source[row], output, 0.6, 0.2), abs=1e-4)
            _, attention = rescore(model, source[row], output)
            length = int((source[row] != PAD_ID).sum())
            np.testing.assert_allclose(found.attention[row, rank, :len(output), :length], attention, atol=1e-5)


def test_sampling_with_top_k_of_one_is_greedy_and_samples_are_reproducible():
    model, source = tiny_model(), padded_source()
    greedy = CompiledSearch(model, DecodeConfig())(source)
    top_one = CompiledSearch(model, DecodeConfig(sample=True, top_k=1, n_best=2))(source)
    for rank in range(2):
        np.testing.assert_array_equal(top_one.tokens[:, rank], greedy.tokens[:, 0])
    hot = DecodeConfig(sample=True, n_best=5, temperature=2.0, seed=1)
    first, again = CompiledSearch(model, hot)(source), CompiledSearch(model, hot)(source)
    np.testing.assert_array_equal(first.tokens, again.tokens)
    other_seed = CompiledSearch(model, DecodeConfig(sample=True, n_best=5, temperature=2.0, seed=2))(source)
    assert not np.array_equal(first.tokens, other_seed.tokens)
    for row in range(len(source)):
        assert np.all(np.diff(first.scores[row]) <= 1e-6)
        for rank in range(5):
            output = cut_at_eos(first.tokens[row, rank])
            assert first.scores[row, rank] == pytest.approx(rescore(model, source[row], output)[0], abs=1e-4)


def test_unfillable_n_best_slots_are_marked():
    """With a one-token limit the only output is EOS; the other n-best slots must say they are empty."""
    model, source = tiny_model(target_vocab_size=5), padded_source()
    found = CompiledSearch(model, DecodeConfig(max_length_ratio=0.0, max_length_offset=1, beam_size=3, n_best=3))(source)
    assert np.all(is_real(found.scores[:, 0])) and not np.any(is_real(found.scores[:, 1:]))


def reversal_sources(reversal_data, count=60):
    lines = (reversal_data / "test.tsv").read_text(encoding="utf-8").splitlines()[:count]
    return [line.split("\t")[0] for line in lines]


def with_likelier_eos(model):
    """`model` with EOS's logit raised by 1, so that outputs also end before their limits and beams stop early."""
    bias = model.decoder.output_projection.bias
    bias.assign(np.asarray(bias) + np.eye(bias.shape[0], dtype="float32")[EOS_ID])
    return model


class CountingSteps:
    """A model that counts the decoder steps a search asks of it (the search must run eagerly for that)."""

    def __init__(self, model):
        self.model, self.steps = model, 0

    def encode(self, inputs):
        return self.model.encode(inputs)

    def step(self, *args):
        self.steps += 1
        return self.model.step(*args)


def chain_with_a_shortcut(vocabulary_size=12, seed=0):
    """A bigram table (`BigramModel`) built so that stopping a beam too early shows: from BOS, EOS
    (log-probability about -1.1) is a little likelier than token 4 (-1.3), which starts a chain 4, 5, ..., 9,
    EOS of near-certain steps over a background of noise. The chain scores below the lone EOS without a
    length penalty and above it with one, and it is the n-th best output for n > 1: a bound that ignored the
    length penalty, or compared with the best finished output instead of the n-th, stops before it ends."""
    table = np.random.default_rng(seed).normal(scale=0.3, size=(vocabulary_size, vocabulary_size))
    table[BOS_ID, EOS_ID], table[BOS_ID, 4] = 2.0, 1.8
    for token in range(4, 10):
        table[token, token + 1 if token < 9 else EOS_ID] = 6.0
    return table.astype("float32")


@pytest.mark.parametrize("model, beam_size, n_best, alpha, beta", [
    ("chain", 2, 1, 0.0, 0.0), ("chain", 3, 2, 0.0, 0.0), ("chain", 2, 1, 1.0, 0.0), ("chain", 3, 3, 1.0, 0.0),
    ("tiny", 3, 2, 0.6, 0.2)])
def test_a_beam_that_stops_early_returns_what_a_beam_run_to_the_limit_returns(monkeypatch, model, beam_size, n_best,
                                                                             alpha, beta):
    """Beam search ends an input once no alive hypothesis can beat its n-th best finished one
    (`Scoring.best_reachable`). The same narrow beam with that bound disabled runs every input to its length
    limit; both must return exactly the same hypotheses, scores and attention, and the bounded one must have
    stopped sooner, or the comparison proves nothing. The tiny model (which has a source to cover) gets a
    likelier EOS than untrained so that its hypotheses finish early and the bound has something to cut."""
    if model == "chain":
        model, inputs, kind = BigramModel(chain_with_a_shortcut()), np.zeros((2, 1), "int32"), fixed_length(12)
    else:
        model, inputs, kind = with_likelier_eos(tiny_model()), padded_source(), SOURCE_IDS
    decode = DecodeConfig(beam_size=beam_size, n_best=n_best, length_penalty=alpha, coverage_penalty=beta)
    bounded = CountingSteps(model)
    early = search(bounded, inputs, decode, kind=kind)
    monkeypatch.setattr(Scoring, "best_reachable", lambda self, log_probability, limit: log_probability - NEGATIVE)
    unbounded = CountingSteps(model)
    to_the_limit = search(unbounded, inputs, decode, kind=kind)

    assert unbounded.steps == max(kind.frame(inputs, decode)[0])
    assert bounded.steps < unbounded.steps
    for found, expected in zip(early, to_the_limit, strict=True):
        np.testing.assert_array_equal(np.asarray(found), np.asarray(expected))


def first_step_distribution(model, source_row, temperature, top_k):
    """Reference: softmax(logits / temperature) of the first output token over the `top_k` most likely
    tokens (0: all), PAD and BOS excluded, in float64 numpy from one eager model step."""
    states, memory = model.encode(source_row[None])
    logits = np.asarray(model.step(np.array([BOS_ID], "int32"), states, memory)[0], "float64")[0]
    logits[[PAD_ID, BOS_ID]] = -np.inf
    logits /= temperature
    if top_k:
        logits[logits < np.sort(logits)[-top_k]] = -np.inf
    probabilities = np.exp(logits - logits.max())
    return probabilities / probabilities.sum()


def binomial_deviations(counts, probabilities):
    """|count - n p| / sqrt(n p (1 - p)) per token: standard normal for large n (0 where p is 0 or 1)."""
    draws = counts.sum()
    spread = np.sqrt(draws * probabilities * (1 - probabilities))
    return np.abs(counts - draws * probabilities) / np.where(spread > 0, spread, 1.0)


@pytest.mark.parametrize("temperature, top_k", [(1.0, 0), (0.5, 0), (2.0, 4), (1.0, 3)])
def test_sampling_draws_the_first_token_from_the_softmax_at_the_temperature_over_the_top_k(temperature, top_k):
    """20,000 first tokens from one source (a fixed seed, so the outcome is fixed too): each token's count
    must lie within 4.5 binomial standard deviations of 20,000 times its reference probability (for a
    correct sampler, a chance of about 1e-5 per token of lying outside), and no token outside the top k
    may ever be drawn. The same counts must be far from the distribution at a temperature only 25 %
    higher, so the tolerance is tight enough to notice a temperature that is not applied."""
    model, source = tiny_model(), padded_source()[:1]
    bias = model.decoder.output_projection.bias  # spread logits: an untrained model's are nearly uniform
    bias.assign(np.random.default_rng(0).normal(scale=1.5, size=bias.shape).astype("float32"))
    draws = 20_000
    found = sample_search(model, source, limits=np.array([2], "int32"), attention_mask=source != PAD_ID, capacity=2,
                          samples=draws, temperature=temperature, top_k=top_k, seed=11, with_attention=False)
    counts = np.bincount(np.asarray(found.tokens)[0, :, 0], minlength=bias.shape[0])

    expected = first_step_distribution(model, source[0], temperature, top_k)
    assert np.all(counts[expected == 0] == 0), "a token outside the top k (or PAD, BOS) was drawn"
    assert binomial_deviations(counts, expected).max() < 4.5
    hotter = first_step_distribution(model, source[0], temperature * 1.25, top_k)
    assert binomial_deviations(counts, hotter).max() > 4.5


@pytest.mark.parametrize("settings", [{}, {"beam_size": 4, "n_best": 2, "length_penalty": 0.6}], ids=["greedy", "beam"])
def test_a_sentence_decodes_the_same_alone_or_in_any_batch(trained_run, reversal_data, settings):
    from seq2seq.tasks.translation.translator import Translator

    translator = Translator.load(trained_run, **settings)
    sources = reversal_sources(reversal_data, count=24)
    together = translator.translate_with_details(sources)
    for index in (0, 7, 23):
        alone = translator.translate_with_details([sources[index]])[0]
        assert [h.text for h in alone.hypotheses] == [h.text for h in together[index].hypotheses]
        np.testing.assert_allclose([h.score for h in alone.hypotheses],
                                   [h.score for h in together[index].hypotheses], atol=1e-4)


def test_decode_settings_from_the_python_api_are_checked_before_tracing(trained_run):
    from seq2seq.errors import ConfigError
    from seq2seq.tasks.translation.translator import Translator

    with pytest.raises(ConfigError, match=r"decode settings: 'decode.n_best' \(3\) cannot exceed"):
        Translator.load(trained_run, beam_size=2, n_best=3)
    with pytest.raises(ConfigError, match="decode settings: unknown key 'decode.beam'; did you mean 'decode.beam_size'"):
        Translator.load(trained_run, beam=2)
    with pytest.raises(ConfigError, match="'decode.max_length_offset' must be at least 1, got 0"):
        CompiledSearch(tiny_model(), DecodeConfig(max_length_offset=0))
    cold = Translator.load(trained_run, sample=True, temperature=1e-5)  # not read back as the string '1e-05'
    assert cold.translate(["a b c"]) == Translator.load(trained_run).translate(["a b c"])


def test_a_model_with_nan_weights_is_a_clear_error(trained_run):
    from seq2seq.errors import Seq2SeqError
    from seq2seq.tasks.translation.translator import Translator

    translator = Translator.load(trained_run, beam_size=2)
    bias = translator.model.decoder.output_projection.bias
    bias.assign(np.full(bias.shape, np.nan, "float32"))
    with pytest.raises(Seq2SeqError, match=r"scores are not numbers \(NaN\): its weights are broken"):
        translator.translate(["a b c"])


def test_a_sentence_far_longer_than_any_in_training_is_translated_within_its_limit(trained_run):
    from seq2seq.tasks.translation.translator import Translator

    translator = Translator.load(trained_run, beam_size=2)
    long_sentence = " ".join("abcdefghijklmnop"[i % 16] for i in range(300))
    result = translator.translate_with_details([long_sentence])[0]
    limit = 1.5 * len(result.source_pieces) + 10  # the run's decode limits
    assert result.text and len(result.target_pieces) <= limit


class CountingRows(CountingSteps):
    """A model that records how many rows each decoder step a search asks of it runs on, eagerly or
    inside a compiled search (where `tf.py_function` reports each step as it runs)."""

    def __init__(self, model):
        super().__init__(model)
        self.rows = []

    def step(self, token_ids, *args):
        import tensorflow as tf

        def record(rows):
            self.rows.append(int(rows))
            return rows

        recorded = tf.py_function(record, [tf.shape(token_ids)[0]], tf.int32)
        with tf.control_dependencies([recorded]):
            token_ids = tf.identity(token_ids)
        return super().step(token_ids, *args)


def sources_ending_one_by_one(rows=8):
    """`rows` sources of 1..rows pieces: their outputs' length limits (ratio 1, offset 1) all differ."""
    source = np.random.default_rng(1).integers(4, 30, size=(rows, rows)).astype("int32")
    return np.where(np.arange(rows)[None, :] <= np.arange(rows)[:, None], source, PAD_ID)


SHRINKING_SEARCHES = {  # (decode settings, with attention)
    "greedy": ({}, True),
    "beam": ({"beam_size": 3, "n_best": 2, "length_penalty": 0.6, "coverage_penalty": 0.2}, True),
    "beam-without-attention": ({"beam_size": 3, "n_best": 3}, False)}


@pytest.mark.parametrize("likely_eos", [False, True], ids=["at-the-limits", "likely-eos"])
@pytest.mark.parametrize("settings, with_attention", SHRINKING_SEARCHES.values(), ids=SHRINKING_SEARCHES.keys())
def test_finished_outputs_leave_the_batch_and_the_outputs_stay_the_same(settings, with_attention, likely_eos):
    """An untrained model seldom ends an output before its limit, so these 8 outputs end one by one, and
    the steps must run on fewer and fewer rows (once a quarter of the rows are done they leave). With a
    likelier EOS, outputs also end early and beams stop on the bound, at steps no limit sets. Either way
    the tokens, scores and attention must be those of the search that keeps every row."""
    model, source = tiny_model(), sources_ending_one_by_one()
    if likely_eos:
        model = with_likelier_eos(model)
    beam = settings.get("beam_size", 1)
    found = {}
    for shrink in (True, False):
        counting = CountingRows(model)
        decode = DecodeConfig(max_length_ratio=1.0, max_length_offset=1, shrink_batch=shrink, **settings)
        found[shrink] = search(counting, source, decode, with_attention=with_attention)
        assert counting.rows[0] == 8 * beam and counting.rows == sorted(counting.rows, reverse=True)
        if shrink:
            assert counting.rows[-1] < 8 * beam
        else:
            assert set(counting.rows) == {8 * beam}
    for shrunk, kept in zip(found[True], found[False], strict=True):
        if kept is None:
            assert shrunk is None
        else:
            np.testing.assert_allclose(np.asarray(shrunk), np.asarray(kept), atol=1e-5)
    np.testing.assert_array_equal(np.asarray(found[True].tokens), np.asarray(found[False].tokens))


@pytest.mark.parametrize("settings", [{}, {"beam_size": 4, "n_best": 3, "length_penalty": 1.0}], ids=["greedy", "beam"])
def test_a_compiled_search_that_shrinks_its_batch_gives_the_same_outputs(settings):
    """The compiled loop, whose carried tensors change their batch dimension, must shrink its batch (the steps
    report their rows from inside the graph) and give the outputs of the one that keeps every row, for
    batches of any size after one trace."""
    model, beam = tiny_model(), settings.get("beam_size", 1)
    counting = {shrink: CountingRows(model) for shrink in (True, False)}
    searches = {shrink: CompiledSearch(counting[shrink], DecodeConfig(max_length_ratio=1.0, max_length_offset=1,
                                                                      shrink_batch=shrink, **settings))
                for shrink in (True, False)}
    for source in (sources_ending_one_by_one(), sources_ending_one_by_one(5)[1:]):
        for rows in counting.values():
            rows.rows.clear()
        shrunk, kept = searches[True](source), searches[False](source)
        assert min(counting[True].rows) < len(source) * beam and set(counting[False].rows) == {len(source) * beam}
        np.testing.assert_array_equal(shrunk.tokens, kept.tokens)
        np.testing.assert_allclose(shrunk.scores, kept.scores, atol=1e-5)
        np.testing.assert_allclose(shrunk.attention, kept.attention, atol=1e-5)
    assert searches[True]._compiled.experimental_get_tracing_count() == 1
