"""The language model task: streams and windows, the model's three ways of reading, truncated BPTT,
training through the CLI, generation on the shared search, scoring, pictures and bad input."""

import csv
import math
import random

import numpy as np
import pytest
import tensorflow as tf

from bible_corpus_stub import write_bible_corpus
from seq2seq.cli import main
from seq2seq.config import config_from_dict
from seq2seq.errors import ConfigError, Seq2SeqError
from seq2seq.evaluation import evaluate_run
from seq2seq.models.loading import load_model_file
from seq2seq.tasks.language_model.corpus import read_text_file
from seq2seq.tasks.language_model.model import RecurrentLanguageModel
from seq2seq.tasks.language_model.predictor import LanguageModel
from seq2seq.tasks.language_model.scoring import stream_nats
from seq2seq.tasks.language_model.streams import check_long_enough, token_stream, windows
from seq2seq.tokens import EOS_ID, PAD_ID

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ANIMALS, VERBS, PLACES = ["cat", "dog", "horse", "bird"], ["sat", "ran", "slept"], ["mat", "hill", "road", "barn"]


def sentence(rng):
    return f"the {rng.choice(ANIMALS)} {rng.choice(VERBS)} on the {rng.choice(PLACES)}."


def write_text_corpus(directory, sizes=(("train", 600), ("dev", 80), ("test", 80))):
    rng = random.Random(0)
    directory.mkdir(parents=True, exist_ok=True)
    for split, count in sizes:
        (directory / f"{split}.txt").write_text("".join(sentence(rng) + "\n" for _ in range(count)), encoding="utf-8")
    return directory


def lm_config_text(data_dir, epochs=2, extra=""):
    return f"""
task: language_model
seed: 5
data: {{corpus: text-files, train: {data_dir}/train.txt, dev: {data_dir}/dev.txt, test: {data_dir}/test.txt}}
tokenizer: {{type: char}}
model: {{embedding_dim: 16, decoder_units: 48, decoder_layers: 1, dropout: 0.0}}
train: {{batch_size: 8, bptt_length: 32, epochs: {epochs}, learning_rate: 0.01, warmup_steps: 10, label_smoothing: 0.0}}
decode: {{sample: true, temperature: 0.8, max_generated_length: 60}}
{extra}"""


def read_metrics(run_dir):
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def text_data(tmp_path_factory):
    return write_text_corpus(tmp_path_factory.mktemp("lm-text"))


@pytest.fixture(scope="session")
def lm_run(tmp_path_factory, text_data):
    """A character model trained through the CLI for 4 epochs (shared: training is the slow part)."""
    directory = tmp_path_factory.mktemp("lm")
    (directory / "lm.yaml").write_text(lm_config_text(text_data, epochs=4))
    assert main(["train", str(directory / "lm.yaml"), "--run-dir", str(directory / "run")]) == 0
    return directory / "run"


class Characters:
    """A tokenizer stand-in: one id per letter, from 4 on."""

    def encode(self, lines):
        return [[4 + ord(character) - ord("a") for character in line] for line in lines]


def test_a_stream_is_every_line_with_its_end_after_a_first_line_end():
    assert token_stream(Characters(), ["ab", "", "c"]).tolist() == [EOS_ID, 4, 5, EOS_ID, EOS_ID, 6, EOS_ID]


@pytest.mark.parametrize("carry", [True, False])
def test_windows_read_the_rows_in_order_with_targets_one_step_on(carry):
    stream = np.arange(100, 141, dtype=np.int32)  # 41 pieces: 2 rows of 20, 3 windows of 6
    batches = list(windows(stream, rows=2, length=6, carry_state=carry, epochs=2).as_numpy_iterator())
    assert len(batches) == 6
    (ids, reset), targets = batches[1]
    np.testing.assert_array_equal(ids, [[106, 107, 108, 109, 110, 111], [126, 127, 128, 129, 130, 131]])
    np.testing.assert_array_equal(targets, ids + 1)
    resets = [batch[0][1].tolist() for batch in batches]
    expected = [[1, 1], [0, 0], [0, 0]] if carry else [[1, 1]] * 3
    assert resets == expected * 2, "each epoch starts from zero states"


