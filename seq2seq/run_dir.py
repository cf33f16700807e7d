"""The run directory: everything needed to use, resume or evaluate a trained model.

    config.yaml          resolved config (every default written out)
    source.model ...     SentencePiece models (or joint.model)
    model.keras          best model so far
    checkpoints/         epoch checkpoints with optimizer state, and state.json for --resume
    metrics.csv          one row per epoch
    eval/                hypotheses and scores with sacreBLEU signatures
"""

import json
import os
from pathlib import Path

from seq2seq.config import load_config
from seq2seq.errors import Seq2SeqError


class RunDirectory:
    def __init__(self, path):
        self.path = Path(path)

    config_file = property(lambda self: self.path / "config.yaml")
    model_file = property(lambda self: self.path / "model.keras")
    checkpoints = property(lambda self: self.path / "checkpoints")
    state_file = property(lambda self: self.path / "checkpoints" / "state.json")
    metrics_file = property(lambda self: self.path / "metrics.csv")
    eval_dir = property(lambda self: self.path / "eval")

    def checkpoint(self, epoch) -> Path:
        return self.checkpoints / f"epoch-{epoch:03d}.keras"

    def create(self):
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.eval_dir.mkdir(exist_ok=True)
        return self

    def load_config(self):
        self.require(self.config_file, "was it made by `seq2seq train`?")
        return load_config(self.config_file)

    def require(self, path, hint):
        if not self.path.is_dir():
            raise Seq2SeqError(f"{self.path}: run directory not found")
        if not path.exists():
            raise Seq2SeqError(f"{path}: missing from the run directory; {hint}")

    def read_state(self) -> dict:
        self.require(self.state_file, "no checkpoint to resume from; train without --resume")
        return json.loads(self.state_file.read_text())

    def write_state(self, state: dict) -> None:
        write_atomically(self.state_file, json.dumps(state, indent=2).encode())


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file and rename it, so a kill never leaves a half-written file."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
