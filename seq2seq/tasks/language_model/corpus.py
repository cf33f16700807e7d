"""The text a language model reads: Bible verses in one translation, or the user's plain-text files."""

from dataclasses import dataclass

from seq2seq.data.bible_verses import read_bible_verses
from seq2seq.data.readers import decode_utf8, keep_good_rows, normalize_text, numbered_lines
from seq2seq.errors import ConfigError, DataError


@dataclass
class TextLines:
    """The lines of one split, read from `path` (blank lines kept: a paragraph break is text too)."""

    path: str
    lines: list

    @property
    def characters(self) -> int:
        """What bits per character divide by: every character, and one per line end."""
        return sum(len(line) + 1 for line in self.lines)


def load_text_split(data_config, split, skips=None) -> TextLines:
    if data_config.corpus == "bible-text":
        verses = read_bible_verses(split, data_config.source_lang, data_config.cache_dir, skips)
        return TextLines(str(verses.path), verses.texts)
    path = getattr(data_config, split)
    if not path:
        raise ConfigError(f"'data.{split}' is needed with 'data.corpus: text-files': a plain-text UTF-8 file, "
                          "one segment (a sentence, a paragraph) per line")
    return read_text_file(path, data_config.on_bad_row, skips)


def read_text_file(path, on_error="error", skips=None) -> TextLines:
    """Every line, whitespace normalised; a line that is not UTF-8 is an error (or a counted skip)."""
    lines = keep_good_rows(path, numbered_lines(path), lambda raw: normalize_text(decode_utf8(raw, path)),
                           on_error, skips)
    if not any(lines):
        raise DataError(path, None, "holds no text; a language model needs at least one non-empty line")
    return TextLines(str(path), lines)