def test_a_text_too_short_for_the_rows_and_window_is_a_clear_error():
    with pytest.raises(Seq2SeqError, match=r"the dev text \(d.txt\) has 20 pieces, too few for train.batch_size=4 rows"):
        check_long_enough(np.zeros(20, np.int32), 4, 8, "the dev text (d.txt)")


def small_model(cell="gru", layers=2, rows=3):
    return RecurrentLanguageModel(30, cell=cell, embedding_dim=8, decoder_units=12, decoder_layers=layers, dropout=0.0,
                                  stream_rows=rows)


@pytest.mark.parametrize("cell", ["gru", "lstm", "simple_rnn"])
def test_stepping_piece_by_piece_gives_the_logits_of_reading_the_whole_sequence(cell):
    model = small_model(cell)
    ids = np.random.default_rng(0).integers(4, 30, (3, 9)).astype(np.int32)
    whole = np.asarray(model(ids))
    states, stepped = model.zero_states(3), []
    for position in range(9):
        logits, states, attention = model.step(tf.constant(ids[:, position]), states, None)
        stepped.append(np.asarray(logits))
        assert attention.shape == (3, 0)
    np.testing.assert_allclose(np.stack(stepped, axis=1), whole, atol=1e-5)


def test_a_prompt_is_read_alike_whatever_padding_its_batch_needs():
    model = small_model("lstm")
    prompts = np.array([[EOS_ID, 7, 8, 9, 10], [EOS_ID, 7, 8, PAD_ID, PAD_ID], [EOS_ID] + [PAD_ID] * 4], np.int32)
    states, _ = model.encode(tf.constant(prompts))
    np.testing.assert_array_equal(model.start_tokens(tf.constant(prompts)), [10, 8, EOS_ID])
    logits, _, _ = model.step(model.start_tokens(tf.constant(prompts)), states, None)
    for row, length in enumerate([5, 3, 1]):
        alone = np.asarray(model(prompts[row:row + 1, :length]))[0, -1]
        np.testing.assert_allclose(np.asarray(logits)[row], alone, atol=1e-5)


def test_a_carried_window_continues_where_the_last_one_ended_and_a_reset_starts_from_zero():
    model = small_model("gru", rows=2)
    ids = np.random.default_rng(1).integers(4, 30, (2, 12)).astype(np.int32)
    whole = np.asarray(model(ids))
    first = np.asarray(model((ids[:, :6], np.ones(2, np.float32))))
    second = np.asarray(model((ids[:, 6:], np.zeros(2, np.float32))))
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-5)
    restarted = np.asarray(model((ids[:, 6:], np.ones(2, np.float32))))
    np.testing.assert_allclose(restarted, np.asarray(model(ids[:, 6:])), atol=1e-5)


def test_gradients_stop_at_the_window_edge():
    """The loss of window 2 has the same gradient whether window 1 was read inside the tape or outside
    it: no path leads back through the carried state."""
    model = small_model("gru", layers=1, rows=2)
    ids = np.random.default_rng(2).integers(4, 30, (2, 10)).astype(np.int32)
    loss_of = lambda logits: tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(ids[:, 6:] * 0 + 5, logits))
    with tf.GradientTape() as tape:
        model((ids[:, :5], np.ones(2, np.float32)))
        through = tape.gradient(loss_of(model((ids[:, 5:9], np.zeros(2, np.float32)))), model.trainable_weights)
    model((ids[:, :5], np.ones(2, np.float32)))  # outside any tape: only its final state is kept
    with tf.GradientTape() as tape:
        alone = tape.gradient(loss_of(model((ids[:, 5:9], np.zeros(2, np.float32)))), model.trainable_weights)
    for a, b in zip(through, alone):
        np.testing.assert_allclose(np.asarray(tf.convert_to_tensor(a)), np.asarray(tf.convert_to_tensor(b)), atol=1e-6)
    assert any(np.abs(np.asarray(tf.convert_to_tensor(g))).sum() > 0 for g in alone)


