"""Run directories written by seq2seq 0.1.0 (before the regroup around tasks) still work.

`tests/fixtures/release-0.1.0` holds a tiny translation run and a tiny captioning run as that
release wrote them (its README says how). Each is copied, its data paths pointed at the copy, and
then loaded, used, evaluated, resumed and averaged with today's code.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from seq2seq.cli import main
from seq2seq.config import CONFIG_VERSION
from seq2seq.models.loading import load_model_file
from seq2seq.tasks.captioning.captioner import Captioner
from seq2seq.tasks.captioning.model import CaptionModel
from seq2seq.tasks.translation.model import TranslationModel
from seq2seq.tasks.translation.translator import Translator
from seq2seq.training.run_dir import RunDirectory

RELEASE = Path(__file__).parent / "fixtures" / "release-0.1.0"
WHERE_MADE = "/tmp/fx/out"


@pytest.fixture
def old_runs(tmp_path):
    """A copy of the fixture whose configs name the copy's data instead of where it was made."""
    copy = tmp_path / "release"
    shutil.copytree(RELEASE, copy)
    for run in ("translation", "captioning"):
        config = copy / run / "config.yaml"
        config.write_text(config.read_text().replace(WHERE_MADE, str(copy)))
    return copy


def test_the_fixture_is_in_the_old_format():
    """What the upgrade has to handle: no config_version, a captioner's features under encoder_units."""
    for run in ("translation", "captioning"):
        assert "config_version" not in (RELEASE / run / "config.yaml").read_text()
    assert "encoder_units: 8" in (RELEASE / "captioning" / "config.yaml").read_text()
    assert "feature_units" not in (RELEASE / "captioning" / "config.yaml").read_text()


def test_old_configs_load_upgraded(old_runs):
    translation = RunDirectory(old_runs / "translation").load_config()
    captioning = RunDirectory(old_runs / "captioning").load_config()
    assert translation.config_version == captioning.config_version == CONFIG_VERSION
    assert (translation.task, translation.model.encoder_units) == ("translation", 8)
    assert (captioning.task, captioning.model.feature_units) == ("captioning", 8)
    assert captioning.train.early_stopping.metric == "dev_bleu"


def test_old_model_files_load_as_todays_classes(old_runs):
    translation = load_model_file(old_runs / "translation" / "model.keras", compile=False)
    captioning = load_model_file(old_runs / "captioning" / "checkpoints" / "epoch-002.keras")
    assert isinstance(translation, TranslationModel) and isinstance(captioning, CaptionModel)
    assert captioning.get_config()["feature_units"] == 8
    assert captioning.optimizer.iterations.numpy() > 0  # the checkpoint's optimizer state came along


def test_old_translation_run_translates_evaluates_and_resumes(old_runs, capsys):
    run = old_runs / "translation"
    first = Translator.load(run).translate(["a b c"])
    assert first == Translator.load(run, beam_size=1).translate(["a b c"])
    assert main(["translate", str(run), "a b c", "d e f"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == first[0]
    assert main(["evaluate", str(run), "--split", "test"]) == 0
    scores = json.loads((run / "eval" / "test.greedy.scores.json").read_text())
    assert scores["sentences"] == 20 and 0 <= scores["bleu"] <= 100
    assert main(["train", str(run / "config.yaml"), "--run-dir", str(run), "--resume",
                 "--set", "train.epochs=3"]) == 0
    rows = RunDirectory(run).read_metrics()
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert json.loads((run / "checkpoints" / "state.json").read_text())["epoch"] == 3
    assert main(["average", str(run), "--last", "2"]) == 0
    assert (run / "model.averaged.keras").is_file()


@pytest.mark.slow  # minutes on 2 cores: CI runs the slow tests in a second step
def test_old_captioning_run_captions_evaluates_and_resumes(old_runs):
    run = old_runs / "captioning"
    captioner = Captioner.load(run)
    image = np.zeros((32, 32, 3), np.uint8)
    image[8:24, 8:24] = (200, 30, 30)
    assert isinstance(captioner.caption([image])[0], str)
    assert main(["evaluate", str(run), "--split", "dev"]) == 0
    scores = json.loads((run / "eval" / "dev.greedy.scores.json").read_text())
    assert {"bleu4", "cider_d"} <= set(scores)
    assert main(["train", str(run / "config.yaml"), "--run-dir", str(run), "--resume",
                 "--set", "train.epochs=3"]) == 0
    assert [row["epoch"] for row in RunDirectory(run).read_metrics()] == ["1", "2", "3"]
    assert "feature_units: 8" in (run / "config.yaml").read_text()  # the resumed run saved the new form
