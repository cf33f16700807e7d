"""The vocabulary shortlist: IBM Model 1's table, the per-batch vocabulary, and searches restricted to it.

A shortlisted search must be exactly the full search over a model whose every other piece is
impossible, and exactly today's search when the shortlist holds every piece.
"""

import dataclasses
import shutil

import numpy as np
import pytest
from keras import ops

from conftest import padded_source, tiny_model
from seq2seq.cli import main
from seq2seq.config import DecodeConfig
from seq2seq.data import lexical_shortlist
from seq2seq.data.lexical_shortlist import build_shortlist, load_shortlist, save_shortlist, translation_table
from seq2seq.errors import Seq2SeqError
from seq2seq.search import NEGATIVE, CompiledSearch
from seq2seq.search.shortlist import Shortlist
from seq2seq.tasks.translation.ensemble import EnsembleModel
from seq2seq.tasks.translation.translator import Translator

UNKNOWN = "\u2047"  # how SentencePiece writes UNK
SETTINGS = {"greedy": DecodeConfig(), "beam": DecodeConfig(beam_size=3, n_best=2, length_penalty=0.6),
            "sampling": DecodeConfig(sample=True, n_best=3, seed=5, top_k=4)}


def test_one_iteration_of_model_1_is_the_hand_computed_expectation(monkeypatch):
    # Two pairs over source pieces {4, 5} (and the empty source, row 6) and target pieces {4, 5}, from the
    # uniform table t = 1/6: "4 4 5" -> "4" and "5" -> "4 5 5".
    # Pair 1: sources 4 (twice), 5, empty: target 4 aligns to each position with 1/4, so 4 gets 2/4.
    # Pair 2: sources 5, empty: targets 4 and 5 (twice) align to each with 1/2.
    # Expected counts: source 4 -> {4: 1/2}; source 5 -> {4: 1/4 + 1/2, 5: 2 * 1/2}; empty -> {4: 1/4 + 1/2, 5: 1}.
    monkeypatch.setattr(lexical_shortlist, "ITERATIONS", 1)
    counted = [(np.array([4, 5, 6]), np.array([2, 1, 1]), np.array([4]), np.array([1])),
               (np.array([5, 6]), np.array([1, 1]), np.array([4, 5]), np.array([1, 2]))]
    table = translation_table(counted, 6, 6)
    assert table[4, 4] == pytest.approx(1.0)
    assert table[5, [4, 5]] == pytest.approx([0.75 / 1.75, 1.0 / 1.75])
    assert table[6, [4, 5]] == pytest.approx([0.75 / 1.75, 1.0 / 1.75])
    assert not table[:4].any()  # pieces never seen as a source have no translations


def test_each_source_piece_ranks_the_piece_it_always_comes_with_first():
    # Source piece 4 means target 10, 5 means 11, 6 means 12; 11 and 12 are as frequent as each other.
    sources = [[4, 5], [4], [5], [4, 6], [6], [5, 6]]
    targets = [[11, 10], [10], [11], [10, 12], [12], [12, 11]]
    candidates, by_frequency = build_shortlist(sources, targets, 8, 14)
    assert candidates.shape == (8, 10)  # every piece but PAD, UNK, BOS and EOS
    assert [candidates[piece, 0] for piece in (4, 5, 6)] == [10, 11, 12]
    assert set(candidates[4, :3]) == {10, 11, 12}  # then what co-occurs with it, then the rest
    assert not set(candidates.ravel()) & {0, 1, 2, 3}  # PAD, UNK, BOS, EOS are never candidates
    assert list(by_frequency[:3]) == [10, 11, 12] and sorted(by_frequency) == list(range(14))
    # Pieces never seen as a source (7, and UNK) offer the most frequent target pieces.
    assert list(candidates[7]) == list(candidates[1]) == list(by_frequency[:10])
    # A source's closing EOS is not a word of it: the table is the same with or without one.
    with_eos = build_shortlist([source + [3] for source in sources], targets, 8, 14)
    np.testing.assert_array_equal(with_eos[0], candidates)


def test_the_table_is_refused_for_vocabularies_past_its_memory_bound():
    with pytest.raises(Seq2SeqError, match="32,000 x 32,000 pieces needs a 8.2 GB table"):
        build_shortlist([[4]], [[5]], 32_000, 32_000)