def test_stream_scoring_counts_every_piece_but_the_first_once():
    model = small_model("gru", layers=1)
    stream = np.random.default_rng(3).integers(4, 30, 101).astype(np.int32)
    nats, pieces = stream_nats(model, stream, rows=4, window=7)
    assert pieces == 100
    # One row, one window: the plain sum of cross-entropies over the whole stream.
    logits = np.asarray(model(stream[None, :-1]))[0]
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    exact = -log_probs[np.arange(100), stream[1:]].sum()
    assert stream_nats(model, stream, rows=1, window=1000)[0] == pytest.approx(exact, rel=1e-5)
    assert nats == pytest.approx(exact, rel=0.05), "4 rows lose only their first pieces' context"


def test_the_model_learns_the_text_far_below_a_uniform_guess(lm_run, text_data):
    rows = read_metrics(lm_run)
    bpc = [float(row["dev_bits_per_character"]) for row in rows]
    vocabulary = LanguageModel.load(lm_run).tokenizer.vocab_size
    assert bpc[-1] < bpc[0] and bpc[-1] < 0.5 * math.log2(vocabulary), bpc
    scores = evaluate_run(lm_run, "test", log=lambda *_: None)
    assert scores["bits_per_character"] < 0.5 * math.log2(vocabulary)
    test_lines = (text_data / "test.txt").read_text(encoding="utf-8").splitlines()
    assert scores["characters"] == sum(len(line) + 1 for line in test_lines)
    assert scores["pieces"] == len(token_stream(LanguageModel.load(lm_run).tokenizer, test_lines)) - 1
    samples = (lm_run / "eval" / "test.stream.hyp").read_text(encoding="utf-8").splitlines()
    assert len(samples) == 5 and all(samples)


def test_score_gives_lower_bits_to_text_like_the_training_text(lm_run):
    model = LanguageModel.load(lm_run)
    seen, scrambled = model.score(["the dog ran on the hill.", "hte gdo nar no eth lihl."])
    assert seen < scrambled
    with pytest.raises(Seq2SeqError, match="text 2 is empty"):
        model.score(["the cat", "  "])


def test_generate_continues_prompts_reproducibly_on_the_shared_search(lm_run, capsys):
    model = LanguageModel.load(lm_run, n_best=3, seed=11)
    texts = model.generate(["the cat", ""])
    assert len(texts) == 2 and all(len(prompt_texts) == 3 for prompt_texts in texts)
    assert all(text.startswith("the cat") for text in texts[0])
    assert model.generate(["the cat", ""]) == texts, "the same seed draws the same samples"
    greedy = LanguageModel.load(lm_run, sample=False).generate(["the dog"])[0][0]
    assert greedy.startswith("the dog") and greedy.endswith("."), greedy
    assert main(["generate", str(lm_run), "--prompt", "the cat", "--n", "3", "--seed", "11"]) == 0
    assert capsys.readouterr().out.splitlines() == texts[0]
    assert main(["generate", str(lm_run), "--prompt", "the dog", "--beam-size", "2", "--n", "2"]) == 0
    beam = capsys.readouterr().out.splitlines()
    assert len(beam) == 2 and beam[0] != beam[1] and all(text.startswith("the dog") for text in beam), beam


def test_plot_draws_the_next_piece_probabilities_along_a_text(lm_run, tmp_path, capsys):
    assert main(["plot", str(lm_run), "--text", "the cat", "--output-dir", str(tmp_path)]) == 0
    written = capsys.readouterr().out.split()
    assert [path.rsplit("/", 1)[1] for path in written] == ["training.png", "next-piece-1.png"]
    assert (tmp_path / "next-piece-1.png").read_bytes().startswith(PNG_SIGNATURE)
    pieces, probabilities = LanguageModel.load(lm_run).next_piece_probabilities("the cat")
    assert probabilities.shape == (len(pieces) + 1, LanguageModel.load(lm_run).tokenizer.vocab_size)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_keras_file_round_trip_predicts_identically(lm_run, tmp_path):
    model = load_model_file(lm_run / "model.keras", compile=False)
    ids = np.array([[EOS_ID, 5, 6, 7]], np.int32)
    model.save(tmp_path / "copy.keras")
    again = load_model_file(tmp_path / "copy.keras", compile=False)
    np.testing.assert_array_equal(np.asarray(model(ids)), np.asarray(again(ids)))
    assert again.get_config() == model.get_config()


