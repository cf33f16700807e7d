"""GRU and LSTM layers that multiply the whole input sequence by the input kernel before the loop.

Off the GPU, Keras' GRU and LSTM multiply each step's input by the input kernel inside the loop: T
small products of B rows each, forwards and again backwards. Here that is one product over all
B x T positions, and the loop keeps only the recurrent product. Under mixed precision the recurrent
kernel is cast once per sequence rather than once per step. In the reference model's encoder this
made training steps 7-8 % faster (BENCHMARKS.md, "Speed"). The weights, their names and the maths
are Keras' own (tested against them), so a model saved with either layer loads into the other.
Where a GPU would run the layer, Keras' own path (its cuDNN kernel) is used unchanged.
"""

import keras
from keras import ops

from seq2seq.keras_internals import may_use_cudnn, recurrent_loop


def _input_biases(cell, dtype):
    """-> (the bias added to the input projection, the recurrent bias or None) of a GRU/LSTM cell.

    A GRU with its reset gate after the recurrent product (Keras' default) keeps one bias per side.
    """
    if isinstance(cell, keras.layers.GRUCell) and cell.reset_after:
        return cell.bias[0], ops.cast(cell.bias[1], dtype)
    return cell.bias, None


def _recurrence(cell, projected, states, recurrent_kernel, recurrent_bias):
    """One GRU or LSTM step given its input already multiplied by the input kernel, bias added.

    -> (output, new states). The same maths as `keras.layers.GRUCell`/`LSTMCell.call`.
    """
    if isinstance(cell, keras.layers.LSTMCell):
        previous, memory = states
        i, f, c, o = ops.split(projected + ops.matmul(previous, recurrent_kernel), 4, axis=-1)
        memory = cell.recurrent_activation(f) * memory + cell.recurrent_activation(i) * cell.activation(c)
        state = cell.recurrent_activation(o) * cell.activation(memory)
        return state, [state, memory]
    previous = states[0]
    x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
    if recurrent_bias is None:  # reset gate before the product: the candidate's part needs r first
        gates = ops.matmul(previous, recurrent_kernel[:, :2 * cell.units])
        z = cell.recurrent_activation(x_z + gates[:, :cell.units])
        r = cell.recurrent_activation(x_r + gates[:, cell.units:])
        candidate = cell.activation(x_h + ops.matmul(r * previous, recurrent_kernel[:, 2 * cell.units:]))
    else:
        r_z, r_r, r_h = ops.split(ops.matmul(previous, recurrent_kernel) + recurrent_bias, 3, axis=-1)
        z = cell.recurrent_activation(x_z + r_z)
        r = cell.recurrent_activation(x_r + r_r)
        candidate = cell.activation(x_h + r * r_h)
    state = z * previous + (1 - z) * candidate
    return state, [state]


class HoistedInputRNN:
    """Mixin for a `keras.layers.RNN` subclass whose input side can be computed for every step at once.

    Subclasses say when that is possible (`hoists_inputs`) and give the sequence's projected inputs and
    the step that consumes them (`projected_inputs_and_step`); the loop is Keras' own.
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.hoists_inputs(training):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        projected, step = self.projected_inputs_and_step(sequences)
        initial_state = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        return recurrent_loop()(step, projected, initial_state, go_backwards=self.go_backwards, mask=mask,
                                unroll=self.unroll, input_length=sequences.shape[1],
                                zero_output_for_mask=self.zero_output_for_mask,
                                return_all_outputs=self.return_sequences)


class _InputProjectedRNN(HoistedInputRNN):
    """For `keras.layers.GRU`/`LSTM`: the input kernel and bias applied outside the loop."""

    def hoists_inputs(self, training):
        cell = self.cell
        return not ((training and cell.dropout) or cell.recurrent_dropout or not cell.use_bias or may_use_cudnn(self))

    def projected_inputs_and_step(self, sequences):
        cell = self.cell
        input_bias, recurrent_bias = _input_biases(cell, self.compute_dtype)
        recurrent_kernel = ops.cast(cell.recurrent_kernel, self.compute_dtype)

        def step(inputs, states):
            return _recurrence(cell, inputs, states, recurrent_kernel, recurrent_bias)

        return ops.matmul(sequences, cell.kernel) + input_bias, step


@keras.saving.register_keras_serializable(package="seq2seq")
class InputProjectedGRU(_InputProjectedRNN, keras.layers.GRU):
    """`keras.layers.GRU` with its input projection outside the loop."""


@keras.saving.register_keras_serializable(package="seq2seq")
class InputProjectedLSTM(_InputProjectedRNN, keras.layers.LSTM):
    """`keras.layers.LSTM` with its input projection (and its one bias) outside the loop."""
