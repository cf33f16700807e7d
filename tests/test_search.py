"""Search correctness: greedy, sampling and beam search against independent references."""

import itertools

import numpy as np
import pytest

from conftest import padded_source, tiny_model
from seq2seq.config import DecodeConfig
from seq2seq.search import CompiledSearch, Scoring, beam_search, is_real, output_length_limits
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


@pytest.mark.parametrize("limit, beam_size, n_best", [(2, 6, 4), (3, 13, 13), (4, 40, 1), (4, 40, 3)])
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


@pytest.mark.parametrize("beam_size", [2, 5])
def test_trained_beam_search_never_scores_below_greedy(trained_run, reversal_data, beam_size):
    """Beam search is not guaranteed to beat greedy in general; on a trained model it must, sentence by sentence."""
    from seq2seq.tasks.translation.translator import Translator

    sources = reversal_sources(reversal_data)
    greedy = Translator.load(trained_run).translate_with_details(sources)
    beam = Translator.load(trained_run, beam_size=beam_size).translate_with_details(sources)
    for by_greedy, by_beam in zip(greedy, beam):
        assert by_beam.score >= by_greedy.score - 1e-4, (by_greedy.source, by_greedy.text, by_beam.text)


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
