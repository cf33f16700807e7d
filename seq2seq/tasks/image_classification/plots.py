"""An image classifier's picture: the image, and where its attention pooling looked (the cells' weights)."""

import numpy as np
from matplotlib.figure import Figure


def grid_attention_figure(result) -> Figure:
    """The image as the model saw it, then the same with each grid cell's pooling weight laid over the
    pixels it summarises (brighter: counted more), titled with the top labels."""
    figure = Figure(figsize=(6.0, 3.4), layout="constrained")
    plain, looked = figure.subplots(1, 2)
    size = result.pixels.shape[0]
    for panel in (plain, looked):
        panel.imshow(result.pixels)
        panel.set_axis_off()
    weights = np.asarray(result.attention)
    looked.imshow(weights / max(float(weights.max()), 1e-9), cmap="gray", alpha=0.6, vmin=0.0, vmax=1.0,
                  extent=(-0.5, size - 0.5, size - 0.5, -0.5), interpolation="bilinear")
    plain.set_title("image", fontsize=9)
    looked.set_title(f"where it looked (peak {weights.max():.2f})", fontsize=9)
    figure.suptitle("  ".join(f"{label} {probability:.2f}" for label, probability in result.top), fontsize=10)
    return figure
