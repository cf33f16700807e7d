"""The tagging task end to end on a small CoNLL corpus with a learnable rule, and truecasing on a stub Bible.

The rule: a capitalised name after "in" is a place (B-LOC, I-LOC for a second word), after "with" a
person (B-PER, I-PER). The same names appear in both roles and capitalised words open sentences, so
a tagger must read the context, not the word alone.
"""

import csv
import io
import json
import random
import shutil
import sys

import keras
import numpy as np
import pytest

from bible_corpus_stub import write_bible_corpus
from seq2seq.cli import main
from seq2seq.config import Config, load_config
from seq2seq.data.labels import LabelVocabulary
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.data.truecase import words_and_labels
from seq2seq.errors import ConfigError, Seq2SeqError
from seq2seq.evaluation import evaluate_run
from seq2seq.models.loading import load_model_file
from seq2seq.tasks import task_named
from seq2seq.tasks.tagging.model import TaggingModel
from seq2seq.tasks.tagging.pieces import UNLABELLED, tagged_pieces, to_pieces
from seq2seq.tasks.tagging.tagger import Tagger
from seq2seq.tasks.translation.translator import Translator
from seq2seq.training.losses import token_loss_and_metrics
from seq2seq.training.run_dir import RunDirectory

FILLER = "the man saw a dog and cat ran to house from big small old new went there".split()
NAMES = "Madrid Lima Quito Santiago Caracas Juan Maria Pedro Lucia Carmen Montevideo Constantinople".split()
LEARNED = ("loss", "xent", "val_loss", "val_xent", "dev_f1", "dev_accuracy", "learning_rate")


def tagged_sentence(rng):
    words, tags = [], []
    for _ in range(rng.randint(2, 5)):
        word = rng.choice(FILLER)
        words.append(word.capitalize() if not words else word)
        tags.append("O")
        if rng.random() < 0.5:
            preposition = rng.choice(["in", "with"])
            kind = "LOC" if preposition == "in" else "PER"
            words.append(preposition)
            tags.append("O")
            for position in range(rng.randint(1, 2)):
                words.append(rng.choice(NAMES))
                tags.append(("B-" if position == 0 else "I-") + kind)
    return words, tags


def write_conll(path, sentences):
    path.write_text("".join("".join(f"{word}\t{tag}\n" for word, tag in zip(words, tags)) + "\n"
                            for words, tags in sentences), encoding="utf-8")
    return path


def write_ner_corpus(directory, sizes=(("train", 1500), ("dev", 200), ("test", 200))):
    rng = random.Random(0)
    directory.mkdir(parents=True, exist_ok=True)
    for split, count in sizes:
        write_conll(directory / f"{split}.conll", [tagged_sentence(rng) for _ in range(count)])
    return directory


def ner_config_text(data_dir, epochs=2):
    return f"""
task: tagging
seed: 7
data: {{corpus: conll, train: {data_dir}/train.conll, dev: {data_dir}/dev.conll, test: {data_dir}/test.conll}}
tokenizer: {{vocab_size: 60}}
model: {{embedding_dim: 32, encoder_units: 32, encoder_layers: 1, dropout: 0.1}}
train: {{batch_size: 32, epochs: {epochs}, learning_rate: 0.01, warmup_steps: 20, label_smoothing: 0.0,
         buckets: 2, early_stopping: {{patience: 10}}, precision: float32}}
"""  # precision pinned: some tests build the task's training directly, without the loop that resolves `auto`


def read_metrics(run_dir):
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def read_conll_tags(path):
    return [[line.split("\t")[1] for line in block.splitlines()]
            for block in path.read_text(encoding="utf-8").split("\n\n") if block.strip()]


@pytest.fixture(scope="session")
def ner_data(tmp_path_factory):
    return write_ner_corpus(tmp_path_factory.mktemp("ner"))


@pytest.fixture(scope="session")
def ner_config(ner_data):
    path = ner_data / "ner.yaml"
    path.write_text(ner_config_text(ner_data))
    return path


@pytest.fixture(scope="session")
def tagging_run(tmp_path_factory, ner_config):
    """A tagger trained through the CLI for 2 epochs (shared: training is the slow part)."""
    run_dir = tmp_path_factory.mktemp("tagging") / "run"
    assert main(["train", str(ner_config), "--run-dir", str(run_dir)]) == 0
    return run_dir


