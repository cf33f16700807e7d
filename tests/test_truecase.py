"""Truecasing labels: words and labels of real verses, the round trip back to the text, and the split loader."""

import subprocess

import pytest

from bible_corpus_stub import write_bible_corpus
from seq2seq.data.readers import SkipCounter
from seq2seq.data.truecase import TruecaseLabel, load_truecase_split, parse_label, restore, words_and_labels
from seq2seq.errors import Seq2SeqError


def test_a_spanish_verse_opening_question_mark_is_part_of_the_next_words_label():
    words, labels = words_and_labels(
        "Y le dijo: Amigo, ¿cómo entraste aquí no teniendo vestido de boda? Mas él cerró la boca.")
    assert words == ["y", "le", "dijo", "amigo", "cómo", "entraste", "aquí", "no", "teniendo", "vestido", "de",
                     "boda", "mas", "él", "cerró", "la", "boca"]
    assert labels == ["cap|", "lower|", "lower|:", "cap|,", "¿|lower|", "lower|", "lower|", "lower|", "lower|",
                      "lower|", "lower|", "lower|?", "cap|", "lower|", "lower|", "lower|", "lower|."]


def test_an_english_verse_with_quotes_keeps_them_around_their_words():
    words, labels = words_and_labels('He said, "Swear to me," and he swore to him.')
    assert words == ["he", "said", "swear", "to", "me", "and", "he", "swore", "to", "him"]
    assert labels == ["cap|", "lower|,", '"|cap|', "lower|", 'lower|,"', "lower|", "lower|", "lower|", "lower|",
                      "lower|."]


@pytest.mark.parametrize("word, label", [
    ("TEKEL:", "upper|:"),
    ("I", "cap|"),  # a single capital is a capitalised word, not an upper-case one
    ("Tubal-Caín,", "mixed|,"),
    ("bed's", "lower|"),  # an apostrophe or hyphen inside a word is spelling, not punctuation
    ("fathers'", "lower|'"),  # ... but after its last letter it is a mark
    ("wedding-clothing?'", "lower|?'"),
    ("600th", "lower|"),  # no cased letter: lowercasing leaves it alone
    ("(¿no", "(¿|lower|"),
])
def test_case_and_marks_of_single_words(word, label):
    assert words_and_labels(word)[1] == [label]


def test_free_standing_dashes_belong_to_a_neighbouring_word_with_their_space():
    words, labels = words_and_labels("-- because they said, Yahweh -- how long?")
    assert words == ["because", "they", "said", "yahweh", "how", "long"]
    assert labels == ["-- |lower|", "lower|", "lower|,", "cap| --", "lower|", "lower|?"]


ROUND_TRIPS = [
    "Y tuvo miedo, y dijo: ¡Cuán terrible es este lugar! No es otra cosa que casa de Dios, y puerta del cielo.",
    "TEKEL: Pesado has sido en balanza, y fuiste hallado falto.",
    "He aquí ahora esta ciudad está cerca para huir allá, la cual es pequeña; escaparé ahora allá, "
    "(¿no es ella pequeña?) y vivirá mi alma.",
    "Y Zilla también parió á Tubal-Caín, acicalador de toda obra de metal.",
    "He said, \"Swear to me,\" and he swore to him. Israel bowed himself on the bed's head.",
    "and he said to him, 'Friend, how did you come in here not having wedding-clothing?' He was speechless.",
    "Moses and Aaron numbered the sons of the Kohathites by their families, and by their fathers' houses,",
    "-- the Spirit of truth, whom the world can't receive; for it doesn't see him, neither knows him.",
    "the finely worked garments -- the holy garments for Aaron the priest -- the garments of his sons,",
]


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_restore_gives_the_verse_back(text):
    assert restore(*words_and_labels(text)) == text


def test_restore_writes_single_spaces():
    assert restore(*words_and_labels("  Hola,\t mundo.  ")) == "Hola, mundo."


def test_a_mixed_word_comes_back_with_every_hyphen_joined_part_capitalised():
    # the documented limit: right for Tubal-Caín, wrong for the one Spanish verse with El-Beth-el
    assert restore(*words_and_labels("llamó el lugar El-Beth-el;")) == "llamó el lugar El-Beth-El;"


def test_labels_parse_into_their_parts_and_back():
    assert parse_label("cap|,") == TruecaseLabel("", "cap", ",")
    assert parse_label('"|upper|."') == TruecaseLabel('"', "upper", '."')
    assert parse_label("-- |lower|") == TruecaseLabel("-- ", "lower", "")
    assert parse_label("||mixed||") == TruecaseLabel("|", "mixed", "|")  # a pipe among the marks
    assert str(TruecaseLabel("¿", "lower", "")) == "¿|lower|" and str(TruecaseLabel("", "cap", "")) == "cap|"


@pytest.mark.parametrize("label", ["Cap|,", "title|", "lower", "B-PER"])
def test_a_label_without_a_known_case_is_refused(label):
    with pytest.raises(Seq2SeqError, match="not a truecase label"):
        parse_label(label)


def test_restore_needs_one_label_per_word():
    with pytest.raises(Seq2SeqError, match="2 words but 1 labels"):
        restore(["hola", "mundo"], ["cap|"])


def test_a_split_is_read_from_the_built_corpus(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: pytest.fail("nothing may be downloaded"))
    write_bible_corpus(tmp_path, {
        (8, 1, 16): {"es": "Y Ruth respondió: No me ruegues que te deje.", "en": "Ruth said, \"Don't go.\""},
        (45, 1, 1): {"es": "Pablo, siervo de Jesucristo."},
    })
    skips = SkipCounter()
    spanish = load_truecase_split("test", "es", tmp_path)
    english = load_truecase_split("test", "en", tmp_path, skips)
    assert spanish.tokens == [["y", "ruth", "respondió", "no", "me", "ruegues", "que", "te", "deje"],
                              ["pablo", "siervo", "de", "jesucristo"]]
    assert spanish.tags[1] == ["cap|,", "lower|", "lower|", "cap|."]
    assert english.tokens == [["ruth", "said", "don't", "go"]]
    assert english.tags == [["cap|", "lower|,", '"|cap|', 'lower|."']]
    assert english.source.endswith("test.en") and skips.total == 1
