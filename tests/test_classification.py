"""Sequence classification end to end on a synthetic label<TAB>text task: the model must learn, resume
exactly, reload identically, ignore padding, evaluate, serve `seq2seq classify`, and explain bad input."""

import csv
import io
import json
import random
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import keras
import numpy as np
import pytest

from bible_corpus_stub import write_bible_corpus
from layer_harness import run_layer_test
from seq2seq.cli import main
from seq2seq.config import load_config
from seq2seq.data.labelled_text import LabelledTexts
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.errors import ConfigError, Seq2SeqError
from seq2seq.layers.pooling import AttentionPooling
from seq2seq.models.loading import load_model_file
from seq2seq.tasks import task_named
from seq2seq.tasks.classification.classifier import Classifier
from seq2seq.tasks.classification.corpus import sample_examples
from seq2seq.tasks.classification.model import POOLINGS, SequenceClassifier
from seq2seq.tasks.classification.training import class_loss_and_metrics
from seq2seq.training.run_dir import RunDirectory

TINY_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "genre_tiny.yaml"
# The label of a text is the category of the one cue word hidden among filler words, anywhere in it.
CUES = {"animal": ["cat", "dog", "horse", "bird"], "food": ["bread", "apple", "cheese", "soup"],
        "tool": ["hammer", "saw", "drill", "wrench"]}
FILLER = "the a of and to in is was it that for on with as by at from this".split()
EPOCHS = 4


def cue_text(rng, label):
    words = [rng.choice(FILLER) for _ in range(rng.randint(3, 10))]
    words.insert(rng.randint(0, len(words)), rng.choice(CUES[label]))
    return " ".join(words)


def write_cue_task(directory, sizes=(("train", 900), ("dev", 150), ("test", 150)), seed=0):
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for split, count in sizes:
        labels = [rng.choice(sorted(CUES)) for _ in range(count)]
        (directory / f"{split}.tsv").write_text("".join(f"{label}\t{cue_text(rng, label)}\n" for label in labels),
                                                encoding="utf-8")
    return directory


def read_rows(path):
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]


def cue_settings(data_dir, *extra):
    """`--set` values that point the tiny genre config at the cue task's files."""
    settings = ["data.corpus=labelled-text", f"data.train={data_dir}/train.tsv", f"data.dev={data_dir}/dev.tsv",
                f"data.test={data_dir}/test.tsv", "data.max_train_pairs=null", f"train.epochs={EPOCHS}", *extra]
    return [argument for setting in settings for argument in ("--set", setting)]


def train_cue_run(run_dir, data_dir, *extra):
    return main(["train", str(TINY_CONFIG), "--run-dir", str(run_dir), *cue_settings(data_dir, *extra)])


def read_metrics(run_dir):
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def quiet(*_):
    pass


@pytest.fixture(scope="session")
def cue_data(tmp_path_factory):
    return write_cue_task(tmp_path_factory.mktemp("cues"))


@pytest.fixture(scope="session")
def classifier_run(tmp_path_factory, cue_data):
    """A classification run trained through the CLI on the cue task (shared: training is the slow part)."""
    run_dir = tmp_path_factory.mktemp("classifier") / "run"
    assert train_cue_run(run_dir, cue_data) == 0
    return run_dir


@pytest.fixture(scope="session")
def classifier(classifier_run):
    return Classifier.load(classifier_run)


def untrained_classifier(pooling="attention", cell="gru", bidirectional=True, layers=2, dtype="float32"):
    keras.utils.set_random_seed(3)
    return SequenceClassifier(30, 4, cell=cell, embedding_dim=8, encoder_units=8, encoder_layers=layers,
                              bidirectional=bidirectional, dropout=0.3, pooling=pooling, attention_units=8,
                              dtype=dtype)


# Learning and the run directory