def test_a_batch_vocabulary_is_sorted_and_starts_with_the_special_pieces():
    candidates = np.tile(np.array([[7, 9]], np.int32), (30, 1))
    candidates[5] = [20, 8]
    shortlist = Shortlist([candidates], np.array([11, 7, 3, 2, 1, 0, *range(4, 7), *range(8, 11), *range(12, 40)]),
                          per_piece=1, frequent=2)
    source = np.array([[5, 6, 0], [5, 0, 0]], np.int32)  # padding picks nothing
    assert list(np.asarray(shortlist.vocabulary(source))) == [0, 1, 2, 3, 7, 11, 20]


def full_shortlist(model):
    vocab = model.get_config()["target_vocab_size"]
    candidates = np.tile(np.arange(vocab, dtype=np.int32), (model.get_config()["source_vocab_size"], 1))
    return Shortlist([candidates], np.arange(vocab), per_piece=vocab, frequent=vocab)


@pytest.mark.parametrize("name", SETTINGS)
def test_a_shortlist_of_every_piece_searches_exactly_as_without_one(name):
    model = tiny_model(target_vocab_size=12)
    plain = CompiledSearch(model, SETTINGS[name])(padded_source())
    shortlisted = CompiledSearch(model, SETTINGS[name], shortlist=full_shortlist(model))(padded_source())
    for part in ("tokens", "scores", "attention"):
        np.testing.assert_array_equal(getattr(shortlisted, part), getattr(plain, part), err_msg=part)


@pytest.mark.parametrize("tie_embeddings", [False, True])
def test_mixed_bfloat16_searches_exactly_as_without_one_under_a_full_shortlist(tie_embeddings):
    """The gathered output weights are cast to the compute dtype as the output layer casts its own."""
    import keras

    from seq2seq.tasks.translation.model import TranslationModel

    keras.utils.set_random_seed(3)
    model = TranslationModel(30, 16, embedding_dim=16, encoder_units=16, encoder_layers=1, decoder_units=24,
                             attention_units=16, dropout=0.0, tie_embeddings=tie_embeddings, dtype="mixed_bfloat16")
    decode = SETTINGS["beam"]
    plain = CompiledSearch(model, decode)(padded_source())
    shortlisted = CompiledSearch(model, decode, shortlist=full_shortlist(model))(padded_source())
    np.testing.assert_array_equal(shortlisted.tokens, plain.tokens)
    np.testing.assert_array_equal(shortlisted.scores, plain.scores)


def test_an_ensemble_searches_exactly_as_without_one_under_a_full_shortlist():
    members = EnsembleModel([tiny_model(1), tiny_model(2)])
    decode = SETTINGS["beam"]
    plain = CompiledSearch(members, decode)(padded_source())
    shortlisted = CompiledSearch(members, decode, shortlist=full_shortlist(members.members[0]))(padded_source())
    np.testing.assert_array_equal(shortlisted.tokens, plain.tokens)
    np.testing.assert_array_equal(shortlisted.scores, plain.scores)


class OnlyThesePieces:
    """The model with every piece outside `allowed` impossible: what a shortlisted search should equal."""

    def __init__(self, model, allowed):
        self.model, self.allowed = model, np.asarray(allowed)

    def encode(self, inputs):
        return self.model.encode(inputs)

    def step(self, token_ids, states, memory):
        logits, states, weights = self.model.step(token_ids, states, memory)
        outside = ~np.isin(np.arange(logits.shape[-1]), self.allowed)
        return ops.where(outside, NEGATIVE, ops.cast(logits, "float32")), states, weights


@pytest.mark.parametrize("name", SETTINGS)
def test_a_shortlisted_search_is_the_full_search_with_every_other_piece_impossible(name):
    model = tiny_model(target_vocab_size=40)
    candidates = np.random.default_rng(1).integers(4, 40, size=(30, 3)).astype(np.int32)
    shortlist = Shortlist([candidates], np.arange(40)[::-1], per_piece=2, frequent=3)
    source = padded_source()
    allowed = np.asarray(shortlist.vocabulary(source))
    assert 8 < len(allowed) < 30  # a real restriction, and not an empty one
    shortlisted = CompiledSearch(model, SETTINGS[name], shortlist=shortlist)(source)
    masked = CompiledSearch(OnlyThesePieces(model, allowed), SETTINGS[name])(source)
    np.testing.assert_array_equal(shortlisted.tokens, masked.tokens)
    np.testing.assert_allclose(shortlisted.scores, masked.scores, rtol=1e-5)
    assert set(np.unique(shortlisted.tokens)) <= set(allowed)
    assert not np.array_equal(shortlisted.tokens, CompiledSearch(model, SETTINGS[name])(source).tokens)


