"""End to end on the synthetic reversal task: the model must learn, resume exactly, and evaluate."""

import csv
import json

import numpy as np
import pytest

from conftest import reversal_config_text
from seq2seq.training.callbacks import RunCheckpoint
from seq2seq.config import load_config
from seq2seq.errors import Seq2SeqError
from seq2seq.durable_files import PARTIAL_MARK
from seq2seq.training.run_dir import RunDirectory
from seq2seq.evaluation import evaluate_run
from seq2seq.models.loading import load_model_file
from seq2seq.training.loop import train
from seq2seq.tasks.translation.translator import Translator


def read_metrics(run_dir):
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def reversal_exact_match(run_dir, reversal_data):
    """The share of test sentences a run reverses exactly, with its greedy search."""
    pairs = [line.split("\t") for line in (reversal_data / "test.tsv").read_text().splitlines()]
    hypotheses = Translator.load(run_dir).translate([source for source, _ in pairs])
    return sum(h == target for h, (_, target) in zip(hypotheses, pairs)) / len(pairs)


def test_the_model_learns_to_reverse(trained_run, reversal_data):
    exact = reversal_exact_match(trained_run, reversal_data)
    assert exact >= 0.9, f"exact match {exact:.2f}: the model did not learn to reverse"


def test_run_directory_holds_everything_needed(trained_run):
    for name in ("config.yaml", "model.keras", "source.model", "target.model", "metrics.csv",
                 "checkpoints/state.json"):
        assert (trained_run / name).exists(), name
    kept = sorted(path.name for path in (trained_run / "checkpoints").glob("epoch-*.keras"))
    assert kept == [f"epoch-{epoch:03d}.keras" for epoch in range(2, 7)], "the last train.keep_checkpoints (5)"
    rows = read_metrics(trained_run)
    assert [int(row["epoch"]) for row in rows] == list(range(1, len(rows) + 1))
    assert not list(trained_run.rglob(f"*{PARTIAL_MARK}*"))
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert {"dev_bleu", "val_loss", "xent", "target_tokens_per_second"} <= set(rows[0])