def test_the_classifier_learns_which_cue_word_a_text_holds(classifier_run, classifier, cue_data):
    rows = read_metrics(classifier_run)
    assert [int(row["epoch"]) for row in rows] == list(range(1, EPOCHS + 1))
    assert float(rows[-1]["dev_accuracy"]) >= 0.9, "chance is 1/3: the classifier did not learn"
    assert float(rows[-1]["dev_macro_f1"]) >= 0.9
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    test = read_rows(cue_data / "test.tsv")
    predicted = [result.label for result in classifier.classify([text for _, text in test])]
    accuracy = np.mean([guess == label for guess, (label, _) in zip(predicted, test)])
    assert accuracy >= 0.9, f"test accuracy {accuracy:.2f}"


def test_run_directory_holds_tokenizer_labels_model_and_metrics(classifier_run):
    for name in ("config.yaml", "model.keras", "source.model", "labels.json", "metrics.csv", "checkpoints/state.json"):
        assert (classifier_run / name).exists(), name
    assert json.loads((classifier_run / "labels.json").read_text())["labels"] == ["animal", "food", "tool"]
    columns = set(read_metrics(classifier_run)[0])
    assert {"dev_macro_f1", "dev_accuracy", "accuracy", "val_loss", "val_accuracy", "examples_per_second"} <= columns


@pytest.mark.slow  # a minute or more on 2 cores; CI runs the slow tests in a second step
def test_resume_after_an_epoch_gives_the_metrics_of_an_uninterrupted_run(tmp_path, cue_data):
    """Dropout and shuffling make this strict: both must be seeded per epoch, and the optimizer carried over."""
    settings = ("data.max_train_pairs=300", "model.dropout=0.3", "train.epochs=2")
    assert train_cue_run(tmp_path / "straight", cue_data, *settings) == 0
    assert train_cue_run(tmp_path / "resumed", cue_data, *settings[:-1], "train.epochs=1") == 0
    assert main(["train", str(TINY_CONFIG), "--run-dir", str(tmp_path / "resumed"), "--resume",
                 "--set", "train.epochs=2"]) == 0
    straight, resumed = read_metrics(tmp_path / "straight"), read_metrics(tmp_path / "resumed")
    assert [row["epoch"] for row in resumed] == ["1", "2"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "dev_macro_f1", "dev_accuracy", "learning_rate"):
        assert [float(row[key]) for row in resumed] == pytest.approx([float(row[key]) for row in straight],
                                                                      rel=1e-4, abs=1e-4), key


def test_mixed_bfloat16_trains_and_classifies(tmp_path, cue_data):
    assert train_cue_run(tmp_path / "run", cue_data, "data.max_train_pairs=300", "train.epochs=1",
                         "train.precision=mixed_bfloat16") == 0
    assert np.isfinite(float(read_metrics(tmp_path / "run")[0]["loss"]))
    assert Classifier.load(tmp_path / "run").model.dtype_policy.name == "float32"  # auto, no native bfloat16
    classifier = Classifier.load(tmp_path / "run", precision="mixed_bfloat16")
    assert classifier.model.dtype_policy.name == "mixed_bfloat16"
    assert classifier.model.attention_pooling.dtype_policy.name == "mixed_bfloat16"
    result = classifier.classify(["the cat sat on the mat"], top_k=3)[0]
    assert sum(probability for _, probability in result.top) == pytest.approx(1.0, abs=1e-5)


# The model and its pooling


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_a_text_gets_the_same_logits_whatever_padding_its_batch_has(pooling, cell):
    model = untrained_classifier(pooling, cell)
    short, long = [5, 6, 7, 3], [8, 9, 10, 11, 12, 13, 14, 3]
    alone = np.asarray(model(np.array([short], dtype="int32")))
    batch = np.zeros((2, 12), dtype="int32")
    batch[0, :len(short)], batch[1, :len(long)] = short, long
    padded = np.asarray(model(batch))
    np.testing.assert_allclose(padded[0], alone[0], atol=1e-6)
    assert not np.allclose(padded[0], padded[1], atol=1e-3), "different texts must get different logits"


