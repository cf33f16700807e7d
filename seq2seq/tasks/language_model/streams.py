"""A split as one stream of pieces, and the windows truncated backpropagation through time reads.

The stream is EOS, then each line's pieces followed by EOS: the first EOS gives the first line
something to be predicted from, as a line end does for every later line. For training, the stream is
cut into `rows` contiguous parts laid side by side (row r holds the r-th part), and each batch is the
next window of `length` pieces of every row, with the pieces one step later as targets:

    row 0:  [window 0][window 1][window 2] ...        batch j = window j of every row
    row 1:  [window 0][window 1][window 2] ...

so the state a row ends window j with is the right one to start window j + 1 with. Each batch also
says whether to start from zero (`reset`): at every epoch's first window, and at every window when the
state is not carried. The tail that does not fill a whole window of every row is left out of training
(fewer than rows x length pieces an epoch); scoring (`seq2seq.tasks.language_model.scoring`) reads all of it.
"""

import numpy as np
import tensorflow as tf

from seq2seq.errors import Seq2SeqError
from seq2seq.tokens import EOS_ID


def token_stream(tokenizer, lines) -> np.ndarray:
    """EOS, then every line's piece ids each followed by EOS, as one int32 array."""
    ids = [EOS_ID]
    for line_ids in tokenizer.encode(lines):
        ids.extend(line_ids)
        ids.append(EOS_ID)
    return np.asarray(ids, np.int32)


def side_by_side(stream, rows) -> np.ndarray:
    """(rows, n): the stream's first rows x n pieces, row r being its r-th contiguous part."""
    width = len(stream) // rows
    return stream[:rows * width].reshape(rows, width)


def window_count(stream, rows, length) -> int:
    """Whole windows an epoch holds (each needs its inputs and the pieces one step later)."""
    return max((len(stream) // rows - 1) // length, 0)


def check_long_enough(stream, rows, length, what):
    if window_count(stream, rows, length) < 1:
        raise Seq2SeqError(f"{what} has {len(stream)} pieces, too few for train.batch_size={rows} rows of one "
                           f"window of train.bptt_length={length} pieces each (at least {rows * (length + 1)}); "
                           "lower them or give more text")


def windows(stream, rows, length, carry_state, epochs=None) -> tf.data.Dataset:
    """((ids (rows, length), reset (rows,)), targets (rows, length)) for every window of an epoch, in order,
    for `epochs` epochs (None: endlessly). The order is the data: nothing is shuffled."""
    grid = side_by_side(stream, rows)
    count = window_count(stream, rows, length)
    inputs = np.stack([grid[:, start:start + length] for start in range(0, count * length, length)])
    targets = np.stack([grid[:, start + 1:start + 1 + length] for start in range(0, count * length, length)])
    resets = np.ones((count, rows), np.float32) if not carry_state else \
        np.concatenate([np.ones((1, rows), np.float32), np.zeros((count - 1, rows), np.float32)])
    dataset = tf.data.Dataset.from_tensor_slices(((inputs, resets), targets))
    return dataset.repeat(epochs).prefetch(2)
