"""Modern Spanish->English: the messages of Debian's software and their Spanish translations.

Every Debian package with a Spanish localisation ships gettext catalogs under
`usr/share/locale/es/LC_MESSAGES/`, pairing each English message of the program with its Spanish
translation, as OPUS built its GNOME, KDE and Ubuntu corpora. The packages are named in a versioned
list (`software_packages.txt`, or the user's `--packages FILE` in the same format), fetched with
`apt-get download`, read in pure Python (seq2seq.data.debian, seq2seq.data.gettext_catalogs) and
cleaned (seq2seq.data.message_cleaning), every rule counted in the manifest.

Split: a package's line in the list may end in `dev` or `test`; every other package is training
data, so no program's messages are split across train and test (as the Bible splits by book). Short
messages recur across programs ("Cancel", "File not found"), so on top of that a dev or test pair whose
Spanish or English side also occurs in training is left out, and a test pair repeated in dev too:
what is scored was never seen in training. Exact duplicate pairs are kept once per split.

Tux Paint's and LibreOffice's packages are refused in the list: they are held out for out-of-domain
evaluation. The files are aligned as the Bible's are: `<split>.es`, `<split>.en`, and `<split>.origin`
(the package and catalog of each pair).
"""

import hashlib
import json
from collections import Counter
from importlib import resources
from pathlib import Path, PurePosixPath

from seq2seq.data.aligned_corpus import SPLITS, AlignedCorpus, complete_corpus
from seq2seq.data.built_directory import building
from seq2seq.data.debian import download_packages, package_version, read_package_files
from seq2seq.data.gettext_catalogs import read_catalog
from seq2seq.data.message_cleaning import clean_message
from seq2seq.data.placeholders import placeholders
from seq2seq.errors import Seq2SeqError, shown
from seq2seq.paths import resolve_cache_dir

CORPUS_FORMAT = 2  # bump when the cleaning or the files change (it names the cache directory)
HELD_OUT_PREFIXES = ("tuxpaint", "libreoffice")
_DIRECTORY_NAME = f"software-es-en-v{CORPUS_FORMAT}"
_CATALOG_DIR = PurePosixPath("usr/share/locale/es/LC_MESSAGES")
_SUFFIXES = ("es", "en", "origin")
_HINT = "download the packages on a Debian machine with `apt-get download NAME...` into CACHE/packages/"


def software_corpus_dir(cache_dir=None) -> Path:
    return resolve_cache_dir(cache_dir) / _DIRECTORY_NAME


def default_package_list() -> str:
    return resources.files("seq2seq.data").joinpath("software_packages.txt").read_text(encoding="utf-8")


def build_software_corpus(cache_dir=None, packages_file=None, log=print) -> AlignedCorpus:
    """Builds the corpus once per cache and package list; later calls return the cached one.

    Without `packages_file`, a complete corpus in the cache is used whichever list built it (so a run
    reads what `seq2seq data software-es-en --packages FILE` made); with it, a corpus of another list
    is rebuilt.
    """
    directory = software_corpus_dir(cache_dir)
    listing = _read_text(packages_file) if packages_file else None

    def written_by_this_code(manifest):
        same_list = listing is None or manifest.get("package_list_sha256") == _sha256(listing)
        return manifest.get("format") == CORPUS_FORMAT and same_list

    corpus = complete_corpus(directory, _SUFFIXES, written_by_this_code)
    if corpus is None:
        listing = default_package_list() if listing is None else listing  # an empty file is an empty list
        splits = parse_package_list(listing, str(packages_file or "software_packages.txt"))
        debs = download_packages(list(splits), directory.parent / "packages", _HINT, log)
        corpus = _build(directory, splits, debs, listing, log)
    sizes = ", ".join(f"{split} {corpus.sizes[split]:,}" for split in SPLITS)
    log(f"software corpus (es -> en): {sizes} sentence pairs in {corpus.directory}")
    return corpus


