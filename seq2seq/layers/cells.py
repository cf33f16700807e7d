"""The recurrent cell types a config may name, shared by the encoder and the decoder."""

import keras

from seq2seq.layers.recurrent import InputProjectedGRU, InputProjectedLSTM

RNN_LAYERS = {"gru": InputProjectedGRU, "lstm": InputProjectedLSTM, "simple_rnn": keras.layers.SimpleRNN}
RNN_CELLS = {"gru": keras.layers.GRUCell, "lstm": keras.layers.LSTMCell, "simple_rnn": keras.layers.SimpleRNNCell}


def check_cell(cell: str) -> None:
    if cell not in RNN_CELLS:
        raise ValueError(f"unknown cell {cell!r}; use one of {', '.join(RNN_CELLS)}")


def states_per_layer(cell: str) -> int:
    """LSTM layers carry (h, c); GRU and SimpleRNN carry h alone."""
    return 2 if cell == "lstm" else 1
