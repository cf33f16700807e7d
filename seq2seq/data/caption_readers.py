"""Readers of the caption sets users have: Flickr8k and COCO, with their usual split files.

Every reader gives one split as (image path, captions) per image, in file order. Flickr8k captions
come as Kaggle's `captions.txt` (CSV, header `image,caption`) or the original `Flickr8k.token.txt`
(`<image>#<n><TAB><caption>`), splits as `Flickr_8k.{train,dev,test}Images.txt` or Karpathy's
`dataset_flickr8k.json`. COCO captions come as the official `captions_*2014.json` (or 2017), splits
from Karpathy's `dataset_coco.json`. Karpathy's files also hold the captions ("sentences"), so they
can be read alone. Karpathy's "val" is our dev split and "restval" part of train.

A bad row (wrong column count, bytes that are not UTF-8, a missing JSON key, an empty caption, an
image missing from disk) raises DataError naming the file and line (or JSON index) when
on_bad_row="error", or is skipped and counted in `skips` when on_bad_row="skip".
"""

import csv
import itertools
import json
import logging
from pathlib import Path

from seq2seq.data.readers import ON_ERROR_CHOICES, SkipCounter, normalize_text, numbered_lines
from seq2seq.errors import DataError, Seq2SeqError, shown

SPLITS = ("train", "dev", "test")
KARPATHY_SPLITS = {"train": "train", "restval": "train", "val": "dev", "test": "test"}
FLICKR8K_SPLIT_FILES = {
    "train": "Flickr_8k.trainImages.txt",
    "dev": "Flickr_8k.devImages.txt",
    "test": "Flickr_8k.testImages.txt",
}
_SKIP_HINT = "or set 'data.on_bad_row: skip' in the config to skip and count such rows"
_CSV_HEADER = "image,caption"

logger = logging.getLogger(__name__)


class _BadRow(Exception):
    """A row that cannot be used: `kind` is counted when skipping, `detail` tells the user what to fix."""

    def __init__(self, kind, detail):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class _Rows:
    """Applies the on_bad_row choice: a bad row raises DataError at its place, or is counted."""

    def __init__(self, on_bad_row, skips):
        if on_bad_row not in ON_ERROR_CHOICES:
            raise Seq2SeqError(f"on_bad_row must be one of {', '.join(ON_ERROR_CHOICES)}; got {on_bad_row!r}")
        self.on_bad_row = on_bad_row
        self.report = skips is None
        self.skips = SkipCounter() if skips is None else skips

    def bad(self, path, where, bad: _BadRow) -> None:
        if self.on_bad_row == "error":
            raise DataError(path, where, bad.detail)
        self.skips.add(path, where, bad.kind)

    def done(self, path) -> None:
        """Logs what was skipped when the caller did not ask for the counts."""
        if self.report and self.skips.total:
            logger.warning("%s: %s", path, self.skips.summary())


def read_flickr8k(captions_file, images_dir, split_names=None, on_bad_row="error",
                  skips=None) -> list[tuple[Path, list[str]]]:
    """The images named in `split_names` (all images if None) with their captions, from either format."""
    rows = _Rows(on_bad_row, skips)
    captions_file, images_dir = Path(captions_file), Path(images_dir)
    lines = numbered_lines(captions_file)
    first = next(lines, None)
    if first is not None and first[1].strip().lower() == _CSV_HEADER.encode():
        parse = _parse_csv_row
    else:
        parse = _parse_token_row
        lines = itertools.chain([first] if first else [], lines)
    wanted = None if split_names is None else set(split_names)
    captions, first_line = {}, {}
    for number, raw in lines:
        if not raw.strip():
            continue
        try:
            image, caption = parse(_decode(raw))
        except _BadRow as bad:
            rows.bad(captions_file, number, bad)
            continue
        if wanted is None or image in wanted:
            first_line.setdefault(image, number)
            captions.setdefault(image, []).append(caption)
    order = list(captions) if split_names is None else list(dict.fromkeys(split_names))
    found = []
    for image in order:
        if image not in captions:
            rows.bad(captions_file, None, _BadRow(
                "image without captions",
                f"has no captions for {image}, which the split lists; check that the captions and split "
                f"files belong together, {_SKIP_HINT}"))
            continue
        path = images_dir / image
        if not path.is_file():
            rows.bad(captions_file, first_line[image], _missing_image(path))
            continue
        found.append((path, captions[image]))
    rows.done(captions_file)
    return found


