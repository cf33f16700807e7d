"""Keras callbacks that make a run measurable, resumable and stoppable.

They run in list order at each epoch end and share the `logs` dict: dev scores are added first so
that checkpointing, early stopping and `metrics.csv` all see them.
"""

import math
import time

import keras

from seq2seq import fault_injection
from seq2seq.durable_files import copy_atomically, save_model_atomically
from seq2seq.errors import Seq2SeqError
from seq2seq.keras_internals import all_layers, swap_with_moving_averages
from seq2seq.training.run_dir import STATE_KEYS


class EpochSeeds(keras.callbacks.Callback):
    """Re-seeds every dropout layer at each epoch start from (seed, epoch).

    Keras does not save random-generator state in `.keras` files; seeding per epoch makes a resumed
    run draw the same dropout masks as an uninterrupted one.
    """

    def __init__(self, seed):
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch, logs=None):
        for index, generator in enumerate(seed_generators(self.model)):
            generator.state.assign(keras.ops.cast([self.seed + epoch, index], generator.state.dtype))


def seed_generators(model):
    """The random generators of `model`'s layers (dropout, word dropout), in a fixed order."""
    return [layer.seed_generator for layer in all_layers(model)
            if isinstance(getattr(layer, "seed_generator", None), keras.random.SeedGenerator)]


class EpochOffset:
    """The steps of one epoch done before this `fit` began: those a resume from a mid-epoch checkpoint skips.

    Keras counts an epoch's batches from 0 in every `fit`; the callbacks that report or save the
    position within an epoch add these.
    """

    def __init__(self, epoch=None, steps=0):
        self.epoch = epoch
        self.steps = steps

    def before(self, epoch):
        return self.steps if epoch == self.epoch else 0


class TrainingPosition(keras.callbacks.Callback):
    """Keeps `fault_injection.position` at the step being trained and marks each step's end as a moment,
    so that the fault tests can name any point of a run; first in the list."""

    def __init__(self, offset=None):
        super().__init__()
        self.offset = offset or EpochOffset()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        fault_injection.at(f"epoch {self.epoch + 1} step {self.offset.before(self.epoch) + batch + 1}")

    def on_train_batch_end(self, batch, logs=None):
        fault_injection.moment("step done")

    def on_train_end(self, logs=None):
        fault_injection.at("start")  # the next run in this process starts where this one did


class AveragedWeightsForScoring(keras.callbacks.Callback):
    """With `train.weight_averaging`, the epoch is judged and saved with the averaged weights.

    First in the list after `TrainingPosition`: it swaps the optimizer's moving averages into the model as the dev pass
    begins, so `val_*`, the dev scores, the epoch checkpoint and the best model all see them.
    `TrainingWeightsBack`, last in the list, swaps the raw weights back before training goes on.
    Checkpoints therefore hold the averages as the model's weights and the raw weights in the
    optimizer's averaging slots; a resumed run swaps once before training (`training.loop`).
    """

    def on_test_begin(self, logs=None):
        swap_with_moving_averages(self.model)


