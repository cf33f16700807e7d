"""`POST /tag` of `seq2seq serve`: texts in, a label per word out (or, for truecasing runs, the text restored)."""

from pydantic import Field

from seq2seq.errors import Seq2SeqError
from seq2seq.serving.routes import ServedPredictor, ServedRequest


class TagRequest(ServedRequest):
    texts: list[str] = Field(description="the texts whose words to label")
    restore: bool = Field(False, description="truecasing runs: return each text cased and punctuated")


class ServedTagger(ServedPredictor):
    path = "/tag"
    Request = TagRequest
    inputs_field = "texts"

    def check(self, settings):
        if settings.get("restore") and not self.predictor.truecase:
            raise Seq2SeqError("restore: this is not a truecasing run; leave restore out to get the labels")

    def decode(self, settings, texts):
        if settings.get("restore"):
            return [{"text": text} for text in self.predictor.restore(texts)]
        return [{"words": [{"word": word, "label": label} for word, label in tagged]}
                for tagged in self.predictor.tag(texts)]

    def defaults(self):
        return {"restore": False, "truecasing": self.predictor.truecase}
