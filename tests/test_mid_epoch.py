"""Checkpoints within an epoch, Ctrl-C, progress lines and TensorBoard, on the synthetic reversal task."""

import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import reversal_config_text
from seq2seq.config import load_config
from seq2seq.errors import Seq2SeqError, TrainingInterrupted
from seq2seq.models.loading import load_model_file
from seq2seq.training.loop import _interrupted, train
from seq2seq.training.mid_epoch import MidEpochCheckpoint
from seq2seq.training.progress import duration
from seq2seq.training.run_dir import RunDirectory
from test_training import Killed, read_metrics

# Every step ends past a due time this small, so a checkpoint follows every step.
EVERY_STEP = "train.checkpoint_every_minutes=1e-9"
LEVERS = ["train.weight_averaging=0.9", "model.source_word_dropout=0.2", "model.target_word_dropout=0.1",
          "tokenizer.sampling_alpha=0.3"]


def short_config(tmp_path, reversal_data, extra=()):
    path = tmp_path / "short.yaml"
    path.write_text(reversal_config_text(reversal_data, epochs=2))
    return load_config(path, ["data.max_train_pairs=600", "model.dropout=0.2", "train.decay=cosine",
                              "train.log_every_steps=5", *extra])


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory, reversal_data):
    """Two epochs without interruption, with progress lines and TensorBoard: (run dir, its log lines)."""
    root = tmp_path_factory.mktemp("straight")
    lines = []
    train(short_config(root, reversal_data, ["train.tensorboard=true"]), root / "run", log=lines.append)
    return root / "run", lines


def kill_at(monkeypatch, epoch, step):
    """Make the mid-epoch checkpoint at (`epoch`, `step`), 1-based, the last thing the run does."""
    save = MidEpochCheckpoint.on_train_batch_end

    def saved_then_killed(self, batch, logs=None):
        save(self, batch, logs)
        if (self.epoch + 1, self.offset.before(self.epoch) + batch + 1) == (epoch, step):
            raise Killed

    monkeypatch.setattr(MidEpochCheckpoint, "on_train_batch_end", saved_then_killed)


def assert_same_run(straight, resumed):
    """Metrics of every epoch, and the last checkpoint's weights and optimizer, as the uninterrupted run's."""
    before, after = read_metrics(straight), read_metrics(resumed)
    assert [row["epoch"] for row in after] == [row["epoch"] for row in before] == ["1", "2"]
    for expected, found in zip(before, after):
        for key in ("loss", "xent", "val_loss", "dev_bleu", "learning_rate", "complete_epoch"):
            assert float(found[key]) == pytest.approx(float(expected[key]), rel=1e-5, abs=1e-6), key
    models = [load_model_file(run / "checkpoints" / "epoch-002.keras") for run in (straight, resumed)]
    for part in ("weights", "optimizer"):
        variables = [model.weights if part == "weights" else model.optimizer.variables for model in models]
        for expected, found in zip(*variables, strict=True):
            np.testing.assert_allclose(np.asarray(found), np.asarray(expected), rtol=1e-5, atol=1e-6, err_msg=part)


@pytest.mark.parametrize("levers", [pytest.param([], marks=pytest.mark.slow),  # test_faults kills mid-epoch too
                                    pytest.param(LEVERS, marks=pytest.mark.slow)],
                         ids=["plain", "averaged-word-dropout-subword-sampling"])
def test_a_run_killed_mid_epoch_resumes_from_that_step_exactly(tmp_path, reversal_data, straight_run, monkeypatch,
                                                               levers):
    """Killed at step 7 of epoch 2: the resume loads the mid-epoch checkpoint, skips the 7 steps done, and ends
    where the uninterrupted run did. Dropout masks, subword draws, the averaged weights and the running means
    of the epoch's losses must all carry over for that."""
    quiet = dict(log=lambda *_: None)
    straight = straight_run[0]
    if levers:
        train(short_config(tmp_path, reversal_data, levers), tmp_path / "straight", **quiet)
        straight = tmp_path / "straight"
    kill_at(monkeypatch, epoch=2, step=7)
    with pytest.raises(Killed):
        train(short_config(tmp_path, reversal_data, [*levers, EVERY_STEP]), tmp_path / "resumed", **quiet)
    monkeypatch.undo()
    run = RunDirectory(tmp_path / "resumed")
    state = run.read_state()
    assert (state["epoch"], state["mid_epoch"]["step"]) == (1, 7)
    assert run.resume_checkpoint(state) == run.mid_epoch_checkpoint(2, 7) and run.mid_epoch_checkpoints() == [
        run.mid_epoch_checkpoint(2, 7)]

    lines = []
    train(None, tmp_path / "resumed", resume=True, log=lines.append)
    assert f"resuming {tmp_path / 'resumed'} from step 7 of epoch 2" in lines
    assert_same_run(straight, tmp_path / "resumed")
    assert "mid_epoch" not in run.read_state() and not run.mid_epoch_checkpoints()


