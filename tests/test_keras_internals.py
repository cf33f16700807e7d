"""Each Keras behaviour `seq2seq.keras_internals` works around, checked to still be there.

When one of these fails after a Keras upgrade, Keras changed what the workaround relies on (or fixed
what it works around): revisit that entry of `seq2seq.keras_internals`, then the version check.
"""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from seq2seq import keras_internals
from seq2seq.errors import Seq2SeqError
from seq2seq.layers.recurrent import InputProjectedGRU, InputProjectedLSTM


def test_untested_keras_versions_are_refused_with_a_clear_message(monkeypatch):
    monkeypatch.delenv(keras_internals.ALLOW_UNTESTED, raising=False)
    keras_internals.check_keras_version("3.15.9")
    with pytest.raises(Seq2SeqError, match=r"tested with Keras 3\.15 and this is Keras 3\.16\.0.*ALLOW_UNTESTED"):
        keras_internals.check_keras_version("3.16.0")
    monkeypatch.setenv(keras_internals.ALLOW_UNTESTED, "1")
    keras_internals.check_keras_version("3.16.0")


def test_the_installed_keras_is_a_tested_one():
    assert ".".join(keras.__version__.split(".")[:2]) in keras_internals.TESTED_KERAS


def test_keras_rnn_loop_keeps_the_signature_the_hoisted_layers_call():
    loop = keras_internals.recurrent_loop()

    def step(inputs, states):
        return inputs + states[0], [inputs + states[0]]

    inputs = ops.ones((2, 3, 4))
    last, outputs, states = loop(step, inputs, [ops.zeros((2, 4))], go_backwards=False, mask=None, unroll=False,
                                 input_length=3, zero_output_for_mask=False, return_all_outputs=True)
    np.testing.assert_allclose(ops.convert_to_numpy(outputs)[:, :, 0], [[1, 2, 3], [1, 2, 3]])
    np.testing.assert_allclose(ops.convert_to_numpy(last), 3 * np.ones((2, 4)))


def test_keras_rnn_runs_its_loop_through_inner_loop_and_the_loop_hands_constants_to_each_step():
    """`MemoryReadingRNN` overrides `RNN.inner_loop` to give its last initial states to the loop as
    `constants`: each step must get them after its states, and they must not come back as states."""
    from seq2seq.layers.decoders import MEMORY_PARTS, MemoryReadingRNN

    class ScaledSum(keras.layers.Layer):
        state_size, output_size = [4], 4

        def call(self, inputs, states, training=False):
            total, *constants = states
            assert len(constants) == MEMORY_PARTS
            total = total + inputs * constants[0] * constants[1] * constants[2]
            return total, [total]

    layer = MemoryReadingRNN(ScaledSum(), return_sequences=True, return_state=True)
    constants = [ops.full((2, 4), value) for value in (2.0, 3.0, 0.5)]
    outputs, *states = layer(ops.ones((2, 3, 4)), initial_state=[ops.zeros((2, 4)), *constants])
    np.testing.assert_allclose(ops.convert_to_numpy(outputs)[:, :, 0], [[3, 6, 9], [3, 6, 9]])
    assert len(states) == 1


@pytest.mark.parametrize("layer_class", [InputProjectedGRU, InputProjectedLSTM])
def test_where_cudnn_may_run_the_hoisted_layers_leave_the_work_to_keras(monkeypatch, layer_class):
    """On a GPU, Keras' own `inner_loop` (and its cuDNN kernel) runs; on a CPU, the hoisted loop."""
    layer = layer_class(4, return_sequences=True)
    inputs = np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32")
    layer(inputs)
    calls = []
    keras_class = keras.layers.LSTM if layer_class is InputProjectedLSTM else keras.layers.GRU
    keras_loop = keras_class.inner_loop

    def recording_loop(self, *args, **kwargs):
        calls.append(self.name)
        return keras_loop(self, *args, **kwargs)

    monkeypatch.setattr(keras_class, "inner_loop", recording_loop)
    layer(inputs)
    assert calls == []  # no GPU here: the hoisted loop ran
    monkeypatch.setattr("seq2seq.layers.recurrent.may_use_cudnn", lambda layer: True)
    layer(inputs)
    assert calls == [layer.name]


