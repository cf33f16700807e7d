"""Learning-rate schedules, saved with the optimizer so a resumed run continues the same curve."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seq2seq")
class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak`, then `inverse_sqrt` or `cosine` decay, or constant (`none`).

    Warm-up lets Adam's moment estimates settle before full-size steps; the decay lets the model
    settle into a minimum late in training.
    """

    def __init__(self, peak, warmup_steps=0, decay="inverse_sqrt", total_steps=None, floor=0.05):
        self.peak = peak
        self.warmup_steps = warmup_steps
        self.decay = decay
        self.total_steps = total_steps
        self.floor = floor
        if decay == "cosine" and not total_steps:
            raise ValueError("cosine decay needs total_steps")

    def __call__(self, step):
        step = ops.cast(step, "float32") + 1.0
        warmup = float(max(self.warmup_steps, 1))
        ramp = ops.minimum(1.0, step / warmup)
        after = ops.maximum(step - warmup, 0.0)
        if self.decay == "inverse_sqrt":
            factor = ops.sqrt(warmup / ops.maximum(step, warmup))
        elif self.decay == "cosine":
            progress = ops.minimum(after / max(self.total_steps - warmup, 1.0), 1.0)
            factor = self.floor + (1.0 - self.floor) * 0.5 * (1.0 + ops.cos(math.pi * progress))
        else:
            factor = 1.0
        return self.peak * ramp * factor

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "decay": self.decay,
                "total_steps": self.total_steps, "floor": self.floor}
