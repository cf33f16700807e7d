"""Checkpoint averaging: the mean weights of a run's last epoch checkpoints, saved as one model.

Averaging the last few checkpoints smooths out the noise of the final updates and usually
translates a little better than any single one of them, at no training cost.
"""

from pathlib import Path

import numpy as np

from seq2seq.durable_files import save_model_atomically
from seq2seq.errors import Seq2SeqError
from seq2seq.models.loading import load_model_file
from seq2seq.training.run_dir import RunDirectory
from seq2seq.training.run_lock import run_lock


def average_checkpoints(run_dir, last: int, output=None, log=print) -> Path:
    """Average the last `last` epoch checkpoints of `run_dir` into `output`; -> the path written.

    `output` defaults to `<run_dir>/model.averaged.keras`. The file holds no optimizer state: it
    is for translating, not for resuming.
    """
    run = RunDirectory(run_dir)
    output = Path(output) if output is not None else run.averaged_model_file
    if last < 1:
        raise Seq2SeqError(f"cannot average the last {last} checkpoints: give at least 1")
    if output.suffix != ".keras":
        raise Seq2SeqError(f"{output}: the averaged model file must end with .keras")
    run.require(run.checkpoints, "was it made by `seq2seq train`?")
    with run_lock(run.path, "seq2seq average", log):  # a live training would delete checkpoints under it
        return _average(run, last, output, log)


def _average(run, last, output, log):
    available = run.epoch_checkpoints()
    if len(available) < last:
        raise Seq2SeqError(
            f"{run.checkpoints}: asked to average the last {last} checkpoints but only {len(available)} "
            f"exist; `train.keep_checkpoints` sets how many a run keeps")
    chosen = available[-last:]

    layout = None
    for path in chosen:
        model = load_model_file(path, compile=False)
        if layout is None:
            layout, first = _layout(model), path
            totals = [np.zeros(variable.shape, np.float64) for variable in _averaged(model)]
        elif _layout(model) != layout:
            raise Seq2SeqError(f"{path} and {first} cannot be averaged: they come from different model "
                               f"configs ({_first_difference(_layout(model), layout)})")
        for total, variable in zip(totals, _averaged(model)):
            total += np.asarray(variable.numpy(), np.float64)

    for total, variable in zip(totals, _averaged(model)):
        variable.assign((total / len(chosen)).astype(variable.dtype))
    save_model_atomically(model, output)
    log(f"averaged {len(chosen)} checkpoints ({chosen[0].name} to {chosen[-1].name}) into {output}")
    return output


def _averaged(model):
    """The floating-point variables, trainable or not.

    Integer state (the dropout layers' seed generators) is not a weight: it keeps the newest
    checkpoint's value.
    """
    return [variable for variable in model.variables if np.issubdtype(np.dtype(variable.dtype), np.floating)]


def _layout(model):
    """(name, shape, dtype) per variable, with the model's own name dropped from the paths.

    Models built in one process get names like `translation_model_1`, and seed generators get
    process-wide counters, so only the path inside the model identifies a weight.
    """
    prefix = f"{model.name}/"
    return [(variable.path.removeprefix(prefix) if variable.path.startswith(prefix) else variable.name,
             tuple(variable.shape), str(variable.dtype)) for variable in model.variables]


def _first_difference(layout, reference):
    """For the error message: the first variable that does not match, or the counts."""
    for mine, theirs in zip(layout, reference):
        if mine != theirs:
            return f"{_describe(mine)} against {_describe(theirs)}"
    return f"{len(layout)} variables against {len(reference)}"


def _describe(entry):
    name, shape, dtype = entry
    return f"{name} {dtype}{list(shape)}"
