"""The run directory: everything needed to use, resume or evaluate a trained model.

    config.yaml          resolved config (every default written out)
    source.model ...     SentencePiece models (or joint.model)
    shortlist.npz        each source piece's likely target pieces, for `decode.shortlist` (translation)
    model.keras          best model so far
    model.averaged.keras mean of the last epoch checkpoints (`seq2seq.training.averaging`), if made
    checkpoints/         epoch checkpoints with optimizer state, and state.json for --resume;
                         mid-epoch-STEP.keras with `train.checkpoint_every_minutes`
    tensorboard/         epoch scalars and attention pictures, with `train.tensorboard`
    metrics.csv          one row per finished epoch (1-based, like the checkpoints)
    eval/                hypotheses and scores with sacreBLEU signatures
"""

import csv
import io
import json
from pathlib import Path

from seq2seq.config import load_config
from seq2seq.durable_files import partial_files, write_atomically
from seq2seq.errors import Seq2SeqError, shown
from seq2seq.paths import checked_path

STATE_KEYS = ("epoch", "best", "best_epoch", "wait", "checkpoint")


class RunDirectory:
    def __init__(self, path):
        self.path = checked_path(path)  # a name too long for the file system: one line, not an OSError

    config_file = property(lambda self: self.path / "config.yaml")
    model_file = property(lambda self: self.path / "model.keras")
    shortlist_file = property(lambda self: self.path / "shortlist.npz")
    averaged_model_file = property(lambda self: self.path / "model.averaged.keras")
    checkpoints = property(lambda self: self.path / "checkpoints")
    state_file = property(lambda self: self.path / "checkpoints" / "state.json")
    metrics_file = property(lambda self: self.path / "metrics.csv")
    eval_dir = property(lambda self: self.path / "eval")
    tensorboard_dir = property(lambda self: self.path / "tensorboard")

    def checkpoint(self, epoch) -> Path:
        return self.checkpoints / f"epoch-{epoch:03d}.keras"

    def mid_epoch_checkpoint(self, epoch, step) -> Path:
        """A new name for every save: state.json names the one to resume from only once it is complete."""
        return self.checkpoints / f"mid-epoch-{epoch:03d}-{step:06d}.keras"

    def mid_epoch_checkpoints(self) -> list:
        return sorted(self.checkpoints.glob("mid-epoch-[0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9].keras"))

    def epoch_checkpoints(self) -> list:
        """Finished checkpoints, oldest first (never the temporary files of an interrupted save)."""
        return sorted(self.checkpoints.glob("epoch-[0-9][0-9][0-9].keras"))

    def create(self):
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.eval_dir.mkdir(exist_ok=True)
        return self

    def remove_partial_files(self):
        """The partial files of writes a killed run left (`seq2seq.durable_files`); only ours."""
        for leftover in partial_files(self.path):
            leftover.unlink()

    def load_config(self, overrides=None):
        self.require(self.config_file, "was it made by `seq2seq train`?")
        return load_config(self.config_file, overrides, saved_run=True)

    def require(self, path, hint):
        if not self.path.is_dir():
            raise Seq2SeqError(f"{self.path}: run directory not found")
        if not path.exists():
            raise Seq2SeqError(f"{path}: missing from the run directory; {hint}")

    def read_state(self) -> dict:
        self.require(self.state_file, "no checkpoint to resume from; train without --resume")
        try:
            state = json.loads(self.state_file.read_bytes())
        except (ValueError, RecursionError) as error:  # not JSON or not UTF-8, a 5,000-digit number, nested too deep
            raise Seq2SeqError(f"{self.state_file}: not a valid training state ({error})") from None
        problem = state_problem(state)
        if problem:
            raise Seq2SeqError(f"{self.state_file}: not a valid training state: {problem}")
        self.require(self.resume_checkpoint(state), "the checkpoint named in state.json is gone")
        return state

    def resume_checkpoint(self, state) -> Path:
        """The checkpoint a resume starts from: the mid-epoch one if it is newer than the last epoch's."""
        mid_epoch = state.get("mid_epoch")
        return self.checkpoints / (mid_epoch["checkpoint"] if mid_epoch else state["checkpoint"])

    @staticmethod
    def resume_point(state) -> str:
        """Where a resume from `state` starts, in words."""
        mid_epoch = state.get("mid_epoch")
        if mid_epoch:
            return f"step {mid_epoch['step']} of epoch {state['epoch'] + 1}"
        return f"the end of epoch {state['epoch']}"

    def write_state(self, state: dict) -> None:
        write_atomically(self.state_file, json.dumps(state, indent=2).encode())

    def append_metrics(self, row: dict) -> None:
        """Add one epoch's row; the header comes from the first row written.

        The file is rewritten whole rather than appended to: a kill inside an append could leave half a row.
        """
        existing = self.metrics_file.read_bytes().decode("utf-8") if self.metrics_file.exists() else ""
        out = io.StringIO(existing)
        out.seek(0, io.SEEK_END)
        writer = csv.DictWriter(out, fieldnames=self._metric_columns() if existing else list(row),
                                extrasaction="ignore")
        if not existing:
            writer.writeheader()
        writer.writerow(row)
        write_atomically(self.metrics_file, out.getvalue().encode("utf-8"))

    def read_metrics(self) -> list:
        """One dict of column -> text per finished epoch."""
        return list(csv.DictReader(io.StringIO(self.metrics_file.read_text(encoding="utf-8"))))

    def truncate_metrics(self, epochs: int) -> None:
        """Keep the rows of the first `epochs` epochs: a kill can land between a row and its checkpoint.

        A file that is not one `seq2seq train` wrote (edited, cut, not UTF-8) is a one-line error naming it.
        """
        if not self.metrics_file.exists():
            return
        try:
            kept = [row for row in self.read_metrics() if int(row["epoch"]) <= epochs]
            columns = self._metric_columns()
        except (UnicodeDecodeError, csv.Error, KeyError, ValueError, TypeError, StopIteration) as error:
            raise Seq2SeqError(f"{self.metrics_file}: not a metrics file of `seq2seq train` "
                               f"({type(error).__name__}: {shown(str(error), quoted=False)}); "
                               "remove it to start a new one") from None
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(kept)
        write_atomically(self.metrics_file, out.getvalue().encode("utf-8"))

    def _metric_columns(self):
        with open(self.metrics_file, newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle))


