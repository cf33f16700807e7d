"""A tagger's batches, (piece ids (B, W), label ids (B, W)), from the shared pipeline's length buckets.

`seq2seq.data.pipeline` already buckets (source, target) id lists by length and shuffles each epoch
with `seed + epoch`, so a resumed run sees exactly the batches an uninterrupted one would have; its
`bucket_boundaries` and `batches_per_epoch` are used here as they are. Its `make_dataset` shapes each
batch for a decoder: ((source, BOS + target), target + EOS), every part padded to one width W. For
a tagger the "target" is the sentence's per-piece labels (as long as its pieces), and W is always
above the length of every source in the batch (the bucket length counts the BOS). So dropping the
sources' last column and the BOS column leaves (pieces, labels) aligned position by position.
"""

from seq2seq.data.pipeline import EncodedPairs, bucket_boundaries, make_dataset

DEV_BUCKETS = 4


def tagging_batches(tagged: EncodedPairs, batch_size, boundaries, **epochs_and_shuffling):
    """Batches of (piece ids, label ids); keyword arguments as `make_dataset`'s (seed, epochs...)."""
    return make_dataset(tagged, batch_size, boundaries, **epochs_and_shuffling).map(_pieces_and_labels)


def dev_batches(tagged: EncodedPairs, batch_size):
    """One pass over the dev sentences in a few length buckets, unshuffled (for the dev loss)."""
    return tagging_batches(tagged, batch_size, bucket_boundaries(tagged, DEV_BUCKETS))


def _pieces_and_labels(decoder_inputs, _decoder_targets):
    pieces, bos_and_labels = decoder_inputs
    return pieces[:, :-1], bos_and_labels[:, 1:]
