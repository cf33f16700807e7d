"""Keras callbacks that make a run measurable, resumable and stoppable.

They run in list order at each epoch end and share the `logs` dict: dev scores are added first so
that checkpointing, early stopping and `metrics.csv` all see them.
"""

import os
import shutil
import time

import keras

from seq2seq.evaluation import translation_scores

MONITORED = {"dev_bleu": ("dev_bleu", "max"), "dev_loss": ("val_loss", "min")}


class DevTranslationScore(keras.callbacks.Callback):
    """Greedy-translates the dev sentences each epoch and logs `dev_bleu` and `dev_chrf`."""

    def __init__(self, translator, sources, references, log=print):
        super().__init__()
        self.translator = translator
        self.sources = sources
        self.references = references
        self.log = log

    def on_epoch_end(self, epoch, logs=None):
        started = time.perf_counter()
        hypotheses = self.translator.translate(self.sources)
        scores = translation_scores(hypotheses, self.references)
        logs["dev_bleu"] = scores["bleu"]
        logs["dev_chrf"] = scores["chrf"]
        self.log(f"epoch {epoch + 1}: dev BLEU {scores['bleu']:.2f}  chrF {scores['chrf']:.2f} "
                 f"({len(self.sources)} sentences in {time.perf_counter() - started:.1f}s); "
                 f"e.g. {hypotheses[0]!r}")


class EpochClock(keras.callbacks.Callback):
    """Logs each epoch's wall time and training speed in target tokens per second."""

    def __init__(self, target_tokens_per_epoch):
        super().__init__()
        self.target_tokens_per_epoch = target_tokens_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.started
        logs["epoch_seconds"] = round(seconds, 2)
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(
            self.model.optimizer.learning_rate))
        steps = self.params.get("steps") or self.batches
        logs["target_tokens_per_second"] = round(self.target_tokens_per_epoch * self.batches / steps / seconds, 1)


class TimeBudget(keras.callbacks.Callback):
    """Ends training once `max_minutes` of wall time have passed, at the end of a batch."""

    def __init__(self, max_minutes, log=print):
        super().__init__()
        self.deadline = time.monotonic() + max_minutes * 60
        self.log = log

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() >= self.deadline and not self.model.stop_training:
            self.log("time budget reached: finishing this epoch early and stopping")
            self.model.stop_training = True


class RunCheckpoint(keras.callbacks.Callback):
    """Epoch checkpoints with optimizer state, the best model, early stopping, and resume state.

    Files are written under a temporary name and renamed, so a kill never leaves a half-written
    checkpoint. The early-stopping counters live in `state.json`, so a resumed run stops when the
    uninterrupted one would have.
    """

    def __init__(self, run, metric, patience, keep=3, state=None, log=print):
        super().__init__()
        self.run = run
        self.metric = metric
        self.log_key, self.mode = MONITORED[metric]
        self.patience = patience
        self.keep = keep
        self.state = state or {"epoch": 0, "best": None, "best_epoch": None, "wait": 0}
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
        self.state["epoch"] = epoch + 1
        self.state["checkpoint"] = checkpoint.name
        self.run.write_state(self.state)
        self._prune()
        if self.state["wait"] >= self.patience:
            self.log(f"early stopping: {self.metric} has not improved for {self.patience} epochs")
            self.model.stop_training = True

    def _prune(self):
        checkpoints = sorted(self.run.checkpoints.glob("epoch-*.keras"))
        for old in checkpoints[:-self.keep]:
            old.unlink()


def save_model_atomically(model, path):
    temporary = path.with_name(path.stem + ".tmp.keras")
    model.save(temporary)
    os.replace(temporary, path)


def copy_atomically(source, destination):
    temporary = destination.with_name(destination.stem + ".tmp.keras")
    shutil.copyfile(source, temporary)
    os.replace(temporary, destination)
