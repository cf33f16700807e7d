"""Training under faults: SIGKILL at any moment, a full disk, two writers, and what a resume may delete.

The kill and disk-full points are named moments (`seq2seq.fault_injection`): an uninterrupted run
logs every moment it passes, and the faulty runs are told to die at moments drawn from that log, so
each kill lands exactly where it was aimed (no sleeps) and a test can say it killed N of N times.
"""

import csv
import errno
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import reversal_config_text, write_reversal_task
from seq2seq.config import load_config
from seq2seq.durable_files import PARTIAL_MARK, partial_file, write_atomically
from seq2seq.errors import Seq2SeqError
from seq2seq.models.loading import load_model_file
from seq2seq.training.averaging import average_checkpoints
from seq2seq.training.loop import train
from seq2seq.training.run_dir import RunDirectory
from seq2seq.training.run_lock import LOCK_FILE, run_lock

# Two short epochs with a mid-epoch checkpoint after every step: every kind of write happens many times.
FAULT_SETTINGS = ["data.max_train_pairs=160", "model.dropout=0.2", "train.epochs=2",
                  "train.checkpoint_every_minutes=0.000001"]
# Learned values must match; timings and speeds of course do not.
COMPARED = ("loss", "val_loss", "dev_bleu", "learning_rate", "complete_epoch")


@pytest.fixture(scope="module")
def fault_config(tmp_path_factory):
    data = write_reversal_task(tmp_path_factory.mktemp("fault-data"), sizes=(("train", 160), ("dev", 20),
                                                                             ("test", 20)))
    path = tmp_path_factory.mktemp("fault-config") / "faults.yaml"
    path.write_text(reversal_config_text(data, epochs=2))
    return path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, fault_config):
    """The run every faulty one must end equal to, and the log of the moments it passed."""
    root = tmp_path_factory.mktemp("uninterrupted")
    moments = root / "moments.log"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEQ2SEQ_FAULT_LOG", str(moments))
        train(load_config(fault_config, FAULT_SETTINGS), root / "run", log=lambda *_: None)
    names = moments.read_text(encoding="utf-8").splitlines()
    assert len(names) == len(set(names)), "moment names must be unique for a kill to be aimed at one"
    return root / "run", names


def read_metrics(run_dir):
    with open(run_dir / "metrics.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def assert_same_run(found, expected):
    """Metrics row by row and the final weights, to the tolerance resumed runs are held to elsewhere (1e-4)."""
    found_rows, expected_rows = read_metrics(found), read_metrics(expected)
    assert [row["epoch"] for row in found_rows] == [row["epoch"] for row in expected_rows]
    for mine, theirs in zip(found_rows, expected_rows):
        for key in COMPARED:
            assert float(mine[key]) == pytest.approx(float(theirs[key]), rel=1e-4, abs=1e-4), (mine["epoch"], key)
    for mine, theirs in zip(load_model_file(found / "model.keras").weights,
                            load_model_file(expected / "model.keras").weights, strict=True):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), rtol=1e-4, atol=1e-5)


def train_in_subprocess(config, run_dir, fault=None, settings=FAULT_SETTINGS):
    """`seq2seq train` as a user runs it after a crash: resume where a checkpoint exists, else start anew."""
    command = [sys.executable, "-m", "seq2seq.cli", "train", str(config), "--run-dir", str(run_dir)]
    command += ["--resume"] if (run_dir / "checkpoints" / "state.json").exists() else \
        [argument for setting in settings for argument in ("--set", setting)]
    environment = {**os.environ, **({"SEQ2SEQ_FAULT": fault} if fault else {})}
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)


def kill_and_resume(config, expected, aimed, run_dir, settings=FAULT_SETTINGS):
    """Kill a run at each aimed moment in turn, restarting it after each kill; then let it finish.
    `run_dir` has the name of `expected`'s directory: moments name files by it."""
    for moment in aimed:
        finished = train_in_subprocess(config, run_dir, fault=f"kill@{moment}", settings=settings)
        assert finished.returncode == -signal.SIGKILL, f"no kill at {moment!r}: {finished.stderr[-1500:]}"
    finished = train_in_subprocess(config, run_dir, settings=settings)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert_same_run(run_dir, expected)
    assert not list(run_dir.rglob(f"*{PARTIAL_MARK}*")), "a partial file outlived the resume"


