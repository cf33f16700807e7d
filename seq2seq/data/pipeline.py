"""tf.data input pipeline: token ids -> length buckets -> ((source, target_in), target_out) batches.

Sentences are tokenized once up front (SentencePiece is fast and the corpus fits in memory), then
stored as ragged tensors. Batches are padded to a few bucket lengths, so training compiles only a
handful of shapes. Each epoch is shuffled with `seed + epoch`, so a resumed run sees exactly the
batches the uninterrupted run would have seen. With subword regularisation, each epoch also draws
every pair's segmentations anew (`seq2seq.data.subword_sampling`), from the same seeds.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np
import tensorflow as tf

from seq2seq.data.subword_sampling import SampledSegmentations
from seq2seq.tokens import BOS_ID, EOS_ID


@dataclass
class EncodedPairs:
    """Token ids of a parallel corpus: sources end with EOS; targets carry no BOS/EOS yet. `rows` are
    the kept pairs' positions in the corpus; `sampling`, set for training with subword regularisation,
    holds their candidate segmentations (`sources` and `targets` are then the best ones)."""

    sources: list
    targets: list
    dropped_too_long: int = 0
    rows: Optional[list] = None
    sampling: Optional[SampledSegmentations] = None

    def __len__(self):
        return len(self.sources)


def encode_pairs(sources, targets, source_tokenizer, target_tokenizer,
                 max_source_length=None, max_target_length=None) -> EncodedPairs:
    """Tokenize both sides; drop (and count) pairs longer than the limits, in pieces."""
    source_ids = [ids + [EOS_ID] for ids in source_tokenizer.encode(sources)]
    target_ids = target_tokenizer.encode(targets)
    kept_sources, kept_targets, rows = [], [], []
    for row, (source, target) in enumerate(zip(source_ids, target_ids)):
        if (max_source_length and len(source) > max_source_length
                or max_target_length and len(target) + 1 > max_target_length):
            continue
        kept_sources.append(source)
        kept_targets.append(target)
        rows.append(row)
    return EncodedPairs(kept_sources, kept_targets, len(source_ids) - len(kept_sources), rows)


def _ragged(id_lists):
    lengths = np.fromiter((len(ids) for ids in id_lists), dtype=np.int64, count=len(id_lists))
    values = np.fromiter((token for ids in id_lists for token in ids), dtype=np.int32, count=int(lengths.sum()))
    return tf.RaggedTensor.from_row_lengths(values, lengths)


def _pair_lengths(pairs: EncodedPairs):
    """The bucketing length of a pair: its longer side, counting the added BOS/EOS (with sampling, its
    longest candidates, so that a pair stays in its bucket whatever segmentation an epoch draws)."""
    if pairs.sampling is not None:
        return pairs.sampling.pair_lengths()
    return np.maximum([len(s) for s in pairs.sources], [len(t) + 1 for t in pairs.targets])


MAX_BUCKET_SPAN = 1.25


def bucket_boundaries(pairs: EncodedPairs, buckets: int) -> list:
    """Boundaries at length quantiles, so each bucket holds about the same number of pairs.

    Above the last quantile, the long tail is split further so that no bucket there spans more than
    25% of its lower edge: otherwise a few very long pairs would pad a whole bucket to their length.
    """
    lengths = _pair_lengths(pairs)
    last = int(lengths.max()) + 1
    if buckets == 1:
        return [last]
    quantiles = np.quantile(lengths, np.linspace(0, 1, buckets + 1)[1:-1])
    boundaries = sorted({int(q) + 1 for q in quantiles})
    edge = boundaries[-1]
    while edge < last:
        edge = min(last, max(edge + 1, int(edge * MAX_BUCKET_SPAN)))
        boundaries.append(edge)
    return boundaries


def batches_per_epoch(pairs: EncodedPairs, boundaries, batch_size) -> int:
    """Exact batch count of one epoch: shuffling changes batch order, never bucket membership."""
    bucket_of = np.searchsorted(boundaries, _pair_lengths(pairs), side="right")
    counts = np.bincount(bucket_of, minlength=len(boundaries) + 1)
    return int(sum(-(-count // batch_size) for count in counts))


def make_dataset(pairs: EncodedPairs, batch_size, boundaries, shuffle_seed=None, first_epoch=0,
                 epochs=1, shuffle_buffer=50000):
    """Batches for `epochs` epochs starting at `first_epoch` (endless when `epochs` is None: Keras
    reads one batch past the last epoch when `steps_per_epoch` is set). No shuffling when
    `shuffle_seed` is None."""
    fixed = tf.data.Dataset.from_tensor_slices((_ragged(pairs.sources), _ragged(pairs.targets)))
    # Each pair's bucket goes by its `_pair_lengths`, not by the ids an epoch happens to draw, so that
    # with subword sampling too every epoch has the same batches (and `batches_per_epoch` holds).
    bucket_lengths = tf.data.Dataset.from_tensor_slices(_pair_lengths(pairs).astype("int32"))

    def one_epoch(epoch):
        epoch_pairs = fixed if pairs.sampling is None else pairs.sampling.epoch(shuffle_seed or 0, epoch)
        epoch_examples = tf.data.Dataset.zip((epoch_pairs, bucket_lengths)).map(
            lambda pair, length: (*_teacher_forcing_triplet(*pair), length), num_parallel_calls=tf.data.AUTOTUNE)
        if shuffle_seed is not None:
            epoch_examples = epoch_examples.shuffle(shuffle_buffer, seed=shuffle_seed + epoch,
                                                    reshuffle_each_iteration=False)
        return epoch_examples.bucket_by_sequence_length(
            element_length_func=lambda source, target_in, target_out, length: length,
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            pad_to_bucket_boundary=True,
        )

    last_epoch = first_epoch + epochs if epochs is not None else np.iinfo(np.int64).max
    epochs_dataset = tf.data.Dataset.range(first_epoch, last_epoch)
    batches = epochs_dataset.flat_map(one_epoch)
    if epochs is not None:
        # Bucketing hides the batch count from Keras, which then warns when the data ends.
        count = batches_per_epoch(pairs, boundaries, batch_size) * epochs
        batches = batches.apply(tf.data.experimental.assert_cardinality(count))
    return batches.map(lambda s, ti, to, length: ((s, ti), to)).prefetch(tf.data.AUTOTUNE)


def _teacher_forcing_triplet(source, target):
    """target_in = BOS + target, target_out = target + EOS: the decoder predicts the next token."""
    return (source,
            tf.concat([[BOS_ID], target], axis=0),
            tf.concat([target, [EOS_ID]], axis=0))
