"""Loading `.keras` files of any task, safely, with a one-line error for a damaged one."""

import textwrap
from pathlib import Path

from seq2seq.errors import Seq2SeqError
from seq2seq.paths import checked_path
from seq2seq.precision import decoding_precision


def load_model_file(path: Path, compile=True):
    """Load a `.keras` file in safe mode (no code in the file ever runs).

    Every task's Keras classes, and the loss, metric and schedule a checkpoint's compile config
    names, are registered first, so a file from any task (and from seq2seq 0.1.0) loads.
    """
    import keras

    from seq2seq.tasks import import_keras_classes
    from seq2seq.training import losses, schedules  # noqa: F401  (register the compile config's classes)

    import_keras_classes()
    try:
        return keras.models.load_model(path, compile=compile, safe_mode=True)
    except Exception as error:  # a damaged zip, config or weights file: Keras raises many types
        # Keras' messages span lines and can quote the whole config: one line, cut to a readable length.
        reason = textwrap.shorten(f"{type(error).__name__}: {error}", 300, placeholder=" ...")
        raise Seq2SeqError(f"{path}: cannot load this model file ({reason})") from None


def load_run_model(run_dir, task, model_class, model_file=None, precision=None):
    """The best model of a `task` run, or `model_file` (e.g. one from `seq2seq average`) in its place.

    Every predictor starts here, so a run of another task, a run with no finished epoch, a missing
    file and a file holding some other model each get the same one-line error whatever the task.
    The model computes in `precision` (default: the run's `decode.precision`; `auto` keeps the trained
    precision where this machine runs it natively, see `seq2seq.precision`).
    Returns (run, config, model, model_file).
    """
    from seq2seq.training.run_dir import RunDirectory

    run = RunDirectory(run_dir)
    config = run.load_config()
    if config.task != task:
        raise Seq2SeqError(f"{run.path} is a {config.task} run, and this needs a {task} run; "
                           "`seq2seq --help` lists each task's own command")
    if model_file is None:
        run.require(run.model_file, "training has not finished an epoch yet")
    elif not checked_path(model_file).is_file():
        raise Seq2SeqError(f"{model_file}: model file not found")
    model_file = Path(model_file or run.model_file)
    model = load_model_file(model_file, compile=False)
    if not isinstance(model, model_class):
        raise Seq2SeqError(f"{model_file}: holds a {type(model).__name__}, not a seq2seq {task} model")
    precision = decoding_precision(precision or config.decode.precision, model.dtype_policy.name)
    return run, config, with_precision(model, precision), model_file


def with_precision(model, precision, **config_changes):
    """`model` computing in `precision` (a Keras dtype policy name), with the same weights, and rebuilt
    with `config_changes` to its config if any are given (fine-tuning unfreezes with `frozen=[]`).

    Mixed precision keeps weights in float32, so a model trained in bfloat16 decodes in float32 on a
    machine without bfloat16 instructions (and the other way round) from the same weights.
    """
    if model.dtype_policy.name == precision and not config_changes:
        return model
    rebuilt = type(model).from_config({**model.get_config(), **config_changes, "dtype": precision})
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def check_size(model_file, expected, found, what, file):
    """A tokenizer or label file from another run would give out-of-range ids or wrong names, silently.

    `what` names the unit ("pieces", "labels"); `file` is the tokenizer or label file that was read.
    """
    if expected != found:
        raise Seq2SeqError(f"{file}: {found} {what}, but {model_file} was trained with {expected}; "
                           f"the model and {Path(file).name} come from different runs")
