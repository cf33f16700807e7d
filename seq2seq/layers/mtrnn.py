"""The Multiple Timescales RNN cell (MTRNN; Yamashita and Tani 2008): leaky-integrator units in groups.

Each unit keeps an internal potential u and outputs y = tanh(u). A unit of time constant tau moves its
potential only 1/tau of the way towards its new drive each step:

    u_t = (1 - 1/tau) * u_{t-1} + (1/tau) * (W x_t + R y_{t-1} + b)

so tau = 1 is a plain tanh RNN, and a large tau makes a slow unit that integrates over many steps: fast
units follow the characters, slow ones can hold what a word or a phrase was about. `timescales` are
groups [tau, share]: the units are split among the groups by their shares, in order (fast first, say).
Every group is connected to every other through R, as in the original model's fully connected form.
The state is u alone, so the cell fits wherever a one-state cell (GRU, SimpleRNN) does.
"""

import keras
from keras import ops

DEFAULT_TIMESCALES = ((2.0, 0.5), (8.0, 0.25), (32.0, 0.25))


def group_sizes(units, timescales) -> list:
    """Units per group: each group's share of `units`, rounded, the last taking what remains."""
    sizes = [int(round(units * share)) for _, share in timescales[:-1]]
    sizes.append(units - sum(sizes))
    if any(size < 1 for size in sizes):
        raise ValueError(f"MTRNN timescales {list(map(list, timescales))} leave a group of {units} units empty; "
                         "give each group a larger share or the layer more units")
    return sizes


def check_timescales(timescales):
    """Raise ValueError unless `timescales` is a non-empty list of [tau >= 1, share > 0] pairs."""
    if not timescales or not all(isinstance(group, (list, tuple)) and len(group) == 2 for group in timescales):
        raise ValueError(f"MTRNN timescales must be a list of [tau, share] pairs, got {timescales!r}")
    for tau, share in timescales:
        if isinstance(tau, bool) or isinstance(share, bool) or not (float(tau) >= 1 and float(share) > 0):
            raise ValueError(f"each MTRNN group needs a time constant tau >= 1 and a share > 0, got [{tau}, {share}]")


@keras.saving.register_keras_serializable(package="seq2seq")
class MTRNNCell(keras.layers.Layer):
    def __init__(self, units, timescales=DEFAULT_TIMESCALES, **kwargs):
        super().__init__(**kwargs)
        check_timescales(timescales)
        self.units = units
        self.timescales = [[float(tau), float(share)] for tau, share in timescales]
        self.group_sizes = group_sizes(units, self.timescales)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="orthogonal",
                                                name="recurrent_kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.built = True

    @property
    def rates(self):
        """1/tau for each unit, (units,): how far its potential moves towards its drive per step."""
        return ops.concatenate([ops.full((size,), 1.0 / tau) for (tau, _), size in
                                zip(self.timescales, self.group_sizes)])

    def call(self, inputs, states, training=False):
        potential = states[0] if isinstance(states, (list, tuple)) else states
        drive = (ops.matmul(inputs, ops.cast(self.kernel, self.compute_dtype))
                 + ops.matmul(ops.tanh(potential), ops.cast(self.recurrent_kernel, self.compute_dtype))
                 + ops.cast(self.bias, self.compute_dtype))
        potential = potential + ops.cast(self.rates, self.compute_dtype) * (drive - potential)
        output = ops.tanh(potential)
        return output, [potential] if isinstance(states, (list, tuple)) else potential

    def group_slices(self) -> list:
        """(tau, slice of the units) per group, in order."""
        bounds, start = [], 0
        for (tau, _), size in zip(self.timescales, self.group_sizes):
            bounds.append((tau, slice(start, start + size)))
            start += size
        return bounds

    def get_config(self):
        return {**super().get_config(), "units": self.units, "timescales": self.timescales}


@keras.saving.register_keras_serializable(package="seq2seq")
class MTRNN(keras.layers.RNN):
    """An MTRNN layer: `keras.layers.RNN` over an `MTRNNCell`, configured by `units` and `timescales` as GRU
    and LSTM layers are by `units` (its config holds those, not the serialized cell)."""

    def __init__(self, units, timescales=DEFAULT_TIMESCALES, **kwargs):
        super().__init__(MTRNNCell(units, timescales, dtype=kwargs.get("dtype"), name="mtrnn_cell"), **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        return {**config, "units": self.cell.units, "timescales": self.cell.timescales}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
