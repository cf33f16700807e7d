"""The target pieces one batch's search may choose, from the run's lexical shortlist.

With `decode.shortlist`, each batch scores only the union of its source pieces' likeliest translations
and the most frequent target pieces (`seq2seq.data.lexical_shortlist` builds the table at training
time), so the output layer's product, the softmax and the beam's top-k run over a few thousand
pieces instead of the whole vocabulary. The union is sorted and always starts with PAD, UNK, BOS
and EOS: their positions in the shortened logits are their ids, so the searches' checks for EOS,
PAD and BOS read the same in either space, and only the chosen positions are mapped back to ids.
"""

import numpy as np
import tensorflow as tf
from keras import ops

from seq2seq.tokens import EOS_ID, PAD_ID


class Shortlist:
    """The first `per_piece` candidates of each source piece in every table of `candidate_tables` (an
    ensemble's members each have one), the `frequent` most frequent target pieces, and the pieces
    `required` (the placeholder symbols a `PlaceholderQuota` may ask for)."""

    def __init__(self, candidate_tables, by_frequency, per_piece, frequent, required=()):
        self.target_vocab_size = len(by_frequency)
        candidates = np.concatenate([np.asarray(table)[:, :per_piece] for table in candidate_tables], axis=1)
        self._candidates = tf.constant(candidates, tf.int32)
        always = np.unique(np.concatenate([np.arange(EOS_ID + 1), np.asarray(by_frequency)[:frequent],
                                           np.asarray(required, dtype=int)]))
        self._always = tf.constant(always, tf.int32)

    def vocabulary(self, source_ids):
        """-> the sorted target piece ids (V',) int32 this batch of padded source ids (B, S) may produce."""
        sources = tf.boolean_mask(source_ids, source_ids != PAD_ID)
        ids = tf.concat([tf.reshape(tf.gather(self._candidates, sources), [-1]), self._always], axis=0)
        present = tf.math.bincount(ids, minlength=self.target_vocab_size, maxlength=self.target_vocab_size)
        return tf.cast(tf.where(present > 0)[:, 0], tf.int32)


def restricted_step(model, vocabulary):
    """(step, to_ids): the model's `step` scoring only the pieces `vocabulary` (None: every piece), and
    the map from positions in its logits back to piece ids.

    The output weights of those pieces are gathered (and cast) once per batch, not at every step.
    """
    if vocabulary is None:
        return model.step, lambda positions: positions
    output_weights = model.output_weights(vocabulary)

    def step(token_ids, states, memory):
        return model.step(token_ids, states, memory, output_weights)

    return step, lambda positions: ops.take(vocabulary, positions)
