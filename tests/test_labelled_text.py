"""`label<TAB>text` files: normalisation, and every kind of bad row in both error modes."""

import logging

import pytest

from seq2seq.data.labelled_text import read_labelled_text
from seq2seq.data.readers import SkipCounter
from seq2seq.errors import DataError, Seq2SeqError


def write(path, text_or_bytes):
    path.write_bytes(text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes)
    return path


def test_rows_are_split_at_the_first_tab_and_normalised(tmp_path):
    path = write(tmp_path / "sentiment.tsv",
                 "\ufeffpositive\t  Una película   estupenda \r\n"
                 "negative\tNo\tme gustó\n"
                 " very negative \tCafe\u0301 frío\n")
    data = read_labelled_text(path)
    assert data.labels == ["positive", "negative", "very negative"]
    assert data.texts == ["Una película estupenda", "No me gustó", "Café frío"]
    assert data.source == str(path) and len(data) == 3


BAD_ROWS = [  # (file content, bad line number, problem counted, words in the error message)
    (b"pos\tgood\nno tab here\n", 2, "no tab", "expected 'label<TAB>text', found no tab"),
    (b"pos\tgood\n \tgood\n", 2, "empty label", "empty label before the tab"),
    (b"pos\tgood\nneg\t  \n", 2, "empty text", "empty text after the tab"),
    (b"pos\tgood\n\nneg\tbad\n", 2, "empty line", "empty line"),
    (b"pos\tgood\nneg\tbad\nneg\tpe\xf1a\n", 3, "not UTF-8", "not UTF-8 at byte 7"),  # n e g TAB p e, then \xf1
]


@pytest.mark.parametrize("content, line, problem, words", BAD_ROWS)
def test_a_bad_row_stops_with_file_line_and_problem(tmp_path, content, line, problem, words):
    path = write(tmp_path / "bad.tsv", content)
    with pytest.raises(DataError) as error:
        read_labelled_text(path)
    assert str(error.value).startswith(f"{path}:{line}: ")
    assert words in str(error.value)
    assert "data.on_bad_row: skip" in str(error.value)


@pytest.mark.parametrize("content, line, problem, words", BAD_ROWS)
def test_a_bad_row_is_skipped_and_counted(tmp_path, content, line, problem, words):
    path = write(tmp_path / "bad.tsv", content)
    skips = SkipCounter()
    data = read_labelled_text(path, on_error="skip", skips=skips)
    assert (data.labels[0], data.texts[0]) == ("pos", "good")
    assert len(data) == content.count(b"\n") - 1
    assert skips.summary() == f"skipped 1 row: 1 x {problem} (e.g. {path}:{line})"


def test_skips_without_a_counter_are_logged(tmp_path, caplog):
    path = write(tmp_path / "bad.tsv", "pos\tgood\nno tab\nalso none\n")
    with caplog.at_level(logging.WARNING):
        data = read_labelled_text(path, on_error="skip")
    assert data.labels == ["pos"]
    assert f"skipped 2 rows: 2 x no tab (e.g. {path}:2)" in caplog.text


def test_missing_file_and_unknown_error_mode(tmp_path):
    with pytest.raises(DataError, match="nope.tsv: file not found"):
        read_labelled_text(tmp_path / "nope.tsv")
    with pytest.raises(Seq2SeqError, match="error, skip"):
        read_labelled_text(write(tmp_path / "x.tsv", "a\tb\n"), on_error="ignore")
