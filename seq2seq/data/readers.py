"""Readers of parallel text: TSV, Tatoeba/Anki and aligned file pairs, all giving (source, target) pairs.

Files are read as bytes and decoded line by line, so a bad byte is reported at its exact line.
A bad row either stops the run with its file and line (on_error="error") or is skipped and
counted in a SkipCounter (on_error="skip"), so data is never lost without a trace.
"""

import codecs
import logging
import unicodedata
from collections import Counter
from pathlib import Path

from seq2seq.errors import DataError, Seq2SeqError

ON_ERROR_CHOICES = ("error", "skip")
FORMATS = ("tsv", "tatoeba", "aligned")
_EXAMPLES_PER_PROBLEM = 3
SKIP_HINT = "or set 'data.on_bad_row: skip' in the config to skip and count such rows"

logger = logging.getLogger(__name__)


def normalize_text(text: str) -> str:
    """NFC with whitespace runs collapsed, so equal sentences compare and tokenize equally."""
    return " ".join(unicodedata.normalize("NFC", text).split())


class SkipCounter:
    """Counts rows skipped for a problem, so the run log can report them (never silently lost data)."""

    def __init__(self):
        self.counts = Counter()
        self.examples = []  # (path, line, problem), the first few of each problem

    def add(self, path, line, problem: str) -> None:
        if self.counts[problem] < _EXAMPLES_PER_PROBLEM:
            self.examples.append((str(path), line, problem))
        self.counts[problem] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """One line for the run log, e.g. "skipped 3 rows: 2 x empty target (e.g. a.tsv:7), ..."; "" if none."""
        if not self.total:
            return ""
        first_example = {}
        for path, line, problem in self.examples:
            first_example.setdefault(problem, path if line is None else f"{path}:{line}")
        parts = [f"{count} x {problem} (e.g. {first_example[problem]})" for problem, count in self.counts.most_common()]
        rows = "row" if self.total == 1 else "rows"
        return f"skipped {self.total} {rows}: " + ", ".join(parts)


class BadRow(Exception):
    """A row that cannot be used: `kind` is counted when skipping, `detail` tells the user what to fix."""

    def __init__(self, kind, detail, path=None):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.path = path


