"""Cross-entropy of text under a language model: of a whole stream (dev and test), or of each text alone.

A stream is scored in `rows` contiguous parts read side by side, each window starting from the state
the last one ended with, so every piece but the first is predicted once, with all the context of its
part (only each part's first piece starts from zero states). Each part's last piece is the next
part's first input; the last part is padded, and padded targets count nothing.

Bits per character divide the nats by ln 2 and by the characters of the text, each line end counting
as one: comparable between character and piece models. Perplexity per piece is exp(nats / pieces).
"""

import math

import numpy as np
import tensorflow as tf

from seq2seq.tokens import EOS_ID, PAD_ID


def stream_nats(model, stream, rows=16, window=256) -> tuple:
    """-> (total nats of every piece of `stream` after its first, the number of pieces predicted)."""
    predicted = len(stream) - 1
    part = -(-predicted // rows)  # pieces each row predicts, rounded up
    grid = np.full((rows, part + 1), PAD_ID, np.int32)
    for row in range(rows):
        piece = stream[row * part:row * part + part + 1]
        grid[row, :len(piece)] = piece
    step = _window_nats(model)
    states = model.zero_states(rows)
    total = 0.0
    for start in range(0, part, window):
        inputs = grid[:, start:start + window]
        targets = grid[:, start + 1:start + 1 + window]
        inputs = inputs[:, :targets.shape[1]]
        nats, states = step(tf.constant(inputs), tf.constant(targets), states)
        total += float(nats)
    return total, predicted


def text_nats(model, tokenizer, texts, batch_size=64) -> list:
    """-> nats of each text alone (read from a line end, its pieces and its own line end), in order."""
    rows = [[EOS_ID, *ids, EOS_ID] for ids in tokenizer.encode(texts)]
    step = _window_nats(model, per_row=True)
    result = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        grid = np.full((len(batch), max(map(len, batch))), PAD_ID, np.int32)
        for index, row in enumerate(batch):
            grid[index, :len(row)] = row
        nats, _ = step(tf.constant(grid[:, :-1]), tf.constant(grid[:, 1:]), model.zero_states(len(batch)))
        result.extend(float(value) for value in nats.numpy())
    return result


def bits_per_character(nats, characters) -> float:
    return nats / math.log(2) / characters


def perplexity(nats, pieces) -> float:
    return math.exp(nats / pieces)


def _window_nats(model, per_row=False):
    """A compiled (inputs, targets, states) -> (nats summed over the window, or per row; final states)."""
    @tf.function(reduce_retracing=True)
    def score(inputs, targets, states):
        logits, states = model.logits_and_states(inputs, states)
        nats = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        nats = tf.where(targets == PAD_ID, 0.0, nats)
        return tf.reduce_sum(nats, axis=1) if per_row else tf.reduce_sum(nats), states

    return score
