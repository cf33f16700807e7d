"""Attention over an encoder memory, queried one decoder step at a time.

Each layer splits its work in two: `prepare_keys` projects the whole memory once per sequence, and
`call` scores one query against those keys. Decoding then costs one small projection per step
instead of re-projecting the memory at every step.
"""

import keras
import tensorflow as tf
from keras import ops

NEG_INF = -1e9


class _Attention(keras.layers.Layer):
    """Shared masking, softmax and context computation; subclasses define the score."""

    def prepare_keys(self, memory):
        return memory

    def score(self, query, keys):
        raise NotImplementedError

    def call(self, query, keys, memory, memory_mask):
        """query (B, Q), keys (B, S, K), memory (B, S, D), memory_mask (B, S) -> context (B, D), weights (B, S)."""
        scores = self.score(query, keys)
        scores = ops.where(memory_mask, scores, ops.cast(NEG_INF, scores.dtype))
        weights = ops.softmax(ops.cast(scores, "float32"), axis=-1)
        context = ops.einsum("bs,bsd->bd", ops.cast(weights, memory.dtype), memory)
        return context, weights


@keras.saving.register_keras_serializable(package="seq2seq")
class BahdanauAttention(_Attention):
    """Additive attention, score = v . tanh(W_q q + W_k k + b), with learned W_q, W_k, b and v.

    Unlike `keras.layers.AdditiveAttention`, the projections are learned, as in Bahdanau et al. (2015);
    the bias b, which the paper does not have, starts at zero.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.query_projection = keras.layers.Dense(units, use_bias=False, name="query_projection",
                                                  dtype=self.dtype_policy)
        self.key_projection = keras.layers.Dense(units, use_bias=True, name="key_projection", dtype=self.dtype_policy)

    def build(self, query_shape, keys_shape=None, memory_shape=None, memory_mask_shape=None):
        memory_dim = (memory_shape or keys_shape)[-1]
        self.query_projection.build(query_shape)
        self.key_projection.build((None, None, memory_dim))
        # A plain vector used through einsum: a Dense(1) on the 3-D tensor becomes a tensordot
        # with dynamic shapes, which XLA cannot compile inside the decoder loop's gradient.
        self.energy = self.add_weight(shape=(self.units,), initializer="glorot_uniform", name="energy")

    def prepare_keys(self, memory):
        return self.key_projection(memory)

    def score(self, query, keys):
        # A tensor, not the variable: tf.custom_gradient would otherwise want the variable's gradient apart.
        return additive_score(keys, self.query_projection(query), ops.cast(self.energy, keys.dtype))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@tf.custom_gradient
def additive_score(keys, projected_query, energy):
    """energy . tanh(keys + projected_query): keys (B, S, A), projected_query (B, A), energy (A,) -> (B, S).

    Its backward pass computes the tanh again instead of keeping it: automatic differentiation would keep
    tanh(...), (B, S, A), from every decoder step of a training batch until the backward pass, 1.2 GB in
    one training step of the reference recipe at its longest bucket (64 sentences of 101 pieces: 4.59 GB
    peak, 3.36 GB with this). The price is one more tanh per step in the backward pass.
    """
    def hidden():
        return tf.tanh(keys + tf.expand_dims(projected_query, 1))

    def gradient(upstream):
        recomputed = hidden()
        before_tanh = tf.expand_dims(upstream, 2) * energy * (1 - tf.square(recomputed))
        return before_tanh, tf.reduce_sum(before_tanh, axis=1), tf.einsum("bsa,bs->a", recomputed, upstream)

    return tf.einsum("bsa,a->bs", hidden(), energy), gradient


@keras.saving.register_keras_serializable(package="seq2seq")
class LuongAttention(_Attention):
    """Multiplicative attention of Luong et al. (2015): `dot`, `general` or `concat` score.

    `dot` needs the query and memory sizes to match; `general` learns W in q . W k; `concat` is
    v . tanh(W [q; k] + b), the additive form with W split into its query and key halves (b as there).
    """

    SCORES = ("dot", "general", "concat")

    def __init__(self, score="general", units=None, **kwargs):
        super().__init__(**kwargs)
        if score not in self.SCORES:
            raise ValueError(f"Luong score must be one of {self.SCORES}, got {score!r}")
        self.score_name = score
        self.units = units
        self.additive = (BahdanauAttention(units, name="concat_score", dtype=self.dtype_policy)
                         if score == "concat" else None)
        self.key_projection = None

    def build(self, query_shape, keys_shape=None, memory_shape=None, memory_mask_shape=None):
        memory_dim = (memory_shape or keys_shape)[-1]
        if self.score_name == "dot" and query_shape[-1] != memory_dim:
            raise ValueError(
                f"Luong 'dot' attention needs equal query and memory sizes, got {query_shape[-1]} "
                f"and {memory_dim}; use 'general' instead"
            )
        if self.score_name == "general":
            # W k is computed once per sequence, so `general` costs the same per step as `dot`.
            self.key_projection = keras.layers.Dense(query_shape[-1], use_bias=False, name="key_projection",
                                                    dtype=self.dtype_policy)
            self.key_projection.build((None, None, memory_dim))
        if self.additive is not None:
            self.additive.build(query_shape, memory_shape=(None, None, memory_dim))

    def prepare_keys(self, memory):
        if self.additive is not None:
            return self.additive.prepare_keys(memory)
        if self.key_projection is not None:
            return self.key_projection(memory)
        return memory

    def score(self, query, keys):
        if self.additive is not None:
            return self.additive.score(query, keys)
        return ops.einsum("bd,bsd->bs", query, keys)

    def get_config(self):
        return {**super().get_config(), "score": self.score_name, "units": self.units}


def make_attention(kind: str, units: int, dtype=None):
    """Build the attention layer named in a config: `bahdanau` or `luong-<score>`."""
    if kind == "bahdanau":
        return BahdanauAttention(units, name="attention", dtype=dtype)
    if kind.startswith("luong-"):
        return LuongAttention(score=kind.removeprefix("luong-"), units=units, name="attention", dtype=dtype)
    raise ValueError(f"unknown attention {kind!r}; use bahdanau, luong-dot, luong-general or luong-concat")
