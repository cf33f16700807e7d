"""Truecasing and punctuation restoration (equal many-to-many tagging): one label per word of a verse.

The input is the verse lowercased with its punctuation taken away, as words; each word's label says how to
write it back: its case and the marks around it. `restore(*words_and_labels(text))` gives the text back.

Words. The text is cut at whitespace; in each piece the word runs from its first to its last letter or
digit, so hyphens and apostrophes inside a word stay in it ("wedding-clothing", "bed's", "Tubal-Caín"), while
the marks before and after it are punctuation. Numbers are words like any other. A piece with no letter or
digit (WEB's free-standing "--") is punctuation of the word before it, space included (" --"), or, at the
start of a text, of the word after it ("-- "); a text with no word at all has nothing to label.

Labels are `case|after`, or `before|case|after` when marks open the word, e.g. "cap|,", "lower|",
"upper|.", "¿|lower|", '"|cap|,': Spanish ¿ and ¡, opening quotes and brackets are part of the label of
the word they open, so a tagger learns them where they are decided. Cases:
- lower: as lowercased; also words without cased letters (numbers), which lowercasing leaves alone;
- cap: the first character upper case, the rest lower ("Dios", "I", "A");
- upper: all capitals, at least two cased letters ("TEKEL", "LORD");
- mixed: anything else; written back with each hyphen-joined part capitalised, the shape of nearly every
  mixed word in the Bible ("Tubal-Caín", "Baal-Hermón"), so the rare other ones come back wrong. Over the
  whole corpus the round trip is exact for every verse but one in Spanish ("El-Beth-el") and one in English
  (WEB's 'saying,"It', a missing space).
"""

import re
from dataclasses import dataclass

from seq2seq.data.bible_verses import read_bible_verses
from seq2seq.data.conll import TaggedSentences
from seq2seq.errors import Seq2SeqError

CASES = ("lower", "cap", "upper", "mixed")
_PIECE = re.compile(r"(?P<before>[\W_]*)(?P<word>[^\W_](?:.*[^\W_])?)?(?P<after>[\W_]*)", re.DOTALL)
_LABEL = re.compile(rf"(?:(?P<before>.+?)\|)?(?P<case>{'|'.join(CASES)})\|(?P<after>.*)", re.DOTALL)


@dataclass(frozen=True)
class TruecaseLabel:
    """A label's parts: the marks before the word, its case, the marks after it."""

    before: str
    case: str
    after: str

    def __str__(self):
        return f"{self.before}|{self.case}|{self.after}" if self.before else f"{self.case}|{self.after}"


def parse_label(label: str) -> TruecaseLabel:
    """The parts of a label; the case name anchors the split, so marks may even hold a '|'."""
    match = _LABEL.fullmatch(label)
    if match is None:
        raise Seq2SeqError(f"not a truecase label: {label!r}; expected 'case|after' or 'before|case|after' "
                           f"with case one of {', '.join(CASES)}")
    return TruecaseLabel(match["before"] or "", match["case"], match["after"])


def words_and_labels(text: str) -> tuple[list[str], list[str]]:
    """The lowercased words of `text` and the label of each."""
    words, parts = [], []  # parts[i] = [before, case, after] of words[i]
    pending = ""  # marks met before the first word
    for piece in text.split():
        match = _PIECE.fullmatch(piece)
        if match["word"] is None:
            if parts:
                parts[-1][2] += f" {piece}"
            else:
                pending += f"{piece} "
            continue
        word = match["word"]
        words.append(word.lower())
        parts.append([pending + match["before"], _case_of(word), match["after"]])
        pending = ""
    return words, [str(TruecaseLabel(*part)) for part in parts]


def restore(words: list[str], labels: list[str]) -> str:
    """The text the words and labels describe, words separated by single spaces."""
    if len(words) != len(labels):
        raise Seq2SeqError(f"{len(words)} words but {len(labels)} labels; each word needs one label")
    pieces = []
    for word, label in zip(words, labels):
        parts = parse_label(label)
        pieces.append(f"{parts.before}{_write_in_case(word, parts.case)}{parts.after}")
    return " ".join(pieces)


def load_truecase_split(split, side="es", cache_dir=None, skips=None) -> TaggedSentences:
    """The verses of a split in one Bible translation (es, en, en-kjv, en-bbe) as words and labels.

    Verses empty in that translation are left out and counted in `skips` (see read_bible_verses).
    """
    verses = read_bible_verses(split, side, cache_dir, skips)
    tokens, tags = [], []
    for text in verses.texts:
        words, labels = words_and_labels(text)
        tokens.append(words)
        tags.append(labels)
    return TaggedSentences(tokens, tags, str(verses.path))


def _case_of(word: str) -> str:
    if word == word.lower():
        return "lower"
    if word == _capitalized(word.lower()):
        return "cap"
    if word == word.upper():
        return "upper"
    return "mixed"


def _write_in_case(word: str, case: str) -> str:
    if case == "cap":
        return _capitalized(word)
    if case == "upper":
        return word.upper()
    if case == "mixed":
        return "-".join(_capitalized(part) for part in word.split("-"))
    return word


def _capitalized(word: str) -> str:
    return word[:1].upper() + word[1:]
