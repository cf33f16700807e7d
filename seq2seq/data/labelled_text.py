"""Texts with one label each, for sequence classifiers: users' `label<TAB>text` files (a sentiment corpus, say).

A row is `label<TAB>text`: the label is everything before the first tab, the text everything after it
(a tab inside the text becomes a space, as all whitespace runs do). Both sides are normalised like the
translation readers' (NFC, whitespace collapsed). A bad row (no tab, an empty label or text, a blank
line, bytes that are not UTF-8) stops the run with its file and line (on_error="error") or is skipped
and counted in a SkipCounter (on_error="skip"), exactly as `read_tsv` does for translation pairs.
"""

from dataclasses import dataclass

from seq2seq.data.readers import (
    SKIP_HINT,
    BadRow,
    decode_utf8,
    empty_line,
    keep_good_rows,
    normalize_text,
    numbered_lines,
)


@dataclass
class LabelledTexts:
    """Parallel lists: texts[i] carries labels[i]; `source` says where they were read from."""

    texts: list[str]
    labels: list[str]
    source: str

    def __len__(self):
        return len(self.texts)


def read_labelled_text(path, on_error="error", skips=None) -> LabelledTexts:
    """The rows of a `label<TAB>text` file, in file order."""

    def parse(raw):
        line = decode_utf8(raw)
        if not line.strip():
            raise empty_line()
        label, tab, text = line.partition("\t")
        if not tab:
            raise BadRow("no tab", f"expected 'label<TAB>text', found no tab; check that the separator is a tab, "
                                    f"{SKIP_HINT}")
        label, text = normalize_text(label), normalize_text(text)
        if not label:
            raise BadRow("empty label", f"empty label before the tab; fill it in or remove the row, {SKIP_HINT}")
        if not text:
            raise BadRow("empty text", f"empty text after the tab; fill it in or remove the row, {SKIP_HINT}")
        return label, text

    rows = keep_good_rows(path, numbered_lines(path), parse, on_error, skips)
    return LabelledTexts([text for _, text in rows], [label for label, _ in rows], str(path))