def numbered_lines(path):
    """Yields (line_number, raw bytes without the line ending); a BOM on line 1 is dropped."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    except OSError as error:  # a folder, a file it may not read, a name too long for the file system
        raise DataError(path, None, f"cannot read it: {error.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            yield number, raw.removesuffix(b"\n").removesuffix(b"\r")


def decode_utf8(raw: bytes, path=None) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRow(
            "not UTF-8",
            f"bytes that are not UTF-8 at byte {error.start + 1} of the line; "
            f"re-encode the file as UTF-8 (e.g. with iconv -f latin1 -t utf-8), {SKIP_HINT}",
            path,
        ) from None


def _pair(source: str, target: str, labels, paths=(None, None)):
    """The normalized pair; `labels` say where each side comes from, `paths` which file to blame."""
    source, target = normalize_text(source), normalize_text(target)
    if not source and not target:
        raise empty_line(paths[0])
    if not source:
        raise _empty_side("source", labels[0], paths[0])
    if not target:
        raise _empty_side("target", labels[1], paths[1])
    return source, target


def empty_line(path=None):
    return BadRow("empty line", f"empty line; remove it, {SKIP_HINT}", path)


def _empty_side(side, label, path):
    return BadRow(f"empty {side}", f"empty {side} text ({label}); fill it in or remove the row, {SKIP_HINT}", path)


def check_on_error(on_error):
    if on_error not in ON_ERROR_CHOICES:
        raise Seq2SeqError(f"on_error must be one of {', '.join(ON_ERROR_CHOICES)}; got {on_error!r}")


def keep_good_rows(path, numbered_rows, parse, on_error, skips):
    """Applies `parse` to each row; bad rows raise DataError or are counted in `skips`."""
    check_on_error(on_error)
    report_skips = skips is None
    skips = SkipCounter() if skips is None else skips
    pairs = []
    for number, row in numbered_rows:
        try:
            pairs.append(parse(row))
        except BadRow as bad:
            if on_error == "error":
                raise DataError(bad.path or path, number, bad.detail) from None
            skips.add(bad.path or path, number, bad.kind)
    if report_skips and skips.total:
        logger.warning("%s: %s", path, skips.summary())
    return pairs


def _split_line(raw: bytes):
    """Tab-separated fields, or a bad row when the line is blank."""
    text = decode_utf8(raw)
    if not text.strip():
        raise empty_line()
    return text.split("\t")


def read_tsv(path, source_column=0, target_column=1, on_error="error", skips=None) -> list[tuple[str, str]]:
    """Pairs from chosen columns of a tab-separated file; extra columns are ignored."""
    needed = max(source_column, target_column) + 1

    def parse(raw):
        fields = _split_line(raw)
        if len(fields) < needed:
            raise BadRow(
                "wrong column count",
                f"expected at least {needed} tab-separated columns, found {len(fields)}; "
                f"check that the separator is a tab and the column numbers are right, {SKIP_HINT}",
            )
        return _pair(fields[source_column], fields[target_column],
                     (f"column {source_column}", f"column {target_column}"))

    return keep_good_rows(path, numbered_lines(path), parse, on_error, skips)


def read_tatoeba(path, source_lang, target_lang, on_error="error", skips=None) -> list[tuple[str, str]]:
    """Pairs from a Tatoeba/Anki file ("English<TAB>other<TAB>attribution"), in the asked direction."""
    if "en" not in (source_lang, target_lang) or source_lang == target_lang:
        raise Seq2SeqError(
            "Tatoeba/Anki files are English-first ('English<TAB>translation<TAB>attribution'), so exactly one "
            f"of source_lang/target_lang must be 'en'; got {source_lang!r} -> {target_lang!r}"
        )
    english_is_source = source_lang == "en"

    def parse(raw):
        fields = _split_line(raw)
        if len(fields) not in (2, 3):
            raise BadRow(
                "wrong column count",
                f"expected 2 or 3 tab-separated columns (English, translation, optional attribution), "
                f"found {len(fields)}; fix the row, {SKIP_HINT}",
            )
        english, other = fields[0], fields[1]
        if english_is_source:
            return _pair(english, other, ("column 0, English", "column 1"))
        return _pair(other, english, ("column 1", "column 0, English"))

    return keep_good_rows(path, numbered_lines(path), parse, on_error, skips)


def read_aligned(prefix, source_lang, target_lang, on_error="error", skips=None) -> list[tuple[str, str]]:
    """Pairs from `{prefix}.{source_lang}` and `{prefix}.{target_lang}`, line i translating line i."""
    source_path = Path(f"{prefix}.{source_lang}")
    target_path = Path(f"{prefix}.{target_lang}")
    source_lines = list(numbered_lines(source_path))
    target_lines = list(numbered_lines(target_path))
    if len(source_lines) != len(target_lines):
        raise DataError(
            source_path, None,
            f"has {len(source_lines)} lines but {target_path} has {len(target_lines)}; "
            "aligned files need one translation per line, so the counts must match",
        )

    def parse(raws):
        source = decode_utf8(raws[0], source_path)
        target = decode_utf8(raws[1], target_path)
        return _pair(source, target, ("source line", "target line"), (source_path, target_path))

    numbered_rows = ((number, (source, target)) for (number, source), (_, target) in zip(source_lines, target_lines))
    return keep_good_rows(source_path, numbered_rows, parse, on_error, skips)


def read_parallel(format: str, path, source_lang, target_lang, columns=(0, 1), on_error="error", skips=None):
    """Dispatches on `format`; for "aligned", `path` is the prefix shared by the two files."""
    if format == "tsv":
        return read_tsv(path, columns[0], columns[1], on_error, skips)
    if format == "tatoeba":
        return read_tatoeba(path, source_lang, target_lang, on_error, skips)
    if format == "aligned":
        return read_aligned(path, source_lang, target_lang, on_error, skips)
    raise Seq2SeqError(f"unknown parallel text format {format!r}; expected one of: {', '.join(FORMATS)}")