def random_moments(moments, count, seed):
    return [moments[index] for index in sorted(random.Random(seed).sample(range(len(moments)), count))]


def test_killed_at_three_random_moments_a_run_ends_as_if_never_killed(fault_config, uninterrupted, tmp_path):
    expected, moments = uninterrupted
    kill_and_resume(fault_config, expected, random_moments(moments, 3, seed=1), tmp_path / expected.name)


@pytest.mark.slow
def test_killed_at_thirty_random_moments_a_run_ends_as_if_never_killed(fault_config, uninterrupted, tmp_path):
    """Thirty of the run's moments, inside checkpoint, state, metrics and config writes and between steps."""
    expected, moments = uninterrupted
    aimed = random_moments(moments, 30, seed=2)
    assert {moment.rsplit(" ", 1)[-1] for moment in aimed} >= {"writing", "written", "renamed", "done"}
    kill_and_resume(fault_config, expected, aimed, tmp_path / expected.name)


@pytest.mark.slow
def test_a_captioner_killed_inside_its_feature_cache_writes_ends_as_if_never_killed(tmp_path):
    """A frozen pretrained encoder's features are cached in the run (`models.image_features`): kills inside
    those writes, and at two random moments after them."""
    import keras

    from conftest import shapes_config_text
    from seq2seq.layers.image_encoders import PretrainedCNN

    keras.utils.set_random_seed(0)
    weights = tmp_path / "mobilenet.weights.h5"
    PretrainedCNN("keras_application", 64, backbone="MobileNetV2").network.save_weights(weights)
    config = tmp_path / "frozen.yaml"
    config.write_text(shapes_config_text(tmp_path / "cache", epochs=2).replace("synthetic_images: 1000",
                                                                              "synthetic_images: 200").replace(
        "{kind: small_cnn, image_size: 32, filters: [16, 32]}",
        f"{{kind: keras_application, backbone: MobileNetV2, image_size: 64, weights: {weights}}}"))
    moments_log = tmp_path / "moments.log"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEQ2SEQ_FAULT_LOG", str(moments_log))
        train(load_config(config), tmp_path / "straight" / "run", log=lambda *_: None)
    moments = moments_log.read_text(encoding="utf-8").splitlines()
    in_cache = [moment for moment in moments if "features/" in moment]
    assert {"features/train.npy written", "features/train.json writing"} <= {m.split(": ", 1)[1] for m in in_cache}
    after_cache = moments[moments.index(in_cache[-1]) + 1:]
    kill_and_resume(config, tmp_path / "straight" / "run", in_cache + random_moments(after_cache, 2, seed=3),
                    tmp_path / "killed" / "run", settings=[])


@pytest.mark.parametrize("file, phase", [("checkpoints/epoch-002.keras", "written"),
                                         pytest.param("run/metrics.csv", "writing", marks=pytest.mark.slow),
                                         pytest.param("checkpoints/state.json", "writing", marks=pytest.mark.slow)])
def test_a_full_disk_names_the_file_keeps_the_last_checkpoint_and_resume_finishes(
        fault_config, uninterrupted, tmp_path, monkeypatch, file, phase):
    expected, moments = uninterrupted
    aimed = next(moment for moment in moments if moment.startswith("epoch 2 ") and moment.endswith(f"{file} {phase}")
                 and "mid-epoch" not in moment)
    run_dir = tmp_path / expected.name
    monkeypatch.setenv("SEQ2SEQ_FAULT", f"disk-full@{aimed}")
    with pytest.raises(Seq2SeqError, match=rf"{file.split('/')[-1]}: could not be written \(no space left on the "
                                           r"device; free some and run again, with --resume"):
        train(load_config(fault_config, FAULT_SETTINGS), run_dir, log=lambda *_: None)
    monkeypatch.delenv("SEQ2SEQ_FAULT")

    run = RunDirectory(run_dir)
    state = run.read_state()
    assert state["epoch"] == 1
    load_model_file(run.resume_checkpoint(state))  # intact
    assert not list(run_dir.rglob(f"*{PARTIAL_MARK}*"))
    train(None, run_dir, resume=True, log=lambda *_: None)
    assert_same_run(run_dir, expected)


