"""Where a caption looked: attention over the image's grid cells for each word, as in Show, Attend and Tell."""

import numpy as np
from matplotlib.figure import Figure

from seq2seq.errors import Seq2SeqError
from seq2seq.plotting import shorten

OVERLAY_COLUMNS = 5


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
    figure.suptitle(shorten(hypothesis.text), fontsize=10)
    return figure
