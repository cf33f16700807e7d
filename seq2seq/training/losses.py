"""Training loss and metric over padded target sequences (padding id 0 never counts)."""

import keras
import tensorflow as tf
from keras import ops

from seq2seq.keras_internals import keras_loss_divisor
from seq2seq.tokens import PAD_ID


def token_nll(y_true, y_pred, label_smoothing=0.0):
    """-> per-token negative log-likelihood (B, T) in float32, smoothed towards uniform, and the
    padding mask (B, T) as float. Log-probabilities are never materialised: log p(y) = z_y - logsumexp(z).
    """
    logits = ops.cast(y_pred, "float32")
    labels = ops.cast(y_true, "int32")
    log_normalizer = ops.logsumexp(logits, axis=-1)
    gold = ops.squeeze(ops.take_along_axis(logits, ops.expand_dims(labels, -1), axis=-1), -1)
    nll = log_normalizer - gold
    if label_smoothing:
        nll = (1.0 - label_smoothing) * nll + label_smoothing * (log_normalizer - ops.mean(logits, axis=-1))
    return nll, ops.cast(ops.not_equal(labels, PAD_ID), "float32")


# The logits are the biggest tensor of a training step (batch x length x vocabulary). Op by op, the
# loss and its gradient pass over them many times; compiled alone, XLA fuses them (a 64 x 40 x 8000
# bfloat16 batch: 205 -> 84 CPU ms). For steps that are not compiled as a whole: nested inside a
# compiled step, it made a reference-size step ten times slower.
token_nll_compiled = tf.function(token_nll, jit_compile=True, reduce_retracing=True)


@keras.saving.register_keras_serializable(package="seq2seq")
class MaskedCrossEntropy(keras.losses.Loss):
    """Per-token cross-entropy with label smoothing, averaged over real (non-padding) tokens.

    Averaging per token rather than per sentence keeps long and short batches on one scale. Under
    tf.distribute the average is over the tokens of all replicas, so N replicas compute exactly what
    one device computes for the same global batch.
    """

    def __init__(self, label_smoothing=0.0, compile_alone=False, name="masked_cross_entropy",
                 reduction="sum_over_batch_size", **kwargs):
        """`compile_alone`: compile the loss with XLA by itself, for training steps that are not
        compiled as a whole."""
        # Keras' mean over the batch (of `call`'s per-sentence shares) also divides by the number of
        # tf.distribute replicas, whose gradients are then summed; it leaves a scalar loss unscaled.
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.label_smoothing = label_smoothing
        self.compile_alone = compile_alone

    def call(self, y_true, y_pred):
        nll, mask = (token_nll_compiled if self.compile_alone else token_nll)(y_true, y_pred, self.label_smoothing)
        # Each sentence's share of the per-token mean over the whole global batch, scaled so that
        # what Keras divides the loss by cancels out.
        tokens = ops.sum(mask)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            tokens = context.all_reduce("sum", tokens)
        return ops.sum(nll * mask, axis=1) * keras_loss_divisor(ops.shape(mask)[0]) / ops.maximum(tokens, 1.0)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "compile_alone": self.compile_alone}


@keras.saving.register_keras_serializable(package="seq2seq")
class TokenCrossEntropy(keras.metrics.Metric):
    """Unsmoothed per-token cross-entropy (nats); exp() of it is the perplexity.

    Reported beside the smoothed loss so learning curves compare with other toolkits.
    """

    def __init__(self, compile_alone=False, name="xent", **kwargs):
        super().__init__(name=name, **kwargs)
        self.compile_alone = compile_alone
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        nll, mask = (token_nll_compiled if self.compile_alone else token_nll)(y_true, y_pred)
        self.total.assign_add(ops.sum(nll * mask))
        self.count.assign_add(ops.sum(mask))

    def result(self):
        return self.total / ops.maximum(self.count, 1.0)

    def get_config(self):
        return {**super().get_config(), "compile_alone": self.compile_alone}

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


def token_loss_and_metrics(train_config):
    """What every task that predicts token sequences trains with: the smoothed per-token loss, and the
    unsmoothed per-token cross-entropy logged as `xent`."""
    compile_alone = not train_config.jit_compile
    return (MaskedCrossEntropy(train_config.label_smoothing, compile_alone=compile_alone),
            [TokenCrossEntropy(compile_alone=compile_alone)])
