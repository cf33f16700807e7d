"""Attention pooling: one vector for a whole sequence, for classifiers (many-to-one).

A classifier needs one summary of the encoder's outputs. The last state forgets the start of a long
text, and a plain mean weighs every piece the same; attention pooling learns which pieces matter and
shows it: its weights over the input pieces are what `seq2seq plot --text` draws for a classifier.
"""

import keras
from keras import ops

from seq2seq.layers.attention import _Attention


@keras.saving.register_keras_serializable(package="seq2seq")
class AttentionPooling(_Attention):
    """A learned query attends over the sequence: score_i = q . tanh(W h_i + b), as in Yang et al.
    (2016), "Hierarchical attention networks". q, W and b are learned.

    The query is the same for every text, so the layer is additive attention with a query that is a
    weight rather than a decoder state: the masking, the float32 softmax and the weighted sum are
    `_Attention`'s, so padding gets no weight and a text pools identically whatever its batch's padding.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        # The memory arrives tagged with the encoder's Keras mask; the layer applies it (as
        # `memory_mask`) and its output has no positions left to mask.
        self.supports_masking = True
        self.key_projection = keras.layers.Dense(units, activation="tanh", name="key_projection",
                                                 dtype=self.dtype_policy)

    def build(self, memory_shape, memory_mask_shape=None):
        self.key_projection.build((None, None, memory_shape[-1]))
        self.query = self.add_weight(shape=(self.units,), initializer="glorot_uniform", name="query")

    def call(self, memory, memory_mask):
        """memory (B, S, D), memory_mask (B, S) -> pooled (B, D), weights (B, S) in float32 (rows sum to 1)."""
        return super().call(self.query, self.key_projection(memory), memory, memory_mask)

    def compute_mask(self, memory, previous_mask=None):
        return None

    def score(self, query, keys):
        return ops.einsum("bsa,a->bs", keys, query)

    def get_config(self):
        return {**super().get_config(), "units": self.units}
