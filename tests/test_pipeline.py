import numpy as np

from seq2seq.data.pipeline import (EncodedPairs, batches_per_epoch, bucket_boundaries, encode_pairs,
                                   make_dataset)
from seq2seq.tokens import BOS_ID, EOS_ID


class SplitOnSpaces:
    """A stand-in tokenizer: each word becomes its length + 3, enough to test the pipeline."""

    def encode(self, texts):
        return [[len(word) + 3 for word in text.split()] for text in texts]


def random_pairs(count=500, seed=0):
    rng = np.random.default_rng(seed)
    sources = [list(rng.integers(4, 50, rng.integers(1, 30))) + [EOS_ID] for _ in range(count)]
    targets = [list(rng.integers(4, 50, rng.integers(1, 30))) for _ in range(count)]
    return EncodedPairs(sources, targets)


def test_too_long_pairs_are_dropped_and_counted():
    sources = ["a b", "a b c d e", "a", "a b c"]
    targets = ["x", "y", "z z z z z z", "w"]
    pairs = encode_pairs(sources, targets, SplitOnSpaces(), SplitOnSpaces(), max_source_length=4,
                         max_target_length=4)
    assert pairs.dropped_too_long == 2
    assert pairs.sources == [[4, 4, EOS_ID], [4, 4, 4, EOS_ID]]
    assert pairs.targets == [[4], [4]]


def test_batches_are_teacher_forced_padded_to_buckets_and_counted_exactly():
    pairs = random_pairs()
    boundaries = bucket_boundaries(pairs, 4)
    longest = max(max(len(s), len(t) + 1) for s, t in zip(pairs.sources, pairs.targets))
    assert boundaries[-1] == longest + 1
    assert boundaries[-1] <= max(boundaries[-2] + 1, boundaries[-2] * 1.25), "the long tail pads too much"
    expected_batches = batches_per_epoch(pairs, boundaries, 16)
    batches = list(make_dataset(pairs, 16, boundaries, shuffle_seed=1))
    assert len(batches) == expected_batches
    shapes = {source.shape[1] for (source, _), _ in batches}
    assert shapes <= {boundary - 1 for boundary in boundaries}
    seen = 0
    for (source, target_in), target_out in batches:
        source, target_in, target_out = (np.asarray(t) for t in (source, target_in, target_out))
        assert np.all(target_in[:, 0] == BOS_ID)
        lengths = (target_out != 0).sum(axis=1)
        assert np.all(target_out[np.arange(len(lengths)), lengths - 1] == EOS_ID)
        shifted = target_in[:, 1:] != 0
        np.testing.assert_array_equal(target_in[:, 1:][shifted], target_out[:, :-1][shifted])
        seen += len(source)
    assert seen == len(pairs)


def first_sources(dataset, count=3):
    return [np.asarray(source).tolist() for (source, _), _ in dataset.take(count)]


def test_epoch_order_depends_only_on_seed_and_epoch():
    pairs = random_pairs()
    boundaries = bucket_boundaries(pairs, 4)
    per_epoch = batches_per_epoch(pairs, boundaries, 16)
    full_run = make_dataset(pairs, 16, boundaries, shuffle_seed=5, first_epoch=0, epochs=2)
    epoch_two = [np.asarray(s).tolist() for (s, _), _ in full_run.skip(per_epoch).take(3)]
    resumed = make_dataset(pairs, 16, boundaries, shuffle_seed=5, first_epoch=1, epochs=1)
    assert first_sources(resumed) == epoch_two
    epoch_one = first_sources(make_dataset(pairs, 16, boundaries, shuffle_seed=5))
    assert epoch_one != epoch_two
    assert first_sources(make_dataset(pairs, 16, boundaries, shuffle_seed=5)) == epoch_one


def test_endless_stream_for_keras_steps_per_epoch():
    pairs = random_pairs(40)
    boundaries = bucket_boundaries(pairs, 2)
    per_epoch = batches_per_epoch(pairs, boundaries, 16)
    assert len(list(make_dataset(pairs, 16, boundaries, shuffle_seed=0, epochs=None).take(5 * per_epoch))) \
        == 5 * per_epoch
