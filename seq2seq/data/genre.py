"""Genre classification of Bible verses (many-to-one): each verse labelled with the literary genre of its book.

The genres follow the usual grouping of the 66 books of the Protestant canon: 1-5 law, 6-17 history,
18-22 wisdom and poetry, 23-27 major prophets, 28-39 minor prophets, 40-43 gospels, 44 Acts, 45-65
epistles, 66 apocalyptic (Revelation). The split is the translation corpus's, by book, so no verse and no
book crosses splits and a classifier must tell the genre of books it has never seen:

    split  books                   genres present (verses, Reina-Valera)
    dev    29 34 48 59 60 65       minor_prophets 120, epistles 387
    test   8 17 21 32 33 45        history 252, wisdom_poetry 222, minor_prophets 153, epistles 433

So dev holds two genres and test four. The label set is all nine genres all the same: acts and
apocalyptic (one book each) and law, major prophets and gospels appear in training only, and a model may
predict them; a wrong prediction of one of them costs accuracy and enters the test macro-F1 as a class
with F1 0 (see seq2seq.metrics.classification).
"""

from seq2seq.data.bible_verses import read_bible_verses
from seq2seq.data.labelled_text import LabelledTexts
from seq2seq.errors import Seq2SeqError

_LAST_BOOK_OF_GENRE = (
    (5, "law"),
    (17, "history"),
    (22, "wisdom_poetry"),
    (27, "major_prophets"),
    (39, "minor_prophets"),
    (43, "gospels"),
    (44, "acts"),
    (65, "epistles"),
    (66, "apocalyptic"),
)
GENRES = tuple(genre for _, genre in _LAST_BOOK_OF_GENRE)  # in canon order


def genre_of_book(number: int) -> str:
    """The genre of book `number` (1 Genesis ... 66 Revelation)."""
    if not 1 <= number <= 66:
        raise Seq2SeqError(f"no Bible book number {number}; books are numbered 1 (Genesis) to 66 (Revelation)")
    return next(genre for last_book, genre in _LAST_BOOK_OF_GENRE if number <= last_book)


def load_genre_split(split, side="es", cache_dir=None, skips=None) -> LabelledTexts:
    """The verses of a split in one translation (es, en, en-kjv, en-bbe), each labelled with its book's genre.

    Verses empty in that translation are left out and counted in `skips` (see read_bible_verses).
    """
    verses = read_bible_verses(split, side, cache_dir, skips)
    return LabelledTexts(verses.texts, [genre_of_book(book) for book in verses.books], str(verses.path))