def state_problem(state) -> str:
    """What is wrong with a training state read from state.json, "" if nothing.

    The loop counts with its numbers and loads the checkpoint it names, so each value must be of the type
    it is used as (a damaged file would otherwise fail later in a TypeError), and a checkpoint must be a
    file of checkpoints/ (never `../model.keras` or an absolute path).
    """
    if not isinstance(state, dict):
        return f"holds a {type(state).__name__}, not an object"
    missing = [key for key in STATE_KEYS if key not in state]
    if missing:
        return f"lacks {', '.join(missing)}"
    mid_epoch = state.get("mid_epoch")
    if mid_epoch is not None and not isinstance(mid_epoch, dict):
        return f"'mid_epoch' is a {type(mid_epoch).__name__}, not an object"
    counts = {"epoch": state["epoch"], "wait": state["wait"]}
    # Within the first epoch the state names only its mid-epoch checkpoint.
    names = {} if mid_epoch is not None and state["checkpoint"] is None else {"checkpoint": state["checkpoint"]}
    if state["best_epoch"] is not None:
        counts["best_epoch"] = state["best_epoch"]
    if mid_epoch is not None:
        counts.update({f"mid_epoch.{key}": mid_epoch.get(key) for key in ("step", "steps_per_epoch")})
        names["mid_epoch.checkpoint"] = mid_epoch.get("checkpoint")
        for key in ("seed_states", "metric_states"):
            if not isinstance(mid_epoch.get(key), list):
                return f"'mid_epoch.{key}' must be a list, got {shown(mid_epoch.get(key))}"
    for key, value in counts.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return f"'{key}' must be a whole number of at least 0, got {shown(value)}"
    if mid_epoch is not None and not 1 <= mid_epoch["step"] < mid_epoch["steps_per_epoch"]:
        return f"'mid_epoch.step' must lie inside the epoch's {mid_epoch['steps_per_epoch']} steps"
    best = state["best"]
    if best is not None and (not isinstance(best, (int, float)) or isinstance(best, bool)):
        return f"'best' must be a number, got {shown(best)}"
    for key, name in names.items():
        if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name or "\x00" in name:
            return f"'{key}' must be the name of a file in checkpoints/, got {shown(name)}"
    return ""
