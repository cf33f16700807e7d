"""The task registry: every built-in task declares what the loop, `evaluate`, the CLI and the predictors
use, and a new task is a registration, with no edit to the config, the loop or the command."""

import argparse
import inspect

import pytest

from seq2seq.cli import _parser
from seq2seq.config import config_from_dict
from seq2seq.errors import ConfigError
from seq2seq.tasks import _TASKS, register_task, registered_tasks, task_named
from seq2seq.tasks.base import TaskDefinition, TaskTraining, import_reference

BUILT_IN = ("captioning", "classification", "image_classification", "language_model", "tagging", "translation")
TRAINING_METHODS = [name for name, _ in inspect.getmembers(TaskTraining, inspect.isfunction)
                    if not name.startswith("_")]


@pytest.mark.parametrize("name", BUILT_IN)
def test_a_built_in_task_declares_what_each_part_of_the_toolkit_calls(name):
    task = task_named(name)
    assert task.name == name and task.corpora and task.model_keys
    assert task.dev_metrics and {direction for _, direction in task.dev_metrics.values()} <= {"max", "min"}
    training = import_reference(task.training_data)
    assert set(TRAINING_METHODS) == {"new_model", "datasets", "dev_scorer", "loss_and_metrics"}
    assert all(callable(getattr(training, method, None)) for method in TRAINING_METHODS)
    assert list(inspect.signature(training).parameters) == ["config", "run", "resume", "log"]
    assert {"run", "split", "log", "model_file", "ensemble"} <= set(inspect.signature(
        import_reference(task.evaluator)).parameters)
    assert callable(import_reference(task.predictor).load)
    subparsers = argparse.ArgumentParser().add_subparsers()
    task.add_commands(subparsers)
    # A task adds its own verbs, or its predictor serves a shared one (`classify` serves any predictor that classifies).
    assert subparsers.choices or hasattr(import_reference(task.predictor), "classify"), f"{name} has no verb"
    # The config's defaults come from the registration: its first corpus and first dev metric.
    config = config_from_dict({"task": name})
    assert config.data.corpus == task.corpora[0]
    assert config.train.early_stopping.metric == next(iter(task.dev_metrics))


@pytest.fixture
def echo_task():
    """A task registered from outside the package, removed again after the test."""

    @register_task("echo")
    class Echo(TaskDefinition):
        corpora = ("echo-lines",)
        dev_metrics = {"dev_loss": ("val_loss", "min")}
        model_keys = ("cell", "embedding_dim")

    yield Echo
    del _TASKS["echo"]


def test_registering_a_task_is_all_the_config_and_the_command_need(echo_task):
    assert task_named("echo").name == "echo" and task_named("echo") in registered_tasks()
    config = config_from_dict({"task": "echo", "model": {"cell": "lstm"}})
    assert (config.task, config.data.corpus, config.train.early_stopping.metric) == ("echo", "echo-lines", "dev_loss")
    with pytest.raises(ConfigError, match="'data.corpus: bible' is not a echo corpus; use one of echo-lines"):
        config_from_dict({"task": "echo", "data": {"corpus": "bible"}})
    with pytest.raises(ConfigError, match="does not apply to echo"):
        config_from_dict({"task": "echo", "model": {"decoder_units": 7}})
    _parser()  # the command line builds with a task that adds no verbs


def test_a_name_is_registered_once_and_a_typo_names_the_closest(echo_task):
    with pytest.raises(ValueError, match="registered twice"):
        register_task("echo")(echo_task)
    with pytest.raises(ConfigError, match="did you mean 'classification'"):
        task_named("clasification")
