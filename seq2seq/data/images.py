"""Image files -> uint8 RGB arrays of one square size, whatever the file's mode.

Every image is padded to a square on white and then resized, so shapes are never stretched
(a tall giraffe stays tall); transparency is composited on white, so a stamp's see-through
background looks like the page it is drawn on. A file that cannot be decoded raises ImageError
naming it, or is skipped and counted when on_bad_image="skip".
"""

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from seq2seq.data.readers import ON_ERROR_CHOICES, SkipCounter
from seq2seq.errors import DataError, Seq2SeqError

WHITE = (255, 255, 255)
_SIXTEEN_BIT_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N")
_SKIP_HINT = "or set 'data.on_bad_row: skip' in the config to skip and count such images"

logger = logging.getLogger(__name__)


class ImageError(DataError):
    """An image file that cannot be used; `kind` names the problem when such images are counted."""

    def __init__(self, path, problem, kind):
        super().__init__(path, None, problem)
        self.kind = kind


def load_image(path, size: int) -> np.ndarray:
    """The image at `path` as a (size, size, 3) uint8 RGB array.

    An image whose padded square would exceed Pillow's own decompression-bomb limit is refused: a valid
    1x60000 PNG of a few hundred bytes pads to 3.6 billion pixels, minutes and gigabytes before the resize.
    """
    path = Path(path)
    if not path.is_file():
        problem = "not a file" if path.exists() else "image file not found"
        raise ImageError(path, f"{problem}; check data.images in the config, {_SKIP_HINT}", "missing image")
    if path.stat().st_size == 0:
        raise ImageError(path, f"empty image file (0 bytes): re-download or remove it, {_SKIP_HINT}",
                         "empty image file")
    return square_pixels(open_rgb(path, path, max_pixels=Image.MAX_IMAGE_PIXELS), size)


def square_pixels(image: Image.Image, size: int) -> np.ndarray:
    """An RGB image padded to a square on white and resized to (size, size, 3) uint8."""
    return np.asarray(_pad_to_square(image).resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def image_pixels(image, size: int) -> np.ndarray:
    """An image file, or an (H, W, 3) uint8 RGB array, as a model of input `size` reads it: padded to a
    square and resized exactly as image files are."""
    if isinstance(image, (str, Path)):
        return load_image(image, size)
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise Seq2SeqError(f"an image array must be (height, width, 3) uint8 RGB, got {array.shape} {array.dtype}")
    return array if array.shape[:2] == (size, size) else square_pixels(Image.fromarray(array), size)


def load_images(paths, size: int, on_bad_image="error", skips=None) -> tuple[np.ndarray, list[int]]:
    """Images stacked as (N, size, size, 3) uint8, and the indices in `paths` of the N that were kept."""
    if on_bad_image not in ON_ERROR_CHOICES:
        raise Seq2SeqError(f"on_bad_image must be one of {', '.join(ON_ERROR_CHOICES)}; got {on_bad_image!r}")
    report_skips = skips is None
    skips = SkipCounter() if skips is None else skips
    paths = list(paths)
    images = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    kept = []
    for index, path in enumerate(paths):
        try:
            images[len(kept)] = load_image(path, size)
        except ImageError as error:
            if on_bad_image == "error":
                raise
            skips.add(path, None, error.kind)
            continue
        kept.append(index)
    if report_skips and skips.total:
        logger.warning("%s", skips.summary())
    return images[:len(kept)], kept


def open_rgb(file, name, max_pixels=None, formats=None) -> Image.Image:
    """The image in a path or binary file, decoded and in RGB at its own size; ImageError names `name`.

    `load()` decodes every pixel here, so a truncated file fails now rather than later in a batch.
    `max_pixels` refuses, from the header and before any pixel is decoded, an image whose padded square
    (`square_pixels`) would be larger: a small file can declare an enormous image, and a long thin one
    pads to a square far larger than itself. `formats` limits the decoders Pillow may try (None: all).
    """
    try:
        with Image.open(file, formats=formats) as image:
            side = max(image.size)
            if max_pixels is not None and side * side > max_pixels:
                raise ImageError(name, f"{image.width}x{image.height} pads to a square of {side * side:,} pixels; "
                                 f"at most {max_pixels:,}", "too many pixels")
            image.load()
            return _to_rgb(image, name)
    except Image.UnidentifiedImageError:
        raise ImageError(name, f"not an image file Pillow can read: re-download or remove it, {_SKIP_HINT}",
                         "corrupt image") from None
    except Image.DecompressionBombError as error:
        raise ImageError(name, f"image too large to decode safely ({error}); shrink it, {_SKIP_HINT}",
                         "image too large") from None
    except OSError as error:
        if "truncated" in str(error):
            raise ImageError(name, f"truncated image file: re-download or remove it, {_SKIP_HINT}",
                             "truncated image") from None
        raise ImageError(name, f"corrupt image file ({error}): re-download or remove it, {_SKIP_HINT}",
                         "corrupt image") from None
    except (SyntaxError, ValueError) as error:  # what some of Pillow's decoders raise for garbage
        raise ImageError(name, f"corrupt image file ({error}): re-download or remove it, {_SKIP_HINT}",
                         "corrupt image") from None


def _to_rgb(image: Image.Image, name) -> Image.Image:
    """RGB: alpha (or a transparent palette entry or colour key) over white, 16-bit scaled to 8 bits."""
    if image.mode in _SIXTEEN_BIT_MODES:
        # Pillow's own conversion clips at 255, which turns most 16-bit images white; scale instead.
        # ("I" is how Pillow opens some 16-bit files, so it is read as 16-bit too.)
        values = np.clip(np.asarray(image, dtype=np.float64), 0, 65535) / 257.0
        return Image.fromarray(np.round(values).astype(np.uint8)).convert("RGB")
    try:
        if "A" in image.getbands() or "a" in image.getbands() or "transparency" in image.info:
            rgba = image.convert("RGBA")
            page = Image.new("RGBA", rgba.size, WHITE + (255,))
            return Image.alpha_composite(page, rgba).convert("RGB")
        return image.convert("RGB")
    except ValueError as error:  # a mode Pillow cannot convert
        raise ImageError(name, f"unsupported image mode {image.mode!r} ({error}); convert it to RGB, {_SKIP_HINT}",
                         "unsupported image mode") from None


def _pad_to_square(image: Image.Image) -> Image.Image:
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    square = Image.new("RGB", (side, side), WHITE)
    square.paste(image, ((side - width) // 2, (side - height) // 2))
    return square