def flickr8k_split_names(splits, split, on_bad_row="error", skips=None) -> list[str]:
    """Image names of a Flickr8k split, from a folder of Flickr_8k.*Images.txt or Karpathy's json."""
    _check_split(split)
    splits = Path(splits)
    if splits.is_dir():
        path = splits / FLICKR8K_SPLIT_FILES[split]
        rows = _Rows(on_bad_row, skips)
        names = []
        for number, raw in numbered_lines(path):
            try:
                name = _decode(raw).strip()
            except _BadRow as bad:
                rows.bad(path, number, bad)
                continue
            if name:
                names.append(name)
        rows.done(path)
        return names
    return [entry["filename"] for _, entry in _karpathy_entries(splits, split, on_bad_row, skips, sentences=False)]


def read_karpathy(karpathy_json, images_dir, split, on_bad_row="error", skips=None) -> list[tuple[Path, list[str]]]:
    """A split with the captions of Karpathy's own file ("sentences"/"raw"); images at [filepath/]filename."""
    _check_split(split)
    rows = _Rows(on_bad_row, skips)
    karpathy_json, images_dir = Path(karpathy_json), Path(images_dir)
    found = []
    for where, entry in _karpathy_entries(karpathy_json, split, on_bad_row, rows.skips, sentences=True):
        captions = []
        for number, sentence in enumerate(entry["sentences"]):
            try:
                captions.append(_caption(sentence["raw"]))
            except _BadRow as bad:
                rows.bad(karpathy_json, f"{where}.sentences[{number}]", bad)
        path = _image_path(images_dir, [entry.get("filepath"), None], entry["filename"])
        if not path.is_file():
            rows.bad(karpathy_json, where, _missing_image(path))
        elif captions:
            found.append((path, captions))
    rows.done(karpathy_json)
    return found


def read_coco(captions_files, images_dir, karpathy_json, split, on_bad_row="error",
              skips=None) -> list[tuple[Path, list[str]]]:
    """A COCO split: captions from the official files, split from Karpathy's dataset_coco.json.

    With no Karpathy file, images of a `*train*` captions file are train and of a `*val*` file dev
    (COCO's own test images have no public captions); with no captions files, Karpathy's are used.
    """
    _check_split(split)
    if isinstance(captions_files, (str, Path)):
        captions_files = [captions_files]
    captions_files = [Path(path) for path in captions_files or []]
    if not captions_files:
        if karpathy_json is None:
            raise Seq2SeqError("COCO needs data.captions (captions_*.json files), data.splits "
                               "(Karpathy's dataset_coco.json), or both")
        return read_karpathy(karpathy_json, images_dir, split, on_bad_row, skips)
    rows = _Rows(on_bad_row, skips)
    images_dir = Path(images_dir)
    images = {}  # COCO id -> (captions file, its index in "images", file name, captions)
    for path in captions_files:
        images.update(_coco_captions(path, rows))
    if karpathy_json is None:
        found = [(_image_path(images_dir, [_official_folder(path), None], name), captions, path, f"images[{index}]")
                 for path, index, name, captions in images.values() if captions and _official_split(path) == split]
    else:
        karpathy_json = Path(karpathy_json)
        found = []
        for where, entry in _karpathy_entries(karpathy_json, split, on_bad_row, rows.skips, sentences=False):
            if "cocoid" not in entry:
                rows.bad(karpathy_json, where, _missing_key("cocoid", "Karpathy's dataset_coco.json"))
                continue
            captions = images.get(entry["cocoid"], (None, None, None, []))[3]
            if not captions:
                rows.bad(karpathy_json, where, _BadRow(
                    "image without captions",
                    f"image {entry['cocoid']} ({entry['filename']}) has no captions in "
                    f"{', '.join(map(str, captions_files))}; give the captions files of every split "
                    f"(train2014 and val2014), {_SKIP_HINT}"))
                continue
            path = _image_path(images_dir, [entry.get("filepath"), None], entry["filename"])
            found.append((path, captions, karpathy_json, where))
    kept = []
    for path, captions, source, where in found:
        if path.is_file():
            kept.append((path, captions))
        else:
            rows.bad(source, where, _missing_image(path))
    rows.done(karpathy_json or captions_files[0])
    return kept


