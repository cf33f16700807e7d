"""One translation of one split of the built Bible corpus, verse by verse with each verse's book number.

The tasks labelled from the Bible text itself (genre of the book, truecasing) read the same cached files as
translation: line i of `<split>.ids` is "book chapter verse" for line i of `<split>.<suffix>`, so the book
of every verse is known without changing the builder. The corpus is built on first use, as for translation.
A verse empty in the chosen translation (the World English Bible omits 4, the Basic English Bible 38; the
manifest lists them) is left out and counted in `skips`.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from seq2seq.data.bible import VERSIONS, build_bible_corpus
from seq2seq.data.readers import SkipCounter, numbered_lines
from seq2seq.errors import DataError, Seq2SeqError

logger = logging.getLogger(__name__)


@dataclass
class BibleVerses:
    """The non-empty verses of a split in corpus order: texts[i] is a verse of book books[i], read from `path`."""

    path: Path
    books: list[int]
    texts: list[str]


def read_bible_verses(split, side="es", cache_dir=None, skips=None) -> BibleVerses:
    """`side` is a translation's suffix: es (Reina-Valera 1909), en (WEB), en-kjv or en-bbe."""
    if side not in VERSIONS:
        raise Seq2SeqError(f"unknown Bible translation {side!r}; expected one of: {', '.join(VERSIONS)}")
    prefix = build_bible_corpus(cache_dir, log=logger.info).prefix(split)
    ids_path, text_path = Path(f"{prefix}.ids"), Path(f"{prefix}.{side}")
    ids, texts = _decoded_lines(ids_path), _decoded_lines(text_path)
    if len(ids) != len(texts):
        raise _damaged(text_path, None, f"has {len(texts)} lines but {ids_path} has {len(ids)}")
    report_skips = skips is None
    skips = SkipCounter() if skips is None else skips
    verses = BibleVerses(text_path, [], [])
    for number, (verse_id, text) in enumerate(zip(ids, texts), start=1):
        if not text:
            skips.add(text_path, number, "verse empty in this translation")
            continue
        verses.books.append(_book_of(verse_id, ids_path, number))
        verses.texts.append(text)
    if report_skips and skips.total:
        logger.info("%s: %s", text_path, skips.summary())
    return verses


def _decoded_lines(path: Path) -> list[str]:
    lines = []
    for number, raw in numbered_lines(path):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise _damaged(path, number, "bytes that are not UTF-8") from None
    return lines


def _book_of(verse_id: str, path: Path, number: int) -> int:
    """The book number of a "book chapter verse" line."""
    book = verse_id.split(" ", 1)[0]
    if not book.isdigit():
        raise _damaged(path, number, f"expected 'book chapter verse', found {verse_id!r}")
    return int(book)


def _damaged(path: Path, line, problem: str) -> DataError:
    return DataError(path, line, f"{problem}; the cached corpus is damaged: delete {path.parent} to have it rebuilt")
