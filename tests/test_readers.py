"""Readers of parallel text: formats, direction, and every kind of bad row in both error modes."""

import logging

import pytest

from seq2seq.data.readers import SkipCounter, read_aligned, read_parallel, read_tatoeba, read_tsv
from seq2seq.errors import DataError, Seq2SeqError

ATTRIBUTION = "CC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #6682207 (Shishir)"


def write(path, text_or_bytes):
    data = text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes
    path.write_bytes(data)
    return path


def test_tsv_pairs_are_stripped_nfc_and_whitespace_collapsed(tmp_path):
    path = write(tmp_path / "x.tsv", "\ufeff  Hola,   mundo \tHello,\u00a0 world \r\nCafe\u0301\tCoffee\n")
    assert read_tsv(path) == [("Hola, mundo", "Hello, world"), ("Café", "Coffee")]


def test_tsv_reads_chosen_columns_and_ignores_extra_ones(tmp_path):
    path = write(tmp_path / "x.tsv", "1\tgato\tcat\tnote\n2\tperro\tdog\n")
    assert read_tsv(path, source_column=2, target_column=1) == [("cat", "gato"), ("dog", "perro")]


def test_tatoeba_with_attribution_in_both_directions(tmp_path):
    path = write(tmp_path / "spa.txt", f"Go.\tVe.\t{ATTRIBUTION}\nI won!\t¡He ganado!\t{ATTRIBUTION}\n")
    assert read_tatoeba(path, "en", "es") == [("Go.", "Ve."), ("I won!", "¡He ganado!")]
    assert read_tatoeba(path, "es", "en") == [("Ve.", "Go."), ("¡He ganado!", "I won!")]


def test_tatoeba_without_attribution_column(tmp_path):
    path = write(tmp_path / "spa.txt", "Run!\t¡Corre!\n")
    assert read_tatoeba(path, "es", "en") == [("¡Corre!", "Run!")]


@pytest.mark.parametrize("languages", [("es", "fr"), ("en", "en")])
def test_tatoeba_needs_exactly_one_english_side(tmp_path, languages):
    path = write(tmp_path / "spa.txt", "Go.\tVe.\n")
    with pytest.raises(Seq2SeqError, match="English-first"):
        read_tatoeba(path, *languages)


def test_aligned_files_pair_line_by_line(tmp_path):
    write(tmp_path / "train.es", "Hola.\r\nAdiós.\n")
    write(tmp_path / "train.en", "Hello.\nGoodbye.")
    assert read_aligned(tmp_path / "train", "es", "en") == [("Hola.", "Hello."), ("Adiós.", "Goodbye.")]


def test_aligned_length_mismatch_names_both_files_and_counts(tmp_path):
    write(tmp_path / "train.es", "uno\ndos\ntres\n")
    write(tmp_path / "train.en", "one\ntwo\n")
    with pytest.raises(DataError) as error:
        read_aligned(tmp_path / "train", "es", "en", on_error="skip", skips=SkipCounter())
    message = str(error.value)
    assert "train.es" in message and "train.en" in message
    assert "3 lines" in message and "has 2" in message


def test_read_parallel_dispatches_and_rejects_unknown_formats(tmp_path):
    path = write(tmp_path / "x.tsv", "a\tb\n")
    assert read_parallel("tsv", path, "es", "en") == [("a", "b")]
    assert read_parallel("tatoeba", path, "es", "en") == [("b", "a")]
    write(tmp_path / "p.es", "a\n")
    write(tmp_path / "p.en", "b\n")
    assert read_parallel("aligned", tmp_path / "p", "es", "en") == [("a", "b")]
    with pytest.raises(Seq2SeqError, match="tsv, tatoeba, aligned"):
        read_parallel("csv", path, "es", "en")


def test_missing_file(tmp_path):
    with pytest.raises(DataError) as error:
        read_tsv(tmp_path / "nope.tsv")
    assert error.value.line is None
    assert str(error.value) == f"{tmp_path / 'nope.tsv'}: file not found"


