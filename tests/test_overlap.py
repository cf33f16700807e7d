"""The near-duplicate measure the Bible corpus's manifest reports."""

from seq2seq.data.overlap import near_duplicates, word_ngrams


def test_word_ngrams_are_lowercased_and_ignore_punctuation():
    assert word_ngrams("And God said, Let there") == {("and", "god", "said", "let"), ("god", "said", "let", "there")}
    assert word_ngrams("Too short here") == set()


def test_half_of_the_ngrams_in_one_training_sentence_is_a_near_duplicate():
    training = ["in the last days the mountain of the house shall be established",
                "the mountain of the house of the lord",
                "the lord is my shepherd i shall not want"]
    held_out = [
        "in the last days the mountain of the house shall be raised up high",  # 8 of 10 from one verse
        "the lord is my shepherd and my light forever and ever amen",  # 3 of 9: not enough
        "the mountain of the house of the lord is my shepherd i shall",  # 5 of 9 from one verse
        "one two three",  # no 4-grams
    ]
    assert near_duplicates(held_out, training) == [0, 2]
    assert near_duplicates(held_out, training, shared_fraction=0.6) == [0]
    assert near_duplicates(held_out, []) == []
