"""`POST /generate` of `seq2seq serve`: prompts in, their continuations out."""

from typing import Optional

from pydantic import Field

from seq2seq.config import updated_decode
from seq2seq.serving.routes import RecentSearches, ServedPredictor, ServedRequest

SETTINGS = ("n_best", "beam_size", "sample", "temperature", "top_k", "seed", "max_generated_length")


class GenerateRequest(ServedRequest):
    """The settings default to the run's `decode:` config (sampling or search) and are checked like it."""

    prompts: list[str] = Field(description="texts to continue; an empty one starts a new line from nothing")
    n_best: Optional[int] = Field(None, ge=1, le=64, description="texts per prompt")
    beam_size: Optional[int] = Field(None, ge=1, le=64)
    sample: Optional[bool] = None
    temperature: Optional[float] = Field(None, gt=0)
    top_k: Optional[int] = Field(None, ge=0)
    seed: Optional[int] = None
    max_generated_length: Optional[int] = Field(None, ge=1, le=2000)


class ServedLanguageModel(ServedPredictor):
    path = "/generate"
    Request = GenerateRequest
    inputs_field = "prompts"
    empty_inputs = True

    def __init__(self, language_model):
        super().__init__(language_model)
        self.searches = RecentSearches(language_model, lambda settings: type(language_model)(
            language_model.model, language_model.tokenizer,
            updated_decode(language_model.decode, settings, source="request")))

    def check(self, settings):
        updated_decode(self.predictor.decode, settings, source="request")

    def decode(self, settings, prompts):
        return [{"texts": texts} for texts in self.searches.get(settings).generate(prompts)]

    def defaults(self):
        return {key: getattr(self.predictor.decode, key) for key in SETTINGS}
