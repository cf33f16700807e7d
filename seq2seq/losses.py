"""Training loss and metric over padded target sequences (padding id 0 never counts)."""

import keras
import tensorflow as tf
from keras import ops

from seq2seq.tokenizer import PAD_ID


def _token_log_probs(y_true, y_pred):
    """-> log-probabilities (B, T, V) in float32, labels (B, T), padding mask (B, T) as float."""
    log_probs = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
    labels = ops.cast(y_true, "int32")
    mask = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
    return log_probs, labels, mask


def _gold_log_prob(log_probs, labels):
    return ops.squeeze(ops.take_along_axis(log_probs, ops.expand_dims(labels, -1), axis=-1), -1)


@keras.saving.register_keras_serializable(package="seq2seq")
class MaskedCrossEntropy(keras.losses.Loss):
    """Per-token cross-entropy with label smoothing, averaged over real (non-padding) tokens.

    Averaging per token rather than per sentence keeps long and short batches on one scale. Under
    tf.distribute the average is over the tokens of all replicas, so N replicas compute exactly what
    one device computes for the same global batch.
    """

    def __init__(self, label_smoothing=0.0, name="masked_cross_entropy", reduction="sum_over_batch_size", **kwargs):
        # Keras' mean over the batch (of `call`'s per-sentence shares) also divides by the number of
        # tf.distribute replicas, whose gradients are then summed; it leaves a scalar loss unscaled.
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        log_probs, labels, mask = _token_log_probs(y_true, y_pred)
        nll = -_gold_log_prob(log_probs, labels)
        if self.label_smoothing:
            uniform = -ops.mean(log_probs, axis=-1)
            nll = (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform
        # Each sentence's share of the per-token mean over the whole global batch, scaled so that
        # Keras' mean over this replica's sentences, divided by the replica count, sums to it.
        tokens, replicas = ops.sum(mask), 1
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            tokens, replicas = context.all_reduce("sum", tokens), context.num_replicas_in_sync
        batch = ops.cast(ops.shape(mask)[0] * replicas, "float32")
        return ops.sum(nll * mask, axis=1) * batch / ops.maximum(tokens, 1.0)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="seq2seq")
class TokenCrossEntropy(keras.metrics.Metric):
    """Unsmoothed per-token cross-entropy (nats); exp() of it is the perplexity.

    Reported beside the smoothed loss so learning curves compare with other toolkits.
    """

    def __init__(self, name="xent", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        log_probs, labels, mask = _token_log_probs(y_true, y_pred)
        self.total.assign_add(-ops.sum(_gold_log_prob(log_probs, labels) * mask))
        self.count.assign_add(ops.sum(mask))

    def result(self):
        return self.total / ops.maximum(self.count, 1.0)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)
