"""Layer-normalised GRU and LSTM: against a numpy reference, with padding, and the hoisted whole-sequence
path against the cell stepped by hand (as decoders run it)."""

import keras
import numpy as np
import pytest

from seq2seq.layers.layer_norm_rnn import LayerNormGRU, LayerNormLSTM

UNITS, FEATURES, BATCH, LENGTH = 5, 3, 2, 6


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def layer_norm(x, gain, bias=0.0):
    """Over the last axis, in float64."""
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * gain + bias


def gates(x, count):
    return np.split(x, count, axis=-1)


def numpy_gru_step(weights, x, h):
    kernel, recurrent_kernel, input_gain, bias, recurrent_gain = weights
    xs = [layer_norm(part, g, b) for part, g, b in zip(gates(x @ kernel, 3), gates(input_gain, 3), gates(bias, 3))]
    hs = [layer_norm(part, g) for part, g in zip(gates(h @ recurrent_kernel, 3), gates(recurrent_gain, 3))]
    z, r = sigmoid(xs[0] + hs[0]), sigmoid(xs[1] + hs[1])
    return z * h + (1 - z) * np.tanh(xs[2] + r * hs[2])


def numpy_lstm_step(weights, x, h, c):
    kernel, recurrent_kernel, input_gain, bias, recurrent_gain, memory_gain, memory_bias = weights
    xs = [layer_norm(part, g, b) for part, g, b in zip(gates(x @ kernel, 4), gates(input_gain, 4), gates(bias, 4))]
    hs = [layer_norm(part, g) for part, g in zip(gates(h @ recurrent_kernel, 4), gates(recurrent_gain, 4))]
    i, f, g, o = (a + b for a, b in zip(xs, hs))
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(layer_norm(c, memory_gain, memory_bias)), c


def randomized(layer, inputs):
    """Build the layer, then give every weight (gains and biases too) random values, so none is trivial."""
    layer(inputs)
    rng = np.random.default_rng(5)
    for weight in layer.weights:
        weight.assign(rng.normal(scale=0.7, size=weight.shape).astype("float32"))
    return [np.asarray(weight, "float64") for weight in layer.cell.weights]


def example():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(BATCH, LENGTH, FEATURES)).astype("float32")
    mask = np.arange(LENGTH)[None] < np.array([[LENGTH], [4]])
    return inputs, mask


@pytest.mark.parametrize("layer_class", [LayerNormGRU, LayerNormLSTM])
def test_the_layer_matches_a_numpy_reference_and_carries_its_state_over_padding(layer_class):
    inputs, mask = example()
    layer = layer_class(UNITS, return_sequences=True, return_state=True)
    weights = randomized(layer, inputs)
    outputs, *final = layer(inputs, mask=mask)

    lstm = layer_class is LayerNormLSTM
    states = [np.zeros((BATCH, UNITS))] * (2 if lstm else 1)
    expected = []
    for t in range(LENGTH):
        new = (numpy_lstm_step(weights, inputs[:, t], *states) if lstm
               else (numpy_gru_step(weights, inputs[:, t], states[0]),))
        states = [np.where(mask[:, t, None], n, old) for n, old in zip(new, states)]
        expected.append(states[0])
    np.testing.assert_allclose(np.asarray(outputs)[0], np.stack(expected, 1)[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(outputs)[1, :4], np.stack(expected, 1)[1, :4], rtol=1e-4, atol=1e-5)
    for found, reference in zip(final, states, strict=True):
        np.testing.assert_allclose(np.asarray(found), reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layer_class", [LayerNormGRU, LayerNormLSTM])
def test_the_hoisted_sequence_path_equals_stepping_the_cell(layer_class):
    inputs, _ = example()
    layer = layer_class(UNITS, return_sequences=True)
    randomized(layer, inputs)
    outputs = np.asarray(layer(inputs))
    states = [np.zeros((BATCH, UNITS), "float32")] * (2 if layer_class is LayerNormLSTM else 1)
    for t in range(LENGTH):
        output, states = layer.cell(inputs[:, t], states)
        np.testing.assert_allclose(outputs[:, t], np.asarray(output), rtol=1e-5, atol=1e-6)


def test_gates_start_at_keras_lstm_s_unit_forget_bias():
    layer = LayerNormLSTM(UNITS)
    layer(example()[0])
    np.testing.assert_array_equal(np.asarray(layer.cell.bias), np.repeat([0.0, 1.0, 0.0, 0.0], UNITS))


def test_a_saved_layer_reloads_with_its_outputs(tmp_path):
    inputs, mask = example()
    model = keras.Sequential([keras.Input((LENGTH, FEATURES)), LayerNormLSTM(UNITS, go_backwards=True)])
    randomized(model.layers[0], inputs)
    model.save(tmp_path / "layer.keras")
    restored = keras.saving.load_model(tmp_path / "layer.keras")
    np.testing.assert_allclose(np.asarray(restored(inputs)), np.asarray(model(inputs)), rtol=1e-6)
