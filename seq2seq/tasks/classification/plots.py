"""A classifier's pictures: the confusion matrix of an evaluation, and the pooling weights over one text."""

import numpy as np
from matplotlib.figure import Figure

from seq2seq.errors import Seq2SeqError
from seq2seq.plotting import shorten


def confusion_figure(scores, title="") -> Figure:
    """Gold classes (rows) against predicted ones (columns), for the classes present in either.

    Each cell shows its count; its colour is the share of its row, so that a small class's errors
    show as clearly as a large one's.
    """
    labels = scores["labels"]
    matrix = np.asarray(scores["confusion_matrix"])
    present = [index for index, label in enumerate(labels)
               if scores["per_class"][label]["support"] or scores["per_class"][label]["predicted"]]
    matrix = matrix[np.ix_(present, present)]
    names = [labels[index] for index in present]
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = 0.6 * len(names) + 2.5
    figure = Figure(figsize=(size + 1.0, size), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for row, column in np.ndindex(matrix.shape):
        axes.text(column, row, str(matrix[row, column]), ha="center", va="center", fontsize=8,
                  color="white" if shares[row, column] > 0.5 else "black")
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    axes.set_yticks(range(len(names)), names, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(f"{title}  accuracy {scores['accuracy']:.3f}, macro-F1 {scores['macro_f1']:.3f}".strip(),
                   fontsize=9)
    figure.colorbar(image, ax=axes, shrink=0.8, label="share of the gold class")
    return figure


def pooling_figure(classification) -> Figure:
    """How much each input piece counted in the text's one vector (attention or mean pooling)."""
    if classification.pooling_weights is None:
        raise Seq2SeqError("this classifier pools with the last state (model.pooling: last): it has no weights "
                           "over the pieces to draw")
    weights = np.asarray(classification.pooling_weights)
    figure = Figure(figsize=(max(4.0, 0.3 * len(weights) + 1.5), 3.2), layout="constrained")
    axes = figure.add_subplot()
    axes.bar(range(len(weights)), weights, color="tab:blue")
    axes.set_xticks(range(len(weights)), classification.pieces, rotation=90, fontsize=8)
    axes.set_ylabel("pooling weight")
    guesses = ", ".join(f"{label} {probability:.2f}" for label, probability in classification.top)
    axes.set_title(f"{shorten(classification.text)}\n{guesses}", fontsize=9)
    return figure
