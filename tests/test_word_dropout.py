"""Word dropout: which tokens it may replace, how often, and that a re-seeded epoch repeats itself."""

import keras
import numpy as np
import pytest

from seq2seq.layers.word_dropout import WordDropout
from seq2seq.tasks.translation.model import TranslationModel
from seq2seq.tokens import BOS_ID, EOS_ID, PAD_ID, UNK_ID


def batch():
    rng = np.random.default_rng(0)
    ids = rng.integers(4, 50, size=(64, 40)).astype("int32")
    ids[:, 0] = BOS_ID
    ids[:, 30] = EOS_ID
    ids[:, 31:] = PAD_ID
    return ids


def test_training_replaces_about_rate_of_the_ordinary_tokens_by_unk_and_never_a_special_one():
    ids = batch()
    dropped = keras.ops.convert_to_numpy(WordDropout(0.25, seed=3)(ids, training=True))
    changed = dropped != ids
    assert set(np.unique(dropped[changed])) == {UNK_ID}
    assert not changed[:, [0, 30]].any() and not changed[:, 31:].any()
    assert changed[:, 1:30].mean() == pytest.approx(0.25, abs=0.02)  # 1,856 draws: 3 standard deviations


def test_inference_and_rate_zero_change_nothing():
    ids = batch()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(WordDropout(0.5)(ids)), ids)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(WordDropout(0.0)(ids, training=True)), ids)


def test_the_same_seed_state_drops_the_same_words():
    """The training loop re-seeds `seed_generator` per epoch: equal states give equal masks."""
    layer, ids = WordDropout(0.3), batch()
    layer.seed_generator.state.assign([7, 0])
    first = keras.ops.convert_to_numpy(layer(ids, training=True))
    second = keras.ops.convert_to_numpy(layer(ids, training=True))
    layer.seed_generator.state.assign([7, 0])
    again = keras.ops.convert_to_numpy(layer(ids, training=True))
    np.testing.assert_array_equal(first, again)
    assert (first != second).any()


def test_a_rate_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="word dropout rate"):
        WordDropout(1.0)


def test_translation_model_drops_source_and_decoder_input_words_only_when_training():
    keras.utils.set_random_seed(0)
    model = TranslationModel(50, 50, embedding_dim=8, encoder_units=8, encoder_layers=1, decoder_units=8,
                             attention_units=8, dropout=0.0, source_word_dropout=0.5, target_word_dropout=0.5)
    source, target_in = batch()[:4, 1:20], batch()[:4, :20]
    inference = keras.ops.convert_to_numpy(model((source, target_in)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model((source, target_in))), inference)
    assert not np.allclose(keras.ops.convert_to_numpy(model((source, target_in), training=True)), inference)
    restored = TranslationModel.from_config(model.get_config())
    assert (restored.source_word_dropout.rate, restored.target_word_dropout.rate) == (0.5, 0.5)