def test_keras_checks_for_a_gpu_as_may_use_cudnn_assumes():
    layer = keras.layers.GRU(3)
    assert keras_internals.may_use_cudnn(layer) == bool(tf.config.list_logical_devices("GPU"))
    assert not keras_internals.may_use_cudnn(keras.layers.GRU(3, use_cudnn=False))


def test_keras_still_averages_the_first_batch_across_replicas_to_build():
    """The reason for `build_from_one_replica`: Keras reduces the distributed first batch with MEAN
    just to read its shapes (a two-replica run with an uneven last batch is in test_distribute.py)."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    source = " ".join(inspect.getsource(TensorFlowTrainer._maybe_symbolic_build).split())
    assert 'self.distribute_strategy.reduce( "MEAN", maybe_distributed_data_batch' in source


def test_keras_still_averages_multi_worker_logs_along_axis_zero():
    """The reason for `averageable_across_workers` (TensorFlow issue 72388): a scalar has no axis 0."""
    from keras.src.backend.tensorflow.trainer import reduce_per_replica

    source = " ".join(inspect.getsource(reduce_per_replica).split())
    assert 'elif reduction == "mean": return strategy.reduce("MEAN", v, axis=0)' in source


def test_model_layers_lists_only_direct_children_so_all_layers_is_needed():
    inner = keras.layers.Bidirectional(keras.layers.GRU(2))
    model = keras.Sequential([keras.Input((3, 4)), inner, keras.layers.Dropout(0.1)])
    assert inner.forward_layer not in model.layers
    listed = keras_internals.all_layers(model)
    assert inner.forward_layer in listed and inner in listed


def test_a_masked_rnn_still_tags_its_output_and_without_keras_mask_drops_the_tag():
    ids = np.array([[3, 4, 0], [5, 0, 0]])
    embedded = keras.layers.Embedding(8, 4, mask_zero=True)(ids)
    outputs = keras.layers.GRU(2, return_sequences=True)(embedded)
    assert getattr(outputs, "_keras_mask", None) is not None
    untagged = keras_internals.without_keras_mask(outputs)
    assert getattr(untagged, "_keras_mask", None) is None
    np.testing.assert_array_equal(ops.convert_to_numpy(untagged), ops.convert_to_numpy(outputs))


def test_keras_divides_a_loss_by_the_replica_count_under_tf_distribute():
    """What `keras_loss_divisor` counts on: `scale_loss_for_distribution` divides by the replicas.
    (test_distribute.py trains on two replicas and checks the loss equals one device's.)"""
    from keras.src.losses.loss import scale_loss_for_distribution

    source = " ".join(inspect.getsource(scale_loss_for_distribution).split())
    assert "ops.cast(1.0 / num_replicas, value.dtype)" in source
    assert float(scale_loss_for_distribution(ops.convert_to_tensor(6.0))) == 6.0  # one replica: unscaled
    assert float(keras_internals.keras_loss_divisor(4)) == 4.0


def test_an_ema_optimizer_still_keeps_its_averages_where_swap_with_moving_averages_reads_them():
    """And Keras' own SwapEMAWeights still starts every fit assuming raw weights in the model, so it
    cannot resume from checkpoints that hold the averages."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(use_ema=True), loss="mse")
    model.optimizer.build(model.trainable_variables)
    averages = model.optimizer._model_variables_moving_average
    assert [variable.shape for variable in averages] == [variable.shape for variable in model.trainable_variables]
    raw = [np.array(variable) for variable in model.trainable_variables]
    keras_internals.swap_with_moving_averages(model)
    for variable, average, before in zip(model.trainable_variables, averages, raw):
        np.testing.assert_array_equal(np.asarray(average), before)
        np.testing.assert_array_equal(np.asarray(variable), 0.0)  # Keras starts the averages at zero
    assert keras.callbacks.SwapEMAWeights()._ema_weights_in_model is False