def _coco_captions(path: Path, rows: _Rows) -> dict:
    """COCO id -> (path, index in "images", file name, captions) from an official captions file."""
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise DataError(path, None, "expected a JSON object with 'images' and 'annotations' lists "
                                    "(COCO's captions_*.json); is it the right file?")
    images = {}
    for index, entry in enumerate(data["images"]):
        try:
            _require(entry, {"id": _ID, "file_name": str}, "COCO captions file")
            images[entry["id"]] = (path, index, entry["file_name"], [])
        except _BadRow as bad:
            rows.bad(path, f"images[{index}]", bad)
    for index, entry in enumerate(data["annotations"]):
        try:
            _require(entry, {"image_id": _ID, "caption": object}, "COCO captions file")
            if entry["image_id"] not in images:
                raise _BadRow("unknown image id", f"image_id {shown(entry['image_id'])} is not in 'images'; "
                                                  f"the file may be cut or edited, {_SKIP_HINT}")
            caption = _caption(entry["caption"])
        except _BadRow as bad:
            rows.bad(path, f"annotations[{index}]", bad)
            continue
        images[entry["image_id"]][3].append(caption)
    return images


def _official_split(path: Path) -> str:
    name = path.name.lower()
    if "train" in name:
        return "train"
    if "val" in name:
        return "dev"
    raise DataError(path, None, "cannot tell from the file name whether it holds train or val captions; name it "
                                "like captions_train2014.json, or give data.splits Karpathy's dataset_coco.json")


def _official_folder(path: Path) -> str:
    """The image folder a COCO captions file belongs to: captions_val2014.json -> val2014."""
    return path.stem.removeprefix("captions_")


def _karpathy_entries(path, split, on_bad_row, skips, sentences):
    """(JSON index, entry) of the images of a split in a Karpathy dataset_*.json, entries checked."""
    path = Path(path)
    rows = _Rows(on_bad_row, skips)
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise DataError(path, None, "expected a JSON object with an 'images' list (Karpathy's dataset_*.json); "
                                    "is it the right file?")
    keys = {"filename": str, "split": str, **({"sentences": list} if sentences else {})}
    for index, entry in enumerate(data["images"]):
        where = f"images[{index}]"
        try:
            _require(entry, keys, "Karpathy's dataset_*.json")
            if not isinstance(entry.get("filepath", ""), (str, type(None))):
                raise _wrong_type("filepath", entry["filepath"], str, "")
            if "cocoid" in entry and not isinstance(entry["cocoid"], _ID):
                raise _wrong_type("cocoid", entry["cocoid"], _ID, "")
            if entry["split"] not in KARPATHY_SPLITS:
                raise _BadRow("unknown split", f"unknown split {shown(entry['split'])}; expected one of "
                                               f"{', '.join(KARPATHY_SPLITS)}, {_SKIP_HINT}")
            if sentences:
                for number, sentence in enumerate(entry["sentences"]):
                    _require(sentence, {"raw": object}, "Karpathy's dataset_*.json", f"sentences[{number}]")
        except _BadRow as bad:
            rows.bad(path, where, bad)
            continue
        if KARPATHY_SPLITS[entry["split"]] == split:
            yield where, entry


_ID = (int, str)  # what an image id may be: ids are dictionary keys, so never a list or an object


def _require(entry, keys, file_kind, inside=""):
    """Checks that a JSON entry is an object with the keys, each holding a value of its type (`keys`:
    {key: type or tuple of types}); `inside` says where it sits in its parent. An id that is a list, or a
    file name that is a number, would otherwise fail later as a TypeError far from its entry."""
    where = f"{inside}: " if inside else ""
    if not isinstance(entry, dict):
        raise _BadRow("not a JSON object", f"{where}expected a JSON object, found {type(entry).__name__}; "
                                           f"fix the entry, {_SKIP_HINT}")
    for key, kind in keys.items():
        if key not in entry:
            raise _missing_key(key, file_kind, where)
        if not isinstance(entry[key], kind):
            raise _wrong_type(key, entry[key], kind, where)


