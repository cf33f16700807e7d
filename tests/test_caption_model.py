"""The captioning model: image encoders, the Show-Attend-Tell decoder options, and search over images."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import teacher_forced_scores
from seq2seq.config import DecodeConfig
from seq2seq.errors import ConfigError
from seq2seq.layers.image_encoders import PretrainedCNN, SmallCNN, network_blocks
from seq2seq.tasks.captioning.model import CaptionModel
from seq2seq.search import CompiledSearch, beam_search, image_inputs
from seq2seq.tokens import EOS_ID, PAD_ID

SMALL_CNN = dict(kind="small_cnn", image_size=32, filters=[8, 16])


def tiny_captioner(seed=5, **settings):
    keras.utils.set_random_seed(seed)
    options = dict(feature_units=16, embedding_dim=16, decoder_units=24, attention_units=16, dropout=0.0,
                   context_gate=True, attention_regularization=1.0)
    return CaptionModel(20, SMALL_CNN, **{**options, **settings})


def pixels(count=3, size=32):
    return np.random.default_rng(0).integers(0, 256, size=(count, size, size, 3)).astype("uint8")


TARGET_IN = np.array([[1, 5, 6, 7], [1, 8, 0, 0], [1, 9, 9, 0]], dtype="int32")


def test_small_cnn_grid_shape():
    encoder = SmallCNN(64, [8, 16, 32])
    assert encoder.grid_shape == (8, 8, 32)
    assert tuple(encoder(pixels(2, 64)).shape) == (2, 8, 8, 32)


def test_caption_model_round_trips_through_keras_file(tmp_path):
    model = tiny_captioner()
    path = tmp_path / "captioner.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded, CaptionModel)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded((pixels(), TARGET_IN)), model((pixels(), TARGET_IN)), atol=1e-6)


def test_cached_features_give_the_same_outputs_as_pixels():
    model = tiny_captioner()
    features = model.image_features(pixels())
    assert tuple(features.shape) == (3, model.cells, 16)
    np.testing.assert_allclose(model((features, TARGET_IN)), model((pixels(), TARGET_IN)), atol=1e-6)


def test_doubly_stochastic_penalty_counts_real_target_steps_only():
    model = tiny_captioner()
    memory, mask, states = model._encode_grid(pixels())
    _, totals = model.decoder(TARGET_IN, memory, mask, states, attention_totals=True)
    # Each real step spends one unit of attention over the cells; padding steps spend none.
    np.testing.assert_allclose(np.sum(totals, axis=1), [4, 2, 3], atol=1e-5)
    model((pixels(), TARGET_IN))
    expected = np.sum(np.square(1.0 - np.asarray(totals))) / np.sum(TARGET_IN != PAD_ID)
    np.testing.assert_allclose(float(model.losses[-1]), expected, rtol=1e-5)


def test_no_penalty_without_attention_regularization():
    model = tiny_captioner(attention_regularization=0.0)
    model((pixels(), TARGET_IN), training=True)
    assert not model.losses


def test_context_gate_scales_the_context(tmp_path):
    gated, plain = tiny_captioner(context_gate=True), tiny_captioner(context_gate=False)
    assert len(gated.weights) == len(plain.weights) + 2  # the gate's w and b
    gate = gated.decoder.step_cell.gate
    kernel, bias = gate.get_weights()
    before = np.asarray(gated((pixels(), TARGET_IN)))
    gate.set_weights([kernel * 0, bias * 0 - 30.0])  # a closed gate: the context never reaches the output
    closed = np.asarray(gated((pixels(), TARGET_IN)))
    assert not np.allclose(before, closed, atol=1e-4)
    # With the gate closed, what the decoder writes no longer depends on the image.
    np.testing.assert_allclose(closed[0, 0], np.asarray(gated((pixels()[::-1], TARGET_IN)))[2, 0], atol=1e-4)
    gated.save(tmp_path / "gated.keras")
    loaded = keras.models.load_model(tmp_path / "gated.keras", safe_mode=True)
    np.testing.assert_allclose(loaded((pixels(), TARGET_IN)), closed, atol=1e-6)


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_captioner_trains_with_the_attention_penalty(precision):
    model = tiny_captioner(dtype=precision)
    with tf.GradientTape() as tape:
        logits = model((pixels(), TARGET_IN), training=True)
        loss = sum(model.losses) + keras.ops.mean(keras.ops.cast(logits, "float32"))
    gradients = tape.gradient(loss, model.trainable_weights)
    assert logits.dtype.name == precision.split("_")[1] and np.isfinite(float(model.losses[-1]))
    assert all(gradient is not None for gradient in gradients)


def test_caption_search_runs_greedy_and_beam_over_image_cells():
    """Greedy search against the beam code itself at beam size 1 (which `decode.beam_size: 1` never reaches:
    it takes the greedy shortcut), and beam search's n-best scores against teacher-forced rescoring."""
    model = tiny_captioner()
    kind = image_inputs(32, model.cells)
    decode = DecodeConfig(max_caption_length=6)
    greedy = CompiledSearch(model, decode, kind=kind)(pixels())
    limits, attention_mask, capacity = kind.frame(pixels(), decode)
    beam_one = beam_search(model, pixels(), limits, attention_mask, capacity, beam_size=1)
    beam = CompiledSearch(model, dataclasses.replace(decode, beam_size=3, n_best=2), kind=kind)(pixels())

    assert greedy.tokens.shape == (3, 1, 6) and greedy.attention.shape == (3, 1, 6, model.cells)
    np.testing.assert_array_equal(np.asarray(beam_one.tokens), greedy.tokens)
    np.testing.assert_allclose(np.asarray(beam_one.scores), greedy.scores, atol=1e-5)
    np.testing.assert_allclose(np.asarray(beam_one.attention), greedy.attention, atol=1e-6)
    for found in (greedy, beam):
        np.testing.assert_allclose(found.scores, teacher_forced_scores([model], pixels(), found.tokens), atol=1e-4)
    assert beam.tokens.shape == (3, 2, 6) and np.all(beam.scores[:, 0] >= beam.scores[:, 1])
    steps = (greedy.tokens[:, 0] != PAD_ID).sum(axis=1)
    for row, length in enumerate(steps):
        np.testing.assert_allclose(greedy.attention[row, 0, :length].sum(axis=1), 1.0, atol=1e-5)
    assert np.all((greedy.tokens[:, 0] == EOS_ID).sum(axis=1) <= 1)


