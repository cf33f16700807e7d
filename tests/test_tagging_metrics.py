"""Tagger scores: token accuracy, conlleval's span F1 and its edge cases, and the truecasing scores."""

import pytest

from seq2seq.errors import Seq2SeqError
from seq2seq.metrics.tagging import (
    bio_span_scores,
    bio_spans,
    case_accuracy,
    is_bio,
    per_label_scores,
    punctuation_scores,
    token_accuracy,
)

# Five sentences; spans as (start, end exclusive). conlleval.pl (2004-01-26) prints for this set:
# "processed 18 tokens with 9 phrases; found: 8 phrases; correct: 5. accuracy: 66.67%; precision: 62.50%;
#  recall: 55.56%; FB1: 58.82", and LOC 100.00/50.00/66.67, MISC 0/0/0, ORG 0/0/0, PER 100/100/100.
GOLD = [
    ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG"],  # PER 0-2, LOC 3-4, ORG 5-7
    ["O", "I-MISC", "I-MISC", "B-MISC", "O"],  # IOB1: I after O opens MISC 1-3, B after I opens MISC 3-4
    ["B-LOC", "I-PER"],  # I of another type opens a span: LOC 0-1, PER 1-2
    ["O", "B-PER"],  # PER 1-2 ends with its sentence ...
    ["I-PER", "O"],  # ... and this I-PER opens a new one, PER 0-1
]
PREDICTED = [
    ["B-PER", "I-PER", "O", "B-ORG", "O", "B-ORG", "O"],  # PER 0-2 right; ORG 3-4 and ORG 5-6 wrong
    ["O", "B-MISC", "I-MISC", "I-MISC", "O"],  # MISC 1-4: covers both gold spans, matches neither
    ["B-LOC", "B-PER"],  # LOC 0-1, PER 1-2: both right
    ["O", "B-PER"],  # right
    ["B-PER", "O"],  # right
]
# gold spans 3 + 2 + 2 + 1 + 1 = 9, predicted 3 + 1 + 2 + 1 + 1 = 8, correct 1 + 0 + 2 + 1 + 1 = 5
# precision 5/8, recall 5/9, F1 = 2 * 5 / (8 + 9) = 10/17; tokens right 5 + 3 + 1 + 2 + 1 = 12 of 18


def test_span_scores_match_conlleval_by_hand():
    scores = bio_span_scores(GOLD, PREDICTED)
    assert (scores["gold_spans"], scores["predicted_spans"], scores["correct_spans"]) == (9, 8, 5)
    assert scores["precision"] == pytest.approx(5 / 8)
    assert scores["recall"] == pytest.approx(5 / 9)
    assert scores["f1"] == pytest.approx(10 / 17)
    per_type = {kind: round(row["f1"], 4) for kind, row in scores["per_type"].items()}
    assert per_type == {"LOC": 0.6667, "MISC": 0.0, "ORG": 0.0, "PER": 1.0}
    assert scores["per_type"]["ORG"]["predicted_spans"] == 2 and scores["per_type"]["MISC"]["gold_spans"] == 2


def test_token_accuracy_and_per_label_scores():
    assert token_accuracy(GOLD, PREDICTED) == pytest.approx(12 / 18)
    table = per_label_scores(GOLD, PREDICTED)
    # O: gold 6, predicted 7 (sentence 1's I-ORG became O), all 6 gold O right: P 6/7, R 1
    assert table["O"] == pytest.approx({"precision": 6 / 7, "recall": 1.0, "f1": 12 / 13, "support": 6,
                                        "predicted": 7})
    assert table["I-ORG"]["recall"] == 0.0


@pytest.mark.parametrize("tags, spans", [
    (["B-A", "I-A", "I-A"], [(0, 3, "A")]),
    (["B-A", "B-A"], [(0, 1, "A"), (1, 2, "A")]),  # B always opens a span
    (["I-A", "I-A", "O", "I-A"], [(0, 2, "A"), (3, 4, "A")]),  # I at the start or after O opens one
    (["B-A", "I-B", "I-A"], [(0, 1, "A"), (1, 2, "B"), (2, 3, "A")]),  # a change of type opens one
    (["B-I-A", "I-I-A"], [(0, 2, "I-A")]),  # the type is everything after the first hyphen
    (["O", "O"], []),
    ([], []),
])
def test_spans_are_read_as_conlleval_reads_them(tags, spans):
    assert bio_spans(tags) == spans


def test_no_predicted_spans_scores_zero_not_an_error():
    scores = bio_span_scores([["B-PER", "O"]], [["O", "O"]])
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)
    assert scores["per_type"]["PER"]["gold_spans"] == 1


@pytest.mark.parametrize("sentences, expected", [
    ([["O", "B-PER", "I-PER"], ["B-LOC"]], True),
    ([["I-PER", "O"]], True),  # IOB1 is BIO for conlleval
    ([["O", "O"], ["O"]], False),  # nothing but O says nothing about the scheme
    ([["B-PER", "E-PER"], ["S-LOC"]], False),  # IOBES
    ([["NOUN", "VERB"]], False),  # part-of-speech tags
    ([["B-", "O"]], False),  # a B without a type
])
def test_bio_detection(sentences, expected):
    assert is_bio(sentences) is expected


def test_span_scores_refuse_tags_that_are_not_bio():
    with pytest.raises(Seq2SeqError, match="predicted tag 'E-PER' is not BIO"):
        bio_span_scores([["B-PER", "I-PER"]], [["B-PER", "E-PER"]])


def test_sentences_must_pair_up():
    with pytest.raises(Seq2SeqError, match="2 gold sentences but 1 predicted"):
        token_accuracy([["O"], ["O"]], [["O"]])
    with pytest.raises(Seq2SeqError, match="sentence 2 has 2 gold tags but 1 predicted"):
        bio_span_scores([["O"], ["B-A", "O"]], [["O"], ["B-A"]])


TRUECASE_GOLD = [["cap|", "lower|,", "¿|lower|", "lower|?"], ["upper|:", "cap|."]]
TRUECASE_PREDICTED = [["cap|,", "lower|,", "lower|", "lower|."], ["cap|:", "cap|."]]
# cases right: cap lower lower lower, cap (not upper: wrong), cap -> 5 of 6; the lost "¿" is not a case error
# marks after words: gold , ? : . (4); predicted , , . : . (5); right: the second word's ",", ":" and "." -> 3
# punctuation precision 3/5, recall 3/4, F1 2/3; whole labels right: "lower|," and "cap|." -> 2 of 6


def test_truecase_scores_by_hand():
    assert case_accuracy(TRUECASE_GOLD, TRUECASE_PREDICTED) == pytest.approx(5 / 6)
    scores = punctuation_scores(TRUECASE_GOLD, TRUECASE_PREDICTED)
    assert (scores["gold_marks"], scores["predicted_marks"], scores["correct_marks"]) == (4, 5, 3)
    assert (scores["precision"], scores["recall"], scores["f1"]) == pytest.approx((0.6, 0.75, 2 / 3))
    assert token_accuracy(TRUECASE_GOLD, TRUECASE_PREDICTED) == pytest.approx(2 / 6)


def test_a_mark_must_be_the_same_string_to_count():
    scores = punctuation_scores([['lower|."']], [["lower|."]])  # a closing quote lost
    assert (scores["correct_marks"], scores["f1"]) == (0, 0.0)
