"""Loading `.keras` files of any task, safely, with a one-line error for a damaged one."""

from pathlib import Path

from seq2seq.errors import Seq2SeqError


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
        raise Seq2SeqError(f"{path}: cannot load this model file ({type(error).__name__}: {error})") from None
