"""Where a translation looked: a heatmap of attention, output pieces against source pieces."""

import numpy as np
from matplotlib.figure import Figure

from seq2seq.errors import Seq2SeqError
from seq2seq.plotting import shorten


def attention_figure(translation, rank=0) -> Figure:
    """Heatmap of one hypothesis's attention: a row per target piece, a column per source piece.

    Each row is where the decoder looked while writing that piece (rows sum to 1).
    """
    hypothesis = translation.hypotheses[rank]
    if hypothesis.attention is None:
        raise Seq2SeqError("this translation has no attention weights: use translate_with_details(..., "
                           "with_attention=True)")
    weights = np.asarray(hypothesis.attention)
    rows, columns = weights.shape
    figure = Figure(figsize=(max(4.0, 0.32 * columns + 2.0), max(3.0, 0.32 * rows + 1.5)), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    axes.set_xticks(range(columns), translation.source_pieces, rotation=90, fontsize=8)
    axes.set_yticks(range(rows), hypothesis.target_pieces, fontsize=8)
    axes.set_xlabel("source pieces")
    axes.set_ylabel("output pieces")
    axes.set_title(shorten(hypothesis.text), fontsize=9)
    figure.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    return figure
