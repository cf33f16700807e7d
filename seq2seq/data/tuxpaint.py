"""Real captioned images: the stamps of Debian's `tuxpaint-stamps-default`, English and Spanish.

A stamp is `stamps/<category>/<name>.png` (or .svg) with `<name>.txt` beside it: line 1 is the
English description, a line `es.utf8=...` the Spanish one (other `xx.utf8=` lines are other
languages). Only PNG stamps with a description are taken: SVG-only stamps are counted and left out
(rendering SVG would need a library beyond Pillow), and so are PNGs without a description (Tux Paint's
`*_mirror.png` variants). Transparent stamps are composited on white and saved as RGB PNGs.

The package is fetched with `apt-get download` and read in pure Python (a .deb is an `ar` archive
holding data.tar.xz), or read from `from_dir`: a .deb file, an unpacked package root, or its stamps
folder. The split is fixed by the stamp's path alone, so it is the same on every machine and for
every package version: the first 8 hex digits of sha1("<category>/<name>.png"), as a number
modulo 100, put a stamp in train below 80, dev below 90, and test otherwise.
"""

import hashlib
import io
import json
from collections import Counter
from pathlib import Path, PurePosixPath

from seq2seq.data.built_directory import building
from seq2seq.data.debian import download_packages, read_package_files
from seq2seq.data.images import ImageError, open_rgb
from seq2seq.data.readers import normalize_text
from seq2seq.errors import Seq2SeqError
from seq2seq.paths import checked_path, resolve_cache_dir

PACKAGE = "tuxpaint-stamps-default"
SET_FORMAT = 1  # bump (and the "v1" in the directory name) when the build changes
SPLITS = ("train", "dev", "test")
LANGUAGES = ("en", "es")
_DIRECTORY_NAME = f"tuxpaint-v{SET_FORMAT}"
_STAMPS_IN_PACKAGE = PurePosixPath("usr/share/tuxpaint/stamps")
_SPANISH_PREFIX = "es.utf8="
_COLUMNS = ("path", "split", "en", "es")
_FROM_HINT = ("pass --from PATH with the package file (.deb), a directory where it is unpacked "
              "(`dpkg-deb -x FILE.deb DIR`), or its usr/share/tuxpaint/stamps folder")


def tuxpaint_dir(cache_dir=None) -> Path:
    return resolve_cache_dir(cache_dir) / _DIRECTORY_NAME


def build_tuxpaint(cache_dir=None, from_dir=None, log=print) -> Path:
    """The directory of the set (images/, captions.tsv, manifest.json), built once per cache."""
    directory = tuxpaint_dir(cache_dir)
    manifest = _complete_manifest(directory)
    if manifest is None:
        if from_dir is not None:
            source, files = str(from_dir), _read_source(Path(from_dir))
        else:
            deb = download_packages([PACKAGE], directory.parent / "packages", _FROM_HINT, log)[PACKAGE]
            source, files = deb.name, _read_deb(deb)
        manifest = _build_atomically(directory, source, files, log)
    sizes = ", ".join(f"{split} {manifest['sizes'][split]}" for split in SPLITS)
    log(f"tuxpaint stamps: {sizes} images ({manifest['spanish']} with a Spanish caption) in {directory}")
    return directory


def read_tuxpaint(directory, split, language) -> list[tuple[Path, str]]:
    """(image path, caption) of one split in "en" or "es"; stamps without a caption in `language` are left out."""
    if split not in SPLITS:
        raise Seq2SeqError(f"unknown split {split!r}; expected one of: {', '.join(SPLITS)}")
    if language not in LANGUAGES:
        raise Seq2SeqError(f"the tuxpaint stamps have captions in {' and '.join(LANGUAGES)}; got {language!r}")
    directory = Path(directory)
    return [(directory / row["path"], row[language]) for row in _read_rows(directory)
            if row["split"] == split and row[language]]


