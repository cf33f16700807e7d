"""The MTRNN cell: its leaky-integrator maths against a numpy reference, tau 1 as a plain tanh RNN, its
use in every model that takes a cell, and the language model's picture of what each timescale keeps."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.cli import main
from seq2seq.config import config_from_dict
from seq2seq.errors import ConfigError, Seq2SeqError
from seq2seq.layers.mtrnn import MTRNN, MTRNNCell, group_sizes
from seq2seq.tasks.language_model.model import RecurrentLanguageModel
from seq2seq.tasks.language_model.predictor import LanguageModel
from seq2seq.tasks.language_model.timescales import group_differences, timescale_figure
from test_language_model import lm_config_text, write_text_corpus

TIMESCALES = [[1, 0.25], [4, 0.25], [50, 0.5]]


def numpy_mtrnn(inputs, kernel, recurrent_kernel, bias, taus):
    """u_t = (1 - 1/tau) u_{t-1} + (1/tau)(W x_t + R tanh(u_{t-1}) + b), written out step by step."""
    potential = np.zeros((inputs.shape[0], kernel.shape[1]))
    outputs = []
    for step in range(inputs.shape[1]):
        drive = inputs[:, step] @ kernel + np.tanh(potential) @ recurrent_kernel + bias
        potential = (1 - 1 / taus) * potential + drive / taus
        outputs.append(np.tanh(potential))
    return np.stack(outputs, axis=1), potential


def test_the_layer_computes_the_leaky_integrator_equations():
    layer = MTRNN(8, timescales=TIMESCALES, return_sequences=True, return_state=True)
    inputs = np.random.default_rng(0).normal(size=(3, 6, 5)).astype(np.float32)
    outputs, state = layer(inputs)
    cell = layer.cell
    taus = np.repeat([1.0, 4.0, 50.0], group_sizes(8, TIMESCALES))
    expected_outputs, expected_state = numpy_mtrnn(inputs, cell.kernel.numpy(), cell.recurrent_kernel.numpy(),
                                                   cell.bias.numpy(), taus)
    np.testing.assert_allclose(np.asarray(outputs), expected_outputs, atol=1e-5)
    np.testing.assert_allclose(np.asarray(state), expected_state, atol=1e-5)


def test_time_constant_one_is_keras_simple_rnn():
    mtrnn = MTRNN(6, timescales=[[1, 1.0]], return_sequences=True)
    simple = keras.layers.SimpleRNN(6, return_sequences=True)
    inputs = np.random.default_rng(1).normal(size=(2, 7, 3)).astype(np.float32)
    mtrnn(inputs), simple(inputs)
    simple.set_weights(mtrnn.get_weights())  # kernel, recurrent kernel, bias: the same shapes and roles
    np.testing.assert_allclose(np.asarray(mtrnn(inputs)), np.asarray(simple(inputs)), atol=1e-5)


def test_units_are_split_by_their_shares():
    assert group_sizes(10, [[2, 0.5], [8, 0.25], [32, 0.25]]) == [5, 2, 3]
    with pytest.raises(ValueError, match="leave a group of 3 units empty"):
        group_sizes(3, [[2, 0.1], [8, 0.9]])
    with pytest.raises(ValueError, match=r"tau >= 1 and a share > 0"):
        MTRNNCell(4, timescales=[[0.5, 1.0]])


def test_slow_units_change_less_per_step():
    cell = MTRNNCell(4, timescales=[[1, 0.5], [100, 0.5]])
    cell.build((None, 3))
    _, [potential] = cell(np.ones((1, 3), np.float32), [np.zeros((1, 4), np.float32)])
    fast, slow = np.abs(np.asarray(potential))[0, :2], np.abs(np.asarray(potential))[0, 2:]
    drive = np.abs(np.ones(3) @ cell.kernel.numpy())
    np.testing.assert_allclose(fast, drive[:2], rtol=1e-5)
    np.testing.assert_allclose(slow, drive[2:] / 100, rtol=1e-5)


def test_the_language_model_steps_an_mtrnn_like_it_reads_a_sequence():
    model = RecurrentLanguageModel(30, cell={"type": "mtrnn", "timescales": TIMESCALES}, embedding_dim=6,
                                   decoder_units=8, decoder_layers=2, dropout=0.0, stream_rows=2)
    ids = np.random.default_rng(2).integers(4, 30, (2, 6)).astype(np.int32)
    states, stepped = model.zero_states(2), []
    for position in range(6):
        logits, states, _ = model.step(tf.constant(ids[:, position]), states, None)
        stepped.append(np.asarray(logits))
    np.testing.assert_allclose(np.stack(stepped, axis=1), np.asarray(model(ids)), atol=1e-5)


@pytest.mark.parametrize("settings, message", [
    ({"model": {"mtrnn_timescales": [[2, 1.0]]}}, "'model.mtrnn_timescales' applies to 'model.cell: mtrnn' only"),
    ({"model": {"cell": "mtrnn", "mtrnn_timescales": [[2, 0.5], [8, 0.4]]}}, "shares above 0 that add up to 1"),
    ({"model": {"cell": "mtrnn", "mtrnn_timescales": [2, 8]}}, "a list of \\[tau, share\\] pairs"),
])
def test_timescale_config_errors_name_the_key(settings, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"task": "language_model", **settings})


def test_an_mtrnn_language_model_trains_and_shows_its_timescales(tmp_path, capsys):
    data = write_text_corpus(tmp_path / "data")
    config = tmp_path / "lm.yaml"
    config.write_text(lm_config_text(data, epochs=2).replace("model: {", "model: {cell: mtrnn, "
                                                             "mtrnn_timescales: [[1, 0.5], [30, 0.5]], "))
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    assert main(["generate", str(tmp_path / "run"), "--prompt", "the dog"]) == 0
    assert capsys.readouterr().out.startswith("the dog")
    language_model = LanguageModel.load(tmp_path / "run")
    result = group_differences(language_model, "the cat sat on the mat.", position=5, replacement="d")
    assert result["groups"] == [(0, 1.0), (0, 30.0)]
    assert result["pieces"][0] == "c" and result["differences"].shape == (len(result["pieces"]), 2)
    fast, slow = result["differences"][-1]
    assert slow > fast, "the slow group still differs at the end of the text"
    assert timescale_figure(result).axes[0].get_lines()


def test_group_differences_need_an_mtrnn(tmp_path):
    class Stub:
        model = RecurrentLanguageModel(30, cell="gru", embedding_dim=4, decoder_units=4, stream_rows=1)

    with pytest.raises(Seq2SeqError, match="need an MTRNN language model"):
        group_differences(Stub(), "abc", 0, "x")