def test_evaluate_writes_hypotheses_and_signed_scores(trained_run):
    scores = evaluate_run(trained_run, "test", log=lambda *_: None)
    assert scores["bleu"] > 80
    saved = json.loads((trained_run / "eval" / "test.greedy.scores.json").read_text())
    assert saved["bleu"] == scores["bleu"]
    assert saved["signatures"]["bleu"].startswith("nrefs:1")
    assert len((trained_run / "eval" / "test.greedy.hyp").read_text().splitlines()) == 100


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even `except Exception` handlers."""


@pytest.mark.parametrize("levers", [pytest.param([], marks=pytest.mark.slow),  # test_faults resumes plain runs
                                    ["train.weight_averaging=0.9", "model.source_word_dropout=0.2",
                                     "model.target_word_dropout=0.1", "tokenizer.sampling_alpha=0.3"]],
                         ids=["plain", "averaged-word-dropout-subword-sampling"])
def test_resume_continues_exactly_where_training_stopped(tmp_path, reversal_data, monkeypatch, levers):
    """Dropout and a cosine schedule make this strict: masks and learning rates must both carry over;
    with weight averaging, the averages and the raw weights must each come back in their place, and
    with subword sampling the resumed epoch must draw the same segmentations."""
    config_path = tmp_path / "short.yaml"
    config_path.write_text(reversal_config_text(reversal_data, epochs=2))
    config = load_config(config_path, ["data.max_train_pairs=600", "model.dropout=0.2", "train.decay=cosine",
                                       *levers])
    quiet = dict(log=lambda *_: None)
    train(config, tmp_path / "straight", **quiet)

    finish_epoch = RunCheckpoint.on_epoch_end

    def killed_after_first_checkpoint(self, epoch, logs=None):
        finish_epoch(self, epoch, logs)
        raise Killed

    monkeypatch.setattr(RunCheckpoint, "on_epoch_end", killed_after_first_checkpoint)
    with pytest.raises(Killed):
        train(config, tmp_path / "resumed", **quiet)
    monkeypatch.undo()
    train(None, tmp_path / "resumed", resume=True, **quiet)

    straight, resumed = read_metrics(tmp_path / "straight"), read_metrics(tmp_path / "resumed")
    assert [row["epoch"] for row in resumed] == ["1", "2"]
    for key in ("loss", "val_loss", "dev_bleu", "learning_rate"):
        assert float(resumed[1][key]) == pytest.approx(float(straight[1][key]), rel=1e-4, abs=1e-4), key
    straight_model, resumed_model = (load_model_file(path / "checkpoints" / "epoch-002.keras")
                                     for path in (tmp_path / "straight", tmp_path / "resumed"))
    for name, weights in (("model", lambda model: model.weights), ("optimizer", lambda model: model.optimizer.variables)):
        for expected, found in zip(weights(straight_model), weights(resumed_model), strict=True):
            np.testing.assert_allclose(np.asarray(found), np.asarray(expected), rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.slow  # minutes on 2 cores: CI runs the slow tests in a second step
def test_the_same_config_and_seed_give_identical_metrics_twice(tmp_path, reversal_data):
    (tmp_path / "twice.yaml").write_text(reversal_config_text(reversal_data, epochs=2))
    config = load_config(tmp_path / "twice.yaml", ["data.max_train_pairs=400", "model.dropout=0.2"])
    for name in ("first", "second"):
        train(config, tmp_path / name, log=lambda *_: None)
    learned = ("loss", "xent", "val_loss", "val_xent", "dev_bleu", "dev_chrf", "learning_rate")
    first, second = read_metrics(tmp_path / "first"), read_metrics(tmp_path / "second")
    assert [[row[key] for key in learned] for row in first] == [[row[key] for key in learned] for row in second]


def test_resume_can_extend_training(tmp_path, trained_run):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(trained_run, copy)
    epochs = len(read_metrics(copy))
    train(RunDirectory(copy).load_config([f"train.epochs={epochs + 1}"]), copy, resume=True, log=lambda *_: None)
    assert [int(row["epoch"]) for row in read_metrics(copy)] == list(range(1, epochs + 2))


def test_resume_refuses_model_changes(tmp_path, trained_run):
    config = RunDirectory(trained_run).load_config(["model.decoder_units=8"])
    with pytest.raises(Seq2SeqError, match="cannot change the 'model' settings"):
        train(config, trained_run, resume=True, log=lambda *_: None)


def test_resume_refuses_a_precision_change(trained_run):
    config = RunDirectory(trained_run).load_config(["train.precision=mixed_bfloat16"])
    with pytest.raises(Seq2SeqError, match="cannot change train.precision"):
        train(config, trained_run, resume=True, log=lambda *_: None)


@pytest.mark.slow  # minutes on 2 cores: CI runs the slow tests in a second step
def test_mixed_bfloat16_trains_to_the_float32_quality_and_reloads_in_its_precision(tmp_path, reversal_data):
    """The float32 run (`trained_run`) must reach 90 % exact match on this task: so must bfloat16."""
    (tmp_path / "bf16.yaml").write_text(reversal_config_text(reversal_data))
    config = load_config(tmp_path / "bf16.yaml", ["train.precision=mixed_bfloat16"])
    train(config, tmp_path / "run", log=lambda *_: None)
    assert all(float(row["loss"]) > 0 for row in read_metrics(tmp_path / "run"))  # NaN compares False
    exact = reversal_exact_match(tmp_path / "run", reversal_data)
    assert exact >= 0.9, f"exact match {exact:.2f} in bfloat16"
    translator = Translator.load(tmp_path / "run", beam_size=2, precision="mixed_bfloat16")
    layers = [translator.model, translator.model.decoder.output_projection,
              translator.model.decoder.step_cell.attention, translator.model.encoder.recurrent_layers[0]]
    assert {layer.dtype_policy.name for layer in layers} == {"mixed_bfloat16"}
    assert translator.model.decoder.output_projection.kernel.dtype == "float32"
    sentences = ["a b c", "d e f g h", "p o n m l k"]
    # The suite sees a CPU without bfloat16 instructions (conftest), where `auto` decodes in float32.
    in_float32 = Translator.load(tmp_path / "run", beam_size=2)
    assert in_float32.model.dtype_policy.name == "float32"
    assert in_float32.translate(sentences) == translator.translate(sentences)


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, reversal_data, monkeypatch):
    (tmp_path / "nan.yaml").write_text(reversal_config_text(reversal_data, epochs=1))
    config = load_config(tmp_path / "nan.yaml", ["data.max_train_pairs=300"])
    train(config, tmp_path / "run", log=lambda *_: None)
    good = (tmp_path / "run" / "checkpoints" / "epoch-001.keras").read_bytes()

    from seq2seq.training.losses import MaskedCrossEntropy

    healthy = MaskedCrossEntropy.call
    monkeypatch.setattr(MaskedCrossEntropy, "call", lambda self, y_true, y_pred: healthy(self, y_true, y_pred) * float("nan"))
    resumed = RunDirectory(tmp_path / "run").load_config(["train.epochs=2"])
    with pytest.raises(Seq2SeqError, match=r"training stopped in epoch 2, batch 1: the loss became nan; the last good "
                                           r"checkpoint, .*epoch-001.keras \(the end of epoch 1\), is kept"):
        train(resumed, tmp_path / "run", resume=True, log=lambda *_: None)
    assert RunDirectory(tmp_path / "run").read_state()["epoch"] == 1
    assert (tmp_path / "run" / "checkpoints" / "epoch-001.keras").read_bytes() == good
    assert not (tmp_path / "run" / "checkpoints" / "epoch-002.keras").exists()
    assert len(read_metrics(tmp_path / "run")) == 1


def test_a_corrupt_state_file_is_named(tmp_path, trained_run):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(trained_run, copy)
    (copy / "checkpoints" / "state.json").write_text("{not json")
    with pytest.raises(Seq2SeqError, match="state.json: not a valid training state"):
        train(None, copy, resume=True, log=lambda *_: None)


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 truncated"], ids=["zero-byte", "truncated"])
def test_a_corrupt_checkpoint_is_named_on_resume(tmp_path, trained_run, damage):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(trained_run, copy)
    checkpoint = copy / "checkpoints" / RunDirectory(copy).read_state()["checkpoint"]
    checkpoint.write_bytes(damage)
    with pytest.raises(Seq2SeqError, match=f"{checkpoint.name}: cannot load this model file"):
        train(None, copy, resume=True, log=lambda *_: None)


def test_all_pairs_too_long_is_a_clear_error(tmp_path, reversal_data):
    config_path = tmp_path / "long.yaml"
    config_path.write_text(reversal_config_text(reversal_data))
    config = load_config(config_path, ["data.max_source_length=1"])
    with pytest.raises(Seq2SeqError, match="every training pair is longer than data.max_source_length=1"):
        train(config, tmp_path / "run", log=lambda *_: None)


def test_training_refuses_to_overwrite_a_run(tmp_path, trained_run):
    config = load_config(trained_run / "config.yaml")
    with pytest.raises(Seq2SeqError, match="already holds a training run"):
        train(config, trained_run, log=lambda *_: None)


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(Seq2SeqError, match="no checkpoint to resume from"):
        train(None, tmp_path / "empty", resume=True, log=lambda *_: None)
