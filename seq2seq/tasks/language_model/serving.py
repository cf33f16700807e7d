"""`POST /generate` of `seq2seq serve`: prompts in, their continuations out."""

from typing import Optional

from pydantic import Field

from seq2seq.serving.routes import ServedRequest, ServedSearch

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


class ServedLanguageModel(ServedSearch):
    path = "/generate"
    Request = GenerateRequest
    inputs_field = "prompts"
    empty_inputs = True
    SEARCH_SETTINGS = ("n_best", "beam_size", "sample", "temperature", "top_k", "seed", "max_generated_length")

    @property
    def base_decode(self):
        return self.predictor.decode

    def rebuilt(self, decode_config):
        return type(self.predictor)(self.predictor.model, self.predictor.tokenizer, decode_config)

    def decode_with(self, language_model, prompts, with_attention):
        return [{"texts": texts} for texts in language_model.generate(prompts)]
