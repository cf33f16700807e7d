"""What `seq2seq serve` needs from a task to serve its runs: a route, a request body, a batch decoder.

Each task that can be served has a `serving.py` in its folder with a `ServedPredictor` subclass, named
by its registry entry (`TaskDefinition.served`). The service (`seq2seq.serving.app`) gives every task
among the loaded runs its route, checks each request's inputs against the limits, and decodes the
inputs of concurrent requests with equal settings together. The runs that search (translation,
captioning) share `ServedSearch`: the search settings a request may change, and the n-best answer.
"""

import threading
from collections import OrderedDict
from typing import Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from seq2seq.config import updated_decode

WARM_UP_TEXT = "hola"


class ServedRequest(BaseModel):
    """Every request body: strict types, no unknown fields, and which loaded run answers it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: Optional[str] = Field(None, description="a loaded run's name (GET /models); default: the first of the task")


class ServedPredictor:
    """A loaded run as the service serves it.

    `path` is the task's route and `Request` its body (a `ServedRequest`), whose `inputs_field` holds the
    list of inputs; every other field but `model` is a setting, and requests with equal settings share a
    batch. The inputs are texts, or with `takes_images` images, which `decode` gets as (size, size, 3)
    uint8 arrays at the model's `image_size`. `empty_inputs`: whether an empty text is a valid input (a
    language model's empty prompt).
    """

    path = ""
    Request = ServedRequest
    inputs_field = ""
    empty_inputs = False
    takes_images = False

    def __init__(self, predictor):
        self.predictor = predictor

    @property
    def image_size(self) -> int:
        """The side of the square images an image route's `decode` gets."""
        return self.predictor.model.image_size

    def warm_up_input(self):
        """An input whose decoding traces the default search before the first request."""
        return np.full((self.image_size, self.image_size, 3), 255, np.uint8) if self.takes_images else WARM_UP_TEXT

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
    otherwise grow memory without end). Safe to use from the service's search threads at once.
    """

    def __init__(self, default, build, size=8):
        self.entries = OrderedDict({(): default})
        self.build = build
        self.size = size
        self.lock = threading.Lock()

    def get(self, settings: dict):
        key = tuple(sorted(settings.items()))
        with self.lock:
            if key not in self.entries:
                self.entries[key] = self.build(settings)
                while len(self.entries) > self.size:
                    del self.entries[next(entry for entry in self.entries if entry != ())]
            self.entries.move_to_end(key)
            return self.entries[key]


class ImageInputs(ServedRequest):
    """The body of an image route: its `images` field (and a form's files of that name, `serving/requests.py`)."""

    images: list[str] = Field(description="the images (PNG, JPEG, GIF, WebP, BMP or TIFF), base64-encoded; or send "
                              "them as files named `images` in a multipart/form-data body")


class SearchRequest(ServedRequest):
    """The search settings default to the run's `decode:` config and are checked like a config file's."""

    beam_size: Optional[int] = Field(None, ge=1, le=64)
    n_best: Optional[int] = Field(None, ge=1, le=64)
    length_penalty: Optional[float] = Field(None, ge=0)
    coverage_penalty: Optional[float] = Field(None, ge=0)
    with_attention: bool = Field(False, description="add each hypothesis's attention weights, one row per output piece")


class ServedSearch(ServedPredictor):
    """A run decoded by a search (beam, greedy or sampling) whose settings a request may change
    (`SEARCH_SETTINGS`, checked like a config file's `decode:`).

    Subclasses say how to rebuild their predictor with other decode settings and how to decode a batch
    with one such predictor.
    """

    SEARCH_SETTINGS = ("beam_size", "n_best", "length_penalty", "coverage_penalty")

    @property
    def base_decode(self):
        """The run's own decode settings, which a request's change."""
        return self.predictor.decode_config

    def __init__(self, predictor):
        super().__init__(predictor)
        self.searches = RecentSearches(predictor, lambda search: self.rebuilt(self._decode_config(search)))

    def rebuilt(self, decode_config):
        """The predictor, sharing its model, with `decode_config`."""
        raise NotImplementedError

    def decode_with(self, predictor, inputs, with_attention) -> list:
        """One JSON-ready result per input, decoded as one batch by `predictor` (one of `rebuilt`'s)."""
        raise NotImplementedError

    def check(self, settings):
        self._decode_config(settings)

    def decode(self, settings, inputs):
        return self.decode_with(self.searches.get(_search_settings(settings)), inputs,
                                settings.get("with_attention", False))

    def defaults(self):
        return {key: getattr(self.base_decode, key) for key in self.SEARCH_SETTINGS}

    def _decode_config(self, settings):
        return updated_decode(self.base_decode, _search_settings(settings), source="request")


def _search_settings(settings):
    """A request's settings less `with_attention`, which the search is compiled both with and without."""
    return {key: value for key, value in settings.items() if key != "with_attention"}


def hypotheses_as_json(result, with_attention) -> dict:
    """A search's result for one input (a `BestHypothesis`): the best text and the n-best with scores."""
    def hypothesis(found):
        entry = {"text": found.text, "score": round(float(found.score), 4)}
        if with_attention:
            entry["attention"] = [[round(float(weight), 4) for weight in row] for row in found.attention]
            entry["target_pieces"] = list(found.target_pieces)
        return entry

    return {"text": result.text, "hypotheses": [hypothesis(found) for found in result.hypotheses]}


def labels_as_json(found) -> dict:
    """A classifier's result for one input: its label and the most probable labels with probabilities."""
    return {"label": found.label, "top": [{"label": label, "probability": round(float(probability), 4)}
                                          for label, probability in found.top]}
