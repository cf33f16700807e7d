"""`POST /classify-image` of `seq2seq serve`: images in (base64 in JSON, or files in a multipart form),
their most probable labels out."""

import numpy as np
from pydantic import Field

from seq2seq.serving.routes import ImageInputs, labels_as_json
from seq2seq.tasks.classification.serving import ServedClassifier


class ClassifyImagesRequest(ImageInputs):
    top_k: int = Field(1, ge=1, description="how many labels to return per image, the most probable first")
    with_attention: bool = Field(False, description="add where the classifier looked: its pooling weights over the "
                                 "image's grid, rows x columns")


class ServedImageClassifier(ServedClassifier):
    """The text classifier's settings (`top_k`) and answer, for images, with where it looked on request."""

    path = "/classify-image"
    Request = ClassifyImagesRequest
    inputs_field = "images"
    takes_images = True

    def decode(self, settings, pixels):
        results = []
        for found in self.predictor.classify_inputs(np.stack(pixels), settings.get("top_k", 1)):
            results.append(labels_as_json(found))
            if settings.get("with_attention"):
                results[-1]["attention"] = np.round(found.attention.astype(float), 4).tolist()
        return results
