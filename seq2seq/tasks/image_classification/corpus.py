"""Labelled images: the Tux Paint stamps by category, a folder per class, or a `path,label` CSV file."""

from dataclasses import dataclass
from pathlib import Path

from seq2seq.data.readers import BadRow, decode_utf8, keep_good_rows, numbered_lines, SKIP_HINT
from seq2seq.data.tuxpaint import build_tuxpaint, read_tuxpaint
from seq2seq.errors import ConfigError, DataError, shown

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


@dataclass
class LabelledImages:
    """Image files and their labels, read from `source` (a folder or a file)."""

    paths: list
    labels: list
    source: str

    def __len__(self):
        return len(self.paths)


def load_image_split(data_config, split, skips=None) -> LabelledImages:
    if data_config.corpus == "tuxpaint-categories":
        directory = build_tuxpaint(data_config.cache_dir, log=lambda message: None)
        images = [path for path, _ in read_tuxpaint(directory, split, "en")]
        return LabelledImages(images, [path.relative_to(directory / "images").parts[0] for path in images],
                              str(directory))
    location = getattr(data_config, split)
    if not location:
        raise ConfigError(f"'data.{split}' is needed with 'data.corpus: {data_config.corpus}': "
                          + ("a folder holding a folder of images per class" if data_config.corpus == "image-folders"
                             else "a CSV file of path,label rows"))
    if data_config.corpus == "image-folders":
        return read_image_folders(location)
    return read_image_csv(location, data_config.on_bad_row, skips)


def read_image_folders(directory) -> LabelledImages:
    """`directory/<class>/<image>`: every image file in each class folder, classes and files in name order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(directory, None, "folder not found")
    paths, labels = [], []
    for folder in sorted(path for path in directory.iterdir() if path.is_dir()):
        for image in sorted(path for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES):
            paths.append(image)
            labels.append(folder.name)
    if not paths:
        raise DataError(directory, None, f"no images in class folders: expected {directory}/<class>/<image> files "
                                         f"ending in {', '.join(IMAGE_SUFFIXES)}")
    return LabelledImages(paths, labels, str(directory))


def read_image_csv(path, on_error="error", skips=None) -> LabelledImages:
    """`path,label` rows (a first row `path,label` is a header); image paths are relative to the CSV file."""
    path = Path(path)

    def parse(raw):
        text = decode_utf8(raw, path)
        image, comma, label = text.rpartition(",")
        if not comma or not image.strip() or not label.strip():
            raise BadRow("not path,label", f"expected 'path,label', found {text!r}; fix the row, {SKIP_HINT}", path)
        image = path.parent / image.strip()
        if not image.is_file():
            raise BadRow("missing image", f"image {shown(str(image), quoted=False)} not found; {SKIP_HINT}", path)
        return image, label.strip()

    rows = (row for row in numbered_lines(path) if not (row[0] == 1 and row[1].strip().lower() == b"path,label"))
    pairs = keep_good_rows(path, rows, parse, on_error, skips)
    if not pairs:
        raise DataError(path, None, "holds no path,label rows")
    return LabelledImages([image for image, _ in pairs], [label for _, label in pairs], str(path))


def check_training_classes(images: LabelledImages):
    """A class with a single training image cannot be learned from (nor told from a duplicate)."""
    counts = {}
    for label in images.labels:
        counts[label] = counts.get(label, 0) + 1
    single = sorted(label for label, count in counts.items() if count == 1)
    if single:
        raise DataError(images.source, None, f"class {single[0]!r} has one training image"
                        + (f" (and {len(single) - 1} other classes too)" if len(single) > 1 else "")
                        + "; give each class at least two, or leave the class out")