class TrainingWeightsBack(keras.callbacks.Callback):
    """Swaps the raw weights back in after the other callbacks have scored and saved the averaged ones."""

    def on_epoch_end(self, epoch, logs=None):
        swap_with_moving_averages(self.model)


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops training at the first batch whose loss is NaN or infinite.

    It raises from the batch, before the epoch's end can save the broken weights over anything, so
    the run's last checkpoint stays the last good one.
    """

    def __init__(self, run, offset=None):
        super().__init__()
        self.run = run
        self.offset = offset or EpochOffset()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = float(logs["loss"])
        if math.isfinite(loss):
            return
        state = self.run.read_state() if self.run.state_file.exists() else None
        kept = (f"the last good checkpoint, {self.run.resume_checkpoint(state)} ({self.run.resume_point(state)}), "
                "is kept; after lowering train.learning_rate (or raising train.warmup_steps, or setting "
                "train.clip_norm) continue it with `seq2seq train ... --resume --set ...`"
                if state else "no checkpoint had been saved; start again with a lower train.learning_rate")
        step = self.offset.before(self.epoch) + batch + 1
        raise Seq2SeqError(f"training stopped in epoch {self.epoch + 1}, batch {step}: the loss became {loss}; "
                           f"{kept}")


class DevScore(keras.callbacks.Callback):
    """Decodes the dev set each epoch and adds its scores (e.g. `dev_bleu`) to the epoch's logs.

    `score()` -> (scores, a short description of them for the log), so the same callback serves
    translation (BLEU, chrF) and captioning (BLEU-4, CIDEr-D).
    """

    def __init__(self, score, log=print):
        super().__init__()
        self.score = score
        self.log = log

    def on_epoch_end(self, epoch, logs=None):
        started = time.perf_counter()
        scores, description = self.score()
        logs.update(scores)
        self.log(f"epoch {epoch + 1}: {description} ({time.perf_counter() - started:.1f}s)")


class EpochClock(keras.callbacks.Callback):
    """Logs each epoch's training time (validation excluded) and speed as `<unit>_per_second`, where
    an epoch reads `count` units (target tokens for a decoder, examples for a classifier...)."""

    def __init__(self, unit, count, offset=None):
        super().__init__()
        self.unit = unit
        self.count = count
        self.offset = offset or EpochOffset()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = self.last_batch_end = time.perf_counter()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches = batch + 1
        self.last_batch_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = self.last_batch_end - self.started
        fraction = self.batches / (self.params["steps"] + self.offset.before(epoch))
        logs["epoch_seconds"] = round(seconds, 2)
        logs[f"{self.unit}_per_second"] = round(self.count * fraction / seconds, 1)
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        logs["complete_epoch"] = int(self.batches == self.params["steps"])


class TimeBudget(keras.callbacks.Callback):
    """Ends training once `max_minutes` of wall time have passed, at the end of a batch."""

    def __init__(self, max_minutes, log=print):
        super().__init__()
        self.deadline = time.monotonic() + max_minutes * 60
        self.log = log

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() >= self.deadline and not self.model.stop_training:
            self.log("time budget reached: ending this epoch early and stopping")
            self.model.stop_training = True


class RunCheckpoint(keras.callbacks.Callback):
    """Epoch checkpoints with optimizer state, the best model, metrics.csv, early stopping, resume state.

    Order matters for a kill at any moment: the checkpoint is renamed into place, then the metrics
    row is appended, then `state.json` names the checkpoint. A resume trusts only `state.json` and
    trims `metrics.csv` to it. The early-stopping counters live in `state.json` too, so a resumed
    run stops when the uninterrupted one would have.
    """

    def __init__(self, run, metric, monitored, patience, keep=3, state=None, log=print):
        """`metric` names the early-stopping metric; `monitored` is (its key in the logs, "max" or "min")."""
        super().__init__()
        self.run = run
        self.metric = metric
        self.log_key, self.mode = monitored
        self.patience = patience
        self.keep = keep
        # A mid-epoch entry of a resumed state is done with once its epoch ends.
        self.state = ({key: state[key] for key in STATE_KEYS} if state else
                      {"epoch": 0, "best": None, "best_epoch": None, "wait": 0, "checkpoint": None})
        self.log = log

    def _improved(self, value):
        best = self.state["best"]
        return best is None or (value > best if self.mode == "max" else value < best)

    def on_epoch_end(self, epoch, logs=None):
        checkpoint = self.run.checkpoint(epoch + 1)
        save_model_atomically(self.model, checkpoint)
        value = float(logs[self.log_key])
        if self._improved(value):
            self.state.update(best=value, best_epoch=epoch + 1, wait=0)
            copy_atomically(checkpoint, self.run.model_file)
            self.log(f"epoch {epoch + 1}: {self.metric} {value:.4f} is the best so far; saved {self.run.model_file}")
        else:
            self.state["wait"] += 1
        self.run.append_metrics({"epoch": epoch + 1, **logs})
        self.state.update(epoch=epoch + 1, checkpoint=checkpoint.name)
        if not logs.get("complete_epoch", 1):
            self.log(f"epoch {epoch + 1} ended early; a resumed run starts with epoch {epoch + 2}")
        self.run.write_state(self.state)
        for mid_epoch in self.run.mid_epoch_checkpoints():  # the state no longer names them
            mid_epoch.unlink()
        for old in self.run.epoch_checkpoints()[:-self.keep]:
            old.unlink()
        if self.state["wait"] >= self.patience:
            self.log(f"early stopping: {self.metric} has not improved for {self.patience} epochs")
            self.model.stop_training = True
