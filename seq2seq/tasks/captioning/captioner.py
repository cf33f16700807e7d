"""Python API: `Captioner.load(run_dir).caption(["photo.png"])`."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seq2seq.batch_shapes import padded_rows
from seq2seq.config import updated_decode
from seq2seq.data.images import image_pixels
from seq2seq.errors import Seq2SeqError
from seq2seq.search.hypotheses import BestHypothesis, read_hypotheses
from seq2seq.tasks.captioning.model import CaptionModel
from seq2seq.models.loading import check_size, load_run_model
from seq2seq.search import CompiledSearch, image_inputs
from seq2seq.data.tokenizer import TARGET_NAME, Tokenizer


@dataclass
class Caption(BestHypothesis):
    """An image as the model saw it, and its n best captions, best first; attention is over grid cells."""

    image: object  # the path it was read from, or None for pixels given directly
    pixels: np.ndarray  # (size, size, 3) uint8
    grid_shape: tuple  # (rows, columns) of the cells attention weighs
    hypotheses: list


class Captioner:
    """Captions images with one model and the search its decode config describes."""

    def __init__(self, model, tokenizer, decode_config):
        self.model = model
        self.tokenizer = tokenizer
        self.decode_config = decode_config
        kind = image_inputs(model.image_size, model.cells)
        self._searches = {with_attention: CompiledSearch(model, decode_config, with_attention, kind)
                          for with_attention in (False, True)}

    @classmethod
    def load(cls, run_dir, model_file=None, **decode_settings):
        """Load the best model and caption tokenizer of a run made by `seq2seq train` with `task: captioning`.

        `model_file` replaces `model.keras` (e.g. one from `seq2seq average`); keyword arguments
        change the run's decode settings, e.g. `beam_size=3`.
        """
        run, config, model, model_file = load_run_model(run_dir, "captioning", CaptionModel, model_file,
                                                        decode_settings.get("precision"))
        run.require(run.path / f"{TARGET_NAME}.model", "the caption tokenizer is missing")
        tokenizer = Tokenizer.load(run.path / f"{TARGET_NAME}.model")
        check_size(model_file, model.get_config()["target_vocab_size"], tokenizer.vocab_size, "pieces",
                   tokenizer.model_file)
        return cls(model, tokenizer, updated_decode(config.decode, decode_settings))

    def caption(self, images) -> list:
        """Caption image files (or (H, W, 3) uint8 arrays); returns one string per image, in order."""
        return [result.text for result in self.caption_with_details(images, with_attention=False)]

    def caption_with_details(self, images, with_attention=True) -> list:
        """-> one `Caption` per image file or array, in order, each with its n-best hypotheses."""
        images = list(images)
        pixels = np.stack([image_pixels(image, self.model.image_size) for image in images]) if images else None
        results = self.caption_pixels(pixels, with_attention) if images else []
        for result, image in zip(results, images):
            result.image = image if isinstance(image, (str, Path)) else None
        return results

    def caption_pixels(self, pixels, with_attention=True) -> list:
        """Caption (N, size, size, 3) uint8 images already at the model's size."""
        size = self.model.image_size
        if pixels.ndim != 4 or pixels.shape[1:] != (size, size, 3) or pixels.dtype != np.uint8:
            raise Seq2SeqError(f"caption_pixels needs (N, {size}, {size}, 3) uint8 images, got {pixels.shape} "
                               f"{pixels.dtype}; caption() takes image files or arrays of any size")
        results = []
        for start in range(0, len(pixels), self.decode_config.batch_size):
            batch = pixels[start:start + self.decode_config.batch_size]
            found = self._searches[with_attention](padded_rows(batch))
            results += [Caption(None, batch[row], self.model.grid_shape,
                                read_hypotheses(found, row, self.tokenizer, self.model.cells))
                        for row in range(len(batch))]
        return results

