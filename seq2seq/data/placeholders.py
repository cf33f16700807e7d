"""Placeholders, markup and escapes in software messages: found, checked, and masked for translation.

A program fills `%s`, `%(name)s`, `{0}` or `%1` at run time; a translation that drops, invents or
garbles one crashes the program or prints nonsense. The same holds for markup (`<b>`, `&amp;`) and
escapes written out in the text (`\\n`). They are found by one pattern, compared between a message and
its translation as multisets (Spanish may reorder them), and masked for the model: the i-th distinct
placeholder of a source sentence becomes the symbol `⦅i⦆` (white parentheses U+2985 and U+2986, as
OpenNMT marks placeholders, but not the fullwidth ｟｠ it uses, which SentencePiece's NFKC normalisation
would rewrite), a SentencePiece user-defined symbol, so no piece can cut it; the
decoder learns to copy the symbols, and unmasking puts the source's own text back. A symbol the
source does not have, or a repeat beyond the source's count, is removed rather than shown: neither
can be right. (A placeholder the decoder leaves out cannot be put back: where it belongs is unknown.)
"""

import re
from collections import Counter

PLACEHOLDER_OPEN, PLACEHOLDER_CLOSE = "⦅", "⦆"
MAX_PLACEHOLDERS = 16  # masked symbols ⦅1⦆..⦅16⦆; a sentence's further placeholders stay as text

# printf and its relatives in C programs: a conversion is any letter, for strftime (%H, %Y), GCC's
# diagnostics (%qD, %q#T, %<...%>) and binutils' (%B, %P) as well as printf's own. printf's space flag
# is left out of the flags: "50% de" would read as the conversion "% d".
_PRINTF = (r"%(?:\d+\$|\([^()\s]+\))?[-+0#']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|Z|t|I64)?"
           r"[-+0#']*[A-Za-z%<>]")
_QT_NUMBERED = r"%L?\d+(?![\d$A-Za-z]|\.\d)"  # Qt and KDE: %1, %L1 (not printf's %1$s, %10s)
_BRACED = r"\{(?:\d*|[A-Za-z_][\w.]*)(?:![rsa])?(?::[^{}]*)?\}"  # Python and C#: {}, {0}, {name:>5}
# Markup: the tags of HTML and Pango markup, or any tag with attributes; not "<file>" or "<Ctrl>",
# which name things and are translated ("<archivo>").
_TAG_NAMES = "a|b|big|blockquote|br|center|code|div|em|font|h[1-6]|hr|i|img|kbd|li|ol|p|pre|s|small|span|strong|sub|sup|table|td|th|tr|tt|u|ul"
_MARKUP = (rf"</?(?:{_TAG_NAMES})\s*/?>|<(?:{_TAG_NAMES}|[A-Za-z][\w:.-]*)\s+[\w:-]+\s*=[^<>]*>"
           r"|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")
_ESCAPE = r"\\[abfnrtv\\\"']"
PATTERN = re.compile("|".join((_QT_NUMBERED, _PRINTF, _BRACED, _MARKUP, _ESCAPE)))
_SYMBOL = re.compile(f"{PLACEHOLDER_OPEN}(\\d+){PLACEHOLDER_CLOSE}")


def placeholders(text: str) -> list[str]:
    """The placeholders, tags, entities and written-out escapes of `text`, in order."""
    return PATTERN.findall(text)


def placeholders_match(source: str, translation: str) -> bool:
    """Whether the translation has exactly the source's placeholders (each as many times; order free)."""
    return Counter(placeholders(source)) == Counter(placeholders(translation))


def placeholder_symbols(count=MAX_PLACEHOLDERS) -> list[str]:
    """The mask symbols, to be declared as SentencePiece user-defined symbols."""
    return [f"{PLACEHOLDER_OPEN}{number}{PLACEHOLDER_CLOSE}" for number in range(1, count + 1)]


def mask(text: str, numbering: dict | None = None) -> tuple[str, dict]:
    """(text with placeholders replaced by symbols, {placeholder: number}).

    A source is masked with a fresh numbering; its reference translation with the source's, so the
    same placeholder gets the same symbol on both sides. A placeholder beyond the `MAX_PLACEHOLDERS`
    symbols, or one of a translation that its source lacks, stays as text.
    """
    fresh = numbering is None
    numbering = {} if fresh else numbering

    def symbol(match):
        found = match.group(0)
        if fresh and found not in numbering and len(numbering) < MAX_PLACEHOLDERS:
            numbering[found] = len(numbering) + 1
        number = numbering.get(found)
        return found if number is None else f"{PLACEHOLDER_OPEN}{number}{PLACEHOLDER_CLOSE}"

    return PATTERN.sub(symbol, text), numbering


def unmask(text: str, numbering: dict, source_counts: Counter) -> str:
    """Puts the source's placeholders back for the symbols; symbols the source has not got are dropped,
    and each placeholder is put back at most `source_counts[placeholder]` times
    (`Counter(placeholders(source))`): a decoder that repeats a symbol invents a placeholder as surely as
    one that writes a number the source lacks.
    """
    by_number = {number: found for found, number in numbering.items()}
    restored_counts = Counter()

    def restore(match):
        found = by_number.get(int(match.group(1)))
        if found is None or restored_counts[found] >= source_counts[found]:
            return ""
        restored_counts[found] += 1
        return found

    restored = _SYMBOL.sub(restore, text)
    return " ".join(restored.split())  # a dropped symbol leaves two spaces; decoded text has single ones


def match_rate(sources, translations) -> float:
    """Percentage of the translations, among those whose source has a placeholder, that match it exactly."""
    with_placeholders = [(source, output) for source, output in zip(sources, translations) if placeholders(source)]
    if not with_placeholders:
        return 100.0
    return 100.0 * sum(placeholders_match(source, output) for source, output in with_placeholders) / len(with_placeholders)
