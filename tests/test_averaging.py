import zipfile

import h5py
import keras
import numpy as np
import pytest

from seq2seq.training.averaging import average_checkpoints
from seq2seq.errors import Seq2SeqError
from seq2seq.tasks.translation.model import TranslationModel
from seq2seq.models.loading import load_model_file
from seq2seq.durable_files import save_model_atomically
from seq2seq.training.run_dir import RunDirectory

TINY = dict(embedding_dim=16, encoder_units=16, encoder_layers=1, decoder_units=24, attention_units=16,
            dropout=0.1)


def write_checkpoint(run, epoch, **settings):
    """A checkpoint like training writes: a compiled model with optimizer state, its own weights."""
    keras.utils.set_random_seed(epoch)
    model = TranslationModel(30, 12, **{**TINY, **settings})
    rng = np.random.default_rng(epoch)
    for variable in model.trainable_variables:  # no weight is still at its initial value (zero biases)
        variable.assign(variable + rng.normal(0.0, 0.1, variable.shape))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.optimizer.build(model.trainable_variables)
    save_model_atomically(model, run.checkpoint(epoch))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = RunDirectory(tmp_path_factory.mktemp("averaging") / "run").create()
    for epoch in (1, 2, 3, 4):
        write_checkpoint(run, epoch)
    return run


def float_weights(model):
    return [np.asarray(variable.numpy()) for variable in model.variables if "float" in str(variable.dtype)]


def test_averaged_weights_are_the_mean_of_the_last_checkpoints(run):
    logged = []
    output = average_checkpoints(run.path, last=3, log=logged.append)
    assert output == run.path / "model.averaged.keras" and output.exists()
    assert "epoch-002.keras to epoch-004.keras" in logged[0]
    checkpoints = [float_weights(load_model_file(run.checkpoint(epoch), compile=False)) for epoch in (2, 3, 4)]
    averaged = load_model_file(output, compile=False)
    for weights, *versions in zip(float_weights(averaged), *checkpoints):
        expected = np.mean(np.stack(versions).astype(np.float64), axis=0).astype(np.float32)
        np.testing.assert_allclose(weights, expected, rtol=1e-6, atol=1e-7)
        assert not np.allclose(weights, versions[-1])


def test_averaged_model_translates_and_has_no_optimizer_state(run):
    output = average_checkpoints(run.path, last=2, output=run.path / "eval" / "mean.keras", log=lambda _: None)
    with zipfile.ZipFile(run.checkpoint(4)) as archive, h5py.File(archive.open("model.weights.h5")) as weights:
        assert "optimizer" in weights
    with zipfile.ZipFile(output) as archive, h5py.File(archive.open("model.weights.h5")) as weights:
        assert "optimizer" not in weights
    model = load_model_file(output, compile=False)
    assert model.get_config() == load_model_file(run.checkpoint(4), compile=False).get_config()
    logits = model((np.array([[5, 6, 7, 3]], "int32"), np.array([[2, 4, 5]], "int32")))
    assert logits.shape == (1, 3, 12) and np.all(np.isfinite(logits))


def test_averaging_one_checkpoint_copies_its_weights(run):
    output = average_checkpoints(run.path, last=1, log=lambda _: None)
    newest = float_weights(load_model_file(run.checkpoint(4), compile=False))
    for weights, expected in zip(float_weights(load_model_file(output, compile=False)), newest):
        np.testing.assert_array_equal(weights, expected)


@pytest.mark.parametrize("last, message", [
    (5, "asked to average the last 5 checkpoints but only 4 exist; `train.keep_checkpoints`"),
    (0, "cannot average the last 0 checkpoints: give at least 1"),
])
def test_bad_counts_are_one_line_errors(run, last, message):
    with pytest.raises(Seq2SeqError, match=message.replace("`", ".")):
        average_checkpoints(run.path, last=last, log=lambda _: None)


def test_checkpoints_of_different_configs_are_refused(tmp_path):
    run = RunDirectory(tmp_path / "run").create()
    write_checkpoint(run, 1)
    write_checkpoint(run, 2, decoder_units=32)
    with pytest.raises(Seq2SeqError, match=r"epoch-002.keras and .*epoch-001.keras cannot be averaged: they come "
                                           r"from different model configs \(decoder/step/gru_cell_0/kernel "
                                           r"float32\[48, 96\] against .* float32\[40, 72\]\)"):
        average_checkpoints(run.path, last=2, log=lambda _: None)
    assert not run.averaged_model_file.exists()


def test_missing_run_and_bad_output_name_are_errors(run, tmp_path):
    with pytest.raises(Seq2SeqError, match="run directory not found"):
        average_checkpoints(tmp_path / "nowhere", last=1)
    with pytest.raises(Seq2SeqError, match="must end with .keras"):
        average_checkpoints(run.path, last=1, output=tmp_path / "mean.h5")


def test_a_trained_run_keeps_five_checkpoints_to_average(trained_run, tmp_path):
    output = average_checkpoints(trained_run, last=5, output=tmp_path / "mean.keras", log=lambda _: None)
    assert load_model_file(output, compile=False).get_config()["target_vocab_size"] > 0
    with pytest.raises(Seq2SeqError, match="last 6 checkpoints but only 5 exist"):
        average_checkpoints(trained_run, last=6, output=tmp_path / "mean.keras")
