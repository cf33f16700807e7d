"""Every place seq2seq leans on a private Keras API or works around a Keras behaviour, in one module.

Written and tested against Keras 3.15 (TensorFlow 2.21). Each entry says what it works around and
why no public API does it; `tests/test_keras_internals.py` holds, for each, a test that fails when
Keras changes or fixes the behaviour, so the workaround can be revisited rather than silently rot.
Importing this module on a Keras minor version it was not tested with fails with a clear message
(set SEQ2SEQ_ALLOW_UNTESTED_KERAS=1 to try anyway).

1. `recurrent_loop`, `may_use_cudnn`: Keras' own RNN loop (`keras.src.backend.rnn`), which the
   GRU/LSTM layers that hoist their input projection (`seq2seq.layers.recurrent`) run with their own
   step, and the attention decoder (`seq2seq.layers.decoders.MemoryReadingRNN`) with its memory as
   the loop's `constants` (Keras 3's `RNN` layer lost Keras 2's `constants=`); both reach it through
   `keras.layers.RNN.inner_loop`, the method `RNN.call` runs the loop with. And Keras' own test for a
   GPU, where the hoisting layers leave the work to Keras' cuDNN path.
2. `build_from_one_replica`: Keras' `_maybe_symbolic_build` averages the first batch across
   tf.distribute replicas just to read its shapes, which fails for uneven splits and multi-worker.
3. `averageable_across_workers`: Keras averages logged scalars over multi-worker replicas along an
   axis they lack (TensorFlow issue 72388).
4. `all_layers`: every layer of a model, nested ones included (`_flatten_layers`; Keras 3 has no
   public recursive listing), to re-seed each dropout layer per epoch.
5. `without_keras_mask`: an RNN's output is tagged with its mask, and Keras would then weight the
   loss by that mask; our losses skip padding themselves.
6. `keras_loss_divisor`: Keras divides a `sum_over_batch_size` loss by the local batch and, under
   tf.distribute, by the replica count; the masked losses scale their per-sentence shares to match.
7. `swap_with_moving_averages`: an optimizer made with `use_ema=True` keeps the weights' moving
   averages in `_model_variables_moving_average`; Keras' own `SwapEMAWeights` callback swaps them
   in and out but cannot resume a run whose checkpoints hold the averages (it assumes a fresh
   start), and no public API reaches them.
"""

import os

import keras
from keras import ops

from seq2seq.errors import Seq2SeqError

TESTED_KERAS = ("3.15",)
ALLOW_UNTESTED = "SEQ2SEQ_ALLOW_UNTESTED_KERAS"


def check_keras_version(version=keras.__version__):
    """Refuse a Keras minor version these workarounds were not tested with."""
    minor = ".".join(version.split(".")[:2])
    if minor not in TESTED_KERAS and os.environ.get(ALLOW_UNTESTED) != "1":
        raise Seq2SeqError(f"seq2seq was tested with Keras {', '.join(TESTED_KERAS)} and this is Keras {version}: "
                           f"it relies on Keras internals listed in {__name__}; install keras=={TESTED_KERAS[-1]}.* "
                           f"or set {ALLOW_UNTESTED}=1 to try anyway")


check_keras_version()


def recurrent_loop():
    """Keras' `backend.rnn(step, inputs, initial_states, ...)`, the loop its own recurrent layers run.

    Public `keras.layers.RNN` takes a cell, not a step function over pre-projected inputs.
    """
    from keras.src import backend

    return backend.rnn


def may_use_cudnn(layer) -> bool:
    """Whether Keras' own GRU/LSTM would try its fused cuDNN kernel for `layer`: a GPU is visible and
    `use_cudnn` allows it (Keras then falls back to its loop by itself where cuDNN cannot run).

    The input-projection hoisting only pays off in the CPU loop; on a GPU Keras' path must stay.
    """
    from keras.src.backend.tensorflow.rnn import _is_gpu_available

    return layer.use_cudnn in ("auto", True) and _is_gpu_available()


def build_from_one_replica(model, keras_build, iterator=None, data_batch=None):
    """Build a model's compiled loss and metrics from one replica's share of the first batch.

    Under tf.distribute, Keras 3.15's `_maybe_symbolic_build` first averages that batch across
    replicas (`strategy.reduce("MEAN", ...)`), only to read its shapes; the average fails for
    batches that split unevenly and under multi-worker collectives. `keras_build` is the model's
    inherited `_maybe_symbolic_build`.
    """
    import tensorflow as tf

    if model._distribute_strategy is None:  # nothing to average: Keras builds while tracing
        return keras_build(iterator, data_batch)
    if iterator is not None and data_batch is None:
        for _, _, batches in iterator:
            data_batch = keras.tree.map_structure(
                lambda value: (model.distribute_strategy.experimental_local_results(value)[0]
                               if isinstance(value, tf.distribute.DistributedValues) else value), next(batches))
            break
    return keras_build(data_batch=data_batch)


def averageable_across_workers(model, logs):
    """Give each logged scalar an axis: Keras 3.15 averages logs over the workers of a multi-worker
    strategy along axis 0, which scalars lack (TensorFlow issue 72388)."""
    import tensorflow as tf

    if not isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return logs
    return {name: ops.reshape(value, (1,)) for name, value in logs.items()}


def all_layers(model):
    """Every layer inside `model`, however deeply nested (wrappers and cells included)."""
    return list(model._flatten_layers())


def without_keras_mask(tensor):
    """The same values without the mask Keras attached to them (a multiply by one makes a new tensor).

    A masked `keras.layers.RNN` tags its output with the (B, T) mask, and Keras would weight the
    per-sentence loss by it and fail; the losses already skip padding.
    """
    return ops.multiply(tensor, ops.cast(1, tensor.dtype))


def keras_loss_divisor(local_batch_size):
    """What Keras divides a `sum_over_batch_size` loss by: the local batch size times the number of
    tf.distribute replicas (`keras.src.losses.loss.scale_loss_for_distribution`), as a float32 tensor."""
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    context = tf.distribute.get_replica_context()
    if context is not None:
        replicas = context.num_replicas_in_sync
    return ops.cast(local_batch_size * replicas, "float32")


def swap_with_moving_averages(model):
    """Exchange `model`'s trainable weights with its optimizer's moving averages of them (`use_ema`).

    Swapping twice restores both. Values go through numpy, as in Keras' own swap for other backends.
    """
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)  # under float16 loss scaling
    for variable, average in zip(optimizer._trainable_variables, optimizer._model_variables_moving_average):
        weights = ops.convert_to_numpy(variable)
        variable.assign(average)
        average.assign(weights)
