"""`POST /translate` of `seq2seq serve`: sentences in, translations out, n-best and attention on request."""

from typing import Optional

from pydantic import Field

from seq2seq.config import updated_decode
from seq2seq.serving.routes import RecentSearches, ServedPredictor, ServedRequest


class TranslateRequest(ServedRequest):
    """The search settings default to the run's `decode:` config and are checked like a config file's."""

    sentences: list[str] = Field(description="the sentences to translate, one translation each")
    beam_size: Optional[int] = Field(None, ge=1, le=64)
    n_best: Optional[int] = Field(None, ge=1, le=64)
    length_penalty: Optional[float] = Field(None, ge=0)
    coverage_penalty: Optional[float] = Field(None, ge=0)
    with_attention: bool = Field(False, description="add each hypothesis's attention, (target, source) weights")


class ServedTranslator(ServedPredictor):
    path = "/translate"
    Request = TranslateRequest
    inputs_field = "sentences"

    def __init__(self, translator):
        super().__init__(translator)
        self.searches = RecentSearches(translator, lambda search: type(translator)(
            translator.model, translator.source_tokenizer, translator.target_tokenizer, self._decode_config(search)))

    def check(self, settings):
        self._decode_config(settings)

    def decode(self, settings, sentences):
        search = {key: value for key, value in settings.items() if key != "with_attention"}
        with_attention = settings.get("with_attention", False)
        return [_as_json(translation, with_attention)
                for translation in self.searches.get(search).translate_with_details(sentences, with_attention)]

    def defaults(self):
        decode = self.predictor.decode_config
        return {key: getattr(decode, key) for key in ("beam_size", "n_best", "length_penalty", "coverage_penalty")}

    def _decode_config(self, settings):
        changes = {key: value for key, value in settings.items() if key != "with_attention"}
        return updated_decode(self.predictor.decode_config, changes, source="request")


def _as_json(translation, with_attention):
    def hypothesis(found):
        entry = {"text": found.text, "score": round(float(found.score), 4)}
        if with_attention:
            entry["attention"] = [[round(float(weight), 4) for weight in row] for row in found.attention]
            entry["target_pieces"] = list(found.target_pieces)
        return entry

    result = {"text": translation.text, "hypotheses": [hypothesis(found) for found in translation.hypotheses]}
    if with_attention:
        result["source_pieces"] = list(translation.source_pieces)
    return result
