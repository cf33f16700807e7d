"""Errors that the CLI shows as one clear line instead of a traceback."""

import reprlib


class Seq2SeqError(Exception):
    """Base class: a problem the user can fix (bad input, bad config, missing file)."""


class ConfigError(Seq2SeqError):
    """A configuration file has an unknown key, a wrong type or a bad value."""


class DataError(Seq2SeqError):
    """A data file has a problem at a known place."""

    def __init__(self, path, line, problem):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training, saying what the run kept; still a KeyboardInterrupt to Python code that
    catches one. `resumable`: a checkpoint exists for `--resume` to continue from."""

    def __init__(self, kept, resumable):
        super().__init__(kept)
        self.resumable = resumable


def shown(value, quoted=True) -> str:
    """A value from a file as an error message shows it: on one line and short (its repr, cut to about 80
    characters), since a config value can be a megabyte of text, hold a newline, or be a list that YAML
    aliases make a million items long. Where `quoted` is false, a printable string of up to 300 characters
    (a path, a name) shows as it is."""
    if not quoted and isinstance(value, str) and value.isprintable() and len(value) <= 300:
        return value
    return _SHOWN.repr(value)


_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 80
_SHOWN.maxlist = _SHOWN.maxtuple = _SHOWN.maxset = _SHOWN.maxdict = 10