def parse_package_list(text: str, name: str) -> dict[str, str]:
    """{package: split} from a list: one package per line, optionally followed by `dev` or `test`;
    `#` starts a comment. Errors name the line."""
    splits = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.partition("#")[0].split()
        if not fields:
            continue
        package, split = fields[0], fields[1] if len(fields) > 1 else "train"
        where = f"{name}, line {number}"
        if len(fields) > 2 or split not in SPLITS:
            raise Seq2SeqError(f"{where}: expected 'PACKAGE' or 'PACKAGE dev|test', got {shown(line.strip())}")
        if not all(char.isalnum() or char in "+-." for char in package) or not package[0].isalnum():
            raise Seq2SeqError(f"{where}: {shown(package)} is not a Debian package name")
        if package.startswith(HELD_OUT_PREFIXES):
            raise Seq2SeqError(f"{where}: {package} is held out for out-of-domain evaluation (Tux Paint and "
                               "LibreOffice are never training data); remove it from the list")
        if package in splits:
            raise Seq2SeqError(f"{where}: {package} is listed twice")
        splits[package] = split
    missing = [split for split in SPLITS if split not in splits.values()]
    if missing:
        raise Seq2SeqError(f"{name}: no package is marked for {' or '.join(missing)}; mark at least one per split")
    return splits


def _read_text(path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:  # its str() repeats the path, which may be the long name that failed
        raise Seq2SeqError(f"cannot read the package list {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise Seq2SeqError(f"cannot read the package list {path}: {error}") from None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _build(directory: Path, splits, debs, listing, log) -> AlignedCorpus:
    notes = Counter()
    problems = []
    packages = {}
    rows = {split: [] for split in SPLITS}  # (spanish, english, origin)
    for package, split in splits.items():
        catalogs = read_package_files(debs[package], _is_spanish_catalog, _HINT)
        kept = 0
        for path, contents in sorted(catalogs.items()):
            origin = f"{package}/{path.name}"
            try:
                messages = read_catalog(contents, f"{debs[package].name}: {path}")
            except Seq2SeqError as error:
                problems.append(str(error))
                notes["catalogs that cannot be read (left out)"] += 1
                continue
            notes["messages read"] += len(messages)
            for message in messages:
                for english, spanish in clean_message(message, notes):
                    rows[split].append((spanish, english, origin))
                    kept += 1
        if not catalogs:
            problems.append(f"{debs[package].name}: no Spanish catalog under /{_CATALOG_DIR}")
        packages[package] = {"split": split, "version": package_version(debs[package]), "catalogs": len(catalogs),
                             "pairs": kept}
    rows = _without_duplicates_and_leaks(rows, notes)
    for note, count in notes.items():
        log(f"software corpus: {note}: {count:,}")
    for problem in problems:
        log(f"software corpus: {problem}")
    with building(directory) as scratch:
        for split, split_rows in rows.items():
            for column, suffix in enumerate(_SUFFIXES):
                text = "".join(f"{row[column]}\n" for row in split_rows)
                (scratch / f"{split}.{suffix}").write_text(text, encoding="utf-8", newline="\n")
        manifest = {
            "format": CORPUS_FORMAT,
            "package_list_sha256": _sha256(listing),
            "sizes": {split: len(split_rows) for split, split_rows in rows.items()},
            "with_placeholders": {split: sum(bool(placeholders(row[0])) for row in split_rows)
                                  for split, split_rows in rows.items()},
            "split_rule": "by package, as marked in the package list; dev and test pairs whose Spanish or English "
                          "side occurs in train are left out, and test pairs that occur in dev",
            "cleaning": dict(notes),
            "problems": problems,
            "packages": packages,
        }
        (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                               encoding="utf-8")
    return AlignedCorpus(directory, manifest["sizes"])


def _is_spanish_catalog(path: PurePosixPath) -> bool:
    return path.parent == _CATALOG_DIR and path.suffix in (".mo", ".po")


def _without_duplicates_and_leaks(rows, notes) -> dict:
    """Each pair once per split (first occurrence kept); dev and test without sentences seen earlier."""
    seen_sentences = set()
    cleaned = {}
    for split in SPLITS:
        kept, seen_pairs = [], set()
        for spanish, english, origin in rows[split]:
            if (spanish, english) in seen_pairs:
                notes[f"{split}: exact duplicate pairs (left out)"] += 1
            elif split != "train" and (spanish in seen_sentences or english in seen_sentences):
                notes[f"{split}: pairs whose Spanish or English occurs in an earlier split (left out)"] += 1
            else:
                seen_pairs.add((spanish, english))
                kept.append((spanish, english, origin))
        seen_sentences.update(sentence for spanish, english, _ in kept for sentence in (spanish, english))
        cleaned[split] = kept
    return cleaned
