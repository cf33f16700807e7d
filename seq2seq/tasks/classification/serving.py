"""`POST /classify` of `seq2seq serve`: texts in, their most probable labels out."""

from pydantic import Field

from seq2seq.errors import Seq2SeqError
from seq2seq.serving.routes import ServedPredictor, ServedRequest, labels_as_json


class ClassifyRequest(ServedRequest):
    texts: list[str] = Field(description="the texts to label")
    top_k: int = Field(1, ge=1, description="how many labels to return per text, the most probable first")


class ServedClassifier(ServedPredictor):
    path = "/classify"
    Request = ClassifyRequest
    inputs_field = "texts"

    def check(self, settings):
        labels = len(self.predictor.labels)
        if settings.get("top_k", 1) > labels:
            raise Seq2SeqError(f"top_k: this run has {labels} labels, got {settings['top_k']}")

    def decode(self, settings, texts):
        return [labels_as_json(found) for found in self.predictor.classify(texts, settings.get("top_k", 1))]

    def defaults(self):
        return {"top_k": 1, "labels": list(self.predictor.labels.names)}
