"""train.weight_averaging: the dev pass and the checkpoints see an exponential moving average of the
weights, checked against one computed in numpy from the weights after every step."""

import keras
import numpy as np
import pytest

from seq2seq.config import TrainConfig
from seq2seq.training.callbacks import AveragedWeightsForScoring, TrainingWeightsBack
from seq2seq.training.loop import compile_for_training

DECAY = 0.8


class WeightRecorder(keras.callbacks.Callback):
    """Keeps the weights the model holds after every step, while it is scored, when the other epoch-end
    callbacks run (`AfterEpoch`) and when the next epoch begins."""

    def __init__(self):
        super().__init__()
        self.after_step, self.while_scored, self.after_epoch, self.epoch_begins = [], [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_begins.append(self.model.get_weights())

    def on_train_batch_end(self, batch, logs=None):
        self.after_step.append(self.model.get_weights())

    def on_test_end(self, logs=None):
        self.while_scored.append(self.model.get_weights())


class AfterEpoch(keras.callbacks.Callback):
    def __init__(self, recorder):
        super().__init__()
        self.recorder = recorder

    def on_epoch_end(self, epoch, logs=None):
        self.recorder.after_epoch.append(self.model.get_weights())


def numpy_moving_average(steps):
    """Keras' EMA: the first step's weights, then average = decay * average + (1 - decay) * weights."""
    average = [np.array(weights) for weights in steps[0]]
    for weights in steps[1:]:
        average = [DECAY * mean + (1 - DECAY) * new for mean, new in zip(average, weights)]
    return average


def test_dev_pass_sees_the_moving_average_and_training_goes_on_from_the_raw_weights():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    inputs, targets = rng.normal(size=(48, 3)).astype("float32"), rng.normal(size=(48, 2)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    train_config = TrainConfig(learning_rate=0.05, warmup_steps=1, decay="none", weight_averaging=DECAY)
    compile_for_training(model, train_config, steps_per_epoch=6, loss="mse", metrics=[])
    recorder = WeightRecorder()
    callbacks = [AveragedWeightsForScoring(), recorder, AfterEpoch(recorder), TrainingWeightsBack()]

    model.fit(inputs, targets, batch_size=8, epochs=2, validation_data=(inputs, targets), callbacks=callbacks,
              shuffle=False, verbose=0)

    assert len(recorder.after_step) == 12
    for epoch, scored in enumerate(recorder.while_scored):
        steps = recorder.after_step[:6 * (epoch + 1)]
        for found, expected in zip(scored, numpy_moving_average(steps), strict=True):
            np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-6)
        for found, average in zip(recorder.after_epoch[epoch], scored, strict=True):
            np.testing.assert_allclose(found, average)  # checkpoints and dev scores see the average...
        assert not np.allclose(scored[0], steps[-1][0])  # ...which is not the last step's weights
    for found, raw in zip(recorder.epoch_begins[1], recorder.after_step[5], strict=True):
        np.testing.assert_allclose(found, raw)  # the second epoch trains on from the raw weights


@pytest.mark.parametrize("value", [-0.1, 1.0])
def test_a_decay_outside_zero_to_one_is_refused(tmp_path, value):
    from seq2seq.config import load_config
    from seq2seq.errors import ConfigError

    path = tmp_path / "config.yaml"
    path.write_text(f"train:\n  weight_averaging: {value}\n")
    with pytest.raises(ConfigError, match=r"'train.weight_averaging' must be in \[0, 1\)"):
        load_config(path)
