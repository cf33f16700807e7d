"""What `seq2seq serve` needs from a task to serve its runs: a route, a request body, a batch decoder.

Each task that can be served has a `serving.py` in its folder with a `ServedPredictor` subclass, named
by its registry entry (`TaskDefinition.served`). The service (`seq2seq.serving.app`) gives every task
among the loaded runs its route, checks each request's inputs against the limits, and decodes the
inputs of concurrent requests with equal settings together.
"""

from collections import OrderedDict
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field


class ServedRequest(BaseModel):
    """Every request body: strict types, no unknown fields, and which loaded run answers it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: Optional[str] = Field(None, description="a loaded run's name (GET /models); default: the first of the task")


class ServedPredictor:
    """A loaded run as the service serves it.

    `path` is the task's route and `Request` its body (a `ServedRequest`), whose `inputs_field` holds the
    list of texts; every other field but `model` is a setting, and requests with equal settings share a
    batch. `empty_inputs`: whether an empty text is a valid input (a language model's empty prompt).
    """

    path = ""
    Request = ServedRequest
    inputs_field = ""
    empty_inputs = False

    def __init__(self, predictor):
        self.predictor = predictor

    def check(self, settings: dict) -> None:
        """Raise `Seq2SeqError` for settings this run cannot take, before the request waits for a batch."""

    def decode(self, settings: dict, inputs: list) -> list:
        """One JSON-ready result per input, decoded as one batch."""
        raise NotImplementedError

    def defaults(self) -> dict:
        """For GET /models: the settings a request gets when it gives none."""
        return {}


class RecentSearches:
    """Predictors built for the last `size` search settings clients asked for, sharing the loaded model.

    Each is traced on first use, so building one costs seconds; the default one is always kept, and the
    rest are bounded because clients choose the settings (a seed or a penalty per request would
    otherwise grow memory without end).
    """

    def __init__(self, default, build, size=8):
        self.entries = OrderedDict({(): default})
        self.build = build
        self.size = size

    def get(self, settings: dict):
        key = tuple(sorted(settings.items()))
        if key not in self.entries:
            self.entries[key] = self.build(settings)
            while len(self.entries) > self.size:
                del self.entries[next(entry for entry in self.entries if entry != ())]
        self.entries.move_to_end(key)
        return self.entries[key]
