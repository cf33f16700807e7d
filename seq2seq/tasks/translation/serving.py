"""`POST /translate` of `seq2seq serve`: sentences in, translations out, n-best and attention on request."""

from typing import Optional

from pydantic import Field

from seq2seq.serving.routes import SearchRequest, ServedSearch, hypotheses_as_json


class TranslateRequest(SearchRequest):
    sentences: list[str] = Field(description="the sentences to translate, one translation each")
    shortlist: Optional[bool] = Field(None, description="score only the target pieces likely for these sentences "
                                      "(the run's vocabulary shortlist): faster")


class ServedTranslator(ServedSearch):
    path = "/translate"
    Request = TranslateRequest
    inputs_field = "sentences"
    SEARCH_SETTINGS = (*ServedSearch.SEARCH_SETTINGS, "shortlist")

    def rebuilt(self, decode_config):
        return self.predictor.with_decode(decode_config)

    def decode_with(self, translator, sentences, with_attention):
        results = []
        for translation in translator.translate_with_details(sentences, with_attention):
            results.append(hypotheses_as_json(translation, with_attention))
            if with_attention:
                results[-1]["source_pieces"] = list(translation.source_pieces)
        return results
