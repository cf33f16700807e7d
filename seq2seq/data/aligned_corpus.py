"""A built corpus as aligned files `<directory>/<split>.<suffix>`, and how a complete one is recognised.

The Bible and the software messages are both built once into the cache as line-aligned files per split
(`train.es` and `train.en`, line i translating line i), with a `manifest.json` that records the split
sizes. A later call takes the cached corpus only if the manifest was written by the same code and
every file still has its split's line count, so a half-deleted or older corpus is rebuilt.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from seq2seq.errors import Seq2SeqError

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class AlignedCorpus:
    """A built corpus: aligned files `<directory>/<split>.<suffix>`, `sizes` lines per split."""

    directory: Path
    sizes: dict[str, int]

    def prefix(self, split) -> Path:
        """The path `read_aligned` completes with a language suffix, e.g. <directory>/test."""
        if split not in SPLITS:
            raise Seq2SeqError(f"unknown split {split!r}; expected one of: {', '.join(SPLITS)}")
        return self.directory / split


def complete_corpus(directory: Path, suffixes, written_by_this_code):
    """The corpus cached in `directory`, or None: when `written_by_this_code(manifest)` is false or a
    `<split>.<suffix>` file is missing or has another line count than the manifest's size of its split."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if not written_by_this_code(manifest):
        return None
    sizes = manifest.get("sizes") or {}
    for split in SPLITS:
        for suffix in suffixes:
            path = directory / f"{split}.{suffix}"
            if not path.is_file() or _count_lines(path) != sizes.get(split):
                return None
    return AlignedCorpus(directory, sizes)


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)
