import keras
import numpy as np
import pytest

from conftest import padded_source, teacher_forced_scores, tiny_model
from seq2seq.config import DecodeConfig
from seq2seq.tasks.translation.ensemble import EnsembleModel, check_same_tokenizers
from seq2seq.errors import Seq2SeqError
from seq2seq.search import CompiledSearch
from seq2seq.tokens import BOS_ID
from seq2seq.data.tokenizer import load_tokenizers, train_tokenizers


SEARCHES = {
    "greedy": DecodeConfig(),
    "beam": DecodeConfig(beam_size=3, n_best=3, length_penalty=0.6, coverage_penalty=0.2),
    "sampling": DecodeConfig(sample=True, n_best=2, seed=5),
}


@pytest.mark.parametrize("decode", SEARCHES.values(), ids=SEARCHES.keys())
def test_a_model_ensembled_with_itself_decodes_like_the_model(decode):
    model = tiny_model(1)
    alone = CompiledSearch(model, decode)(padded_source())
    doubled = CompiledSearch(EnsembleModel([model, model]), decode)(padded_source())
    np.testing.assert_array_equal(doubled.tokens, alone.tokens)
    np.testing.assert_allclose(doubled.scores, alone.scores, rtol=1e-5)
    np.testing.assert_allclose(doubled.attention, alone.attention, atol=1e-6)


def test_a_step_averages_the_members_probabilities_and_attention():
    members = [tiny_model(1), tiny_model(2)]
    source, previous = padded_source(), np.array([BOS_ID, 5, 6, 7], "int32")
    ensemble = EnsembleModel(members)
    states, memory = ensemble.encode(source)
    log_probs, new_states, attention = ensemble.step(previous, states, memory)

    probabilities, weights = [], []
    for member, member_new_states in zip(members, new_states):
        logits, expected_states, member_weights = member.step(previous, *member.encode(source))
        probabilities.append(keras.ops.softmax(logits).numpy())
        weights.append(member_weights.numpy())
        for state, expected in zip(member_new_states, expected_states):
            np.testing.assert_allclose(state, expected, atol=1e-6)
    assert log_probs.dtype == "float32"
    np.testing.assert_allclose(np.exp(log_probs), np.mean(probabilities, axis=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(attention, np.mean(weights, axis=0), atol=1e-6)


def test_beam_search_of_two_models_ranks_by_their_averaged_probabilities():
    """The compiled search (traced once for every input shape) returns n-best lists, best first and
    distinct, whose scores are those of the ensemble's definition: the mean of the members' probabilities."""
    members = [tiny_model(1), tiny_model(2)]
    decode = DecodeConfig(beam_size=3, n_best=2, length_penalty=0.6)
    search = CompiledSearch(EnsembleModel(members), decode)
    found = search(padded_source())
    search(padded_source()[:2, :4])
    assert search._compiled.experimental_get_tracing_count() == 1
    assert np.all(found.scores[:, 0] >= found.scores[:, 1])
    assert not np.any(np.all(found.tokens[:, 0] == found.tokens[:, 1], axis=1)), "the n best must differ"
    np.testing.assert_allclose(found.scores, teacher_forced_scores(members, padded_source(), found.tokens, alpha=0.6),
                               rtol=1e-4, atol=1e-4)


def test_members_must_share_vocabularies():
    with pytest.raises(Seq2SeqError, match="target vocabularies of 12, 14 pieces: they must share one target"):
        EnsembleModel([tiny_model(1), tiny_model(2, target_vocab_size=14)])
    with pytest.raises(Seq2SeqError, match="at least one model"):
        EnsembleModel([])


def test_runs_must_tokenize_identically(tmp_path):
    words = "uno dos tres cuatro cinco seis siete ocho nueve diez".split()
    sentences = [" ".join(words[i:] + words[:i]) for i in range(len(words))] * 20
    for run, targets in (("a", sentences), ("retrained", sentences), ("b", [s[::-1] for s in sentences])):
        train_tokenizers(sentences, [s.upper() for s in targets], tmp_path / run, vocab_size=30)
    runs = [(tmp_path / name, *load_tokenizers(tmp_path / name)) for name in ("a", "retrained", "b")]
    assert (tmp_path / "a" / "source.model").read_bytes() != (tmp_path / "retrained" / "source.model").read_bytes()

    check_same_tokenizers(runs[:2])
    with pytest.raises(Seq2SeqError, match=f"{tmp_path / 'b'} and {tmp_path / 'a'} have different target "
                                           f"tokenizers .*target.model does not tokenize like"):
        check_same_tokenizers(runs)
