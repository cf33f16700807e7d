"""From one catalog message to the sentence pairs worth training on, every rule counted.

Rules, in order, each counted under its name in `notes` (the corpus manifest prints them):
- fuzzy entries (a translator's unreviewed guess) and untranslated ones are left out;
- keyboard-accelerator marks are removed: GTK's `_File` and Qt's `&File`. A mark is taken as one when
  the English message has exactly one, opening a word, and the Spanish exactly one anywhere (Spanish
  often marks a letter inside a word, `Archi_vo`); identifiers such as `use_ssl` have their underscore
  inside a word in English and are left as they are;
- a message of several lines (help texts) is cut into its items: a line opening with a lowercase
  letter continues the line before (text wrapped at 80 columns wraps at different words in the two
  languages); when both sides have as many items, each item pair is a pair, else the whole message;
- whitespace is collapsed (tabs, runs of spaces, trailing newlines);
- pairs whose two sides are identical (untranslated in fact, or names), or with no letter outside the
  placeholders on one side, are left out;
- placeholders, markup and written escapes (seq2seq.data.placeholders) are kept as they are, and a
  pair whose two sides do not have the same ones is left out.
"""

import re

from seq2seq.data.placeholders import PATTERN, placeholders_match
from seq2seq.data.readers import normalize_text

_ENGLISH_MARKS = {  # an accelerator mark opening a word: start, or after a space or punctuation
    "_": re.compile(r"(?<![\w&])_(?=[^\W_])"),
    "&": re.compile(r"(?<![\w&])&(?=[^\W\d_])(?![A-Za-z]+;)"),
}
_SPANISH_MARKS = {
    "_": re.compile(r"_(?=[^\W_])"),
    "&": re.compile(r"(?<!&)&(?=[^\W\d_])(?![A-Za-z]+;)"),
}
_LETTER = re.compile(r"[^\W\d_]")


def clean_message(message, notes) -> list[tuple[str, str]]:
    """The (English, Spanish) pairs one `gettext_catalogs.Message` gives; [] when every rule drops it."""
    if message.fuzzy:
        notes["fuzzy translations (left out)"] += 1
        return []
    if not message.spanish.strip():
        notes["untranslated messages (left out)"] += 1
        return []
    english, spanish = _without_accelerators(message.english, message.spanish, notes)
    pairs = []
    for english_line, spanish_line in _line_pairs(english, spanish, notes):
        english_line, spanish_line = normalize_text(english_line), normalize_text(spanish_line)
        if english_line == spanish_line:
            notes["pairs whose two sides are identical (left out)"] += 1
        elif not (_has_letter(english_line) and _has_letter(spanish_line)):
            notes["pairs without a letter on one side (left out)"] += 1
        elif not placeholders_match(english_line, spanish_line):
            notes["pairs whose placeholders, markup or escapes differ (left out)"] += 1
        else:
            pairs.append((english_line, spanish_line))
    return pairs


def _has_letter(text) -> bool:
    """A letter outside the placeholders (the s of "%s: %s" is not one)."""
    return bool(_LETTER.search(PATTERN.sub("", text)))


def _without_accelerators(english, spanish, notes):
    for mark, english_pattern in _ENGLISH_MARKS.items():
        if english.count(mark) == 1 and len(english_pattern.findall(english)) == 1 \
                and len(_SPANISH_MARKS[mark].findall(spanish)) == 1:
            notes[f"keyboard-accelerator marks '{mark}' removed"] += 1
            return english_pattern.sub("", english), _SPANISH_MARKS[mark].sub("", spanish)
    return english, spanish


def _line_pairs(english, spanish, notes):
    english_items, spanish_items = _items(english), _items(spanish)
    if len(english_items) <= 1 and len(spanish_items) <= 1:
        return [(english, spanish)]
    if len(english_items) == len(spanish_items):
        notes["messages of several lines split into item pairs"] += 1
        return list(zip(english_items, spanish_items))
    notes["messages of several lines with different item counts kept whole"] += 1
    return [(" ".join(english_items), " ".join(spanish_items))]


def _items(text) -> list[str]:
    """The lines of a message, each wrapped continuation (opening in lowercase) joined to its line."""
    items = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if items and stripped[0].islower():
            items[-1] += " " + stripped
        else:
            items.append(stripped)
    return items
