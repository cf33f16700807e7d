"""Checkpoints within an epoch (`train.checkpoint_every_minutes`), and the exact resume from one.

An epoch of the reference model takes many minutes on a CPU; a run killed late in one would redo it
all. Every few minutes `MidEpochCheckpoint` saves the model with its optimizer to
a new `checkpoints/mid-epoch-EPOCH-STEP.keras`, then names it in `state.json` with what else the
interrupted epoch depends on: the steps done and the epoch's length, the dropout generators' states
and the running sums of the epoch's logged losses; then deletes the previous one, so a kill at any
moment leaves a state naming a complete file that matches it.
A resume (`seq2seq.training.loop`) loads that checkpoint, skips the steps done in the epoch's
batches (each epoch's order is fixed by the seed) and `MidEpochResume` puts the generators and
means back, so the run goes on as if it had never stopped. The next epoch end removes the file.
"""

import time

import keras
import numpy as np

from seq2seq.keras_internals import swap_with_moving_averages
from seq2seq.training.callbacks import EpochOffset, seed_generators
from seq2seq.durable_files import save_model_atomically


class MidEpochCheckpoint(keras.callbacks.Callback):
    """Saves a resumable checkpoint at the first step end after every `minutes` of training.

    `epoch_state()` gives the run's state as of the last epoch end (`RunCheckpoint.state`); the
    mid-epoch entry is added to it. With weight averaging the file holds the averages as weights, like
    the epoch checkpoints, so a resume treats both alike.
    """

    def __init__(self, run, minutes, epoch_state, offset=None, averaging=False, log=print):
        super().__init__()
        self.run = run
        self.seconds = minutes * 60
        self.epoch_state = epoch_state
        self.offset = offset or EpochOffset()
        self.averaging = averaging
        self.log = log

    def on_train_begin(self, logs=None):
        self.due = time.monotonic() + self.seconds

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() < self.due or batch + 1 == self.params["steps"]:
            return  # not yet, or the epoch's own checkpoint follows at once
        step = self.offset.before(self.epoch) + batch + 1
        if self.averaging:
            swap_with_moving_averages(self.model)
        checkpoint = self.run.mid_epoch_checkpoint(self.epoch + 1, step)
        save_model_atomically(self.model, checkpoint)
        if self.averaging:
            swap_with_moving_averages(self.model)
        mid_epoch = {
            "checkpoint": checkpoint.name,
            "step": step,
            "steps_per_epoch": self.offset.before(self.epoch) + self.params["steps"],
            "seed_states": [_as_list(generator.state) for generator in seed_generators(self.model)],
            "metric_states": [_as_list(variable) for variable in self.model.metrics_variables],
        }
        self.run.write_state({**self.epoch_state(), "mid_epoch": mid_epoch})
        for older in self.run.mid_epoch_checkpoints():
            if older != checkpoint:
                older.unlink()
        self.log(f"epoch {self.epoch + 1} step {step}: saved a resumable checkpoint")
        self.due = time.monotonic() + self.seconds


class MidEpochResume(keras.callbacks.Callback):
    """Puts back the generator states and the running sums of the losses and metrics saved with the
    resumed epoch.

    After `EpochSeeds` in the list: that seeds the generators for the epoch's start, this moves them on
    to where the interrupted epoch had them. Keras builds a model's compiled metrics during the first
    step of a fit, so the saved sums are added after it: every metric keeps sums (totals and counts)
    from which its value is computed, so adding them gives the epoch's values as if never interrupted
    (the first step's own line shows that step alone).
    """

    def __init__(self, epoch, mid_epoch):
        super().__init__()
        self.epoch = epoch
        self.mid_epoch = mid_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        if epoch != self.epoch:
            return
        for generator, saved in zip(seed_generators(self.model), self.mid_epoch["seed_states"], strict=True):
            generator.state.assign(np.asarray(saved, generator.state.dtype))

    def on_train_batch_end(self, batch, logs=None):
        if self.current != self.epoch or batch:
            return
        for variable, saved in zip(self.model.metrics_variables, self.mid_epoch["metric_states"], strict=True):
            variable.assign_add(np.asarray(saved, variable.dtype))


def _as_list(variable):
    return np.asarray(keras.ops.convert_to_numpy(variable)).tolist()
