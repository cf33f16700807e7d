"""Word dropout: while training, replace whole input tokens by the unknown token at random.

Sennrich and Zhang (2019) found dropping whole words one of the largest gains for low-resource RNN
translation: the model cannot lean on any one word being there, on either side. Here a dropped token
becomes UNK rather than vanishing, so positions, lengths and attention over the source stay as they
are and the model learns what an unknown word looks like in context. Padding, BOS and EOS are never
dropped. At inference the layer passes ids through unchanged.
"""

import keras
from keras import ops

from seq2seq.tokens import BOS_ID, EOS_ID, PAD_ID, UNK_ID


@keras.saving.register_keras_serializable(package="seq2seq")
class WordDropout(keras.layers.Layer):
    """Token ids (B, T) -> the same ids with each ordinary token replaced by UNK with probability `rate`.

    Its random draws come from `seed_generator`, which the training loop re-seeds per epoch (as it
    does Dropout's), so a resumed run drops the same words as an uninterrupted one.
    """

    def __init__(self, rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"word dropout rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, token_ids, training=False):
        if not training or not self.rate:
            return token_ids
        draws = keras.random.uniform(ops.shape(token_ids), seed=self.seed_generator)
        ordinary = ops.logical_and(ops.logical_and(ops.not_equal(token_ids, PAD_ID), ops.not_equal(token_ids, BOS_ID)),
                                   ops.not_equal(token_ids, EOS_ID))
        dropped = ops.logical_and(ordinary, draws < self.rate)
        return ops.where(dropped, ops.cast(UNK_ID, token_ids.dtype), token_ids)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