def test_the_tagger_learns_the_rule_well_above_the_majority_label(tagging_run, ner_data):
    dev_tags = [tag for tags in read_conll_tags(ner_data / "dev.conll") for tag in tags]
    majority = max(dev_tags.count(tag) for tag in set(dev_tags)) / len(dev_tags)
    assert majority < 0.8
    last = read_metrics(tagging_run)[-1]
    assert float(last["dev_accuracy"]) >= 0.97 > majority + 0.15
    assert float(last["dev_f1"]) >= 0.9
    assert {"dev_f1", "dev_accuracy", "val_loss", "xent", "words_per_second"} <= set(last)
    for name in ("config.yaml", "model.keras", "source.model", "labels.json", "checkpoints/state.json"):
        assert (tagging_run / name).is_file(), name
    assert LabelVocabulary.load(tagging_run).names == ["<none>", "B-LOC", "B-PER", "I-LOC", "I-PER", "O"]


def test_the_tagger_reads_the_context_not_the_word_alone(tagging_run):
    tagged = Tagger.load(tagging_run).tag(["The dog went in Lima", ["Old", "cat", "with", "Lima", "Juan"]])
    assert tagged == [[("The", "O"), ("dog", "O"), ("went", "O"), ("in", "O"), ("Lima", "B-LOC")],
                      [("Old", "O"), ("cat", "O"), ("with", "O"), ("Lima", "B-PER"), ("Juan", "I-PER")]]


@pytest.mark.slow  # the shared loop's resume is in the default suite through translation and the language model
def test_resume_after_one_epoch_equals_the_uninterrupted_run(tagging_run, ner_data, tmp_path):
    """Dropout makes this strict: the resumed epoch must draw the masks the uninterrupted one drew."""
    config = tmp_path / "short.yaml"
    config.write_text(ner_config_text(ner_data, epochs=1))
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run")]) == 0
    assert len(read_metrics(tmp_path / "run")) == 1
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run"), "--resume",
                 "--set", "train.epochs=2"]) == 0
    resumed, straight = read_metrics(tmp_path / "run"), read_metrics(tagging_run)
    assert [row["epoch"] for row in resumed] == [row["epoch"] for row in straight] == ["1", "2"]
    for before, after in zip(straight, resumed):
        for key in LEARNED:  # stated tolerance: 1e-4
            assert float(after[key]) == pytest.approx(float(before[key]), rel=1e-4, abs=1e-4), key


