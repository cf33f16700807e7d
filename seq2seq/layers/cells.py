"""The recurrent cell types a config may name, shared by every encoder, decoder and language model.

A cell is named by a string ("gru", "lstm", "simple_rnn", "layer_norm_gru", "layer_norm_lstm"), or, for an MTRNN, by
{"type": "mtrnn", "timescales": [[tau, share], ...]}: the layers keep that value in their config, so a
`.keras` file rebuilds the same cell. `cell_setting` makes it from a run config's `model:` section.
"""

import keras

from seq2seq.layers.layer_norm_rnn import LayerNormGRU, LayerNormGRUCell, LayerNormLSTM, LayerNormLSTMCell
from seq2seq.layers.mtrnn import MTRNN, MTRNNCell, check_timescales
from seq2seq.layers.recurrent import InputProjectedGRU, InputProjectedLSTM

RNN_LAYERS = {"gru": InputProjectedGRU, "lstm": InputProjectedLSTM, "simple_rnn": keras.layers.SimpleRNN,
              "mtrnn": MTRNN, "layer_norm_gru": LayerNormGRU, "layer_norm_lstm": LayerNormLSTM}
RNN_CELLS = {"gru": keras.layers.GRUCell, "lstm": keras.layers.LSTMCell, "simple_rnn": keras.layers.SimpleRNNCell,
             "mtrnn": MTRNNCell, "layer_norm_gru": LayerNormGRUCell, "layer_norm_lstm": LayerNormLSTMCell}
TWO_STATE_CELLS = ("lstm", "layer_norm_lstm")


def cell_type(cell) -> str:
    return cell["type"] if isinstance(cell, dict) else cell


def check_cell(cell) -> None:
    if cell_type(cell) not in RNN_CELLS:
        raise ValueError(f"unknown cell {cell!r}; use one of {', '.join(RNN_CELLS)}")
    if isinstance(cell, dict):
        check_timescales(cell.get("timescales"))


def _options(cell) -> dict:
    return {"timescales": cell["timescales"]} if isinstance(cell, dict) else {}


def recurrent_layer(cell, units, **kwargs):
    """A whole-sequence layer of `cell` (e.g. return_sequences=True, return_state=True, name=...)."""
    return RNN_LAYERS[cell_type(cell)](units, **_options(cell), **kwargs)


def recurrent_cell(cell, units, **kwargs):
    """One step of `cell`, for decoders that run their own loop."""
    return RNN_CELLS[cell_type(cell)](units, **_options(cell), **kwargs)


def states_per_layer(cell) -> int:
    """LSTM layers carry (h, c); GRU, SimpleRNN and MTRNN (its potentials) one state."""
    return 2 if cell_type(cell) in TWO_STATE_CELLS else 1


def cell_setting(model_config):
    """The cell a run config's `model:` names, as layers take it."""
    if model_config.cell == "mtrnn":
        return {"type": "mtrnn", "timescales": [list(group) for group in model_config.mtrnn_timescales]}
    return model_config.cell
