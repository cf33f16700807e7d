"""Layer contracts: shapes, padding invariance, get_config and `.keras` round-trips."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.layers.attention import additive_score, make_attention
from seq2seq.layers.encoders import RNNEncoder
from seq2seq.tasks.translation.model import TranslationModel

VARIANTS = [
    dict(cell="gru", attention="bahdanau"),
    dict(cell="lstm", attention="luong-general", decoder_layers=2),
    dict(cell="simple_rnn", attention="luong-concat", bidirectional=False),
    dict(cell="gru", attention="luong-dot", decoder_units=32, tie_embeddings=True),
    dict(cell="lstm", attention="bahdanau", encoder_layers=1, decoder_layers=2, tie_embeddings=True),
]


def tiny_model(**settings):
    defaults = dict(embedding_dim=16, encoder_units=16, encoder_layers=2, decoder_units=24,
                    attention_units=20, dropout=0.0)
    return TranslationModel(source_vocab_size=30, target_vocab_size=40, **{**defaults, **settings})


def batch(seed=0):
    rng = np.random.default_rng(seed)
    source = rng.integers(4, 30, size=(3, 9)).astype("int32")
    source[1, 6:] = 0
    source[2, 4:] = 0
    target = rng.integers(4, 40, size=(3, 5)).astype("int32")
    return source, target


@pytest.mark.parametrize("settings", VARIANTS, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_model_shapes_padding_and_keras_round_trip(settings, tmp_path):
    keras.utils.set_random_seed(0)
    model = tiny_model(**settings)
    source, target = batch()
    logits = np.asarray(model((source, target)))
    assert logits.shape == (3, 5, 40)
    assert np.isfinite(logits).all()

    # Extra padding on a sentence must not change its output.
    alone = np.asarray(model((source[2:3, :4], target[2:3])))
    np.testing.assert_allclose(alone[0], logits[2], atol=1e-5)
    wider = np.concatenate([source, np.zeros((3, 4), "int32")], axis=1)
    np.testing.assert_allclose(np.asarray(model((wider, target))), logits, atol=1e-5)

    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(np.asarray(restored((source, target))), logits)
    assert restored.get_config() == model.get_config()


def test_from_config_rebuilds_the_same_architecture():
    model = tiny_model(cell="lstm", attention="luong-general")
    clone = TranslationModel.from_config(model.get_config())
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert clone.count_params() == model.count_params()


def test_step_matches_teacher_forced_call():
    """The search path (encode + step) computes exactly what training computes."""
    keras.utils.set_random_seed(1)
    model = tiny_model(cell="lstm", attention="bahdanau", decoder_layers=2)
    source, target = batch()
    logits = np.asarray(model((source, target)))
    states, memory = model.encode(source)
    for position in range(target.shape[1]):
        step_logits, states, weights = model.step(target[:, position], states, memory)
        np.testing.assert_allclose(np.asarray(step_logits), logits[:, position], atol=1e-4)
        weights = np.asarray(weights)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
        assert np.all(weights[source == 0] == 0.0), "padding must get no attention"


@pytest.mark.parametrize("settings", VARIANTS[:2], ids=["gru-bahdanau", "lstm-luong-general-2-layers"])
def test_training_gradients_through_the_decoder_loop_match_a_step_by_step_loop(settings):
    """The decoder loop hands the memory to each step as a constant (`MemoryReadingRNN`), and the
    additive score computes its tanh again in the backward pass (`additive_score`): every weight's
    gradient, the encoder's included (they reach it only through the memory), must be the one of
    the same loss computed by calling `step` token by token in eager Python."""
    keras.utils.set_random_seed(2)
    model = tiny_model(**settings)
    source, target = batch()
    projection = tf.constant(np.random.default_rng(3).normal(size=(3, 5, 40)), tf.float32)

    def gradients(loss_of_logits):
        with tf.GradientTape() as tape:
            loss = loss_of_logits()
        return tape.gradient(loss, model.trainable_variables)

    def stepwise():
        states, memory = model.encode(source)
        logits = []
        for position in range(target.shape[1]):
            step_logits, states, _ = model.step(target[:, position], states, memory)
            logits.append(step_logits)
        return tf.reduce_sum(tf.stack(logits, axis=1) * projection)

    looped = gradients(lambda: tf.reduce_sum(model((source, target), training=True) * projection))
    reference = gradients(stepwise)
    encoder_weights = {id(weight) for weight in model.encoder.trainable_variables}
    for weight, found, expected in zip(model.trainable_variables, looped, reference, strict=True):
        found, expected = tf.convert_to_tensor(found), tf.convert_to_tensor(expected)  # embeddings: IndexedSlices
        np.testing.assert_allclose(found, expected, rtol=1e-4, atol=1e-6, err_msg=weight.path)
        if id(weight) in encoder_weights:
            assert np.abs(found).max() > 0, weight.path


def test_the_additive_score_recomputes_its_tanh_for_autodiffs_gradients():
    rng = np.random.default_rng(4)
    keys, query, energy = (tf.constant(rng.normal(size=shape), tf.float32) for shape in ((2, 5, 4), (2, 4), (4,)))
    upstream = tf.constant(rng.normal(size=(2, 5)), tf.float32)

    def gradients(score):
        with tf.GradientTape() as tape:
            tape.watch([keys, query, energy])
            total = tf.reduce_sum(score(keys, query, energy) * upstream)
        return tape.gradient(total, [keys, query, energy])

    def plain(keys, query, energy):
        return tf.einsum("bsa,a->bs", tf.tanh(keys + query[:, None, :]), energy)

    np.testing.assert_allclose(additive_score(keys, query, energy), plain(keys, query, energy), atol=1e-6)
    for found, expected in zip(gradients(additive_score), gradients(plain), strict=True):
        np.testing.assert_allclose(found, expected, atol=1e-6)


def numpy_attention(kind, weights, query, memory, mask):
    """Attention written from the papers, in float64: -> (context (B, D), weights (B, S)).

    Luong et al. (2015), section 3.1: dot h_t . h_s; general h_t . W_a h_s; concat v_a . tanh(W_a [h_t; h_s]).
    Bahdanau et al. (2015), appendix A.1.2: v_a . tanh(W_a s + U_a h_j). The additive scores (Bahdanau's, and
    Luong's concat, which is the same form with W_a split into its query and key columns) also take the
    bias `b` of the key projection inside the tanh. Padded positions get no weight; the weights are the
    softmax of the scores over the rest, and the context is the memory averaged with them.
    """
    query, memory = query.astype("float64"), memory.astype("float64")
    if kind == "luong-dot":
        scores = np.einsum("bd,bsd->bs", query, memory)
    elif kind == "luong-general":
        scores = np.einsum("bq,qd,bsd->bs", query, weights["W_a"], memory)
    else:
        query_and_key = np.concatenate([np.repeat(query[:, None], memory.shape[1], axis=1), memory], axis=-1)
        scores = np.tanh(query_and_key @ weights["W_a"].T + weights["b"]) @ weights["v_a"]
    scores = np.where(mask, scores, -np.inf)
    attention = np.exp(scores - scores.max(axis=1, keepdims=True))
    attention /= attention.sum(axis=1, keepdims=True)
    return np.einsum("bs,bsd->bd", attention, memory), attention


def paper_weights(kind, layer):
    """The layer's parameters arranged as the papers' matrices: W_a maps [query; key] (or the key) to scores."""
    if kind == "luong-general":
        return {"W_a": np.asarray(layer.key_projection.kernel, "float64").T}  # q . (K^T h_s)
    if kind in ("bahdanau", "luong-concat"):
        additive = layer if kind == "bahdanau" else layer.additive
        w_query, w_key = (np.asarray(dense.kernel, "float64").T
                          for dense in (additive.query_projection, additive.key_projection))
        return {"W_a": np.concatenate([w_query, w_key], axis=1), "b": np.asarray(additive.key_projection.bias),
                "v_a": np.asarray(additive.energy, "float64")}
    return {}


@pytest.mark.parametrize("kind", ["luong-dot", "luong-general", "luong-concat", "bahdanau"])
def test_attention_scores_match_the_papers_formulas_in_numpy(kind):
    """Every parameter is set to random values (the bias too, which initialises to zero) so that a term
    dropped or transposed shows; the query and memory sizes differ except for `dot`, which needs them equal."""
    rng = np.random.default_rng(4)
    query_dim, memory_dim = (6, 6) if kind == "luong-dot" else (5, 7)
    query = rng.normal(size=(3, query_dim)).astype("float32")
    memory = rng.normal(size=(3, 4, memory_dim)).astype("float32")
    mask = np.array([[True] * 4, [True, True, False, False], [True, False, False, False]])
    layer = make_attention(kind, units=8)
    layer.build(query.shape, memory_shape=memory.shape)
    for weight in layer.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    context, weights = layer(query, layer.prepare_keys(memory), memory, mask)

    expected_context, expected_weights = numpy_attention(kind, paper_weights(kind, layer), query, memory, mask)
    np.testing.assert_allclose(np.asarray(weights), expected_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(context), expected_context, rtol=1e-5, atol=1e-5)
    assert np.all(np.asarray(weights)[~mask] == 0.0)


def test_luong_dot_requires_matching_sizes():
    with pytest.raises(ValueError, match="use 'general' instead"):
        tiny_model(attention="luong-dot", decoder_units=24)


def test_encoder_final_states_stop_at_the_real_last_token():
    keras.utils.set_random_seed(2)
    encoder = RNNEncoder(30, 8, 6, num_layers=2, cell="lstm", bidirectional=True)
    source, _ = batch()
    memory, mask, states = encoder(source)
    assert memory.shape == (3, 9, 12) and len(states) == 2 and len(states[0]) == 2
    _, _, alone = encoder(source[2:3, :4])
    for layer_states, alone_states in zip(states, alone):
        for state, alone_state in zip(layer_states, alone_states):
            np.testing.assert_allclose(np.asarray(state)[2], np.asarray(alone_state)[0], atol=1e-5)


def test_unknown_cell_is_rejected():
    with pytest.raises(ValueError, match="unknown cell 'rnn'"):
        tiny_model(cell="rnn")
