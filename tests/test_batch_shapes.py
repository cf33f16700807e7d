"""Batches padded to a few shapes (`seq2seq.batch_shapes`): the shapes, and unchanged results."""

import numpy as np

from seq2seq.batch_shapes import bucketed, padded_ids, padded_rows
from seq2seq.tasks.translation.translator import Translator
from seq2seq.tokens import EOS_ID


def test_rows_round_up_to_powers_of_two_then_multiples_of_eight():
    assert [bucketed(count) for count in (1, 2, 3, 5, 8, 9, 16, 17, 63, 64)] == [1, 2, 4, 8, 8, 16, 16, 24, 64, 64]
    assert len({bucketed(count) for count in range(1, 65)}) == 11


def test_extra_rows_copy_the_first_and_the_length_rounds_up():
    padded = padded_ids([[8, EOS_ID], [5, 6, 7, EOS_ID], [9, 10, EOS_ID]])
    assert padded.shape == (4, 8) and padded.dtype == np.int32
    assert padded.tolist() == [[8, EOS_ID, 0, 0, 0, 0, 0, 0], [5, 6, 7, EOS_ID, 0, 0, 0, 0],
                               [9, 10, EOS_ID, 0, 0, 0, 0, 0], [8, EOS_ID, 0, 0, 0, 0, 0, 0]]
    assert padded_ids([list(range(1, 10))] * 8).shape == (8, 16)
    images = np.arange(5 * 2 * 2 * 3, dtype=np.uint8).reshape(5, 2, 2, 3)
    padded_images = padded_rows(images)
    assert padded_images.shape == (8, 2, 2, 3) and (padded_images[:5] == images).all()
    assert (padded_images[5:] == images[0]).all()
    assert padded_rows(images[:4]).shape == (4, 2, 2, 3)


def test_a_sentence_gets_the_same_hypotheses_alone_and_in_a_padded_batch(trained_run):
    """Alone: 1 row of 8 columns; among 11 others: 16 rows (4 of them copies) of 16 columns."""
    translator = Translator.load(trained_run, beam_size=3, n_best=2)
    sentence = "a b c d"
    others = ["p o n m l k j i h", "c d", "e f g", "h i j k l", "m n", "o p q r", "a", "b c", "d e f", "g h i", "j k"]
    shapes = []
    search = translator._searches[True]
    translator._searches[True] = lambda padded: shapes.append(padded.shape) or search(padded)
    alone = translator.translate_with_details([sentence])[0]
    together = translator.translate_with_details(others + [sentence])[-1]
    assert shapes == [(1, 8), (16, 16)], "the batches are padded to their buckets"
    assert [found.text for found in together.hypotheses] == [found.text for found in alone.hypotheses]
    np.testing.assert_allclose([found.score for found in together.hypotheses],
                               [found.score for found in alone.hypotheses], atol=1e-5)
    np.testing.assert_allclose(together.attention, alone.attention, atol=1e-5)