@pytest.mark.slow  # minutes on 2 cores: CI runs the slow tests in a second step
def test_a_run_killed_mid_epoch_before_its_first_epoch_ended_resumes(tmp_path, reversal_data, straight_run,
                                                                     monkeypatch):
    kill_at(monkeypatch, epoch=1, step=4)
    with pytest.raises(Killed):
        train(short_config(tmp_path, reversal_data, [EVERY_STEP]), tmp_path / "resumed", log=lambda *_: None)
    monkeypatch.undo()
    state = RunDirectory(tmp_path / "resumed").read_state()
    assert state["checkpoint"] is None and state["mid_epoch"]["step"] == 4
    with pytest.raises(Seq2SeqError, match=r"--resume from the mid-epoch checkpoint cannot change train.batch_size: "
                                           r"the rest of epoch 1 is that epoch's batches"):
        train(RunDirectory(tmp_path / "resumed").load_config(["train.batch_size=16"]), tmp_path / "resumed",
              resume=True, log=lambda *_: None)
    train(None, tmp_path / "resumed", resume=True, log=lambda *_: None)
    assert_same_run(straight_run[0], tmp_path / "resumed")


@pytest.mark.slow  # a minute or more on 2 cores; CI runs the slow tests in a second step
def test_ctrl_c_ends_training_with_one_line_naming_the_checkpoint_and_the_resume_command(tmp_path, reversal_data):
    config = tmp_path / "interrupt.yaml"
    config.write_text(reversal_config_text(reversal_data, epochs=3))
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "seq2seq.cli", "train", str(config), "--run-dir", str(run_dir),
               "--set", "data.max_train_pairs=1500", "--set", "train.checkpoint_every_minutes=0.001"]
    # A shell that starts the tests in the background has SIGINT ignored, and children inherit that.
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 300
        state_file = RunDirectory(run_dir).state_file
        while not (state_file.exists() and "mid_epoch" in state_file.read_text()):
            assert worker.poll() is None and time.monotonic() < deadline, "training ended before Ctrl-C"
            time.sleep(0.05)
        worker.send_signal(signal.SIGINT)
        _, stderr = worker.communicate(timeout=120)
    finally:
        worker.kill()
    assert worker.returncode == 130
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted: the last checkpoint, "), stderr[-2000:]
    assert lines[0].endswith(f"continue with: seq2seq train {config} --run-dir {run_dir} --resume")
    assert re.search(r"checkpoints/(mid-epoch-\d{3}-\d{6}|epoch-00\d)\.keras, holds the run as of (step \d+ of epoch \d|the end "
                     r"of epoch \d)", lines[0]), lines[0]
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert [row["epoch"] for row in read_metrics(run_dir)] == ["1", "2", "3"]


def test_ctrl_c_before_any_checkpoint_says_there_is_nothing_to_resume(tmp_path):
    interrupt = _interrupted(RunDirectory(tmp_path).create())
    assert isinstance(interrupt, TrainingInterrupted) and isinstance(interrupt, KeyboardInterrupt)
    assert not interrupt.resumable and "nothing to resume" in str(interrupt)


def test_progress_lines_give_the_step_loss_speed_and_eta_and_each_epoch_one_short_line(straight_run):
    run, lines = straight_run
    steps = re.compile(r"epoch (\d)/2 step (\d+)/(\d+): loss \d+\.\d{4}, [\d,]+ target_tokens/s, epoch ends in "
                       r"(\d+s|\d+m\d\ds)$")
    progress = [steps.match(line) for line in lines if steps.match(line)]
    per_epoch = int(progress[0].group(3))
    assert [(int(match.group(1)), int(match.group(2))) for match in progress] == [
        (epoch, step) for epoch in (1, 2) for step in range(5, per_epoch + 1, 5)]
    summaries = [line for line in lines if re.match(r"epoch \d/2 done in ", line)]
    assert len(summaries) == 2
    assert re.fullmatch(r"epoch 1/2 done in \d+s: loss \d+\.\d{4}, dev loss \d+\.\d{4}, [\d,]+ target_tokens/s",
                        summaries[0]), summaries[0]


@pytest.mark.parametrize("seconds, text", [(0.4, "0s"), (59.6, "1m00s"), (61, "1m01s"), (3725, "1h02m")])
def test_durations_read_naturally(seconds, text):
    assert duration(seconds) == text


def tensorboard_events(directory):
    """{tag: [(step, value or image size)]} of the event files under `directory`."""
    import tensorflow as tf

    events = {}
    for path in directory.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                plugin = value.metadata.plugin_data.plugin_name
                events.setdefault(value.tag, []).append((event.step, tensor if plugin == "images" else float(tensor)))
    return events


def test_tensorboard_holds_the_epoch_scalars_and_attention_pictures(straight_run):
    run, _ = straight_run
    metrics = read_metrics(run)
    scalars = tensorboard_events(run / "tensorboard" / "train")
    for column, tag in (("loss", "epoch_loss"), ("dev_bleu", "epoch_dev_bleu"), ("learning_rate", "epoch_learning_rate"),
                        ("target_tokens_per_second", "epoch_target_tokens_per_second")):
        assert [value for _, value in sorted(scalars[tag])] == pytest.approx([float(row[column]) for row in metrics],
                                                                             rel=1e-5), tag
    dev = tensorboard_events(run / "tensorboard" / "validation")
    assert [value for _, value in sorted(dev["epoch_loss"])] == pytest.approx(
        [float(row["val_loss"]) for row in metrics], rel=1e-5)
    pictures = tensorboard_events(run / "tensorboard" / "pictures")
    assert sorted(pictures) == ["attention/dev_1", "attention/dev_2", "attention/dev_3"]
    assert [step for step, _ in pictures["attention/dev_1"]] == [0, 1]
    width, height = (int(size) for size in pictures["attention/dev_1"][0][1][:2])  # an encoded image's summary
    assert width > 100 and height > 100
