"""The GRU/LSTM layers with hoisted input projections compute what Keras' own layers compute."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.layers.recurrent import InputProjectedGRU, InputProjectedLSTM
from seq2seq.tasks.translation.model import TranslationModel

PAIRS = [
    (InputProjectedGRU, keras.layers.GRU, {}),
    (InputProjectedGRU, keras.layers.GRU, {"reset_after": False}),
    (InputProjectedLSTM, keras.layers.LSTM, {}),
]


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize("ours, theirs, options", PAIRS, ids=["gru", "gru-reset-before", "lstm"])
def test_outputs_states_and_gradients_match_keras(ours, theirs, options, go_backwards):
    rng = np.random.default_rng(0)
    inputs = tf.constant(rng.normal(size=(3, 7, 5)).astype("float32"))
    mask = tf.constant(np.arange(7)[None, :] < np.array([[7], [4], [2]]))
    layers = [cls(4, return_sequences=True, return_state=True, go_backwards=go_backwards, **options)
              for cls in (ours, theirs)]
    for layer in layers:
        layer.build(inputs.shape)
    weights = [w + rng.normal(size=w.shape).astype("float32") for w in layers[1].get_weights()]  # non-zero biases
    results = []
    for layer in layers:
        layer.set_weights(weights)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs, mask=mask)
            loss = sum(tf.reduce_sum(tf.sin(output)) for output in outputs)
        results.append((outputs, tape.gradient(loss, [inputs, *layer.trainable_weights])))
    (our_outputs, our_gradients), (their_outputs, their_gradients) = results
    for ours_, theirs_ in zip([*our_outputs, *our_gradients], [*their_outputs, *their_gradients]):
        # Float32 sums in another order: gradients near 2 differ in their last bits (2.4e-6 seen on an
        # AVX-512 EPYC after other tests had run), hence a relative term besides the absolute one.
        np.testing.assert_allclose(np.asarray(ours_), np.asarray(theirs_), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_mixed_bfloat16_search_steps_follow_the_teacher_forced_call(cell):
    """Under mixed precision the encoder runs the input-projected layers with a once-cast kernel:
    search (encode + step) must still compute what the teacher-forced call computes."""
    keras.utils.set_random_seed(2)
    model = TranslationModel(30, 40, cell=cell, embedding_dim=16, encoder_units=16, decoder_units=24,
                             attention_units=20, dropout=0.0, dtype="mixed_bfloat16")
    rng = np.random.default_rng(3)
    source = rng.integers(4, 30, size=(2, 6)).astype("int32")
    target = rng.integers(4, 40, size=(2, 4)).astype("int32")
    logits = np.asarray(tf.cast(model((source, target)), "float32"))
    states, memory = model.encode(source)
    for position in range(target.shape[1]):
        step_logits, states, _ = model.step(target[:, position], states, memory)
        assert step_logits.dtype == tf.bfloat16
        np.testing.assert_allclose(np.asarray(tf.cast(step_logits, "float32")), logits[:, position], atol=0.05)
