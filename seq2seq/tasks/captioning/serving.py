"""`POST /caption` of `seq2seq serve`: images in (base64 in JSON, or files in a multipart form), captions out."""

import numpy as np

from seq2seq.serving.routes import ImageInputs, SearchRequest, ServedSearch, hypotheses_as_json


class CaptionRequest(ImageInputs, SearchRequest):
    """Images, and the search settings translation takes."""


class ServedCaptioner(ServedSearch):
    """Attention on request is over the image's grid of cells, row by row (`grid_shape`: rows, columns)."""

    path = "/caption"
    Request = CaptionRequest
    inputs_field = "images"
    takes_images = True

    def rebuilt(self, decode_config):
        return type(self.predictor)(self.predictor.model, self.predictor.tokenizer, decode_config)

    def decode_with(self, captioner, pixels, with_attention):
        results = []
        for caption in captioner.caption_pixels(np.stack(pixels), with_attention):
            results.append(hypotheses_as_json(caption, with_attention))
            if with_attention:
                results[-1]["grid_shape"] = list(caption.grid_shape)
        return results
