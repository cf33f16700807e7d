"""`POST /classify-image` of `seq2seq serve`: images in (base64 in JSON, or files in a multipart form),
their most probable labels out."""

import numpy as np
from pydantic import Field

from seq2seq.errors import Seq2SeqError
from seq2seq.serving.routes import ServedPredictor, ServedRequest, labels_as_json


class ClassifyImagesRequest(ServedRequest):
    images: list[str] = Field(description="the images (PNG, JPEG... any format Pillow reads), base64-encoded; or "
                              "send them as files named `images` in a multipart/form-data body")
    top_k: int = Field(1, ge=1, description="how many labels to return per image, the most probable first")
    with_attention: bool = Field(False, description="add where the classifier looked: its pooling weights over the "
                                 "image's grid, rows x columns")


class ServedImageClassifier(ServedPredictor):
    path = "/classify-image"
    Request = ClassifyImagesRequest
    inputs_field = "images"
    takes_images = True

    def check(self, settings):
        labels = len(self.predictor.labels)
        if settings.get("top_k", 1) > labels:
            raise Seq2SeqError(f"top_k: this run has {labels} labels, got {settings['top_k']}")

    def decode(self, settings, pixels):
        results = []
        for found in self.predictor.classify_inputs(np.stack(pixels), settings.get("top_k", 1)):
            results.append(labels_as_json(found))
            if settings.get("with_attention"):
                results[-1]["attention"] = np.round(found.attention.astype(float), 4).tolist()
        return results

    def defaults(self):
        return {"top_k": 1, "labels": list(self.predictor.labels.names)}
