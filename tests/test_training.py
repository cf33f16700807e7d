"""End to end on the synthetic reversal task: the model must learn, resume exactly, and evaluate."""

import csv
import json

import pytest

from conftest import reversal_config_text
from seq2seq.config import load_config
from seq2seq.errors import Seq2SeqError
from seq2seq.run_evaluation import evaluate_run
from seq2seq.training import train
from seq2seq.translator import Translator


def read_metrics(run_dir):
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_model_learns_to_reverse(trained_run, reversal_data):
    pairs = [line.split("\t") for line in (reversal_data / "test.tsv").read_text().splitlines()]
    translator = Translator.load(trained_run)
    hypotheses = translator.translate([source for source, _ in pairs])
    exact = sum(h == target for h, (_, target) in zip(hypotheses, pairs)) / len(pairs)
    assert exact >= 0.9, f"exact match {exact:.2f}: the model did not learn to reverse"


def test_run_directory_holds_everything_needed(trained_run):
    for name in ("config.yaml", "model.keras", "source.model", "target.model", "metrics.csv",
                 "checkpoints/state.json"):
        assert (trained_run / name).exists(), name
    assert len(list((trained_run / "checkpoints").glob("epoch-*.keras"))) == 3
    rows = read_metrics(trained_run)
    assert [int(row["epoch"]) for row in rows] == list(range(len(rows)))
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert {"dev_bleu", "val_loss", "xent", "target_tokens_per_second"} <= set(rows[0])


def test_evaluate_writes_hypotheses_and_signed_scores(trained_run):
    scores = evaluate_run(trained_run, "test", log=lambda *_: None)
    assert scores["bleu"] > 80
    saved = json.loads((trained_run / "eval" / "test.scores.json").read_text())
    assert saved["bleu"] == scores["bleu"]
    assert saved["signatures"]["bleu"].startswith("nrefs:1")
    assert len((trained_run / "eval" / "test.hyp").read_text().splitlines()) == 100


def test_resume_continues_exactly_where_training_stopped(tmp_path, reversal_data):
    config_path = tmp_path / "short.yaml"
    config_path.write_text(reversal_config_text(reversal_data, epochs=2))
    config = load_config(config_path, ["data.max_train_pairs=600"])
    quiet = dict(log=lambda *_: None)
    train(config, tmp_path / "straight", **quiet)

    interrupted = load_config(config_path, ["data.max_train_pairs=600", "train.epochs=1"])
    train(interrupted, tmp_path / "resumed", **quiet)
    # Resuming continues the saved config, so raise its epoch count as a user would by editing it.
    saved = (tmp_path / "resumed" / "config.yaml")
    saved.write_text(saved.read_text().replace("epochs: 1", "epochs: 2"))
    train(None, tmp_path / "resumed", resume=True, **quiet)

    straight, resumed = read_metrics(tmp_path / "straight"), read_metrics(tmp_path / "resumed")
    assert len(straight) == len(resumed) == 2
    for key in ("loss", "val_loss", "dev_bleu"):
        assert float(resumed[1][key]) == pytest.approx(float(straight[1][key]), rel=1e-3, abs=1e-3), key


def test_training_refuses_to_overwrite_a_run(tmp_path, trained_run):
    config = load_config(trained_run / "config.yaml")
    with pytest.raises(Seq2SeqError, match="already holds a training run"):
        train(config, trained_run, log=lambda *_: None)


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(Seq2SeqError, match="no checkpoint to resume from"):
        train(None, tmp_path / "empty", resume=True, log=lambda *_: None)
