"""What a task is to the rest of the toolkit: the two interfaces every task implements.

`TaskDefinition` is the registered, light half: it imports no TensorFlow, so the command line and
config validation can ask it its corpora, dev metrics and commands before TensorFlow starts. Its
methods that do the work import the task's heavy modules when called.

`TaskTraining` is what the generic training loop (`seq2seq.training.loop`) drives: data, model,
batches, loss and dev score of one run. The loop, its callbacks and the run directory know nothing
else about a task.
"""

from importlib import import_module
from typing import Callable, Protocol


class TaskTraining(Protocol):
    """One run's data and model, as the training loop uses them.

    `epoch_size` is (unit, count): what one epoch reads, for the speed the log reports as
    `<unit>_per_second` (e.g. ("target_tokens", 812345)).
    """

    model_class: type
    steps_per_epoch: int
    epoch_size: tuple

    def new_model(self):
        """A freshly initialised model for a new run."""

    def datasets(self, model, first_epoch: int):
        """(endless shuffled training batches from `first_epoch` on, one pass of dev batches)."""

    def dev_scorer(self, model) -> Callable[[], tuple]:
        """A function run after each epoch: -> ({metric: value}, one line describing them)."""

    def loss_and_metrics(self, train_config) -> tuple:
        """(the Keras loss to minimise, the Keras metrics to log), built from `train:` settings."""

    # Optional: `pictures(model)` -> [(name, matplotlib Figure)], drawn into TensorBoard each epoch
    # with `train.tensorboard` (a translator's attention over a few dev sentences).


# The `dev_loss` of tasks that predict token sequences. Keras' val_loss is the mean of the dev batches'
# losses weighted by their examples (sentences), so a token in a batch of short sentences weighs more
# than one in a batch of long ones; the `xent` metric (seq2seq.training.losses.TokenCrossEntropy)
# sums the unsmoothed cross-entropy over every dev token and divides by their number.
PER_TOKEN_DEV_LOSS = ("val_xent", "min")


class TaskDefinition:
    """A task as the registry knows it; subclasses set the class attributes and the methods.

    `corpora` are the `data.corpus` values it reads, the first being its default; `dev_metrics` map
    each `train.early_stopping.metric` it offers to (the key in the epoch's logs, "max" or "min"),
    the first being its default; `model_keys` are the `model:` keys it reads (any other must keep
    its default); `renamed_keys` map an old key to the one that replaced it, for a clear error;
    `keras_modules` register the Keras classes its `.keras` files hold; `samples_subwords` says it reads
    `tokenizer.sampling_alpha` (subword regularisation of its training text); `masks_placeholders` that it
    reads `tokenizer.placeholders` (seq2seq.data.placeholders); `shortlists_vocabulary` that it writes a
    vocabulary shortlist and reads `decode.shortlist` (seq2seq.search.shortlist).

    The heavy parts are named as `module:name` strings, imported only when used: `training_data`, the
    `TaskTraining` class, built as `Class(config, run, resume, log)`; `evaluator`, the function
    `evaluate` calls; `cli_verbs`, the function adding its own verbs (e.g. `translate`) to the
    command's subparsers, with the option groups of `seq2seq.cli_options`; `predictor`, the Python
    API class whose `load(run_dir, ...)` serves a trained run; `served`, its `ServedPredictor` for
    `seq2seq serve` (`seq2seq.serving.routes`), where the task can be served over HTTP.
    """

    name: str = ""
    description: str = ""
    corpora: tuple = ()
    dev_metrics: dict = {}
    model_keys: tuple = ()
    renamed_keys: dict = {}
    keras_modules: tuple = ()
    samples_subwords: bool = False
    masks_placeholders: bool = False
    shortlists_vocabulary: bool = False
    training_data: str = ""
    evaluator: str = ""
    cli_verbs: str = ""
    predictor: str = ""
    served: str = ""

    def check_config(self, config, source):
        """Checks of keys only this task reads (raise `ConfigError`); after the shared checks."""

    def training(self, config, run, resume, log) -> TaskTraining:
        """Read the data (and train or load tokenizers) for a run: -> its `TaskTraining`.

        `resume`: the run directory already holds the vocabulary (tokenizers, labels) to load rather than
        make: a resumed run's own, or the one a fine-tuned run copied from the run it starts from.
        """
        return import_reference(self.training_data)(config, run, resume, log)

    def evaluate(self, run, split, log, model_file=None, ensemble=(), **decode_settings) -> dict:
        """Predict a split with a trained run, write `eval/<split>.<name>.*` files, return the scores."""
        return import_reference(self.evaluator)(run, split, log, model_file=model_file, ensemble=ensemble, **decode_settings)

    def add_commands(self, commands):
        """Add the task's own command-line verbs to the `commands` subparsers."""
        if self.cli_verbs:
            import_reference(self.cli_verbs)(commands)

    def draw(self, run_dir, out_dir, texts, images, model_file=None, **decode_settings) -> list:
        """`seq2seq plot`'s task pictures for these `--text`/`--image` inputs: -> PNG paths written."""
        return []

    def load_predictor(self, run_dir, **settings):
        """The task's Python API object for a trained run (e.g. a `Translator`)."""
        return import_reference(self.predictor).load(run_dir, **settings)


def import_reference(reference):
    """`package.module:name` -> that object, importing its module (and TensorFlow) only now."""
    module, name = reference.split(":")
    return getattr(import_module(module), name)