def test_keras_file_round_trip_predicts_identically(tagging_run, tmp_path):
    model = load_model_file(tagging_run / "model.keras", compile=False)
    model.save(tmp_path / "copy.keras")
    copy = load_model_file(tmp_path / "copy.keras", compile=False)
    assert isinstance(copy, TaggingModel) and copy.get_config() == model.get_config()
    ids = np.random.default_rng(0).integers(4, 60, size=(3, 9)).astype("int32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(ids)), keras.ops.convert_to_numpy(copy(ids)))
    texts = ["The cat ran in Quito Lima", "A man with Carmen"]
    from_copy = Tagger.load(tagging_run, model_file=tmp_path / "copy.keras").tag(texts)
    assert from_copy == Tagger.load(tagging_run).tag(texts)


@pytest.mark.parametrize("cell", ["gru", "lstm", "simple_rnn"])
def test_a_sentence_gets_the_same_logits_whatever_padding_its_batch_needs(cell):
    keras.utils.set_random_seed(1)
    model = TaggingModel(40, 6, cell=cell, embedding_dim=8, encoder_units=8, encoder_layers=2, dropout=0.3)
    sentence = np.array([[5, 9, 12, 7]], dtype="int32")
    batch = np.zeros((2, 11), dtype="int32")
    batch[0, :4], batch[1] = sentence[0], np.arange(4, 15)
    alone = keras.ops.convert_to_numpy(model(sentence))
    padded = keras.ops.convert_to_numpy(model(batch))
    assert alone.shape == (1, 4, 6) and alone.dtype == np.float32
    np.testing.assert_allclose(padded[0, :4], alone[0], atol=1e-5)


def test_the_tagger_labels_alike_alone_and_among_longer_sentences(tagging_run):
    tagger = Tagger.load(tagging_run, batch_size=8)
    sentence = "Old house in Montevideo"
    longer = " ".join(["the dog saw a cat in Madrid"] * 6)
    assert tagger.tag([sentence]) == tagger.tag([longer, sentence, longer])[1:2]


def test_mixed_precision_trains_with_float32_logits():
    keras.utils.set_random_seed(2)
    model = TaggingModel(30, 5, embedding_dim=8, encoder_units=8, encoder_layers=1, dtype="mixed_bfloat16")
    model.compile(optimizer="adam", loss=token_loss_and_metrics(Config().train)[0])
    ids = np.random.default_rng(1).integers(4, 30, size=(4, 6)).astype("int32")
    labels = np.random.default_rng(2).integers(1, 5, size=(4, 6)).astype("int32")
    ids[0, 3:], labels[0, 3:] = 0, UNLABELLED
    assert model.output_projection.compute_dtype == "bfloat16"
    assert keras.ops.convert_to_numpy(model(ids)).dtype == np.float32
    assert np.isfinite(model.train_on_batch(ids, labels))


def test_a_word_of_several_pieces_gets_one_label_at_its_first_piece(tagging_run):
    tokenizer = Tokenizer.load(tagging_run / "source.model")
    long_word = max(FILLER + NAMES, key=lambda word: len(tokenizer.pieces(word)))
    assert len(tokenizer.pieces(long_word)) >= 3
    words = ["with", long_word, "saw", long_word]
    pieced = to_pieces(tokenizer, [words])
    lengths = [len(tokenizer.encode([word])[0]) for word in words]
    assert pieced.word_starts == [[0, lengths[0], sum(lengths[:2]), sum(lengths[:3])]]
    assert pieced.ids[0] == [piece for ids in tokenizer.encode(words) for piece in ids]
    tagged = tagged_pieces(pieced, [[7, 8, 9, 10]])
    expected = [UNLABELLED] * sum(lengths)
    for start, label in zip(pieced.word_starts[0], [7, 8, 9, 10]):
        expected[start] = label
    assert tagged.targets == [expected] and expected.count(UNLABELLED) == sum(lengths) - 4
    assert [word for word, _ in Tagger.load(tagging_run).tag([words])[0]] == words


def test_a_sentence_longer_than_the_limit_is_left_out_and_counted():
    pieced = to_pieces(FakeTokenizer(), [["ab", "c"], ["abcdef"]])
    tagged = tagged_pieces(pieced, [[1, 2], [3]], max_pieces=3)
    assert tagged.sources == [[10, 10, 10]] and tagged.targets == [[1, UNLABELLED, 2]]
    assert tagged.dropped_too_long == 1


class FakeTokenizer:
    """One piece (id 10) per character."""

    def encode(self, texts):
        return [[10] * len(text) for text in texts]


def test_evaluate_writes_labels_and_span_scores(tagging_run, ner_data):
    logged = []
    scores = evaluate_run(tagging_run, "test", log=logged.append)
    assert scores["span"]["f1"] >= 0.9 and scores["f1"] == scores["span"]["f1"]
    assert scores["token_accuracy"] >= 0.97 and scores["sentences"] == 200
    assert set(scores["per_label"]) == {"B-LOC", "B-PER", "I-LOC", "I-PER", "O"}
    saved = json.loads((tagging_run / "eval" / "test.greedy.scores.json").read_text())
    assert saved["span"] == scores["span"]
    lines = (tagging_run / "eval" / "test.greedy.hyp").read_text().splitlines()
    gold = read_conll_tags(ner_data / "test.conll")
    assert [len(line.split("\t")) for line in lines] == [len(tags) for tags in gold]
    assert sum(line.split("\t") == tags for line, tags in zip(lines, gold)) >= 180
    assert not (tagging_run / "eval" / "test.greedy.restored").exists()
    assert any("span F1" in line for line in logged)


@pytest.mark.parametrize("arguments, message", [
    (["--ensemble", "elsewhere"], "--ensemble is for translation runs"),
    (["--beam-size", "3"], "beam_size: search settings do not apply to tagging runs"),
])
def test_evaluate_refuses_what_a_tagger_does_not_do(tagging_run, capsys, arguments, message):
    assert main(["evaluate", str(tagging_run), *arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {message}") and error.count("\n") == 1


def test_tag_command_reads_arguments_a_file_and_stdin_alike(tagging_run, tmp_path, capsys, monkeypatch):
    texts = ["The cat went in Madrid", "Big dog with Juan Pedro"]
    assert main(["tag", str(tagging_run), *texts]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["The/O cat/O went/O in/O Madrid/B-LOC", "Big/O dog/O with/O Juan/B-PER Pedro/I-PER"]

    source = tmp_path / "in.txt"
    source.write_text("\n".join(texts) + "\n")
    assert main(["tag", str(tagging_run), "--input", str(source), "--output", str(tmp_path / "out.txt")]) == 0
    assert (tmp_path / "out.txt").read_text().splitlines() == printed

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(("\n".join(texts) + "\n").encode())))
    assert main(["tag", str(tagging_run)]) == 0
    assert capsys.readouterr().out.splitlines() == printed


@pytest.mark.parametrize("arguments, message", [
    (["  "], "text 1 has an empty word or no word at all: give words to tag"),
    (["a b", "--restore"], "restore needs a truecasing run (data.corpus: bible-truecase); use tag"),
    (["a b", "--batch-size", "0"], "the batch size must be at least 1, got 0"),
])
def test_tag_command_errors_are_one_line(tagging_run, capsys, arguments, message):
    assert main(["tag", str(tagging_run), *arguments]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"


def test_a_run_of_another_task_is_refused_by_name(tmp_path, tagging_run, capsys):
    translation = RunDirectory(tmp_path / "translation").create()
    translation.config_file.write_text(Config().to_yaml())
    assert main(["tag", str(translation.path), "a b"]) == 2
    assert capsys.readouterr().err == (f"error: {translation.path} is a translation run, and this needs a tagging "
                                       "run; `seq2seq --help` lists each task's own command\n")
    with pytest.raises(Seq2SeqError, match="is a tagging run, and this needs a translation run"):
        Translator.load(tagging_run)


def test_a_tokenizer_from_another_run_is_refused(tagging_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tagging_run, copy)
    Tokenizer.train(["un dos tres cuatro cinco seis siete ocho"] * 20, tmp_path / "other", 30)
    shutil.copyfile(tmp_path / "other.model", copy / "source.model")
    with pytest.raises(Seq2SeqError, match=r"source.model: \d+ pieces, but .*model.keras was trained with 60; "
                                           "the model and source.model come from different runs"):
        Tagger.load(copy)


def test_a_conll_line_with_one_column_stops_training_with_its_file_and_line(ner_data, tmp_path, capsys):
    bad = tmp_path / "bad.conll"
    bad.write_text("Juan\tB-PER\nvive\n\nen\tO\n", encoding="utf-8")
    config = tmp_path / "bad.yaml"
    config.write_text(ner_config_text(ner_data).replace(f"{ner_data}/train.conll", str(bad)))
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {bad}:2: expected 'token<TAB>tag'") and error.count("\n") == 1


def test_skipped_sentences_and_unseen_dev_labels_are_counted(ner_data, tmp_path):
    train = write_conll(tmp_path / "train.conll", [tagged_sentence(random.Random(seed)) for seed in range(40)])
    with open(train, "a", encoding="utf-8") as handle:
        handle.write("Juan\tB-PER\nvive\n\nen\tO\nLima\tB-LOC\n\n")
    dev = write_conll(tmp_path / "dev.conll", [(["with", "Acme"], ["O", "B-ORG"]), (["in", "Lima"], ["O", "B-LOC"])])
    (tmp_path / "skip.yaml").write_text(ner_config_text(ner_data))
    config = load_config(tmp_path / "skip.yaml", [f"data.train={train}", f"data.dev={dev}", "data.on_bad_row=skip"])
    run = RunDirectory(tmp_path / "run").create()
    logged = []
    task = task_named("tagging").training(config, run, resume=False, log=logged.append)
    assert f"skipped 1 row: 1 x one column (e.g. {train}:" in "\n".join(logged)
    assert len(task.train_tagged) == 41
    task.datasets(task.new_model(), first_epoch=0)
    assert "dev words whose label the training split lacks: 1; they count as errors" in "\n".join(logged)
    _, description = task.dev_scorer(task.new_model())()
    assert description.endswith("on 2 sentences, 4 words"), "the word with the unseen label is scored"


@pytest.mark.parametrize("text, message", [
    ("data: {corpus: conll}\ntrain: {early_stopping: {metric: dev_punctuation_f1}}",
     "'train.early_stopping.metric: dev_punctuation_f1' scores truecasing labels"),
    ("data: {corpus: bible-truecase, source_lang: fr}", "'data.source_lang' picks the Bible translation"),
    ("data: {corpus: bible-es-en}", "'data.corpus: bible-es-en' is not a tagging corpus"),
    ("model: {decoder_units: 64}", "'model.decoder_units' does not apply to tagging"),
])
def test_config_mistakes_are_named(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"task: tagging\n{text}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


TRUECASE_VERSES = {
    **{(1, 1, verse): {"es": text} for verse, text in enumerate([
        "En el principio crió Dios los cielos y la tierra.",
        "Y la tierra estaba desordenada y vacía, y las tinieblas estaban sobre la haz del abismo.",
        "Y dijo Dios: Sea la luz: y fué la luz.",
        "Y vió Dios que la luz era buena: y apartó Dios la luz de las tinieblas.",
        "¿Dónde estás? Y él respondió: Oí tu voz en el huerto, y tuve miedo.",
    ] * 8, start=1)},
    (29, 1, 1): {"es": "Palabra de JEHOVÁ que fué a Joel, hijo de Pethuel."},
    (29, 1, 2): {"es": "Oid esto, viejos, y escuchad, todos los moradores de la tierra."},
    (8, 1, 16): {"es": "Y Ruth respondió: No me ruegues que te deje."},
    (8, 1, 17): {"es": "--"},
}


@pytest.mark.slow  # a minute or more on 2 cores; CI runs the slow tests in a second step
def test_truecasing_trains_on_the_bible_and_restores_text(tmp_path, capsys):
    write_bible_corpus(tmp_path / "cache", TRUECASE_VERSES)
    run_dir = tmp_path / "run"
    assert main(["train", "configs/truecase_tiny.yaml", "--run-dir", str(run_dir), "--set",
                 f"data.cache_dir={tmp_path / 'cache'}", "--set", "train.epochs=1"]) == 0
    assert "dev_punctuation_f1" in read_metrics(run_dir)[0]
    scores = evaluate_run(run_dir, "test", log=lambda *_: None)
    assert {"case_accuracy", "punctuation", "f1", "macro_f1"} <= set(scores) and "span" not in scores
    assert scores["sentences"] == 1 and scores["skipped_sentences"] == 1, "the verse without words"
    restored = (run_dir / "eval" / "test.greedy.restored").read_text(encoding="utf-8").splitlines()
    verse = TRUECASE_VERSES[8, 1, 16]["es"]
    assert len(restored) == 1 and words_and_labels(restored[0])[0] == words_and_labels(verse)[0]

    text = "Y Dios dijo: ¿Dónde estás?"
    capsys.readouterr()
    assert main(["tag", str(run_dir), text, "--restore"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == Tagger.load(run_dir).restore([text])
    assert words_and_labels(printed[0])[0] == ["y", "dios", "dijo", "dónde", "estás"]
    assert main(["tag", str(run_dir), text]) == 0
    words = [token.split("/")[0] for token in capsys.readouterr().out.split()]
    assert words == ["y", "dios", "dijo", "dónde", "estás"], "a truecaser reads words lowercased, without marks"


def test_the_service_tags_as_the_tagger_does(tagging_run):
    from serving_harness import serve_runs

    texts = ["The dog went in Lima", "Old cat with Lima Juan"]
    with serve_runs({"ner": tagging_run}) as service:
        answer = service.client.post("/tag", json={"texts": texts})
        restore = service.client.post("/tag", json={"texts": texts, "restore": True})
    assert answer.status_code == 200, answer.text
    assert [[(entry["word"], entry["label"]) for entry in result["words"]] for result in answer.json()["results"]] == \
        Tagger.load(tagging_run).tag(texts)
    assert restore.status_code == 422 and "restore: this is not a truecasing run" in restore.json()["error"]
