"""The task registry: every `task:` a config may name, and what each one offers.

A task is one folder here with its registration in the folder's `__init__.py`:

    @register_task("classification")
    class Classification(TaskDefinition): ...

Config validation, the training loop, `evaluate`, `plot` and the command line find the task
through `task_named`; none of them imports a task by name. The registrations import no TensorFlow.
"""

import difflib

from seq2seq.errors import ConfigError, shown

_TASKS = {}


def register_task(name):
    """Class decorator: register a `TaskDefinition` subclass under `name` (the config's `task:`)."""

    def register(definition_class):
        if name in _TASKS:
            raise ValueError(f"task {name!r} is registered twice")
        definition_class.name = name
        _TASKS[name] = definition_class()
        return definition_class

    return register


def registered_tasks() -> tuple:
    """Every registered `TaskDefinition`, in registration order."""
    return tuple(_TASKS.values())


def task_named(name, source="config"):
    """The registered `TaskDefinition` for `name`, or a `ConfigError` with the closest name.

    `name` comes straight from a config file, so it may be any YAML value, a list or a mapping among them.
    """
    if not isinstance(name, str) or name not in _TASKS:
        close = difflib.get_close_matches(name, _TASKS, n=1) if isinstance(name, str) else []
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"{source}: 'task' must be one of {', '.join(_TASKS)}, got {shown(name)}{hint}")
    return _TASKS[name]


def import_keras_classes():
    """Import every module that registers Keras classes, so any task's `.keras` file can load."""
    from importlib import import_module

    for task in _TASKS.values():
        for module in task.keras_modules:
            import_module(module)


from seq2seq.tasks import captioning, classification, image_classification, language_model, tagging, translation  # noqa: E402,F401  (registers the built-in tasks)