def test_a_write_that_fails_leaves_the_old_file_and_no_partial_one(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    monkeypatch.setenv("SEQ2SEQ_FAULT", f"disk-full@start: {tmp_path.name}/state.json writing")
    with pytest.raises(Seq2SeqError, match="state.json: could not be written"):
        write_atomically(target, b"new contents")
    assert target.read_bytes() == b"old"
    assert not partial_file(target).exists()


def test_a_write_is_synced_to_disk_file_then_directory(tmp_path, monkeypatch):
    """The partial file is flushed before the rename and the directory after it: a power loss then finds the
    old file or the new one, never an empty one."""
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}")) or real_fsync(fd))
    target = tmp_path / "metrics.csv"
    write_atomically(target, b"epoch\n1\n")
    assert synced == [str(partial_file(target)), str(tmp_path)]
    assert target.read_bytes() == b"epoch\n1\n"


def test_a_resume_removes_its_own_partial_files_and_no_one_elses(tmp_path, trained_run):
    import shutil
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    ours = partial_file(run_dir / "checkpoints" / "epoch-002.keras")
    ours.write_bytes(b"half a checkpoint")
    users = [run_dir / "notes.tmp.txt", run_dir / "eval" / "backup.tmp"]
    for path in users:
        path.write_text("mine")
    config = RunDirectory(run_dir).load_config(["train.epochs=1"])
    train(config, run_dir, resume=True, log=lambda *_: None)  # finished already: it only opens the run
    assert not ours.exists()
    assert all(path.read_text() == "mine" for path in users)


@pytest.mark.slow  # a killed run and a fresh one: about 40 s on 2 cores; CI runs the slow tests in a second step
def test_a_run_killed_before_its_first_checkpoint_starts_again_cleanly(fault_config, uninterrupted, tmp_path):
    """Killed between model.keras and the first state.json: neither a resume nor a fresh start may be refused,
    and the new run's metrics.csv must not continue the killed one's."""
    expected, moments = uninterrupted
    run_dir = tmp_path / expected.name
    epoch_checkpoints_only = [*FAULT_SETTINGS, "train.checkpoint_every_minutes=null"]  # no mid-epoch state.json
    killed = train_in_subprocess(fault_config, run_dir, settings=epoch_checkpoints_only, fault="kill@" + next(
        moment for moment in moments if moment.endswith("run/metrics.csv renamed")))
    assert killed.returncode == -signal.SIGKILL
    assert (run_dir / "model.keras").exists() and not (run_dir / "checkpoints" / "state.json").exists()
    logged = []
    train(load_config(fault_config, FAULT_SETTINGS), run_dir, log=logged.append)
    assert any("left by a run that was stopped before its first checkpoint" in line for line in logged)
    assert_same_run(run_dir, expected)


LOCK_HOLDER = """
import sys
from seq2seq.training.run_lock import run_lock
with run_lock(sys.argv[1], "seq2seq train"):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_a_second_writer_is_refused_while_the_first_lives_and_a_killed_ones_lock_is_stale(tmp_path, trained_run):
    import shutil
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(run_dir)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        refused = rf"{run_dir}: `seq2seq train` \(pid {holder.pid} on .*\) is writing this run; wait for it to end"
        with pytest.raises(Seq2SeqError, match=refused):
            train(None, run_dir, resume=True, log=lambda *_: None)
        with pytest.raises(Seq2SeqError, match=refused):
            average_checkpoints(run_dir, 1, log=lambda *_: None)
        with pytest.raises(Seq2SeqError, match=refused):
            train(load_config(run_dir / "config.yaml"), run_dir, log=lambda *_: None)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    logged = []
    average_checkpoints(run_dir, 1, log=logged.append)
    assert f"pid {holder.pid}" in logged[0] and "its lock was stale and is taken over" in logged[0]
    assert (run_dir / LOCK_FILE).read_text() == ""  # released cleanly this time


def test_the_lock_is_released_when_the_holder_fails(tmp_path):
    with pytest.raises(Seq2SeqError), run_lock(tmp_path, "seq2seq train"):
        raise Seq2SeqError("bad data")
    logged = []
    with run_lock(tmp_path, "seq2seq average", log=logged.append):
        pass
    assert logged == []


def test_a_disk_error_other_than_full_is_named_too(tmp_path, monkeypatch):
    def read_only(*_):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr("seq2seq.durable_files.os.replace", read_only)
    with pytest.raises(Seq2SeqError, match=r"config.yaml: could not be written \(Read-only file system\)"):
        write_atomically(tmp_path / "config.yaml", b"seed: 1\n")


def test_a_model_file_that_no_run_left_is_never_removed(fault_config, tmp_path):
    """The clean-up after a killed first epoch removes only a run's own files: a directory without the
    config.yaml every run writes first is not one."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "model.keras").write_bytes(b"a user's model")
    with pytest.raises(Seq2SeqError, match="holds model.keras, which no seq2seq run left there"):
        train(load_config(fault_config, FAULT_SETTINGS), tmp_path / "mine", log=lambda *_: None)
    assert (tmp_path / "mine" / "model.keras").read_bytes() == b"a user's model"


