"""The `seq2seq` command as a user runs it: outputs, files, and one-line errors with exit status 2."""

import io
import json
import os
import shutil
import subprocess
import sys

import keras
import pytest

from seq2seq.cli import main
from seq2seq.data.tokenizer import Tokenizer


def test_translate_arguments_file_and_stdin_agree(trained_run, tmp_path, capsys, monkeypatch):
    sentences = ["a b c", "p o n m"]
    assert main(["translate", str(trained_run), *sentences]) == 0
    from_arguments = capsys.readouterr().out.splitlines()
    assert from_arguments == ["c b a", "m n o p"]

    source = tmp_path / "in.txt"
    source.write_text("\n".join(sentences) + "\n")
    assert main(["translate", str(trained_run), "--input", str(source), "--output", str(tmp_path / "out.txt")]) == 0
    assert (tmp_path / "out.txt").read_text().splitlines() == from_arguments

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(("\n".join(sentences) + "\n").encode())))
    assert main(["translate", str(trained_run)]) == 0
    assert capsys.readouterr().out.splitlines() == from_arguments


def test_translate_with_beam_search_prints_n_best_lists(trained_run, capsys):
    arguments = ["translate", str(trained_run), "a b c", "d e f g"]
    assert main([*arguments, "--beam-size", "4", "--n-best", "3", "--length-penalty", "0.6"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ||| ")[0] for line in lines] == ["0"] * 3 + ["1"] * 3
    for number in (0, 1):
        scores = [float(line.split(" ||| ")[2]) for line in lines if line.startswith(f"{number} |||")]
        assert scores == sorted(scores, reverse=True)
    assert main([*arguments, "--beam-size", "4", "--length-penalty", "0.6"]) == 0
    assert capsys.readouterr().out.splitlines() == [lines[0].split(" ||| ")[1], lines[3].split(" ||| ")[1]]
    # Texts may come before, between and after options.
    assert main(["translate", str(trained_run), "--beam-size", "4", "a b c", "--length-penalty", "0.6",
                 "d e f g"]) == 0
    assert capsys.readouterr().out.splitlines() == [lines[0].split(" ||| ")[1], lines[3].split(" ||| ")[1]]


def test_an_unknown_option_among_texts_is_argparses_error(trained_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["translate", str(trained_run), "--beam-size", "4", "a b c", "--beem-size", "2"])
    assert exit_info.value.code == 2 and "unrecognized arguments: --beem-size 2" in capsys.readouterr().err


def test_evaluate_names_its_output_after_the_search(trained_run, capsys):
    assert main(["evaluate", str(trained_run), "--split", "dev", "--beam-size", "3", "--n-best", "2"]) == 0
    capsys.readouterr()
    scores = json.loads((trained_run / "eval" / "dev.beam3.scores.json").read_text())
    assert scores["decode"]["beam_size"] == 3 and scores["sentences"] == 100
    assert len((trained_run / "eval" / "dev.beam3.nbest").read_text().splitlines()) == 200
    assert main(["evaluate", str(trained_run), "--split", "dev", "--beam-size", "3"]) == 0
    assert not (trained_run / "eval" / "dev.beam3.nbest").exists(), "a stale n-best list would mislead"
    assert main(["evaluate", str(trained_run), "--split", "dev", "--beam-size", "3", "--length-penalty", "0.6"]) == 0
    assert (trained_run / "eval" / "dev.beam3-lp0.6.hyp").is_file()


def test_ensemble_of_a_run_with_itself_translates_like_the_run(trained_run, capsys):
    assert main(["translate", str(trained_run), "a b c d", "--beam-size", "3"]) == 0
    alone = capsys.readouterr().out
    assert main(["translate", str(trained_run), "a b c d", "--beam-size", "3", "--ensemble", str(trained_run)]) == 0
    assert capsys.readouterr().out == alone


def test_average_then_evaluate_with_the_averaged_model(trained_run, tmp_path, capsys):
    averaged = tmp_path / "averaged.keras"
    assert main(["average", str(trained_run), "--last", "3", "--output", str(averaged)]) == 0
    assert main(["evaluate", str(trained_run), "--split", "dev", "--model", str(averaged)]) == 0
    assert "BLEU" in capsys.readouterr().out
    scores = json.loads((trained_run / "eval" / "dev.greedy.averaged.scores.json").read_text())
    assert scores["decode"]["model"] == str(averaged) and scores["bleu"] > 50


def test_export_command_writes_a_saved_model(trained_run, tmp_path):
    assert main(["export", str(trained_run), str(tmp_path / "exported"), "--beam-size", "2"]) == 0
    assert (tmp_path / "exported" / "saved_model.pb").is_file()
    assert json.loads((tmp_path / "exported" / "assets.extra" / "decode.json").read_text())["beam_size"] == 2


def test_evaluate_prints_scores_with_signatures(trained_run, capsys):
    assert main(["evaluate", str(trained_run), "--split", "dev"]) == 0
    out = capsys.readouterr().out
    assert "BLEU" in out and "chrF" in out and "TER" in out and "nrefs:1" in out
    assert (trained_run / "eval" / "dev.greedy.scores.json").exists()


@pytest.mark.parametrize("arguments, message", [
    (["translate", "{run}", "--input", "{tmp}/missing.txt"], "missing.txt: file not found"),
    (["translate", "{tmp}/no-run", "hola"], "no-run: run directory not found"),
    (["translate", "{run}", "--input", "{tmp}/blank.txt"], "blank.txt:2: empty line"),
    (["translate", "{run}", "--input", "{tmp}/latin1.txt"], "latin1.txt:2: not valid UTF-8"),
    (["translate", "{run}", "  "], "sentence 1 is empty"),
    (["train", "{tmp}/typo.yaml"], "unknown key 'model.enocder_units'; did you mean 'model.encoder_units'"),
    (["train", "{tmp}/typo.yaml", "--resume", "--run-dir", "{tmp}"], "config.yaml: missing from the run directory"),
    (["translate", "{bad_model}", "hola"], "model.keras: cannot load this model file"),
    (["translate", "{run}", "hola", "--model", "{tmp}/empty.keras"], "empty.keras: cannot load this model file"),
    (["translate", "{other_vocab}", "hola"], "come from different runs"),
    (["translate", "{run}", "hola", "--beam-size", "2", "--n-best", "3"], "'decode.n_best' (3) cannot exceed"),
    (["translate", "{run}", "hola", "--temperature", "0"], "'decode.temperature' above 0"),
    (["translate", "{run}", "hola", "--model", "{tmp}/nothing.keras"], "nothing.keras: model file not found"),
    (["translate", "{run}", "hola", "--model", "{tmp}/dense.keras"], "dense.keras: holds a Sequential, not a seq2seq"),
    (["translate", "{run}", "hola", "--ensemble", "{other_vocab}"], "come from different runs"),
])
def test_user_errors_are_one_line_with_status_2(trained_run, tmp_path, capsys, arguments, message):
    (tmp_path / "blank.txt").write_text("a b\n\nc d\n")
    (tmp_path / "latin1.txt").write_bytes("a b\nacci\xf3n\n".encode("latin-1"))
    (tmp_path / "typo.yaml").write_text("model:\n  enocder_units: 3\n")
    (tmp_path / "empty.keras").write_bytes(b"")
    dense = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    dense.save(tmp_path / "dense.keras")
    bad_model, other_vocab = tmp_path / "bad_model", tmp_path / "other_vocab"
    shutil.copytree(trained_run, bad_model, ignore=shutil.ignore_patterns("checkpoints"))
    (bad_model / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    shutil.copytree(trained_run, other_vocab, ignore=shutil.ignore_patterns("checkpoints"))
    Tokenizer.train(["x y z w"] * 20 + ["q r s t u v"] * 20, other_vocab / "target", vocab_size=25)
    arguments = [a.format(run=trained_run, tmp=tmp_path, bad_model=bad_model, other_vocab=other_vocab)
                 for a in arguments]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_console_script_is_installed_and_quiet():
    result = subprocess.run(["seq2seq", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "translate" in result.stdout and "evaluate" in result.stdout
    assert result.stderr == ""


def test_version_prints_the_version_pyproject_declares(capsys):
    import tomllib
    from pathlib import Path

    declared = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit) as exit_status:
        main(["--version"])
    assert exit_status.value.code == 0
    assert capsys.readouterr().out.strip() == f"seq2seq {declared}"


QUIET_API = """
import sys
from seq2seq import Translator, load_exported
translator = Translator.load(sys.argv[1])
print(translator.translate(["a b c"])[0])
print("shown", file=sys.stderr)
try:
    load_exported(sys.argv[1])
except Exception as error:
    print(error, file=sys.stderr)
"""


def test_the_python_api_starts_tensorflow_without_notices_and_still_shows_errors(trained_run):
    """A plain process (TF_CPP_MIN_LOG_LEVEL unset): TensorFlow's start-up notices, the cuInit "error" among
    them where there is no GPU, stay hidden; what is written to stderr afterwards, errors included, shows."""
    environment = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", QUIET_API, str(trained_run)], capture_output=True, text=True,
                            timeout=120, env=environment)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "c b a"
    assert result.stderr.splitlines() == [
        "shown", f"{trained_run}: not a SavedModel written by `seq2seq export` (no saved_model.pb)"]


def test_translate_streams_standard_input_line_by_line(trained_run):
    """`tail -f file | seq2seq translate RUN`: each line's translation comes out before the next line goes in;
    a blank line gets a blank line, so outputs stay aligned."""
    worker = subprocess.Popen([sys.executable, "-m", "seq2seq.cli", "translate", str(trained_run)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        answers = []
        for line in ("a b c", "", "k l m n"):
            worker.stdin.write(line + "\n")
            worker.stdin.flush()
            answers.append(worker.stdout.readline().rstrip("\n"))  # blocks until that line is translated
        worker.stdin.close()
        assert worker.wait(timeout=60) == 0, worker.stderr.read()[-2000:]
    finally:
        worker.kill()
    assert answers == ["c b a", "", "n m l k"]


def test_translate_on_a_terminal_prompts_for_sentences(trained_run):
    import pty

    controller, terminal = pty.openpty()
    worker = subprocess.Popen([sys.executable, "-m", "seq2seq.cli", "translate", str(trained_run)],
                              stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(terminal)
    try:
        os.write(controller, b"a b c\n")
        assert worker.stdout.readline().rstrip("\n").endswith("c b a")  # after the "> " prompt
        os.write(controller, b"\x04")  # Ctrl-D
        assert worker.wait(timeout=60) == 0
    finally:
        worker.kill()
        os.close(controller)
    assert "Type a sentence and press Enter" in worker.stderr.read()


def test_a_reader_that_closes_the_pipe_early_gets_no_traceback():
    """`seq2seq configs | head -1`: once the reader has gone, writing fails; the command ends quietly."""
    reader, writer = os.pipe()
    os.close(reader)
    result = subprocess.run([sys.executable, "-m", "seq2seq.cli", "configs"], stdout=writer, stderr=subprocess.PIPE,
                            text=True, timeout=60)
    os.close(writer)
    assert result.returncode == 141
    assert result.stderr == ""