def split_of(stamp: str) -> str:
    """The split of a stamp named by its path under stamps/, e.g. "animals/birds/owl.png"."""
    bucket = int(hashlib.sha1(stamp.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if bucket < 80 else "dev" if bucket < 90 else "test"


def parse_description(raw: bytes) -> tuple[str, str, list[str]]:
    """(English, Spanish, problems) from a stamp's .txt; a caption that is missing or not UTF-8 is ""."""
    problems = []
    lines = raw.removeprefix(b"\xef\xbb\xbf").splitlines()
    english = spanish = ""
    for number, line in enumerate(lines, start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            if number == 1 or line.startswith(_SPANISH_PREFIX.encode()):
                problems.append(f"line {number} is not UTF-8")
            continue
        if number == 1 and not _is_translation(text):
            english = normalize_text(text)
        elif text.startswith(_SPANISH_PREFIX):
            spanish = normalize_text(text[len(_SPANISH_PREFIX):])
    return english, spanish, problems


def _is_translation(line: str) -> bool:
    """A `xx.utf8=...` or `xx_YY.utf8=...` line (so not the English description)."""
    head, equals, _ = line.partition("=")
    return bool(equals) and head.endswith(".utf8") and " " not in head


def _read_rows(directory: Path) -> list[dict]:
    """The rows of captions.tsv; captions are whitespace-normalised, so they hold no tab or newline."""
    lines = (directory / "captions.tsv").read_text(encoding="utf-8").split("\n")[1:-1]  # no header, no final ""
    return [dict(zip(_COLUMNS, line.split("\t"))) for line in lines]


def _complete_manifest(directory: Path):
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if manifest.get("format") != SET_FORMAT or not (directory / "captions.tsv").is_file():
        return None
    paths = [row["path"] for row in _read_rows(directory)]
    if len(paths) != sum(manifest["sizes"].values()) or not all((directory / path).is_file() for path in paths):
        return None
    return manifest


def _read_source(path: Path) -> dict[str, bytes]:
    path = checked_path(path)
    if path.is_file() and path.suffix == ".deb":
        return _read_deb(path)
    if not path.is_dir():
        raise Seq2SeqError(f"{path}: not found, or not a directory or .deb file; {_FROM_HINT}")
    for stamps in (path / _STAMPS_IN_PACKAGE, path / "stamps", path):
        if stamps.is_dir() and next(stamps.rglob("*.txt"), None) is not None:
            return {file.relative_to(stamps).as_posix(): file.read_bytes()
                    for file in sorted(stamps.rglob("*")) if file.is_file() and file.suffix in (".png", ".svg", ".txt")}
    raise Seq2SeqError(f"{path}: no Tux Paint stamps found (no .txt descriptions in it, its stamps/ or "
                       f"{_STAMPS_IN_PACKAGE}/); {_FROM_HINT}")


def _read_deb(deb: Path) -> dict[str, bytes]:
    """The stamp files (.png, .svg, .txt) by path under stamps/, read from the package's data.tar.*."""
    files = read_package_files(
        deb, lambda path: path.is_relative_to(_STAMPS_IN_PACKAGE) and path.suffix in (".png", ".svg", ".txt"),
        f"unpack it with `dpkg-deb -x {deb} DIR` and pass --from DIR")
    if not files:
        raise Seq2SeqError(f"{deb}: has no files under /{_STAMPS_IN_PACKAGE}; is it {PACKAGE}?")
    return {path.relative_to(_STAMPS_IN_PACKAGE).as_posix(): contents for path, contents in files.items()}


def _build_atomically(directory: Path, source: str, files: dict[str, bytes], log) -> dict:
    """Converts the stamps into a scratch directory and swaps it in, so a crash never leaves half a set."""
    stems = {}
    for name in files:
        stem, _, suffix = name.rpartition(".")
        stems.setdefault(stem, set()).add(suffix)
    counts = Counter()
    problems = []
    rows = []
    with building(directory) as scratch:
        for stem in sorted(stems):
            kinds = stems[stem]
            if "txt" not in kinds:
                counts["images without a description (left out)"] += 1
                continue
            if "png" not in kinds:
                counts["descriptions of SVG-only stamps (left out)" if "svg" in kinds
                       else "descriptions without any image (left out)"] += 1
                continue
            english, spanish, text_problems = parse_description(files[f"{stem}.txt"])
            problems += [f"{stem}.txt: {problem}" for problem in text_problems]
            if not english and not spanish:
                counts["PNG stamps without a usable caption (left out)"] += 1
                continue
            image_path = Path("images") / f"{stem}.png"
            try:
                _save_rgb(files[f"{stem}.png"], scratch / image_path, f"{source}: {stem}.png")
            except ImageError as error:
                problems.append(str(error))
                counts["PNG stamps whose image cannot be read (left out)"] += 1
                continue
            counts["PNG stamps taken"] += 1
            counts["... of which also have an SVG (the PNG is used)"] += "svg" in kinds
            rows.append({"path": image_path.as_posix(), "split": split_of(f"{stem}.png"), "en": english, "es": spanish})
        lines = ["\t".join(_COLUMNS)] + ["\t".join(row[column] for column in _COLUMNS) for row in rows]
        (scratch / "captions.tsv").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8", newline="\n")
        manifest = {
            "package": PACKAGE,
            "source": source,
            "format": SET_FORMAT,
            "split_rule": "int(sha1('<category>/<name>.png').hexdigest()[:8], 16) % 100: "
                          "train < 80 <= dev < 90 <= test",
            "sizes": {split: sum(row["split"] == split for row in rows) for split in SPLITS},
            "english": sum(bool(row["en"]) for row in rows),
            "spanish": sum(bool(row["es"]) for row in rows),
            "counts": dict(counts),
            "problems": problems,
        }
        (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        for note, count in counts.items():
            log(f"tuxpaint stamps: {note}: {count}")
        for problem in problems:
            log(f"tuxpaint stamps: {problem}")
    return manifest


def _save_rgb(png: bytes, path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    open_rgb(io.BytesIO(png), name).save(path)