def test_a_finished_run_without_its_checkpoints_is_never_cleaned_away(tmp_path, trained_run):
    """Only a killed first epoch's files go: a trained run whose checkpoints/ a user pruned keeps its model."""
    import shutil
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    shutil.rmtree(run_dir / "checkpoints")
    model = (run_dir / "model.keras").read_bytes()
    with pytest.raises(Seq2SeqError, match="already holds a trained model but no checkpoint to resume"):
        train(load_config(run_dir / "config.yaml"), run_dir, log=lambda *_: None)
    assert (run_dir / "model.keras").read_bytes() == model


FIRST_EPOCH_MID_STATE = {"epoch": 0, "best": None, "best_epoch": None, "wait": 0, "checkpoint": None,
                         "mid_epoch": {"checkpoint": "mid-epoch-001-000004.keras", "step": 4, "steps_per_epoch": 7,
                                       "seed_states": [[7, 0]], "metric_states": [[1.5], [4.0]]}}


@pytest.mark.parametrize("state", [
    pytest.param(FIRST_EPOCH_MID_STATE, id="first-epoch-mid-epoch"),
    pytest.param({"epoch": 3, "best": float("nan"), "best_epoch": 1, "wait": 2, "checkpoint": "epoch-003.keras"},
                 id="nan-best"),
    pytest.param({"epoch": 1, "best": float("-inf"), "best_epoch": 1, "wait": 0, "checkpoint": "epoch-001.keras"},
                 id="minus-infinity-best"),
    *[pytest.param(path, id=f"release-fixture-{path.parents[1].name}")
      for path in sorted(Path(__file__).parent.glob("fixtures/*/*/checkpoints/state.json"))],
])
def test_the_states_training_writes_pass_the_state_checks(state):
    """What RunCheckpoint and MidEpochCheckpoint write (through JSON, where NaN and infinities survive) and the
    states of earlier releases' runs must all be resumable."""
    import json

    from seq2seq.training.run_dir import state_problem

    text = state.read_text() if hasattr(state, "read_text") else json.dumps(state)
    assert state_problem(json.loads(text)) == ""


@pytest.mark.parametrize("change, problem", [
    ({"step": 7}, "'mid_epoch.step' must lie inside the epoch's 7 steps"),
    ({"step": 0}, "'mid_epoch.step' must lie inside"),
    ({"checkpoint": ".."}, "'mid_epoch.checkpoint' must be the name of a file in checkpoints/"),
    ({"checkpoint": "../model.keras"}, "'mid_epoch.checkpoint' must be the name of a file in checkpoints/"),
])
def test_a_state_pointing_outside_its_epoch_or_directory_is_refused(change, problem):
    from seq2seq.training.run_dir import state_problem

    state = {**FIRST_EPOCH_MID_STATE, "mid_epoch": {**FIRST_EPOCH_MID_STATE["mid_epoch"], **change}}
    assert state_problem(state).startswith(problem)


def test_a_resume_keeps_the_known_columns_of_a_metrics_row_with_extra_fields(tmp_path):
    run = RunDirectory(tmp_path)
    run.metrics_file.write_bytes(b"epoch,loss\r\n1,3.3,extra\r\n2,2.1\r\n")
    run.truncate_metrics(1)
    assert run.read_metrics() == [{"epoch": "1", "loss": "3.3"}]
