"""From one catalog message to the sentence pairs worth training on, every rule counted.

Rules, in order, each counted under its name in `notes` (the corpus manifest prints them):
- fuzzy entries (a translator's unreviewed guess) and untranslated ones are left out;
- keyboard-accelerator marks are removed, on each side on its own: GTK's `_File`, `Ne_xt` and Qt's
  `&File`, `C&lear`. A side's mark is its only `_` (or its only `&` that is neither `&&` nor an
  entity), before a letter, in a word the other side does not have as it is: an identifier such as
  `use_ssl` is copied into the translation, so it stays;
- a message of several lines (help texts) is cut into its items: a line opening with a lowercase
  letter continues the line before (text wrapped at 80 columns wraps at different words in the two
  languages). The item pairs are taken when both sides have as many items and each pair looks like a
  translation (the same opening option such as `-a,`, the same placeholders, lengths within a factor
  of 2.5); otherwise the whole message is one pair;
- whitespace is collapsed (tabs, runs of spaces, trailing newlines);
- pairs whose two sides are identical (untranslated in fact, or names), or with no letter outside the
  placeholders on one side, are left out;
- placeholders, markup and written escapes (seq2seq.data.placeholders) are kept as they are, and a
  pair whose two sides do not have the same ones is left out.
"""

import re

from seq2seq.data.placeholders import PATTERN, placeholders_match
from seq2seq.data.readers import normalize_text

_MARKS = {  # a candidate accelerator mark: before a letter; `&` neither doubled nor opening an entity
    "_": re.compile(r"_(?=[^\W\d_])"),
    "&": re.compile(r"(?<!&)&(?=[^\W\d_])(?![A-Za-z]+;)"),
}
_LETTER = re.compile(r"[^\W\d_]")
_WORD_END, _WORD_START = re.compile(r"\S*$"), re.compile(r"\S*")
_OPTION = re.compile(r"-{1,2}[\w-]*")
_MAX_ITEM_LENGTH_RATIO = 2.5


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
    return (_without_accelerator(english, spanish, notes, "English"),
            _without_accelerator(spanish, english, notes, "Spanish"))


def _without_accelerator(text, other_side, notes, language):
    """`text` without its accelerator mark, if it has exactly one (see the module docstring)."""
    for mark, pattern in _MARKS.items():
        found = list(pattern.finditer(text))
        if len(found) != 1 or (mark == "_" and text.count("_") != 1):
            continue
        start = found[0].start()
        word = _WORD_END.search(text[:start]).group(0) + _WORD_START.match(text[start:]).group(0)
        if word in other_side.split():
            continue
        notes[f"{language} accelerator marks '{mark}' removed"] += 1
        return text[:start] + text[start + 1:]
    return text


def _line_pairs(english, spanish, notes):
    english_items, spanish_items = _items(english), _items(spanish)
    if len(english_items) <= 1 and len(spanish_items) <= 1:
        return [(english, spanish)]
    pairs = list(zip(english_items, spanish_items))
    if len(english_items) == len(spanish_items) and all(_look_aligned(*pair) for pair in pairs):
        notes["messages of several lines split into item pairs"] += 1
        return pairs
    notes["messages of several lines kept whole (items differ in number or do not align)"] += 1
    return [(" ".join(english_items), " ".join(spanish_items))]


def _look_aligned(english, spanish) -> bool:
    """Whether two items of a help text can be each other's translation."""
    english_option, spanish_option = (match.group(0) if match else None
                                      for match in (_OPTION.match(english), _OPTION.match(spanish)))
    same_option = english_option == spanish_option
    ratio = max(len(english), len(spanish)) / max(1, min(len(english), len(spanish)))
    return same_option and placeholders_match(english, spanish) and ratio <= _MAX_ITEM_LENGTH_RATIO


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
