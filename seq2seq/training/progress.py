"""Progress lines for training whose output goes to a file or a pipe, where Keras' progress bar cannot draw.

A long run is usually started as `seq2seq train ... > train.log`; without these lines the log stays
silent for a whole epoch. Every `train.log_every_steps` steps one line gives the loss, the speed and
when the epoch should end; each epoch ends with one short line of its results.
"""

import time

import keras

from seq2seq.training.callbacks import EpochOffset


class ProgressLog(keras.callbacks.Callback):
    """`epoch 2/10 step 400/1200: loss 3.412, 1,234 target_tokens/s, epoch ends in 6m10s`.

    The speed is measured since the previous line, so the first line of a run (which includes
    compiling the step) is the slowest; an epoch reads `count` `unit`s over `steps_per_epoch` steps.
    """

    def __init__(self, unit, count, steps_per_epoch, epochs, every, offset=None, log=print):
        super().__init__()
        self.unit = unit
        self.per_step = count / steps_per_epoch
        self.steps_per_epoch = steps_per_epoch
        self.epochs = epochs
        self.every = every
        self.offset = offset or EpochOffset()
        self.log = log

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.epoch_started = self.window_started = time.perf_counter()
        self.window_steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.window_steps += 1
        if not self.every or (batch + 1) % self.every:
            return
        now = time.perf_counter()
        steps_per_second = self.window_steps / (now - self.window_started)
        step = self.offset.before(self.epoch) + batch + 1
        remaining = (self.steps_per_epoch - step) / steps_per_second
        self.log(f"epoch {self.epoch + 1}/{self.epochs} step {step}/{self.steps_per_epoch}: loss {float(logs['loss']):.4f}, "
                 f"{steps_per_second * self.per_step:,.0f} {self.unit}/s, epoch ends in {duration(remaining)}")
        self.window_started, self.window_steps = now, 0

    def on_epoch_end(self, epoch, logs=None):
        results = [f"loss {logs['loss']:.4f}"]
        if "val_loss" in logs:
            results.append(f"dev loss {logs['val_loss']:.4f}")
        speed = logs.get(f"{self.unit}_per_second")
        if speed:
            results.append(f"{speed:,.0f} {self.unit}/s")
        self.log(f"epoch {epoch + 1}/{self.epochs} done in {duration(time.perf_counter() - self.epoch_started)}: "
                 + ", ".join(results))


def duration(seconds) -> str:
    """`45s`, `6m10s`, `1h02m`."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
