"""Classifier scores on a hand-made set whose every figure is worked out in the comments."""

import numpy as np
import pytest

from seq2seq.errors import Seq2SeqError
from seq2seq.metrics.classification import (
    accuracy,
    classification_scores,
    confusion_matrix,
    format_classification_scores,
    macro_f1,
    per_class_scores,
    precision_recall_f1,
)

GOLD = ["cat", "cat", "cat", "dog", "dog", "bird", "bird", "bird", "bird", "cat"]
PREDICTED = ["cat", "dog", "cat", "dog", "cat", "bird", "bird", "cat", "fish", "cat"]
# cat:  gold 4 (0 1 2 9), predicted 5 (0 2 4 7 9), correct 3 (0 2 9): P 3/5, R 3/4, F1 2/3
# dog:  gold 2 (3 4), predicted 2 (1 3), correct 1 (3): P 1/2, R 1/2, F1 1/2
# bird: gold 4 (5-8), predicted 2 (5 6), correct 2: P 1, R 1/2, F1 2/3
# fish: gold 0, predicted 1 (8): P 0, R 0, F1 0
# accuracy 6/10; macro-F1 over the 4 classes met = (2/3 + 1/2 + 2/3 + 0) / 4 = 11/24


def test_accuracy_and_per_class_scores_by_hand():
    assert accuracy(GOLD, PREDICTED) == pytest.approx(0.6)
    table = per_class_scores(GOLD, PREDICTED)
    assert list(table) == ["bird", "cat", "dog", "fish"]
    assert table["cat"] == pytest.approx({"precision": 0.6, "recall": 0.75, "f1": 2 / 3, "support": 4, "predicted": 5})
    assert table["dog"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2, "predicted": 2})
    assert table["bird"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 4, "predicted": 2})
    assert table["fish"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 1}


def test_macro_f1_counts_a_class_only_predicted_and_leaves_out_one_absent_from_both():
    assert macro_f1(GOLD, PREDICTED) == pytest.approx(11 / 24)
    labels = ["cat", "dog", "bird", "fish", "horse"]  # horse: neither gold nor predicted
    assert macro_f1(GOLD, PREDICTED, labels) == pytest.approx(11 / 24)  # not (11/6) / 5
    assert per_class_scores(GOLD, PREDICTED, labels)["horse"]["support"] == 0


def test_confusion_matrix_rows_are_gold_columns_predicted():
    matrix = confusion_matrix(GOLD, PREDICTED, ["bird", "cat", "dog", "fish"])
    assert matrix.dtype == np.int64
    assert matrix.tolist() == [[2, 1, 0, 1],   # bird: 5 6 right, 7 as cat, 8 as fish
                               [0, 3, 1, 0],   # cat: 1 as dog
                               [0, 1, 1, 0],   # dog: 4 as cat
                               [0, 0, 0, 0]]


def test_all_scores_at_once_are_json_ready_and_agree():
    scores = classification_scores(GOLD, PREDICTED, ["cat", "dog", "bird", "fish", "horse"])
    assert scores["examples"] == 10
    assert scores["accuracy"] == pytest.approx(0.6) and scores["macro_f1"] == pytest.approx(11 / 24)
    assert scores["labels"] == ["cat", "dog", "bird", "fish", "horse"]
    assert scores["confusion_matrix"][0] == [3, 1, 0, 0, 0]  # cat row, in the given label order
    assert all(type(row["support"]) is int and type(row["f1"]) is float for row in scores["per_class"].values())


def test_the_table_shows_the_classes_met_and_names_the_absent_ones():
    text = format_classification_scores(classification_scores(GOLD, PREDICTED, ["cat", "dog", "bird", "fish", "horse"]))
    lines = text.splitlines()
    assert lines[0] == "accuracy 0.600  macro-F1 0.458 (4 classes, 10 examples)"
    assert lines[1].split() == ["class", "precision", "recall", "F1", "support", "predicted"]
    assert [line.split() for line in lines[2:6]] == [["cat", "0.600", "0.750", "0.667", "4", "5"],
                                                     ["dog", "0.500", "0.500", "0.500", "2", "2"],
                                                     ["bird", "1.000", "0.500", "0.667", "4", "2"],
                                                     ["fish", "0.000", "0.000", "0.000", "0", "1"]]
    assert lines[6] == "absent from gold and predictions, left out of macro-F1: horse"


def test_precision_recall_f1_are_zero_where_undefined():
    assert precision_recall_f1(0, 0, 5) == (0.0, 0.0, 0.0)
    assert precision_recall_f1(0, 3, 0) == (0.0, 0.0, 0.0)
    assert precision_recall_f1(2, 4, 2) == pytest.approx((0.5, 1.0, 2 / 3))


def test_bad_inputs_are_refused_with_a_reason():
    with pytest.raises(Seq2SeqError, match="3 gold labels but 2 predictions"):
        accuracy(["a", "b", "c"], ["a", "b"])
    with pytest.raises(Seq2SeqError, match="nothing to score"):
        classification_scores([], [])
    with pytest.raises(Seq2SeqError, match="'fish' are not among the 3 classes"):
        confusion_matrix(GOLD, PREDICTED, ["bird", "cat", "dog"])
