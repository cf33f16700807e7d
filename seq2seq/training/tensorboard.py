"""`train.tensorboard: true`: the epoch's scalars and the task's pictures in `RUN/tensorboard/`.

Keras' own TensorBoard callback writes the scalars: every value of the epoch's logs, so the losses,
the dev scores `DevScore` added, the learning rate and the speed `EpochClock` measured (under
`train/`, and the dev losses under `validation/`). The pictures are the task's (`TaskTraining.pictures`,
e.g. a translator's attention over a few dev sentences), drawn with matplotlib and written as images.
Both only write event files; viewing them needs the `tensorboard` package (`pip install "seq2seq[tensorboard]"`).
"""

import keras
import numpy as np


def tensorboard_callbacks(run, pictures=None):
    """The callbacks to put after those that fill the epoch's logs. `pictures(model)` -> [(name, Figure)]."""
    scalars = keras.callbacks.TensorBoard(log_dir=str(run.tensorboard_dir), write_graph=False, profile_batch=0)
    return [scalars] + ([EpochPictures(run.tensorboard_dir / "pictures", pictures)] if pictures else [])


class EpochPictures(keras.callbacks.Callback):
    """Writes the task's pictures of the model as it is at each epoch end (the averaged weights, with
    `train.weight_averaging`), one image series per picture name, stepped by epoch like the scalars."""

    def __init__(self, log_dir, pictures):
        super().__init__()
        self.log_dir = log_dir
        self.pictures = pictures

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self.writer = tf.summary.create_file_writer(str(self.log_dir))

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        with self.writer.as_default(step=epoch):
            for name, figure in self.pictures(self.model):
                tf.summary.image(name, figure_pixels(figure)[None])
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.close()


def figure_pixels(figure) -> np.ndarray:
    """A matplotlib figure as an (height, width, 3) uint8 array."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