def test_the_classifier_labels_a_text_the_same_alone_or_in_a_batch(classifier):
    text = "the saw of a the"
    alone = classifier.classify([text], top_k=3)[0]
    among = classifier.classify(["of a bird", text, "the to and of in is was bread it that for on with as by at"],
                                top_k=3)[1]
    assert [label for label, _ in among.top] == [label for label, _ in alone.top]
    np.testing.assert_allclose([p for _, p in among.top], [p for _, p in alone.top], atol=1e-6)
    np.testing.assert_allclose(among.pooling_weights, alone.pooling_weights, atol=1e-6)


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_a_keras_file_round_trip_predicts_identically(pooling, precision, tmp_path):
    model = untrained_classifier(pooling, "lstm", bidirectional=pooling != "mean", dtype=precision)
    ids = np.array([[5, 6, 7, 3, 0], [8, 9, 10, 11, 3]], dtype="int32")
    model.save(tmp_path / "model.keras")
    loaded = load_model_file(tmp_path / "model.keras", compile=False)
    assert type(loaded) is SequenceClassifier and loaded.get_config() == model.get_config()
    assert loaded.dtype_policy.name == precision
    np.testing.assert_array_equal(np.asarray(loaded(ids)), np.asarray(model(ids)))


def test_the_trained_run_reloads_to_identical_predictions(classifier, tmp_path):
    texts = ["the drill", "a of dog to the", "cheese in the of a"]
    before = classifier.classify(texts, top_k=3)
    classifier.model.save(tmp_path / "again.keras")
    after = Classifier(load_model_file(tmp_path / "again.keras", compile=False), classifier.tokenizer,
                       classifier.labels, classifier.max_length).classify(texts, top_k=3)
    assert [result.top for result in after] == [result.top for result in before]


def test_attention_pooling_keeps_the_layer_contract():
    rng = np.random.default_rng(0)
    memory = rng.normal(size=(2, 5, 6)).astype("float32")
    mask = np.arange(5)[None, :] < np.array([[5], [3]])
    run_layer_test(partial(AttentionPooling, 4), (memory, mask), float32_outputs=(1,))  # (pooled, weights)


def test_attention_pooling_gives_padding_no_weight():
    layer = AttentionPooling(4)
    memory = np.random.default_rng(1).normal(size=(1, 4, 3)).astype("float32")
    pooled, weights = layer(memory, np.array([[True, True, False, False]]))
    weights = np.asarray(weights)
    assert weights[0, 2:].tolist() == [0.0, 0.0] and weights[0].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(np.asarray(pooled)[0], weights[0] @ memory[0], rtol=1e-5)


def test_label_smoothing_is_applied_to_the_loss():
    config = load_config(TINY_CONFIG, ["train.label_smoothing=0.2"])
    loss, metrics = class_loss_and_metrics(config.train)
    logits = np.array([[2.0, 0.0, -1.0]], dtype="float32")
    log_p = logits[0] - np.log(np.exp(logits[0]).sum())
    smoothed = np.array([0.8 + 0.2 / 3, 0.2 / 3, 0.2 / 3])
    assert float(loss(np.array([[1.0, 0.0, 0.0]]), logits)) == pytest.approx(-(smoothed * log_p).sum(), rel=1e-5)
    assert [metric.name for metric in metrics] == ["accuracy"]


# Prediction: the Python API, `seq2seq classify`, `evaluate` and `plot`


def test_classify_returns_top_labels_pieces_and_pooling_weights(classifier):
    results = classifier.classify(["the of hammer and", "a  horse  to the"], top_k=2)
    assert [result.label for result in results] == ["tool", "animal"]
    for result in results:
        assert len(result.top) == 2 and result.top[0][1] >= result.top[1][1]
        assert result.pieces[-1] == "</s>" and not result.truncated
        assert len(result.pooling_weights) == len(result.pieces)
        assert float(np.sum(result.pooling_weights)) == pytest.approx(1.0, abs=1e-5)
    assert results[1].text == "a horse to the", "texts are normalised as the training texts were"


