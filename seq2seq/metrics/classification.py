"""Scores of a classifier: accuracy, macro-F1, per-class precision/recall/F1/support, confusion matrix.

Definitions (those of scikit-learn's classification_report, with zero_division=0):
- precision of a class = correct predictions of it / predictions of it, 0 if it is never predicted;
  recall = correct predictions of it / gold examples of it (its support), 0 if it has none;
  F1 = their harmonic mean, 0 if both are 0.
- macro-F1 = the unweighted mean of the per-class F1 over the classes present in the gold labels or in
  the predictions. A class absent from both (a genre whose books are all in training, on the test
  split) says nothing about the classifier and is left out; a class only predicted counts, with F1 0,
  since predicting it was wrong every time.
"""

import numpy as np

from seq2seq.errors import Seq2SeqError


def accuracy(gold, predicted) -> float:
    """The fraction of examples whose predicted label is the gold one."""
    gold, predicted = _checked(gold, predicted)
    return sum(g == p for g, p in zip(gold, predicted)) / len(gold)


def confusion_matrix(gold, predicted, labels) -> np.ndarray:
    """matrix[i, j] = examples of gold class labels[i] predicted as labels[j] (int64)."""
    gold, predicted = _checked(gold, predicted)
    index = {label: position for position, label in enumerate(labels)}
    unknown = sorted((set(gold) | set(predicted)) - set(index))
    if unknown:
        raise Seq2SeqError(f"labels {', '.join(map(repr, unknown[:5]))} are not among the {len(labels)} classes "
                           f"given: {', '.join(map(str, labels))}")
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(matrix, ([index[label] for label in gold], [index[label] for label in predicted]), 1)
    return matrix


def precision_recall_f1(correct: int, predicted: int, gold: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts of correct, predicted and gold items; 0 where undefined."""
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def per_class_scores(gold, predicted, labels=None) -> dict[str, dict]:
    """{label: {precision, recall, f1, support, predicted}} for every class, in the order of `labels`.

    `labels` defaults to the sorted labels met in gold or predicted; giving them fixes the table's order
    and lists classes absent from both (support 0, predicted 0).
    """
    gold, predicted = _checked(gold, predicted)
    labels = _labels(gold, predicted, labels)
    return _per_class(confusion_matrix(gold, predicted, labels), labels)


def macro_f1(gold, predicted, labels=None) -> float:
    """The mean per-class F1 over the classes present in gold or predicted (see the module docstring)."""
    return _macro_f1(per_class_scores(gold, predicted, labels))


def classification_scores(gold, predicted, labels=None) -> dict:
    """Every score at once, JSON-ready: accuracy, macro_f1, per_class, labels, confusion_matrix (rows gold)."""
    gold, predicted = _checked(gold, predicted)
    labels = _labels(gold, predicted, labels)
    matrix = confusion_matrix(gold, predicted, labels)
    per_class = _per_class(matrix, labels)
    return {"examples": int(matrix.sum()), "accuracy": float(np.trace(matrix) / matrix.sum()),
            "macro_f1": _macro_f1(per_class), "per_class": per_class, "labels": list(labels),
            "confusion_matrix": matrix.tolist()}


def format_classification_scores(scores: dict) -> str:
    """A text table of `classification_scores`: the overall scores, then one row per class present."""
    present = {label: row for label, row in scores["per_class"].items() if row["support"] or row["predicted"]}
    absent = [label for label in scores["per_class"] if label not in present]
    width = max(len("class"), *map(len, present))
    lines = [f"accuracy {scores['accuracy']:.3f}  macro-F1 {scores['macro_f1']:.3f} "
             f"({len(present)} classes, {scores['examples']} examples)",
             f"{'class':<{width}}  precision  recall     F1  support  predicted"]
    lines += [f"{label:<{width}}  {row['precision']:>9.3f}  {row['recall']:>6.3f}  {row['f1']:>5.3f}  "
              f"{row['support']:>7}  {row['predicted']:>9}" for label, row in present.items()]
    if absent:
        lines.append(f"absent from gold and predictions, left out of macro-F1: {', '.join(absent)}")
    return "\n".join(lines)


def _checked(gold, predicted) -> tuple[list, list]:
    gold, predicted = list(gold), list(predicted)
    if len(gold) != len(predicted):
        raise Seq2SeqError(f"{len(gold)} gold labels but {len(predicted)} predictions; they must pair up")
    if not gold:
        raise Seq2SeqError("nothing to score: no gold labels")
    return gold, predicted


def _labels(gold, predicted, labels) -> list:
    return list(labels) if labels is not None else sorted(set(gold) | set(predicted))


def _per_class(matrix: np.ndarray, labels) -> dict[str, dict]:
    correct, predicted, support = np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1)
    table = {}
    for position, label in enumerate(labels):
        precision, recall, f1 = precision_recall_f1(correct[position], predicted[position], support[position])
        table[label] = {"precision": float(precision), "recall": float(recall), "f1": float(f1),
                        "support": int(support[position]), "predicted": int(predicted[position])}
    return table


def _macro_f1(per_class: dict[str, dict]) -> float:
    present = [row["f1"] for row in per_class.values() if row["support"] or row["predicted"]]
    return float(np.mean(present))
