"""A language model's picture: what it expects next at each point of a text ("h", "ha", "hap", "happ"...)."""

import numpy as np
from matplotlib.figure import Figure

from seq2seq.tokens import EOS_ID


def next_piece_figure(language_model, text, top=6) -> Figure:
    """One row per prefix of `text` (the empty one first): the probabilities of the pieces that are among
    the `top` most likely after some prefix, with the piece that really came next outlined."""
    pieces, probabilities = language_model.next_piece_probabilities(text)
    tokenizer = language_model.tokenizer
    columns = sorted({int(index) for row in probabilities for index in np.argsort(row)[::-1][:top]})
    true_next = [*tokenizer.encode([text])[0], EOS_ID]
    for index in true_next:
        if index not in columns:
            columns.append(index)
    names = [_readable(name) for name in tokenizer.id_to_piece(columns)]
    prefixes = ["(line start)", *(_readable("".join(pieces[:count])) for count in range(1, len(pieces) + 1))]
    shown = probabilities[:, columns]
    figure = Figure(figsize=(0.45 * len(columns) + 2.5, 0.4 * len(prefixes) + 1.5), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(shown, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    for row, index in enumerate(true_next):
        column = columns.index(index)
        axes.add_patch(_outline(column, row))
        axes.text(column, row, f"{shown[row, column]:.2f}", ha="center", va="center", fontsize=7,
                  color="white" if shown[row, column] < 0.5 else "black")
    axes.set_xticks(range(len(columns)), names, fontsize=8)
    axes.set_yticks(range(len(prefixes)), prefixes, fontsize=8)
    axes.set_xlabel("next piece (outlined: the one that came)")
    axes.set_ylabel("after")
    figure.colorbar(image, ax=axes, label="probability")
    figure.suptitle(f"next-piece probabilities along {text!r}")
    return figure


def _readable(piece) -> str:
    return {"▁": "␣", "</s>": "⏎"}.get(piece, piece.replace("▁", "␣"))


def _outline(column, row):
    from matplotlib.patches import Rectangle

    return Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.5)