def test_unknown_on_error_choice(tmp_path):
    path = write(tmp_path / "x.tsv", "a\tb\n")
    with pytest.raises(Seq2SeqError, match="error, skip"):
        read_tsv(path, on_error="ignore")


BAD_ROWS = [  # (file content, bad line number, problem counted, words in the error message)
    (b"a\tb\nonly one column\n", 2, "wrong column count", "expected at least 2 tab-separated columns, found 1"),
    (b"a\tb\n \tb\n", 2, "empty source", "empty source text"),
    (b"a\tb\nc\t\n", 2, "empty target", "empty target text"),
    (b"a\tb\n\nc\td\n", 2, "empty line", "empty line"),
    (b"a\tb\nc\td\nni\xf1o\tchild\n", 3, "not UTF-8", "not UTF-8"),
]


@pytest.mark.parametrize("content, line, problem, words", BAD_ROWS)
def test_bad_tsv_row_stops_with_file_line_and_problem(tmp_path, content, line, problem, words):
    path = write(tmp_path / "bad.tsv", content)
    with pytest.raises(DataError) as error:
        read_tsv(path)
    assert error.value.line == line
    assert str(error.value).startswith(f"{path}:{line}: ")
    assert words in str(error.value)
    assert "data.on_bad_row: skip" in str(error.value)  # says how to go on


@pytest.mark.parametrize("content, line, problem, words", BAD_ROWS)
def test_bad_tsv_row_is_skipped_and_counted(tmp_path, content, line, problem, words):
    path = write(tmp_path / "bad.tsv", content)
    skips = SkipCounter()
    pairs = read_tsv(path, on_error="skip", skips=skips)
    assert ("a", "b") in pairs and len(pairs) == content.count(b"\n") - 1
    assert skips.total == 1
    assert skips.summary() == f"skipped 1 row: 1 x {problem} (e.g. {path}:{line})"


def test_tatoeba_wrong_column_count(tmp_path):
    path = write(tmp_path / "spa.txt", f"Go.\tVe.\t{ATTRIBUTION}\textra\n")
    with pytest.raises(DataError, match="spa.txt:1: expected 2 or 3 tab-separated columns"):
        read_tatoeba(path, "en", "es")


def test_aligned_bad_lines_blame_the_file_they_are_in(tmp_path):
    write(tmp_path / "p.es", b"uno\ndos\n\xff\n")
    write(tmp_path / "p.en", b"one\n\nthree\n")
    with pytest.raises(DataError, match=r"p\.en:2: empty target text"):
        read_aligned(tmp_path / "p", "es", "en")
    skips = SkipCounter()
    assert read_aligned(tmp_path / "p", "es", "en", on_error="skip", skips=skips) == [("uno", "one")]
    assert skips.examples == [(str(tmp_path / "p.en"), 2, "empty target"), (str(tmp_path / "p.es"), 3, "not UTF-8")]


def test_skip_summary_counts_each_problem_most_frequent_first(tmp_path):
    path = write(tmp_path / "x.tsv", "a\tb\none\nc\t\ntwo\nd\te\n")
    skips = SkipCounter()
    read_tsv(path, on_error="skip", skips=skips)
    assert skips.total == 3
    assert skips.summary() == (
        f"skipped 3 rows: 2 x wrong column count (e.g. {path}:2), 1 x empty target (e.g. {path}:3)"
    )


def test_skip_counter_is_shared_across_files_and_quiet_when_nothing_skipped(tmp_path):
    skips = SkipCounter()
    assert skips.summary() == ""
    read_tsv(write(tmp_path / "a.tsv", "x\n"), on_error="skip", skips=skips)
    read_tsv(write(tmp_path / "b.tsv", "y\n"), on_error="skip", skips=skips)
    assert skips.counts == {"wrong column count": 2}


def test_skipping_without_a_counter_still_logs_the_skips(tmp_path, caplog):
    path = write(tmp_path / "x.tsv", "a\tb\nbad\n")
    with caplog.at_level(logging.WARNING):
        assert read_tsv(path, on_error="skip") == [("a", "b")]
    assert "skipped 1 row: 1 x wrong column count" in caplog.text