def test_resume_after_one_epoch_equals_the_uninterrupted_run(text_data, tmp_path):
    config = tmp_path / "lm.yaml"
    config.write_text(lm_config_text(text_data, epochs=2))
    assert main(["train", str(config), "--run-dir", str(tmp_path / "whole")]) == 0
    assert main(["train", str(config), "--run-dir", str(tmp_path / "halves"), "--set", "train.epochs=1"]) == 0
    assert main(["train", str(config), "--run-dir", str(tmp_path / "halves"), "--resume", "--set", "train.epochs=2"]) == 0
    for whole, halves in zip(read_metrics(tmp_path / "whole"), read_metrics(tmp_path / "halves"), strict=True):
        for key in ("loss", "val_loss", "dev_bits_per_character"):
            assert float(halves[key]) == pytest.approx(float(whole[key]), rel=1e-5), key


def test_the_bible_text_trains_a_character_model(tmp_path):
    verses = {(1, 1, verse): {"en": f"In the beginning God made verse {verse} of the world, and it was good."}
              for verse in range(1, 40)}
    verses.update({(8, 1, verse): {"en": f"And Ruth said to Naomi the words of verse {verse}."} for verse in range(1, 9)})
    verses.update({(29, 1, verse): {"en": f"Hear this, you elders, and give ear {verse} times."} for verse in range(1, 9)})
    write_bible_corpus(tmp_path / "cache", verses)
    settings = [f"data.cache_dir={tmp_path / 'cache'}", "train.epochs=1", "train.batch_size=4", "train.bptt_length=16"]
    assert main(["train", "configs/lm_char_tiny.yaml", "--run-dir", str(tmp_path / "run"),
                 *[part for setting in settings for part in ("--set", setting)]]) == 0
    scores = evaluate_run(tmp_path / "run", "test", log=lambda *_: None)
    assert scores["lines"] == 8 and scores["characters"] == sum(len(verses[8, 1, v]["en"]) + 1 for v in range(1, 9))


@pytest.mark.parametrize("text, message", [
    (b"", "holds no text; a language model needs at least one non-empty line"),
    (b"\n  \n", "holds no text"),
    (b"good line\n\xff\xfe bad\n", ":2: bytes that are not UTF-8"),
])
def test_bad_text_files_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "text.txt"
    path.write_bytes(text)
    with pytest.raises(Seq2SeqError, match=message):
        read_text_file(path)


def test_a_bad_text_file_stops_training_with_its_name(text_data, tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("")
    config = tmp_path / "lm.yaml"
    config.write_text(lm_config_text(text_data).replace(f"{text_data}/dev.txt", f"{tmp_path}/empty.txt"))
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path}/empty.txt: holds no text; a language model needs at " \
                                              "least one non-empty line"


@pytest.mark.parametrize("settings, message", [
    ({"distribute": {"strategy": "mirrored"}}, "cannot carry a language model's state"),
    ({"tokenizer": {"joint": True}}, "'tokenizer.joint' does not apply to a language model"),
    ({"model": {"encoder_units": 64}}, "'model.encoder_units' does not apply to language_model"),
    ({"train": {"bptt_length": 0}}, "'train.bptt_length' must be at least 1"),
    ({"train": {"early_stopping": {"metric": "dev_bits_per_char"}}}, "did you mean 'dev_bits_per_character'"),
])
def test_config_errors_name_the_key(settings, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"task": "language_model", **settings})


def test_a_run_of_another_task_is_refused(trained_run, capsys):
    assert main(["generate", str(trained_run)]) == 2
    assert "is a translation run, and this needs a language_model run" in capsys.readouterr().err


def test_the_service_generates_as_the_language_model_does(lm_run):
    from serving_harness import serve_runs

    settings = {"n_best": 2, "sample": True, "seed": 3, "max_generated_length": 30}
    with serve_runs({"lm": lm_run}) as service:
        answer = service.client.post("/generate", json={"prompts": ["the cat", ""], **settings})
        cold = service.client.post("/generate", json={"prompts": ["the"], "temperature": 0})
    assert answer.status_code == 200, answer.text
    expected = LanguageModel.load(lm_run, **settings).generate(["the cat", ""])
    assert [result["texts"] for result in answer.json()["results"]] == expected
    assert cold.status_code == 422 and "temperature: Input should be greater than 0" in cold.json()["error"]
