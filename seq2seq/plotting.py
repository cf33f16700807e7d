"""Pictures of a run: attention heatmaps of translations, attention over the image for each word of
a caption, and training curves from `metrics.csv`.

Figures are built with matplotlib's object API (no global pyplot state), so notebooks can show
them and `save_figure` can write them from any thread or process without a display.
"""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from seq2seq.errors import Seq2SeqError

# Curves drawn from metrics.csv when present: (column, label, panel).
CURVES = (("loss", "training loss (label-smoothed)", 0), ("val_loss", "dev loss (label-smoothed)", 0),
          ("xent", "training cross-entropy", 0), ("val_xent", "dev cross-entropy", 0),
          ("dev_bleu", "dev BLEU", 1), ("dev_chrf", "dev chrF", 1))
OVERLAY_COLUMNS = 5


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
    axes.set_title(_shorten(hypothesis.text), fontsize=9)
    figure.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    return figure


def caption_attention_figure(caption, rank=0) -> Figure:
    """The image, then one panel per caption piece with that step's attention over the grid cells
    laid over the image (brighter: more attention), as in Show, Attend and Tell's figures."""
    hypothesis = caption.hypotheses[rank]
    if hypothesis.attention is None:
        raise Seq2SeqError("this caption has no attention weights: use caption_with_details(..., with_attention=True)")
    rows, columns = caption.grid_shape
    maps = np.asarray(hypothesis.attention).reshape(-1, rows, columns)
    panels = len(maps) + 1
    grid_rows = -(-panels // OVERLAY_COLUMNS)
    figure = Figure(figsize=(2.0 * min(panels, OVERLAY_COLUMNS), 2.2 * grid_rows + 0.4), layout="constrained")
    axes = figure.subplots(grid_rows, OVERLAY_COLUMNS, squeeze=False).ravel()
    size = caption.pixels.shape[0]
    for index, panel in enumerate(axes):
        panel.set_axis_off()
        if index >= panels:
            continue
        panel.imshow(caption.pixels)
        if index == 0:
            panel.set_title("image", fontsize=9)
            continue
        # Each cell's weight stretched over the pixels it summarises; scaled so the peak is visible.
        weights = maps[index - 1]
        panel.imshow(weights / max(float(weights.max()), 1e-9), cmap="gray", alpha=0.6, vmin=0.0, vmax=1.0,
                     extent=(-0.5, size - 0.5, size - 0.5, -0.5), interpolation="bilinear")
        panel.set_title(f"{hypothesis.target_pieces[index - 1]} ({weights.max():.2f})", fontsize=9)
    figure.suptitle(_shorten(hypothesis.text), fontsize=10)
    return figure


def training_curves_figure(run_dir) -> Figure:
    """Losses (top) and dev BLEU/chrF (bottom) per epoch, from the run's `metrics.csv`."""
    from seq2seq.run_dir import RunDirectory

    run = RunDirectory(run_dir)
    run.require(run.metrics_file, "no epoch has finished yet")
    rows = run.read_metrics()
    epochs = [int(row["epoch"]) for row in rows]
    figure = Figure(figsize=(7.0, 6.0), layout="constrained")
    panels = figure.subplots(2, 1, sharex=True)
    for column, label, panel in CURVES:
        if rows and column in rows[0] and all(row[column] for row in rows):
            panels[panel].plot(epochs, [float(row[column]) for row in rows], marker="o", label=label)
    panels[0].set_ylabel("nats per token")
    panels[1].set_ylabel("score")
    panels[1].set_xlabel("epoch")
    for panel in panels:
        panel.grid(alpha=0.3)
        panel.legend(fontsize=8)
    figure.suptitle(f"{run.path.name}: training curves")
    return figure


def save_figure(figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path


def _shorten(text, limit=80):
    return text if len(text) <= limit else text[:limit - 1] + "…"