def test_a_stored_shortlist_is_checked_against_the_run(tmp_path):
    path = tmp_path / "shortlist.npz"
    save_shortlist(path, np.full((30, 5), 7, np.int32), np.arange(12, dtype=np.int32))
    candidates, by_frequency = load_shortlist(path, 30, 12)
    assert candidates.shape == (30, 5) and list(by_frequency) == list(range(12))
    with pytest.raises(Seq2SeqError, match=r"shortlist.npz: does not match this run's 30 source and 40 target"):
        load_shortlist(path, 30, 40)
    path.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(Seq2SeqError, match=r"shortlist.npz: not a shortlist written by seq2seq"):
        load_shortlist(path, 30, 12)
    with pytest.raises(Seq2SeqError, match=r"missing.npz: no shortlist .*--resume. writes one"):
        load_shortlist(tmp_path / "missing.npz", 30, 12)


def test_training_writes_the_shortlist_and_translation_uses_it(trained_run, reversal_data):
    translator = Translator.load(trained_run, beam_size=3)
    candidates, _ = load_shortlist(trained_run / "shortlist.npz", translator.source_tokenizer.vocab_size,
                                   translator.target_tokenizer.vocab_size)
    lines = (reversal_data / "test.tsv").read_text(encoding="utf-8").splitlines()[:40]
    sources = [line.split("\t")[0] for line in lines]
    # On the reversal task, each word's piece translates into the same word's piece.
    for word in ("a", "k"):
        source_piece = translator.source_tokenizer.encode([word])[0][-1]
        target_piece = translator.target_tokenizer.encode([word])[0][-1]
        assert candidates[source_piece, 0] == target_piece
    full = translator.translate(sources)
    narrow = Translator.load(trained_run, beam_size=3, shortlist=True, shortlist_per_piece=1, shortlist_frequent=0)
    assert narrow.translate(sources) == full  # the words of the source are all that the targets hold
    assert translator.with_decode(narrow.decode_config).translate(sources) == full


def test_the_command_line_turns_the_shortlist_on_and_off(trained_run, tmp_path, capsys):
    only_a = one_word_shortlist_copy(trained_run, tmp_path / "only-a", "a")
    narrow = ["--shortlist-per-piece", "1", "--shortlist-frequent", "0"]
    assert main(["translate", str(only_a), "--shortlist", *narrow, "b c d"]) == 0
    assert "a" in set(capsys.readouterr().out.split()) <= {"a", UNKNOWN}
    config = only_a / "config.yaml"
    config.write_text(config.read_text().replace("shortlist: false", "shortlist: true"))
    assert main(["translate", str(only_a), "--no-shortlist", *narrow, "b c d"]) == 0
    assert capsys.readouterr().out.strip() == "d c b"


def test_a_damaged_shortlist_stops_only_the_searches_that_use_it(trained_run, tmp_path):
    damaged = shutil.copytree(trained_run, tmp_path / "damaged")
    (damaged / "shortlist.npz").write_bytes(b"not an archive")
    assert Translator.load(damaged).translate(["b c d"]) == ["d c b"]
    with pytest.raises(Seq2SeqError, match="shortlist.npz: not a shortlist written by seq2seq"):
        Translator.load(damaged, shortlist=True)


def test_a_new_run_replaces_a_shortlist_an_earlier_start_left(tmp_path, tiny_reversal_data):
    """What a new run reads its data with (`TaskTraining`, before any model): it must not keep the table."""
    from conftest import reversal_config_text
    from seq2seq.config import load_config
    from seq2seq.tasks import task_named
    from seq2seq.training.run_dir import RunDirectory

    run = RunDirectory(tmp_path / "run").create()
    save_shortlist(run.shortlist_file, np.full((40, 3), 9, np.int32), np.arange(40, dtype=np.int32))
    (tmp_path / "tiny.yaml").write_text(reversal_config_text(tiny_reversal_data, epochs=1))
    config = load_config(tmp_path / "tiny.yaml")
    task_named(config.task).training(config, run, False, log=lambda *_: None)
    with np.load(run.shortlist_file) as stored:
        assert (stored["candidates"] != 9).any() and stored["candidates"].shape[1] > 3


