"""`seq2seq train CONFIG --init-from RUN`: a new run that starts from a trained run's model and vocabulary."""

import re

import numpy as np
import pytest
import yaml

from conftest import reversal_config_text
from seq2seq.cli import main
from seq2seq.config import load_config
from seq2seq.errors import ConfigError, Seq2SeqError
from seq2seq.models.loading import load_model_file
from seq2seq.tasks.translation.model import TranslationModel
from seq2seq.training.fine_tuning import initial_model
from seq2seq.training.loop import train
from seq2seq.training.run_dir import RunDirectory
from test_training import read_metrics


def fine_tuning_config(tmp_path, reversal_data, trained_run, extra=()):
    path = tmp_path / "fine_tune.yaml"
    path.write_text(reversal_config_text(reversal_data, epochs=1))
    return load_config(path, ["data.max_train_pairs=300", "train.learning_rate=0.001", f"train.init_from={trained_run}",
                              *extra])


def test_fine_tuning_starts_from_the_trained_model_with_its_vocabulary_and_a_fresh_optimizer(
        tmp_path, reversal_data, trained_run):
    lines = []
    train(fine_tuning_config(tmp_path, reversal_data, trained_run), tmp_path / "tuned", log=lines.append)
    tuned = RunDirectory(tmp_path / "tuned")
    assert f"fine-tuning {trained_run / 'model.keras'} with its vocabulary" in lines
    for name in ("source.model", "target.model"):
        assert (tuned.path / name).read_bytes() == (trained_run / name).read_bytes(), name
    assert yaml.safe_load(tuned.config_file.read_text())["train"]["init_from"] == str(trained_run)
    first_epoch_loss = float(read_metrics(tuned.path)[0]["loss"])
    trained_losses = [float(row["loss"]) for row in read_metrics(trained_run)]
    assert first_epoch_loss < trained_losses[1], "a fresh model would start near the trained run's first epoch"
    steps = int(re.search(r"in (\d+) batches per epoch", "\n".join(lines)).group(1))
    assert int(load_model_file(tuned.checkpoint(1)).optimizer.iterations) == steps, "a fresh optimizer counts this run's"


def test_frozen_parts_keep_their_trained_weights(tmp_path, reversal_data, trained_run):
    config = fine_tuning_config(tmp_path, reversal_data, trained_run, ["train.freeze=[encoder, embeddings]"])
    train(config, tmp_path / "frozen", log=lambda *_: None)
    before, after = load_model_file(trained_run / "model.keras"), load_model_file(tmp_path / "frozen" / "model.keras")
    weights = {"encoder": lambda model: model.encoder.weights,
               "decoder embedding": lambda model: [model.decoder.embedding.embeddings],
               "decoder": lambda model: model.decoder.weights}
    for part in ("encoder", "decoder embedding"):
        for old, new in zip(weights[part](before), weights[part](after), strict=True):
            np.testing.assert_array_equal(np.asarray(new), np.asarray(old), err_msg=part)
    assert any(not np.array_equal(np.asarray(old), np.asarray(new))
               for old, new in zip(weights["decoder"](before), weights["decoder"](after))), "the rest still trains"
    checkpoint = load_model_file(tmp_path / "frozen" / "checkpoints" / "epoch-001.keras")
    assert checkpoint.get_config()["frozen"] == ["embeddings", "encoder"]
    assert not checkpoint.encoder.trainable
    assert int(checkpoint.optimizer.iterations) > 0, "the optimizer state loads: a frozen run can resume"
    with pytest.raises(Seq2SeqError, match="--resume cannot change train.freeze"):
        train(RunDirectory(tmp_path / "frozen").load_config(["train.freeze=[encoder]", "train.epochs=2"]),
              tmp_path / "frozen", resume=True, log=lambda *_: None)
    again = initial_model(RunDirectory(tmp_path / "frozen"), TranslationModel, "float32")
    assert again.encoder.trainable and "frozen" not in again.get_config(), "a run fine-tuned from it freezes anew"


@pytest.mark.parametrize("change, named", [("model.decoder_units=32", "model.decoder_units is 64 there and 32 here"),
                                           ("tokenizer.vocab_size=50", "tokenizer.vocab_size is 40 there and 50 here")])
def test_a_model_or_tokenizer_mismatch_is_refused_before_tensorflow_starts(tmp_path, reversal_data, trained_run,
                                                                           capsys, change, named):
    config = tmp_path / "other.yaml"
    config.write_text(reversal_config_text(reversal_data))
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run"), "--init-from", str(trained_run),
                 "--set", change]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: --init-from {trained_run}: {named}; fine-tuning keeps the trained model"), error
    assert not (tmp_path / "run").exists()


def test_init_from_names_what_is_missing(tmp_path, reversal_data, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(reversal_config_text(reversal_data))
    (tmp_path / "untrained").mkdir()
    assert main(["train", str(config), "--init-from", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip() == f"error: --init-from {tmp_path / 'nowhere'}: run directory not found"
    assert main(["train", str(config), "--init-from", str(tmp_path / "untrained")]) == 2
    assert "model.keras: missing from the run directory; fine-tuning starts from a run's best model" in capsys.readouterr().err
    assert main(["train", str(config), "--init-from", str(tmp_path / "untrained"), "--resume"]) == 2
    assert "--init-from starts a new run and --resume continues one" in capsys.readouterr().err


@pytest.mark.parametrize("overrides, message", [
    (["train.freeze=[encoder]"], "'train.freeze' applies when fine-tuning a trained run"),
    (["train.init_from=x", "train.freeze=[decoder]"], "'train.freeze' takes embeddings and encoder, got 'decoder'"),
    (["train.checkpoint_every_minutes=0"], "'train.checkpoint_every_minutes' must be above 0"),
    (["train.log_every_steps=-1"], "'train.log_every_steps' must be at least 0"),
])
def test_the_new_training_keys_are_checked(tmp_path, reversal_data, overrides, message):
    config = tmp_path / "c.yaml"
    config.write_text(reversal_config_text(reversal_data))
    with pytest.raises(ConfigError, match=message):
        load_config(config, overrides)


def test_tensorboard_without_its_package_is_a_clear_error(tmp_path, reversal_data, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "tensorboard" else find_spec(name))
    config = tmp_path / "c.yaml"
    config.write_text(reversal_config_text(reversal_data))
    with pytest.raises(Seq2SeqError, match=r'needs the tensorboard package: pip install "seq2seq\[tensorboard\]"'):
        load_config(config, ["train.tensorboard=true"])