def _mobilenet_encoder(fine_tune_blocks=0):
    return PretrainedCNN("keras_application", 32, backbone="MobileNetV2", fine_tune_blocks=fine_tune_blocks)


def test_keras_application_backbone_loads_a_local_weights_file(tmp_path):
    source = _mobilenet_encoder()
    keras.utils.set_random_seed(1)
    for weight in source.network.weights:
        weight.assign(np.random.default_rng(len(weight.path)).normal(size=weight.shape).astype("float32") * 0.05)
    weights_file = tmp_path / "backbone.weights.h5"
    source.network.save_weights(weights_file)
    encoder = _mobilenet_encoder()
    encoder.load_pretrained(weights_file)
    np.testing.assert_allclose(encoder(pixels()), source(pixels()), atol=1e-5)
    assert encoder.grid_shape == (1, 1, 1280)
    assert not encoder.trainable_weights  # frozen by default


def test_fine_tuning_unfreezes_only_the_last_blocks_and_never_batch_norm():
    encoder = _mobilenet_encoder(fine_tune_blocks=2)
    blocks = network_blocks(encoder.network)
    last_two = {id(layer) for block in blocks[-2:] for layer in block}
    trainable = [layer for layer in encoder.network.layers if layer.trainable_weights]
    assert trainable and all(id(layer) in last_two for layer in trainable)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in trainable)
    assert [layer.name for layer in blocks[-1]][-1] == "out_relu"  # the head joins the last block
    with pytest.raises(ConfigError, match="17 blocks"):
        _mobilenet_encoder(fine_tune_blocks=len(blocks) + 1)


def test_captioner_with_a_fine_tuned_backbone_round_trips(tmp_path):
    backbone = dict(kind="keras_application", image_size=64, backbone="MobileNetV2", fine_tune_blocks=1)
    model = CaptionModel(20, backbone, feature_units=16, embedding_dim=16, decoder_units=24, attention_units=16, dropout=0.0)
    model.save(tmp_path / "captioner.keras")
    loaded = keras.models.load_model(tmp_path / "captioner.keras", safe_mode=True)
    images = pixels(size=64)
    np.testing.assert_allclose(loaded((images, TARGET_IN)), model((images, TARGET_IN)), atol=1e-5)
    assert not loaded.frozen_encoder
    assert [weight.path for weight in loaded.trainable_weights] == [weight.path for weight in model.trainable_weights]