def one_word_shortlist_copy(run, directory, word):
    """A copy of `run` whose shortlist offers only `word`'s target piece for every source piece."""
    shutil.copytree(run, directory)
    translator = Translator.load(directory)
    piece = translator.target_tokenizer.encode([word])[0][-1]
    with np.load(run / "shortlist.npz") as stored:
        candidates, by_frequency = np.full_like(stored["candidates"], piece), stored["by_frequency"]
    save_shortlist(directory / "shortlist.npz", candidates, by_frequency)
    return directory


def test_an_ensemble_searches_the_union_of_its_members_shortlists(trained_run, tmp_path):
    only_a, only_k = (one_word_shortlist_copy(trained_run, tmp_path / word, word) for word in "ak")
    settings = {"shortlist": True, "shortlist_per_piece": 1, "shortlist_frequent": 0}
    alone = set(" ".join(Translator.load(only_a, **settings).translate(["b c d", "k k b"])).split())
    assert "a" in alone and alone <= {"a", UNKNOWN}  # UNK, like EOS, is in every shortlist
    both = Translator.load(only_a, ensemble=[only_k], **settings).translate(["a k a", "k k b"])
    assert {"a", "k"} <= set(" ".join(both).split()) <= {"a", "k", UNKNOWN}
    assert both[0] == "a k a"


def test_shortlist_settings_are_checked(trained_run):
    kept = Translator.load(trained_run).target_tokenizer.vocab_size - 4  # every piece but PAD, UNK, BOS, EOS
    with pytest.raises(Seq2SeqError, match=f"keeps {kept} candidates per source piece, got {kept + 1}"):
        Translator.load(trained_run, shortlist=True, shortlist_per_piece=kept + 1)
    with pytest.raises(Seq2SeqError, match="'decode.shortlist_per_piece' must be at least 1"):
        Translator.load(trained_run, shortlist=True, shortlist_per_piece=0)
    decode = dataclasses.replace(Translator.load(trained_run).decode_config, shortlist=True)
    with pytest.raises(Seq2SeqError, match="no vocabulary shortlist was loaded with this model"):
        Translator(*[None] * 3, decode)


def test_a_run_without_a_shortlist_gets_one_on_resume(trained_run, tmp_path, capsys):
    copy = tmp_path / "old-run"
    shutil.copytree(trained_run, copy)
    (copy / "shortlist.npz").unlink()
    with pytest.raises(Seq2SeqError, match="no shortlist"):
        Translator.load(copy, shortlist=True)
    assert Translator.load(copy).shortlist_table is None  # without one it decodes as before
    assert main(["train", str(copy / "config.yaml"), "--run-dir", str(copy), "--resume"]) == 0
    assert "already finished" in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(copy / "shortlist.npz")["candidates"],
                                  np.load(trained_run / "shortlist.npz")["candidates"])


def test_shortlist_is_refused_for_tasks_without_a_source():
    from seq2seq.config import ConfigError, config_from_dict

    with pytest.raises(ConfigError, match="'decode.shortlist' .* does not apply to captioning"):
        config_from_dict({"task": "captioning", "decode": {"shortlist": True}})
    # What the search of every other predictor (e.g. Captioner.load(run, shortlist=True), `evaluate
    # --shortlist` of a captioning or language model run) says.
    with pytest.raises(ConfigError, match="only a translation run's search has a vocabulary shortlist"):
        CompiledSearch(tiny_model(), DecodeConfig(shortlist=True))


def test_evaluation_files_of_a_shortlisted_search_are_named_apart():
    from seq2seq.evaluation import search_name

    decode = DecodeConfig(beam_size=5, length_penalty=1.0, shortlist=True, shortlist_per_piece=20, shortlist_frequent=100)
    assert search_name(decode) == "beam5-lp1-shortlist20+100"
    assert search_name(dataclasses.replace(decode, shortlist=False)) == "beam5-lp1"
