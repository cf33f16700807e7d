"""Tagged sentences for sequence taggers, from CoNLL-style files: one token per line, a blank line between sentences.

Accepted line shapes (the usual ones of NER and chunking corpora):
- `token<TAB>tag`;
- `token tag`, separated by any run of spaces, when the line holds no tab;
- several columns, e.g. CoNLL-2003's `EU NNP B-NP B-ORG`: the first column is the token, the last the tag
  (with tabs, columns are cut at each tab, so a token may hold spaces).
Lines starting with `-DOCSTART-` are document separators: skipped, and they end the sentence before them.
CoNLL-U (tag in the 4th of 10 columns, `#` comment lines) is a different format and is not read here.

A bad line (a single column, an empty token or tag, bytes that are not UTF-8) stops the run with its file
and line (on_error="error"), or, with on_error="skip", its whole sentence is left out, so that no sentence
loses a token, and counted once in the SkipCounter, under the sentence's first bad line.
"""

import logging
from dataclasses import dataclass

from seq2seq.data.readers import SkipCounter, BadRow, check_on_error, decode_utf8, normalize_text, numbered_lines
from seq2seq.errors import DataError

DOCUMENT_START = "-DOCSTART-"
SKIP_HINT = "or set 'data.on_bad_row: skip' in the config to skip and count the sentences holding such lines"

logger = logging.getLogger(__name__)


@dataclass
class TaggedSentences:
    """Parallel lists: tags[i][j] is the tag of tokens[i][j]; `source` says where they were read from."""

    tokens: list[list[str]]
    tags: list[list[str]]
    source: str

    def __len__(self):
        return len(self.tokens)


def read_conll(path, on_error="error", skips=None) -> TaggedSentences:
    """The sentences of a CoNLL-style file, in file order; tokens NFC-normalised."""
    check_on_error(on_error)
    report_skips = skips is None
    skips = SkipCounter() if skips is None else skips
    sentences = TaggedSentences([], [], str(path))
    tokens, tags, first_bad = [], [], None

    def end_sentence():
        nonlocal tokens, tags, first_bad
        if first_bad is not None:
            skips.add(path, *first_bad)
        elif tokens:
            sentences.tokens.append(tokens)
            sentences.tags.append(tags)
        tokens, tags, first_bad = [], [], None

    for number, raw in numbered_lines(path):
        try:
            fields = _fields(raw)
        except BadRow as bad:
            if on_error == "error":
                raise DataError(path, number, bad.detail) from None
            first_bad = first_bad or (number, bad.kind)
            continue
        if not fields or fields[0] == DOCUMENT_START:
            end_sentence()
            continue
        token, tag = fields
        tokens.append(token)
        tags.append(tag)
    end_sentence()
    if report_skips and skips.total:
        logger.warning("%s: %s", path, skips.summary())
    return sentences


def _fields(raw: bytes) -> tuple:
    """(token, tag); () for a blank line; (DOCUMENT_START,) for a document separator."""
    line = decode_utf8(raw)
    if not line.strip():
        return ()
    columns = [column.strip() for column in line.split("\t")] if "\t" in line else line.split()
    if columns[0] == DOCUMENT_START:
        return (DOCUMENT_START,)
    if len(columns) < 2:
        raise BadRow("one column", f"expected 'token<TAB>tag' (or 'token tag'), found one column; give the "
                                    f"token its tag or end the sentence with a blank line, {SKIP_HINT}")
    token, tag = normalize_text(columns[0]), columns[-1]
    if not token:
        raise BadRow("empty token", f"empty token in the first column; fill it in or remove the line, {SKIP_HINT}")
    if not tag:
        raise BadRow("empty tag", f"empty tag in the last column; fill it in or remove the line, {SKIP_HINT}")
    return token, tag
