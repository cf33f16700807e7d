import keras
import numpy as np

from seq2seq.models import TranslationModel
from seq2seq.search import CompiledSearch, greedy_search
from seq2seq.tokenizer import BOS_ID, EOS_ID, PAD_ID


def model_and_source():
    keras.utils.set_random_seed(3)
    model = TranslationModel(30, 12, embedding_dim=16, encoder_units=16, encoder_layers=1,
                             decoder_units=24, attention_units=16, dropout=0.0)
    rng = np.random.default_rng(0)
    source = rng.integers(4, 30, size=(4, 7)).astype("int32")
    source[1, 3:] = PAD_ID
    source[3, 5:] = PAD_ID
    return model, source


def python_loop_greedy(model, source, limits):
    """Reference: one Python step per token, no compilation."""
    states, memory = model.encode(source)
    previous = np.full(len(source), BOS_ID, "int32")
    outputs = []
    for step in range(max(limits)):
        logits, states, _ = model.step(previous, states, memory)
        logits = np.asarray(logits).copy()
        logits[:, [PAD_ID, BOS_ID]] = -np.inf
        previous = np.argmax(logits, axis=-1).astype("int32")
        outputs.append(previous)
    return np.stack(outputs, axis=1)


def cut_at_eos(row):
    row = list(row)
    return row[:row.index(EOS_ID) + 1] if EOS_ID in row else row


def test_compiled_greedy_matches_a_python_loop_and_respects_limits():
    model, source = model_and_source()
    search = CompiledSearch(model, max_length_ratio=1.0, max_length_offset=2)
    tokens, attention = search(source)
    lengths = (source != PAD_ID).sum(axis=1)
    limits = lengths + 2
    reference = python_loop_greedy(model, source, limits)
    for row in range(len(source)):
        produced = cut_at_eos(tokens[row])
        expected = cut_at_eos(list(reference[row, :limits[row] - 1]) + [EOS_ID])
        assert produced == expected
        assert len(produced) <= limits[row]
        assert np.all(tokens[row, len(produced):] == PAD_ID)
        np.testing.assert_allclose(attention[row, :len(produced)].sum(axis=1), 1.0, atol=1e-5)
        assert np.all(attention[row, :, lengths[row]:] == 0.0)


def test_a_sentence_decodes_the_same_alone_or_in_a_batch():
    model, source = model_and_source()
    search = CompiledSearch(model)
    together, _ = search(source)
    for row in range(len(source)):
        length = int((source[row] != PAD_ID).sum())
        alone, _ = search(source[row:row + 1, :length])
        assert cut_at_eos(alone[0]) == cut_at_eos(together[row])


def test_search_traces_once_for_any_shape():
    model, source = model_and_source()
    search = CompiledSearch(model)
    search(source)
    search(source[:2, :3])
    search(np.concatenate([source, source], axis=1))
    assert search._compiled.experimental_get_tracing_count() == 1


def test_greedy_search_runs_eagerly_with_the_compiled_result():
    model, source = model_and_source()
    eager_tokens, eager_attention = greedy_search(model, source, 1.5, 10)
    compiled_tokens, compiled_attention = CompiledSearch(model, 1.5, 10)(source)
    np.testing.assert_array_equal(np.asarray(eager_tokens), compiled_tokens)
    np.testing.assert_allclose(np.asarray(eager_attention), compiled_attention, atol=1e-5)


def test_search_never_outputs_pad_or_bos():
    model, source = model_and_source()
    bias = model.decoder.output_projection.bias
    boosted = np.asarray(bias).copy()
    boosted[[PAD_ID, BOS_ID]] += 100.0  # the model now prefers PAD and BOS over everything
    bias.assign(boosted)
    tokens, _ = CompiledSearch(model)(source)
    for row in tokens:
        produced = cut_at_eos(row)
        assert PAD_ID not in produced and BOS_ID not in produced
