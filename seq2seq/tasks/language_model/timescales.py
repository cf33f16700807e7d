"""What an MTRNN language model's slow units carry: how long a change in the text still moves each group.

Read a text twice, once as written and once with one piece changed, and measure after every later
piece how far apart each group's outputs are (the mean absolute difference of its units' tanh outputs).
A fast group forgets the change within a few pieces; a slow group (large tau) still differs many
pieces later. This is the picture Yamashita and Tani draw of their network's timescales.
"""

import numpy as np
from keras import ops
from matplotlib.figure import Figure

from seq2seq.errors import Seq2SeqError
from seq2seq.layers.cells import cell_type, states_per_layer
from seq2seq.tokens import EOS_ID


def group_differences(language_model, text, position, replacement) -> dict:
    """-> {"groups": [(layer, tau)], "pieces": the text's pieces from `position` on, "differences": (pieces, groups)},
    row i of the differences being after reading the i-th of those pieces.

    The piece at `position` (0-based, among the text's pieces) is replaced by the piece `replacement`.
    """
    model = language_model.model
    if cell_type(model.cell) != "mtrnn":
        raise Seq2SeqError(f"group differences need an MTRNN language model (model.cell: mtrnn); this run's cell is "
                           f"{cell_type(model.cell)}")
    tokenizer = language_model.tokenizer
    ids = tokenizer.encode([text])[0]
    if not 0 <= position < len(ids):
        raise Seq2SeqError(f"position {position} is outside the text's {len(ids)} pieces")
    changed = list(ids)
    changed[position] = tokenizer.encode([replacement])[0][-1]
    outputs = [_unit_outputs(model, [EOS_ID, *sequence]) for sequence in (ids, changed)]
    groups, columns = [], []
    for layer_index, layer in enumerate(model.recurrent_layers):
        for tau, units in layer.cell.group_slices():
            groups.append((layer_index, tau))
            columns.append(np.abs(outputs[0][layer_index][:, units] - outputs[1][layer_index][:, units]).mean(axis=1))
    after = slice(position + 1, len(ids) + 1)  # output i is read after piece i - 1 (0: after the first EOS)
    return {"groups": groups, "pieces": tokenizer.id_to_piece(ids[position:]),
            "differences": np.stack(columns, axis=1)[after]}


def _unit_outputs(model, ids) -> list:
    """Per layer, (len(ids), units): each layer's outputs after reading each piece, one step at a time."""
    per_layer = states_per_layer(model.cell)
    states = model.zero_states(1)
    outputs = [[] for _ in model.recurrent_layers]
    for piece in ids:
        _, states, _ = model.step(ops.convert_to_tensor([piece], "int32"), states, None)
        for index in range(len(model.recurrent_layers)):
            outputs[index].append(np.tanh(np.asarray(states[index * per_layer])[0]))
    return [np.stack(layer_outputs) for layer_outputs in outputs]


def timescale_figure(result, title="") -> Figure:
    """One line per (layer, group): how far apart its outputs are, piece by piece after the change."""
    figure = Figure(figsize=(8.0, 4.0), layout="constrained")
    axes = figure.add_subplot()
    steps = np.arange(len(result["differences"]))
    for column, (layer, tau) in enumerate(result["groups"]):
        axes.plot(steps, result["differences"][:, column], marker=".", label=f"layer {layer}, tau {tau:g}")
    axes.set_xticks(steps, [piece.replace("▁", "␣") for piece in result["pieces"][:len(steps)]], fontsize=7)
    axes.set_xlabel("the piece just read (the first one is the changed piece)")
    axes.set_ylabel("mean |difference| of the group's outputs")
    axes.set_yscale("log")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.suptitle(title or "how long a changed piece moves each MTRNN group")
    return figure
