"""CoNLL-style files: the line shapes accepted, document separators, and bad lines in both error modes."""

import logging

import pytest

from seq2seq.data.conll import read_conll
from seq2seq.data.readers import SkipCounter
from seq2seq.errors import DataError, Seq2SeqError


def write(path, text_or_bytes):
    path.write_bytes(text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes)
    return path


def test_tab_separated_tokens_and_blank_lines_between_sentences(tmp_path):
    path = write(tmp_path / "ner.tsv", "\ufeffJuan\tB-PER\nvive\tO\nen\tO\nMadrid\tB-LOC\n\n\n"
                                       "Adio\u0301s\tO\r\n.\tO\r\n")  # two blank lines, CRLF, no final blank
    data = read_conll(path)
    assert data.tokens == [["Juan", "vive", "en", "Madrid"], ["Adiós", "."]]
    assert data.tags == [["B-PER", "O", "O", "B-LOC"], ["O", "O"]]
    assert data.source == str(path) and len(data) == 2


def test_conll_2003_columns_take_the_first_and_the_last_and_skip_docstart(tmp_path):
    path = write(tmp_path / "eng.train",
                 "-DOCSTART- -X- -X- O\n\n"
                 "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n"
                 "-DOCSTART- -X- -X- O\n"  # a separator with no blank line before it still ends the sentence
                 "Peter  NNP  B-NP  B-PER\nBlackburn NNP I-NP I-PER\n")
    data = read_conll(path)
    assert data.tokens == [["EU", "rejects", "German"], ["Peter", "Blackburn"]]
    assert data.tags == [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"]]


def test_with_tabs_a_token_may_hold_spaces(tmp_path):
    path = write(tmp_path / "x.tsv", "New  York\tNNP\tB-LOC\n")
    assert read_conll(path).tokens == [["New York"]]


BAD_LINES = [  # (file content, bad line number, problem counted, words in the error message)
    (b"a\tO\n\nb\tO\nlonely\nc\tO\n", 4, "one column", "found one column"),
    (b"a\tO\n\nb\tO\nc\t\n", 4, "empty tag", "empty tag in the last column"),
    (b"a\tO\n\nb\tO\n\tO\n", 4, "empty token", "empty token in the first column"),
    (b"a\tO\n\nb\tO\nni\xf1o\tO\n", 4, "not UTF-8", "not UTF-8 at byte 3"),
]


@pytest.mark.parametrize("content, line, problem, words", BAD_LINES)
def test_a_bad_line_stops_with_file_line_and_problem(tmp_path, content, line, problem, words):
    path = write(tmp_path / "bad.conll", content)
    with pytest.raises(DataError) as error:
        read_conll(path)
    assert str(error.value).startswith(f"{path}:{line}: ")
    assert words in str(error.value)
    assert "data.on_bad_row: skip" in str(error.value)


@pytest.mark.parametrize("content, line, problem, words", BAD_LINES)
def test_a_bad_line_drops_its_whole_sentence_and_counts_it(tmp_path, content, line, problem, words):
    path = write(tmp_path / "bad.conll", content)
    skips = SkipCounter()
    data = read_conll(path, on_error="skip", skips=skips)
    assert data.tokens == [["a"]]  # sentence 2 lost its bad line: it goes whole, never short of a token
    assert skips.summary() == f"skipped 1 row: 1 x {problem} (e.g. {path}:{line})"


def test_a_sentence_with_two_bad_lines_counts_once_under_the_first(tmp_path, caplog):
    path = write(tmp_path / "bad.conll", "a\tO\nb\nc\n\nd\tO\n")
    with caplog.at_level(logging.WARNING):
        data = read_conll(path, on_error="skip")
    assert data.tokens == [["d"]]
    assert f"skipped 1 row: 1 x one column (e.g. {path}:2)" in caplog.text


def test_missing_file_and_unknown_error_mode(tmp_path):
    with pytest.raises(DataError, match="nope.conll: file not found"):
        read_conll(tmp_path / "nope.conll")
    with pytest.raises(Seq2SeqError, match="error, skip"):
        read_conll(write(tmp_path / "x.conll", "a\tO\n"), on_error="ignore")
