"""The SavedModel export: strings in, the same strings out as `Translator`, served without this package."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from sentencepiece import sentencepiece_model_pb2

from test_shortlist import UNKNOWN, one_word_shortlist_copy
from seq2seq.errors import Seq2SeqError
from seq2seq.tasks.translation import export
from seq2seq.tasks.translation.export import export_run
from seq2seq.tasks.translation.translator import Translator

# What a serving process runs: only TensorFlow and tensorflow-text, never seq2seq.
SERVE = """
import json, sys
import tensorflow as tf, tensorflow_text
assert "seq2seq" not in sys.modules
results = {}
for path in sys.argv[2:]:
    translate = tf.saved_model.load(path).signatures["serving_default"]
    outputs = translate(sentences=tf.constant(json.loads(sys.argv[1])))["translations"]
    results[path] = [text.decode() for text in outputs.numpy()]
    assert translate(sentences=tf.constant([], tf.string))["translations"].shape == [0]
print(json.dumps(results))
"""


def serve(sentences, export_dirs):
    """-> {export dir: translations} from a fresh Python process."""
    done = subprocess.run([sys.executable, "-c", SERVE, json.dumps(sentences), *map(str, export_dirs)],
                          capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def uppercase_target_copy(run, directory):
    """The run with target pieces uppercased: same ids, so a target tokenizer mix-up shows in the text."""
    directory.mkdir()
    for name in ("config.yaml", "model.keras", "source.model"):
        shutil.copyfile(run / name, directory / name)
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString((run / "target.model").read_bytes())
    for piece in proto.pieces:
        if piece.type == piece.NORMAL:
            piece.piece = piece.piece.upper()
    (directory / "target.model").write_bytes(proto.SerializeToString())
    return directory


def test_exported_signature_translates_like_the_translator(trained_run, reversal_data, tmp_path):
    lines = (reversal_data / "test.tsv").read_text(encoding="utf-8").splitlines()
    sentences = [line.split("\t")[0] for line in lines[:6]] + ["  a  b   c ", "p"]
    runs = {"greedy": (trained_run, {}), "beam": (trained_run, {"beam_size": 3}),
            "uppercase": (uppercase_target_copy(trained_run, tmp_path / "uppercase-run"), {}),
            "shortlist": (one_word_shortlist_copy(trained_run, tmp_path / "only-a", "a"),
                          {"beam_size": 3, "shortlist": True, "shortlist_per_piece": 1, "shortlist_frequent": 0})}
    exported = {name: export_run(run, tmp_path / name, log=lambda message: None, **settings)
                for name, (run, settings) in runs.items()}

    served = serve(sentences, exported.values())

    for name, (run, settings) in runs.items():
        expected = Translator.load(run, **settings).translate(sentences)
        assert served[str(exported[name])] == expected, name
    assert served[str(exported["uppercase"])] == [text.upper() for text in served[str(exported["greedy"])]]
    # "a" is the only piece its shortlist offers, besides the special ones
    assert "a" in set(" ".join(served[str(exported["shortlist"])]).split()) <= {"a", UNKNOWN}
    decode = json.loads((exported["beam"] / export.EXTRA_DIR / "decode.json").read_text())
    assert decode["beam_size"] == 3


def test_refuses_a_non_empty_output_directory(trained_run, tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(Seq2SeqError, match="export exists; choose another directory or remove it"):
        export_run(trained_run, out)
    assert [path.name for path in out.iterdir()] == ["keep.txt"]


def test_a_failed_export_leaves_nothing_behind(trained_run, tmp_path, monkeypatch):
    def crash(*arguments):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "_write_saved_model", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        export_run(trained_run, tmp_path / "export")
    assert list(tmp_path.iterdir()) == []


def test_missing_run_directory_is_a_one_line_error(tmp_path):
    with pytest.raises(Seq2SeqError, match="no-run: run directory not found"):
        export_run(tmp_path / "no-run", tmp_path / "export")
    assert not (tmp_path / "export").exists()


def test_without_tensorflow_text_says_what_to_install(trained_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_text", None)
    with pytest.raises(Seq2SeqError, match=r'pip install "seq2seq\[export\]"'):
        export_run(trained_run, tmp_path / "export")