def test_long_texts_are_cut_to_max_source_length(classifier):
    cutting = Classifier(classifier.model, classifier.tokenizer, classifier.labels, max_length=3)
    long, short = cutting.classify(["the of a and to in is was it dog", "cat"])
    assert long.truncated and len(long.pieces) == 3 and long.pieces[-1] == "</s>"
    assert not short.truncated


@pytest.mark.parametrize("texts, top_k, message", [
    (["the cat", "  "], 1, "text 2 is empty: give text to classify"),
    (["the cat"], 4, "top_k must be between 1 and the 3 labels of this run, got 4"),
])
def test_classify_refuses_empty_texts_and_impossible_top_k(classifier, texts, top_k, message):
    with pytest.raises(Seq2SeqError, match=message):
        classifier.classify(texts, top_k=top_k)


def test_classify_command_arguments_stdin_and_top_k(classifier_run, tmp_path, capsys, monkeypatch):
    texts = ["the of bread", "hammer a to", "in is dog"]
    assert main(["classify", str(classifier_run), *texts]) == 0
    assert capsys.readouterr().out.splitlines() == ["food", "tool", "animal"]

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(("\n".join(texts) + "\n").encode())))
    assert main(["classify", str(classifier_run), "--input", "-", "--top-k", "2",
                 "--output", str(tmp_path / "top2.txt")]) == 0
    lines = (tmp_path / "top2.txt").read_text().splitlines()
    assert len(lines) == 3
    for line, label in zip(lines, ["food", "tool", "animal"]):
        first, p1, second, p2 = line.split("\t")
        assert first == label and second in CUES and second != first
        assert 1.0 >= float(p1) >= float(p2) >= 0.0


