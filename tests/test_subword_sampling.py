"""Subword regularisation: candidates that all spell the sentence, draws that follow P ** alpha and
repeat for the same seed and epoch, and batches that keep their buckets whatever an epoch draws."""

import numpy as np
import pytest

from conftest import WORDS, reversal_config_text
from seq2seq.config import load_config
from seq2seq.data.pipeline import batches_per_epoch, bucket_boundaries, encode_pairs, make_dataset
from seq2seq.data.subword_sampling import SampledSegmentations, segmentation_candidates
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.errors import ConfigError
from seq2seq.tokens import EOS_ID

SENTENCES = [" ".join(WORDS[(start + step) % len(WORDS)] for step in range(3 + start % 5)) for start in range(60)]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return Tokenizer.train(SENTENCES * 5, tmp_path_factory.mktemp("spm") / "unigram", 60)


def candidate_lists(candidates):
    return [[list(map(int, ids)) for ids in sentence] for sentence in candidates.ragged().to_list()]


def test_every_candidate_spells_the_sentence_and_the_best_comes_first(tokenizer):
    candidates = segmentation_candidates(tokenizer, SENTENCES, size=4, alpha=0.5, append_eos=True)
    lists = candidate_lists(candidates)
    log_probs = np.asarray(tokenizer.piece_log_probs())
    assert [sentence[0] for sentence in lists] == [ids + [EOS_ID] for ids in tokenizer.encode(SENTENCES)]
    assert max(map(len, lists)) == 4 and sum(len(sentence) > 1 for sentence in lists) > len(lists) // 2
    for text, sentence, logits in zip(SENTENCES, lists, candidates.logits):
        assert len({tuple(ids) for ids in sentence}) == len(sentence)
        assert tokenizer.decode(sentence) == [text] * len(sentence)
        np.testing.assert_allclose(logits[:len(sentence)], [0.5 * log_probs[ids[:-1]].sum() for ids in sentence],
                                   rtol=1e-5)
        assert (logits[len(sentence):] < -1e8).all()
    np.testing.assert_array_equal(candidates.longest(), [max(map(len, sentence)) for sentence in lists])


def test_candidates_longer_than_the_limit_are_left_out_but_never_the_best(tokenizer):
    candidates = candidate_lists(segmentation_candidates(tokenizer, SENTENCES, size=8, alpha=1.0, max_length=8))
    for sentence in candidates:
        assert all(len(ids) <= 8 for ids in sentence[1:])


def test_draws_follow_p_to_the_alpha_and_repeat_for_the_same_seed_and_epoch(tokenizer):
    text = SENTENCES[7]
    copies = [text] * 4000  # the same sentence under 4,000 pair numbers: 4,000 independent draws
    sources = segmentation_candidates(tokenizer, copies, size=4, alpha=0.3)
    sampling = SampledSegmentations(sources, sources)
    options = candidate_lists(segmentation_candidates(tokenizer, [text], size=4, alpha=0.3))[0]
    drawn = [[tuple(map(int, source)) for source, _ in sampling.epoch(seed=5, epoch=epoch).as_numpy_iterator()]
             for epoch in (0, 0, 1)]
    assert drawn[0] == drawn[1] and drawn[0] != drawn[2]
    expected = np.exp(sources.logits[0][:len(options)] - sources.logits[0][:len(options)].max())
    expected /= expected.sum()
    found = [drawn[0].count(tuple(ids)) / len(copies) for ids in options]
    np.testing.assert_allclose(found, expected, atol=0.03)  # 3 standard deviations at worst


def test_batches_keep_their_count_and_buckets_and_a_resumed_epoch_draws_the_same(tokenizer):
    pairs = encode_pairs(SENTENCES, SENTENCES[::-1], tokenizer, tokenizer)
    options = dict(size=8, alpha=0.05)
    pairs.sampling = SampledSegmentations(
        segmentation_candidates(tokenizer, SENTENCES, append_eos=True, **options),
        segmentation_candidates(tokenizer, SENTENCES[::-1], **options))
    boundaries = bucket_boundaries(pairs, 6)
    per_epoch = batches_per_epoch(pairs, boundaries, 8)
    two_epochs = list(make_dataset(pairs, 8, boundaries, shuffle_seed=3, epochs=2).as_numpy_iterator())
    resumed = list(make_dataset(pairs, 8, boundaries, shuffle_seed=3, first_epoch=1, epochs=1).as_numpy_iterator())

    assert len(two_epochs) == 2 * per_epoch
    for ((first_source, first_in), first_out), ((source, target_in), target_out) in zip(two_epochs[per_epoch:],
                                                                                      resumed, strict=True):
        np.testing.assert_array_equal(source, first_source)
        np.testing.assert_array_equal(target_out, first_out)
    texts = sorted(text for (source, _), _ in two_epochs[:per_epoch] for text in tokenizer.decode(source))
    assert texts == sorted(SENTENCES)
    first, second = ([tuple(row) for (source, _), _ in epoch for row in source]
                     for epoch in (two_epochs[:per_epoch], two_epochs[per_epoch:]))
    assert sorted(first) != sorted(second)  # other segmentations in the second epoch


@pytest.mark.parametrize("setting, message", [
    ("tokenizer: {type: bpe, vocab_size: 40, sampling_alpha: 0.1}", r"needs 'tokenizer.type: unigram'"),
    ("tokenizer: {vocab_size: 40, sampling_alpha: 0.1, sampling_nbest: 1}", r"'tokenizer.sampling_nbest' at least 2"),
])
def test_sampling_settings_are_checked(tmp_path, reversal_data, setting, message):
    path = tmp_path / "config.yaml"
    path.write_text(reversal_config_text(reversal_data).replace("tokenizer: {vocab_size: 40}", setting))
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_a_task_that_does_not_sample_refuses_the_setting(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("task: classification\ndata: {corpus: bible-genre}\ntokenizer: {sampling_alpha: 0.2}\n")
    with pytest.raises(ConfigError, match="do not apply to classification"):
        load_config(path)
