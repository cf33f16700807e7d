"""Layer-normalised GRU and LSTM cells (Ba, Kiros and Hinton 2016), as Nematus and Marian offer them.

Each gate's input projection W x and recurrent projection U h is normalised to zero mean and unit
variance over its units before the two are added, then scaled by a learnt gain; the input side also
carries the gate's bias. The LSTM normalises its memory cell too before the output tanh. Keeping
every gate's pre-activation on one scale whatever the step makes deep and long recurrences train
faster and at higher learning rates, which is why low-resource recipes (Sennrich and Zhang 2019) use it.

The GRU keeps Keras' conventions (update gate z weighs the previous state; the reset gate applies
after the recurrent product), so `gru` and `layer_norm_gru` differ only by the normalisation. As
in `seq2seq.layers.recurrent`, a whole sequence projects and normalises its inputs once, outside
the loop, and each step does only the recurrent product; decoders call the cell step by step.

Under mixed_bfloat16 the normalisation rescales each step's rounding error along with the signal:
at random weights, a 64-unit layer's outputs drift about 0.015 (GRU) to 0.06 (LSTM) from float32's
over 30 steps, against 0.01 for the plain cells. Keeping the LSTM's memory cell in float32 did not
change that, so both cells compute in the layer's dtype like every other layer.
"""

import keras
from keras import ops

from seq2seq.layers.recurrent import HoistedInputRNN

EPSILON = 1e-5


def normalize_gates(values, gates, gain, bias=None):
    """Layer-normalise each of `gates` equal blocks of the last axis apart, then scale (and shift).

    Statistics are taken in float32, whatever the compute dtype, as Keras' LayerNormalization does.
    """
    blocks = ops.cast(ops.reshape(values, (-1, gates, values.shape[-1] // gates)), "float32")
    mean = ops.mean(blocks, axis=-1, keepdims=True)
    variance = ops.var(blocks, axis=-1, keepdims=True)
    normalized = ops.reshape((blocks - mean) * ops.rsqrt(variance + EPSILON), ops.shape(values))
    normalized = ops.cast(normalized, values.dtype) * ops.cast(gain, values.dtype)
    return normalized if bias is None else normalized + ops.cast(bias, values.dtype)


class _LayerNormCell(keras.layers.Layer):
    """Weights and the input side shared by both cells; subclasses set `gates` and define `recur`."""

    gates = 0

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        width = self.gates * self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], width), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, width), initializer="orthogonal",
                                                name="recurrent_kernel")
        self.input_gain = self.add_weight(shape=(width,), initializer="ones", name="input_gain")
        self.bias = self.add_weight(shape=(width,), initializer=self._bias_initializer, name="bias")
        self.recurrent_gain = self.add_weight(shape=(width,), initializer="ones", name="recurrent_gain")
        self.built = True

    _bias_initializer = "zeros"

    def project_inputs(self, inputs):
        """(..., input_dim) -> the normalised input side of every gate, (..., gates * units)."""
        projected = ops.matmul(inputs, ops.cast(self.kernel, self.compute_dtype))
        return normalize_gates(projected, self.gates, self.input_gain, self.bias)

    def recurrent_part(self, previous, recurrent_kernel=None):
        """The normalised recurrent side of every gate, (B, gates * units)."""
        kernel = ops.cast(self.recurrent_kernel, self.compute_dtype) if recurrent_kernel is None else recurrent_kernel
        return normalize_gates(ops.matmul(previous, kernel), self.gates, self.recurrent_gain)

    def call(self, inputs, states, training=False):
        return self.recur(self.project_inputs(inputs), states)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="seq2seq")
class LayerNormGRUCell(_LayerNormCell):
    gates = 3

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def recur(self, projected, states, recurrent_kernel=None):
        """One step from the already normalised input side: -> (output, [new state])."""
        previous = states[0] if isinstance(states, (list, tuple)) else states
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        h_z, h_r, h_h = ops.split(self.recurrent_part(previous, recurrent_kernel), 3, axis=-1)
        z = ops.sigmoid(x_z + h_z)
        r = ops.sigmoid(x_r + h_r)
        candidate = ops.tanh(x_h + r * h_h)
        state = z * previous + (1 - z) * candidate
        return state, [state] if isinstance(states, (list, tuple)) else state


def _unit_forget_bias(shape, dtype=None):
    """LSTM gate biases (i, f, c, o) with the forget gate's at 1, as Keras' LSTM starts them."""
    units = shape[0] // 4
    return ops.concatenate([ops.zeros((units,), dtype), ops.ones((units,), dtype), ops.zeros((2 * units,), dtype)])


@keras.saving.register_keras_serializable(package="seq2seq")
class LayerNormLSTMCell(_LayerNormCell):
    gates = 4
    _bias_initializer = staticmethod(_unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    @property
    def output_size(self):
        return self.units

    def build(self, input_shape):
        super().build(input_shape)
        self.memory_gain = self.add_weight(shape=(self.units,), initializer="ones", name="memory_gain")
        self.memory_bias = self.add_weight(shape=(self.units,), initializer="zeros", name="memory_bias")

    def recur(self, projected, states, recurrent_kernel=None):
        """One step from the already normalised input side: -> (output, [h, c])."""
        previous, memory = states
        i, f, c, o = ops.split(projected + self.recurrent_part(previous, recurrent_kernel), 4, axis=-1)
        memory = ops.sigmoid(f) * memory + ops.sigmoid(i) * ops.tanh(c)
        state = ops.sigmoid(o) * ops.tanh(normalize_gates(memory, 1, self.memory_gain, self.memory_bias))
        return state, [state, memory]


class _LayerNormRNN(HoistedInputRNN, keras.layers.RNN):
    """A whole-sequence layer over a layer-normalised cell, configured by `units` like Keras' GRU and LSTM
    (its config holds that, not the serialized cell). No cuDNN kernel normalises, so the projection
    and normalisation of the inputs always leave the loop."""

    cell_class = None

    def __init__(self, units, **kwargs):
        super().__init__(self.cell_class(units, dtype=kwargs.get("dtype"), name="cell"), **kwargs)

    def hoists_inputs(self, training):
        return True

    def projected_inputs_and_step(self, sequences):
        cell = self.cell
        recurrent_kernel = ops.cast(cell.recurrent_kernel, self.compute_dtype)

        def step(inputs, states):
            return cell.recur(inputs, states, recurrent_kernel)

        return cell.project_inputs(sequences), step

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        return {**config, "units": self.cell.units}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="seq2seq")
class LayerNormGRU(_LayerNormRNN):
    cell_class = LayerNormGRUCell


@keras.saving.register_keras_serializable(package="seq2seq")
class LayerNormLSTM(_LayerNormRNN):
    cell_class = LayerNormLSTMCell
