"""Subword regularisation (Kudo 2018): each epoch reads every training sentence in a segmentation drawn
from its n best, with probability proportional to P(segmentation) ** alpha.

A model that sees "bendito" as "ben|dito" one epoch and "bend|ito" the next learns pieces that
compose, which helps most where data is scarce. SentencePiece can sample by itself, but from a random
generator seeded once per thread, which a resumed run could not replay. Here the n best segmentations
of each sentence and their unigram log-probabilities are computed once, deterministically; each epoch
then draws one per sentence with TensorFlow's stateless sampling, seeded by (run seed + epoch, sentence
number). A resumed epoch draws exactly what the interrupted one did, and since length buckets go by a
sentence's longest candidate, every epoch has the same batches.

Candidates are kept as flat int32 arrays (29.5k sentences x 8 candidates is 10 M ids per side, 40 MB
rather than the gigabyte Python lists would take). Only unigram models rank segmentations.
"""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from seq2seq.tokens import EOS_ID

# A candidate that does not exist (a sentence with fewer than n segmentations) gets this logit.
ABSENT = -1e9
ENCODE_CHUNK = 2000  # sentences per n-best call: bounds the Python lists alive at once


@dataclass
class Candidates:
    """Up to `size` segmentations per sentence, best first: ids of all of them concatenated (`values`),
    candidates per sentence (`counts`), ids per candidate (`lengths`), and logits (sentences, size)
    for the draw: alpha times each candidate's log-probability."""

    values: np.ndarray
    counts: np.ndarray
    lengths: np.ndarray
    logits: np.ndarray

    def __len__(self):
        return len(self.counts)

    def longest(self) -> np.ndarray:
        """Each sentence's longest candidate, in ids: what its length bucket is chosen by."""
        starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
        return np.maximum.reduceat(self.lengths, starts)

    def ragged(self) -> tf.RaggedTensor:
        """(sentences, candidates, ids)."""
        return tf.RaggedTensor.from_nested_row_lengths(self.values, [self.counts, self.lengths])


def segmentation_candidates(tokenizer, texts, size, alpha, max_length=None, append_eos=False) -> Candidates:
    """The n-best segmentations of `texts` (EOS appended if asked), without those longer than
    `max_length` ids; the best always stays, so sentences should already fit (see `encode_pairs`)."""
    log_probs = np.asarray(tokenizer.piece_log_probs(), "float64")
    suffix = [EOS_ID] if append_eos else []
    values, counts, lengths, logits = [], [], [], []
    for start in range(0, len(texts), ENCODE_CHUNK):
        for segmentations in tokenizer.nbest(texts[start:start + ENCODE_CHUNK], size):
            kept = [ids + suffix for number, ids in enumerate(segmentations)
                    if number == 0 or not max_length or len(ids) + len(suffix) <= max_length]
            values.extend(np.asarray(ids, "int32") for ids in kept)
            counts.append(len(kept))
            lengths.extend(len(ids) for ids in kept)
            scores = [alpha * log_probs[ids[:len(ids) - len(suffix)]].sum() for ids in kept]
            logits.append(scores + [ABSENT] * (size - len(kept)))
    return Candidates(np.concatenate(values), np.asarray(counts, "int64"), np.asarray(lengths, "int64"),
                      np.asarray(logits, "float32"))


@dataclass
class SampledSegmentations:
    """Both sides' candidates for the training pairs, drawn from anew each epoch."""

    sources: Candidates
    targets: Candidates

    def pair_lengths(self) -> np.ndarray:
        """Bucketing lengths: the longer side's longest candidate, the target counting its BOS/EOS."""
        return np.maximum(self.sources.longest(), self.targets.longest() + 1)

    def epoch(self, seed, epoch) -> tf.data.Dataset:
        """(source ids, target ids) per pair, each side one candidate drawn with seeds (seed + epoch, pair
        number, side): the same draws in every run and every resume."""
        numbered = tf.data.Dataset.from_tensor_slices((
            tf.range(len(self.sources), dtype=tf.int64), self.sources.ragged(), self.sources.logits,
            self.targets.ragged(), self.targets.logits))

        def draw(number, source_candidates, source_logits, target_candidates, target_logits):
            def one(candidates, logits, side):
                seed_pair = tf.stack([tf.cast(seed, tf.int64) + epoch, number * 2 + side])
                choice = tf.random.stateless_categorical(logits[None], 1, seed=seed_pair)[0, 0]
                return candidates[choice]
            return one(source_candidates, source_logits, 0), one(target_candidates, target_logits, 1)

        return numbered.map(draw, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