def test_evaluate_writes_predictions_scores_and_a_confusion_matrix(classifier_run, cue_data, capsys):
    assert main(["evaluate", str(classifier_run), "--split", "test"]) == 0
    out = capsys.readouterr().out
    assert "class" in out and "precision" in out and "animal" in out, "the per-class table is logged"
    gold = [label for label, _ in read_rows(cue_data / "test.tsv")]
    predicted = (classifier_run / "eval" / "test.greedy.hyp").read_text().splitlines()
    assert len(predicted) == len(gold) and set(predicted) <= set(CUES)
    scores = json.loads((classifier_run / "eval" / "test.greedy.scores.json").read_text())
    assert scores["accuracy"] == pytest.approx(np.mean([p == g for p, g in zip(predicted, gold)]))
    assert scores["accuracy"] >= 0.9 and scores["macro_f1"] >= 0.9
    matrix = np.array(scores["confusion_matrix"])
    assert scores["labels"] == ["animal", "food", "tool"] and matrix.sum() == len(gold)
    assert matrix.sum(axis=1).tolist() == [gold.count(label) for label in scores["labels"]]
    assert scores["per_class"]["tool"]["support"] == gold.count("tool")
    assert (classifier_run / "eval" / "test.greedy.confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("arguments, message", [
    (["--beam-size", "3"], "search settings (beam_size) do not apply to a classification run"),
    (["--ensemble", "RUN"], "--ensemble is for translation runs"),
])
def test_evaluate_refuses_search_settings_and_ensembles(classifier_run, capsys, arguments, message):
    arguments = [str(classifier_run) if argument == "RUN" else argument for argument in arguments]
    assert main(["evaluate", str(classifier_run), *arguments]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error


def test_plot_draws_the_pooling_weights_of_a_text(classifier_run, tmp_path, capsys):
    assert main(["plot", str(classifier_run), "--text", "the of drill", "--output-dir", str(tmp_path)]) == 0
    assert (tmp_path / "pooling-1.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["plot", str(classifier_run), "--image", "x.png", "--output-dir", str(tmp_path)]) == 2
    assert "--image is for captioning runs" in capsys.readouterr().err


# Bad input and the wrong run


def test_a_row_without_a_tab_is_an_error_naming_its_file_and_line(tmp_path, cue_data, capsys):
    data = tmp_path / "data"
    shutil.copytree(cue_data, data)
    rows = (data / "train.tsv").read_text().splitlines()
    rows[2] = rows[2].replace("\t", " ")
    (data / "train.tsv").write_text("\n".join(rows) + "\n")
    assert train_cue_run(tmp_path / "run", data) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(f"error: {data / 'train.tsv'}:3: expected 'label<TAB>text', found no tab")

    config = load_config(TINY_CONFIG, [setting for setting in cue_settings(data, "data.on_bad_row=skip")
                                       if setting != "--set"])
    log = []
    task = task_named("classification").training(config, RunDirectory(tmp_path / "skip").create(), False, log.append)
    assert f"skipped 1 row: 1 x no tab (e.g. {data / 'train.tsv'}:3)" in log
    assert task.epoch_size == ("examples", len(rows) - 1)


def test_a_dev_label_unknown_to_training_is_named(tmp_path, cue_data):
    data = tmp_path / "data"
    shutil.copytree(cue_data, data)
    (data / "dev.tsv").write_text("vehicle\tthe car\n" + (cue_data / "dev.tsv").read_text())
    config = load_config(TINY_CONFIG, [setting for setting in cue_settings(data) if setting != "--set"])
    with pytest.raises(Seq2SeqError, match=r"dev.tsv: label\(s\) 'vehicle' never occur in the training split"):
        task_named("classification").training(config, RunDirectory(tmp_path / "run").create(), False, quiet)


def test_other_runs_and_mismatched_files_are_refused(classifier_run, tmp_path, capsys):
    translation = tmp_path / "translation"
    translation.mkdir()
    spa_eng = load_config(TINY_CONFIG.with_name("spa_eng_tiny.yaml"))
    (translation / "config.yaml").write_text(spa_eng.to_yaml())
    with pytest.raises(Seq2SeqError, match="is a translation run, and this needs a classification run"):
        Classifier.load(translation)
    assert main(["classify", str(translation), "some text"]) == 2
    assert "`seq2seq classify` needs a classification run" in capsys.readouterr().err

    copy = tmp_path / "copy"
    shutil.copytree(classifier_run, copy)
    (copy / "labels.json").write_text(json.dumps({"labels": ["a", "b"], "reserves_padding": False}))
    with pytest.raises(Seq2SeqError, match="labels.json: 2 labels, but .* was trained with 3"):
        Classifier.load(copy)
    shutil.copy(classifier_run / "labels.json", copy / "labels.json")
    Tokenizer.train(["the cat", "a dog", "some bread"] * 20, copy / "source", 20)
    with pytest.raises(Seq2SeqError, match="source.model: .* pieces, but .* the model and source.model come from "
                                           "different runs"):
        Classifier.load(copy)


# Data and config


BIBLE_VERSES = {  # (book, chapter, verse): {translation: text}
    (1, 1, 1): {"es": "EN el principio crió Dios los cielos y la tierra.",
                "en": "In the beginning God created the heavens and the earth."},
    (1, 1, 2): {"es": "Y la tierra estaba desordenada y vacía.", "en": "The earth was formless and empty."},
    (28, 1, 1): {"es": "Palabra de Jehová que fué á Oseas.", "en": "The word of Yahweh that came to Hosea."},
    (46, 1, 1): {"es": "Pablo, llamado á ser apóstol.", "en": "Paul, called to be an apostle."},
    (29, 1, 1): {"es": "Palabra de Jehová que fué á Joel.", "en": "The word of Yahweh that came to Joel."},
    (48, 1, 1): {"es": "Pablo, apóstol, no de los hombres.", "en": "Paul, an apostle, not from men."},
    (8, 1, 16): {"es": "Y Ruth respondió: No me ruegues que te deje.", "en": "Ruth said, \"Don't entreat me.\""},
}


@pytest.mark.parametrize("language", ["es", "en"])
def test_bible_genre_reads_the_verses_of_the_chosen_language_labelled_by_genre(tmp_path, monkeypatch, language):
    def no_download(*args, **kwargs):
        raise AssertionError("the built corpus is in the cache: nothing may be downloaded")

    monkeypatch.setattr(subprocess, "run", no_download)
    write_bible_corpus(tmp_path / "cache", BIBLE_VERSES)
    config = load_config(TINY_CONFIG, [f"data.cache_dir={tmp_path / 'cache'}", f"data.source_lang={language}"])
    log = []
    run = RunDirectory(tmp_path / "run").create()
    task = task_named("classification").training(config, run, False, log.append)
    assert "corpus: 4 training and 2 dev texts" in log
    assert json.loads((run.path / "labels.json").read_text())["labels"] == ["epistles", "law", "minor_prophets"]
    assert task.dev_split.labels == ["minor_prophets", "epistles"]
    assert task.dev_split.texts == [BIBLE_VERSES[(29, 1, 1)][language], BIBLE_VERSES[(48, 1, 1)][language]]


def test_max_train_pairs_samples_every_label_in_file_order():
    texts = LabelledTexts([f"text {index}" for index in range(300)], ["a"] * 100 + ["b"] * 100 + ["c"] * 100, "f")
    sample = sample_examples(texts, 30, seed=7)
    assert len(sample) == 30 and set(sample.labels) == {"a", "b", "c"}
    assert sample.texts == sorted(sample.texts, key=lambda text: int(text.split()[1]))
    assert sample_examples(texts, 30, seed=7).texts == sample.texts
    assert sample_examples(texts, 30, seed=8).texts != sample.texts
    assert sample_examples(texts, None, seed=7) is texts


@pytest.mark.parametrize("override, message", [
    ("tokenizer.joint=true", "'tokenizer.joint' does not apply to classification"),
    ("decode.beam_size=4", "'decode.beam_size' does not apply to classification"),
    ("data.source_lang=fr", "'data.source_lang' picks the language of the verses for bible-genre"),
    ("data.max_source_length=1", "'data.max_source_length' must be at least 2 for classification"),
    ("model.decoder_units=64", "'model.decoder_units' does not apply to classification"),
    ("data.corpus=files", "'data.corpus: files' is not a classification corpus"),
    ("train.early_stopping.metric=dev_bleu", "'train.early_stopping.metric' must be one of dev_macro_f1"),
])
def test_settings_that_do_not_apply_to_a_classifier_are_refused(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config(TINY_CONFIG, [override])


def test_the_tiny_config_defaults_to_the_genre_corpus_and_dev_macro_f1():
    config = load_config(TINY_CONFIG, ["train.early_stopping.metric=null"])
    assert (config.task, config.data.corpus, config.train.early_stopping.metric) == (
        "classification", "bible-genre", "dev_macro_f1")
    assert load_config(TINY_CONFIG, ["decode.batch_size=8"]).decode.batch_size == 8


def test_the_service_classifies_as_the_classifier_does(classifier_run, classifier):
    from serving_harness import serve_runs

    texts = ["the cat sat on the mat", "a dog ran"]
    with serve_runs({"cues": classifier_run}) as service:
        answer = service.client.post("/classify", json={"texts": texts, "top_k": 2})
        too_many = service.client.post("/classify", json={"texts": texts, "top_k": len(classifier.labels) + 1})
    assert answer.status_code == 200, answer.text
    expected = classifier.classify(texts, top_k=2)
    assert [result["label"] for result in answer.json()["results"]] == [found.label for found in expected]
    assert [entry["probability"] for result in answer.json()["results"] for entry in result["top"]] == pytest.approx(
        [probability for found in expected for _, probability in found.top], abs=1e-4)
    assert too_many.status_code == 422 and "top_k: this run has" in too_many.json()["error"]