def _wrong_type(key, value, kind, where):
    expected = " or ".join(each.__name__ for each in (kind if isinstance(kind, tuple) else (kind,)))
    return _BadRow("wrong type", f"{where}{key!r} is {type(value).__name__} {shown(value)}, expected {expected}; "
                                 f"fix the entry, {_SKIP_HINT}")


def _missing_key(key, file_kind, where=""):
    return _BadRow("missing key", f"{where}missing key {key!r}, which {file_kind} has for every entry; "
                                  f"fix the entry, {_SKIP_HINT}")


def _load_json(path: Path):
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise DataError(path, line, "bytes that are not UTF-8; JSON files must be UTF-8: download the file again "
                                    "or re-encode it (e.g. with iconv -f latin1 -t utf-8)") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(path, error.lineno, f"not valid JSON ({error.msg}, column {error.colno}); "
                                            "the file may be cut short: download it again") from None
    except ValueError as error:  # a number of over 4,300 digits, which Python will not convert
        raise DataError(path, None, f"not valid JSON ({error})") from None
    except RecursionError:
        raise DataError(path, None, "not valid JSON: nested too deeply to read") from None


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _BadRow("not UTF-8", f"bytes that are not UTF-8 at byte {error.start + 1} of the line; re-encode "
                                   f"the file as UTF-8 (e.g. with iconv -f latin1 -t utf-8), {_SKIP_HINT}") from None


def _parse_token_row(text: str) -> tuple[str, str]:
    """`1000268201_693b08cb0e.jpg#0<TAB>A child in a pink dress ...` -> (image, caption)."""
    key, tab, caption = text.partition("\t")
    image, hash_sign, number = key.strip().rpartition("#")
    if not tab or not hash_sign or not number.isdigit() or not image:
        raise _BadRow("wrong column count", "expected '<image>#<n><TAB><caption>' (Flickr8k.token.txt) or, for "
                                            f"Kaggle's captions.txt, the header line '{_CSV_HEADER}'; {_SKIP_HINT}")
    return image, _caption(caption)


def _parse_csv_row(text: str) -> tuple[str, str]:
    """`image,caption` with CSV quoting; an unquoted caption's own commas are kept (names have none)."""
    try:
        fields = next(csv.reader([text], strict=True))
    except csv.Error as error:
        raise _BadRow("bad CSV quoting", f"bad CSV quoting ({error}); quote a caption with \"...\" and double "
                                         f"its own quotes, {_SKIP_HINT}") from None
    if len(fields) < 2 or not fields[0].strip():
        raise _BadRow("wrong column count", f"expected 'image,caption', found {len(fields)} field(s); {_SKIP_HINT}")
    return fields[0].strip(), _caption(",".join(fields[1:]))


def _caption(text) -> str:
    if not isinstance(text, str):
        raise _BadRow("caption not text", f"the caption is {type(text).__name__}, not text; fix it, {_SKIP_HINT}")
    caption = normalize_text(text)
    if not caption:
        raise _empty_caption()
    return caption


def _empty_caption():
    return _BadRow("empty caption", f"empty caption; fill it in or remove it, {_SKIP_HINT}")


def _missing_image(path: Path):
    return _BadRow("missing image", f"image {shown(str(path), quoted=False)} not found; check data.images (the folder "
                                    f"holding the images) and that the download is complete, {_SKIP_HINT}")


def _image_path(images_dir: Path, folders, filename) -> Path:
    """The first of images_dir/folder/filename that exists (a None folder: images_dir itself), else the first."""
    candidates = [images_dir / folder / filename if folder else images_dir / filename for folder in folders]
    return next((path for path in candidates if path.is_file()), candidates[0])


def _check_split(split):
    if split not in SPLITS:
        raise Seq2SeqError(f"unknown split {split!r}; expected one of: {', '.join(SPLITS)}")
