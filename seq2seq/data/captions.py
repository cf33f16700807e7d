"""Turn the `data:` section of a captioning config into images with their reference captions."""

import logging
from dataclasses import dataclass
from pathlib import Path

from seq2seq.data import caption_readers
from seq2seq.data.readers import SkipCounter
from seq2seq.data.shapes import build_shapes, read_shapes
from seq2seq.data.tuxpaint import build_tuxpaint, read_tuxpaint
from seq2seq.errors import ConfigError, DataError

SPLITS = ("train", "dev", "test")
CAPTION_SETS = ("shapes", "tuxpaint", "flickr8k", "coco")  # what `_read` knows how to read

logger = logging.getLogger(__name__)

@dataclass
class CaptionedImages:
    """Image files and, for each, its reference captions (several per image, normalised)."""

    images: list[Path]
    captions: list[list[str]]

    def __len__(self):
        return len(self.images)


def load_caption_split(data_config, split, skips=None) -> CaptionedImages:
    """One split of the configured caption set; bad rows raise or are counted in `skips`, per data.on_bad_row."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    corpus = getattr(data_config, "corpus")
    if corpus not in CAPTION_SETS:
        raise ConfigError(f"data.corpus {corpus!r} is not a caption set; use one of {', '.join(CAPTION_SETS)}")
    report_skips = skips is None
    skips = SkipCounter() if skips is None else skips
    pairs, source = _read(corpus, data_config, split, skips)
    if report_skips and skips.total:
        logger.warning("%s: %s", source, skips.summary())
    if not pairs:
        raise DataError(source, None, f"the {split} split has no usable captioned images")
    images, captions = (list(side) for side in zip(*pairs))
    return CaptionedImages(images, captions)


def _read(corpus, data_config, split, skips):
    """(image path, captions) pairs and the file or folder to name in messages."""
    cache_dir = getattr(data_config, "cache_dir", None)
    on_bad_row = getattr(data_config, "on_bad_row", "error")
    if corpus == "shapes":
        directory = build_shapes(getattr(data_config, "synthetic_images"), cache_dir)
        return read_shapes(directory, split), directory
    if corpus == "tuxpaint":
        directory = build_tuxpaint(cache_dir, log=logger.info)
        language = getattr(data_config, "target_lang")
        return [(path, [caption]) for path, caption in read_tuxpaint(directory, split, language)], directory
    captions, splits = _paths(getattr(data_config, "captions", None)), getattr(data_config, "splits", None)
    images = _required(data_config, "images", f"the folder holding the {corpus} images")
    if corpus == "coco":
        return caption_readers.read_coco(captions, images, splits, split, on_bad_row, skips), splits or captions[0]
    if splits is None:
        raise ConfigError("data.splits is not set: give Karpathy's dataset_flickr8k.json or the folder holding "
                          "Flickr_8k.trainImages.txt, Flickr_8k.devImages.txt and Flickr_8k.testImages.txt")
    if not captions:
        return caption_readers.read_karpathy(splits, images, split, on_bad_row, skips), splits
    if len(captions) > 1:
        raise ConfigError(f"data.captions: Flickr8k takes one captions file (captions.txt or Flickr8k.token.txt), "
                          f"got {len(captions)}")
    names = caption_readers.flickr8k_split_names(splits, split, on_bad_row, skips)
    return caption_readers.read_flickr8k(captions[0], images, names, on_bad_row, skips), captions[0]


def _required(data_config, key, what):
    value = getattr(data_config, key, None)
    if value is None:
        raise ConfigError(f"data.{key} is not set: give {what}")
    return value


def _paths(value) -> list:
    """data.captions as a list: one path may be written without brackets."""
    if not value:
        return []
    return [value] if isinstance(value, (str, Path)) else list(value)
