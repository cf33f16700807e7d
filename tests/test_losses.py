"""The training loss: a per-token mean over real tokens, with label smoothing; the dev loss early
stopping reads."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.tasks import task_named
from seq2seq.training.losses import MaskedCrossEntropy, TokenCrossEntropy


def reference_loss(labels, logits, smoothing):
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    gold = np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
    nll = (1 - smoothing) * -gold + smoothing * -log_probs.mean(axis=-1)
    real = labels != 0
    return nll[real].sum() / real.sum()


@pytest.mark.parametrize("compile_alone", [False, True], ids=["op-by-op", "xla"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_the_loss_is_the_mean_over_real_tokens(smoothing, compile_alone):
    rng = np.random.default_rng(0)
    labels = np.array([[5, 6, 3, 0, 0], [7, 3, 0, 0, 0], [4, 5, 6, 7, 3]], "int32")
    logits = rng.normal(size=(3, 5, 9)).astype("float32")
    loss = MaskedCrossEntropy(label_smoothing=smoothing, compile_alone=compile_alone)(labels, logits)
    assert float(loss) == pytest.approx(reference_loss(labels, logits, smoothing), rel=1e-5)
    metric = TokenCrossEntropy(compile_alone=compile_alone)
    metric.update_state(labels, logits)
    assert float(metric.result()) == pytest.approx(reference_loss(labels, logits, 0.0), rel=1e-5)


def test_padding_rows_change_nothing():
    rng = np.random.default_rng(1)
    labels = np.array([[5, 6, 3], [0, 0, 0]], "int32")
    logits = rng.normal(size=(2, 3, 9)).astype("float32")
    assert float(MaskedCrossEntropy()(labels, logits)) == pytest.approx(
        float(MaskedCrossEntropy()(labels[:1], logits[:1])), rel=1e-6)


@pytest.mark.parametrize("compile_alone", [False, True], ids=["op-by-op", "xla"])
def test_the_gradient_is_softmax_minus_the_smoothed_target_on_real_tokens(compile_alone):
    import tensorflow as tf

    smoothing, vocab = 0.1, 9
    rng = np.random.default_rng(2)
    labels = np.array([[5, 6, 3, 0], [7, 3, 0, 0]], "int32")
    logits = tf.constant(rng.normal(size=(2, 4, vocab)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = MaskedCrossEntropy(label_smoothing=smoothing, compile_alone=compile_alone)(labels, logits)
    gradient = tape.gradient(loss, logits).numpy()
    softmax = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=-1, keepdims=True)
    target = (1 - smoothing) * np.eye(vocab)[labels] + smoothing / vocab
    real = (labels != 0)[..., None]
    expected = (softmax - target) * real / real.sum()
    np.testing.assert_allclose(gradient, expected, atol=1e-6)


@pytest.mark.parametrize("task", ["translation", "captioning", "tagging", "language_model"])
def test_early_stopping_on_dev_loss_uses_the_per_token_mean_over_the_whole_dev_set(task):
    """Keras' val_loss weights each dev batch by its sentences: two one-token sentences outweigh one
    four-token sentence. dev_loss must be the dev set's per-token mean, whatever the batching."""
    rng = np.random.default_rng(1)
    batches = [np.array([[5, 0, 0, 0], [6, 0, 0, 0]], "int32"), np.array([[4, 5, 6, 7]], "int32")]
    logits = [rng.normal(size=(*labels.shape, 9)).astype("float32") for labels in batches]
    model = keras.Sequential([keras.Input((4, 9)), keras.layers.Identity()])
    model.compile(loss=MaskedCrossEntropy(), metrics=[TokenCrossEntropy()])
    dev = tf.data.Dataset.from_generator(lambda: zip(logits, batches), output_signature=(
        tf.TensorSpec((None, 4, 9), tf.float32), tf.TensorSpec((None, 4), tf.int32))).apply(
        tf.data.experimental.assert_cardinality(len(batches)))
    logs = model.evaluate(dev, return_dict=True, verbose=0)
    all_labels = np.concatenate([labels.ravel() for labels in batches])
    all_logits = np.concatenate([batch.reshape(-1, 9) for batch in logits])
    per_token = reference_loss(all_labels[None], all_logits[None], 0.0)

    key, mode = task_named(task).dev_metrics["dev_loss"]

    assert (key, mode) == ("val_xent", "min")
    assert logs[key.removeprefix("val_")] == pytest.approx(per_token, rel=1e-5)
    assert logs["loss"] != pytest.approx(per_token, rel=1e-3)  # what val_loss would have been
