"""Genre of a verse's book: the book ranges, the split's genres, and verses read from a built corpus."""

import subprocess
from collections import Counter

import pytest

from bible_corpus_stub import write_bible_corpus
from seq2seq.data.bible import SPLIT_BOOKS
from seq2seq.data.genre import GENRES, genre_of_book, load_genre_split
from seq2seq.data.readers import SkipCounter
from seq2seq.errors import DataError, Seq2SeqError

VERSES = {  # (book, chapter, verse): {translation: text}; 42 17 36 is one of the verses WEB leaves out
    (1, 1, 1): {"es": "EN el principio crió Dios los cielos y la tierra.",
                "en": "In the beginning God created the heavens and the earth."},
    (8, 1, 16): {"es": "Y Ruth respondió: No me ruegues que te deje.",
                 "en": "Ruth said, \"Don't entreat me to leave you.\""},
    (21, 1, 2): {"es": "Vanidad de vanidades, dijo el Predicador.", "en": "\"Vanity of vanities,\" says the Preacher."},
    (29, 1, 1): {"es": "Palabra de Jehová que fué á Joel.", "en": "The word of Yahweh that came to Joel."},
    (42, 17, 36): {"es": "Dos estarán en el campo."},
    (44, 1, 1): {"es": "EN el primer tratado, oh Teófilo.", "en": "The first book I wrote, Theophilus."},
    (45, 1, 1): {"es": "Pablo, siervo de Jesucristo.", "en": "Paul, a servant of Jesus Christ."},
    (66, 22, 21): {"es": "La gracia sea con todos vosotros. Amén.", "en": "The grace be with all. Amen."},
}


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("the built corpus is in the cache: nothing may be downloaded")

    monkeypatch.setattr(subprocess, "run", no_download)
    write_bible_corpus(tmp_path, VERSES)
    return tmp_path


def test_book_ranges_give_the_nine_genres_in_canon_order():
    """The canon's grouping (the Pentateuch's 5 books, 12 of history, ..., Revelation): the books each genre
    holds, and its first and last, in the order GENRES lists them."""
    books_per_genre = Counter(genre_of_book(book) for book in range(1, 67))
    assert [books_per_genre[genre] for genre in GENRES] == [5, 12, 5, 5, 12, 4, 1, 21, 1]
    first_books = [1, 6, 18, 23, 28, 40, 44, 45, 66]
    assert [genre_of_book(book) for book in first_books] == list(GENRES)
    last_books = [5, 17, 22, 27, 39, 43, 44, 65, 66]
    assert [genre_of_book(book) for book in last_books] == list(GENRES)


@pytest.mark.parametrize("book", [0, 67, -1])
def test_book_numbers_outside_the_canon_are_refused(book):
    with pytest.raises(Seq2SeqError, match=f"no Bible book number {book}"):
        genre_of_book(book)


def test_dev_and_test_books_hold_the_genres_the_docstring_names():
    assert {genre_of_book(book) for book in SPLIT_BOOKS["dev"]} == {"minor_prophets", "epistles"}
    assert {genre_of_book(book) for book in SPLIT_BOOKS["test"]} == {"history", "wisdom_poetry", "minor_prophets",
                                                                     "epistles"}


def test_verses_are_labelled_with_their_books_genre_in_corpus_order(cache_dir):
    train = load_genre_split("train", "es", cache_dir)
    assert train.labels == ["law", "gospels", "acts", "apocalyptic"]
    assert train.texts[0] == "EN el principio crió Dios los cielos y la tierra."
    assert train.source.endswith("train.es")
    test = load_genre_split("test", "en", cache_dir)
    assert list(zip(test.labels, test.texts)) == [
        ("history", "Ruth said, \"Don't entreat me to leave you.\""),
        ("wisdom_poetry", "\"Vanity of vanities,\" says the Preacher."),
        ("epistles", "Paul, a servant of Jesus Christ."),
    ]
    assert load_genre_split("dev", "es", cache_dir).labels == ["minor_prophets"]


def test_a_verse_empty_in_the_translation_is_left_out_and_counted(cache_dir):
    skips = SkipCounter()
    english = load_genre_split("train", "en", cache_dir, skips)
    assert english.labels == ["law", "acts", "apocalyptic"]  # Luke 17:36 is not in WEB
    assert skips.summary() == f"skipped 1 row: 1 x verse empty in this translation (e.g. {english.source}:2)"


def test_unknown_split_and_translation_are_refused(cache_dir):
    with pytest.raises(Seq2SeqError, match="unknown split 'valid'"):
        load_genre_split("valid", "es", cache_dir)
    with pytest.raises(Seq2SeqError, match="unknown Bible translation 'fr'; expected one of: es, en, en-kjv"):
        load_genre_split("train", "fr", cache_dir)


def test_a_damaged_ids_line_names_the_file_and_line(cache_dir):
    ids = cache_dir / "bible-es-en" / "train.ids"
    ids.write_text(ids.read_text(encoding="utf-8").replace("44 1 1", "Acts 1 1"), encoding="utf-8")
    with pytest.raises(DataError) as error:
        load_genre_split("train", "es", cache_dir)
    assert str(error.value).startswith(f"{ids}:3: expected 'book chapter verse', found 'Acts 1 1'")
    assert "delete" in str(error.value)
