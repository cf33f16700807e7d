"""Fine-tuning: a new run that starts from another run's trained model (`seq2seq train CONFIG --init-from RUN`).

Domain adaptation is the usual case: a model trained on plenty of general text goes on training on a
few hundred sentences of the user's own domain. The new run keeps the trained run's tokenizers (or
labels), since the model's embedding tables and output layer are indexed by them, and the trained
architecture; it gets a fresh optimizer and schedule from its own `train:` settings, and its own data.

`check_initial_run` imports no TensorFlow: the command line runs it before TensorFlow starts.
"""

import dataclasses

from seq2seq.durable_files import PARTIAL_MARK, copy_atomically
from seq2seq.errors import Seq2SeqError
from seq2seq.training.run_dir import RunDirectory
from seq2seq.training.run_lock import LOCK_FILE


def check_initial_run(config) -> RunDirectory:
    """The run `train.init_from` names, refused clearly unless its task, model and tokenizer are this config's."""
    initial = RunDirectory(config.train.init_from)
    try:
        initial.require(initial.model_file, "fine-tuning starts from a run's best model; train it first")
        trained = initial.load_config()
    except Seq2SeqError as error:
        raise Seq2SeqError(f"--init-from {error}") from None
    if trained.task != config.task:
        raise Seq2SeqError(f"--init-from {initial.path}: a {trained.task} run cannot start a {config.task} run")
    for section in ("tokenizer", "model"):
        difference = _first_difference(getattr(trained, section), getattr(config, section), section)
        if difference:
            raise Seq2SeqError(f"--init-from {initial.path}: {difference}; fine-tuning keeps the trained model and "
                               f"its vocabulary, so copy the {section}: section of {initial.config_file}")
    return initial


def copy_vocabulary(initial: RunDirectory, run: RunDirectory) -> None:
    """Copy the tokenizer models and label files: every file at the top of a run but its config, metrics,
    models and shortlist, which the new run writes itself (the shortlist from its own training data).
    Tasks then read them as a resumed run would."""
    own = {initial.config_file.name, initial.metrics_file.name, initial.shortlist_file.name, LOCK_FILE}
    for path in sorted(initial.path.iterdir()):
        if path.is_file() and path.name not in own and path.suffix != ".keras" and PARTIAL_MARK not in path.name:
            copy_atomically(path, run.path / path.name)


def initial_model(initial: RunDirectory, model_class, precision):
    """The trained run's best model with its weights, computing in this run's `precision`, without its
    optimizer, and with none of the parts it froze itself frozen: this run's `train.freeze` decides."""
    from seq2seq.models.loading import load_model_file, with_precision

    model = load_model_file(initial.model_file, compile=False)
    if not isinstance(model, model_class):
        raise Seq2SeqError(f"{initial.model_file}: holds a {type(model).__name__}, not a {model_class.__name__}")
    return with_precision(model, precision, frozen=[])


def _first_difference(trained, wanted, section):
    for field in dataclasses.fields(trained):
        there, here = getattr(trained, field.name), getattr(wanted, field.name)
        if there != here:
            return f"{section}.{field.name} is {there!r} there and {here!r} here"
    return None
