"""`ImageClassifier`: label images with a trained image classification run.

    classifier = ImageClassifier.load("runs/tuxpaint_categories")
    result = classifier.classify(["cat.png"], top_k=3)[0]
    result.label, result.top, result.attention      # 'animals', [(label, p), ...], (rows, columns)
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from seq2seq.batch_shapes import padded_rows
from seq2seq.config import SETTINGS_WITHOUT_SEARCH
from seq2seq.data.images import image_pixels
from seq2seq.data.labels import LABELS_FILE, LabelVocabulary
from seq2seq.errors import Seq2SeqError
from seq2seq.models.loading import check_size, load_run_model
from seq2seq.tasks.image_classification.model import ImageClassifierModel


@dataclass
class ImageClassification:
    """One image's labels, most probable first, and where the classifier looked (its pooling weights
    over the encoder's grid, rows x columns; the image is `pixels`, as the model saw it)."""

    image: object
    pixels: np.ndarray
    top: list
    attention: np.ndarray

    label = property(lambda self: self.top[0][0])
    probability = property(lambda self: self.top[0][1])


class ImageClassifier:
    def __init__(self, model, labels, batch_size=32):
        self.model = model
        self.labels = labels
        self.batch_size = batch_size
        self._predict = tf.function(self._probabilities_and_weights, reduce_retracing=True)

    @classmethod
    def load(cls, run_dir, model_file=None, **decode_settings):
        """The best model of an image classification run (or `model_file`). Of the decode settings only
        `batch_size` and `precision` apply: the most probable label needs no search."""
        searching = sorted(set(decode_settings) - set(SETTINGS_WITHOUT_SEARCH))
        if searching:
            raise Seq2SeqError(f"search settings ({', '.join(searching)}) do not apply to an image classification "
                               "run, which takes the most probable label; drop them")
        run, config, model, model_file = load_run_model(run_dir, "image_classification", ImageClassifierModel,
                                                        model_file, decode_settings.get("precision"))
        labels = LabelVocabulary.load(run.path)
        check_size(model_file, model.get_config()["num_classes"], len(labels), "labels", run.path / LABELS_FILE)
        return cls(model, labels, decode_settings.get("batch_size") or config.decode.batch_size)

    def classify(self, images, top_k=1) -> list:
        """Image files (or (H, W, 3) uint8 arrays) -> one `ImageClassification` each, in order."""
        images = list(images)
        if not 1 <= top_k <= len(self.labels):
            raise Seq2SeqError(f"top_k must be between 1 and the {len(self.labels)} labels of this run, got {top_k}")
        pixels = np.stack([image_pixels(image, self.model.image_size) for image in images]) if images else np.zeros((0, 1, 1, 3), np.uint8)
        results = self.classify_inputs(pixels, top_k)
        for result, image in zip(results, images):
            result.image = image if isinstance(image, (str, Path)) else None
        return results

    def classify_inputs(self, inputs, top_k=1) -> list:
        """Pixels (N, size, size, 3) or a frozen encoder's features (N, cells, C) -> `ImageClassification`s."""
        results = []
        rows, columns = self.model.grid_shape
        for start in range(0, len(inputs), self.batch_size):
            batch = inputs[start:start + self.batch_size]
            probabilities, weights = (value.numpy() for value in self._predict(tf.constant(padded_rows(batch))))
            for row in range(len(batch)):
                best = np.argsort(-probabilities[row], kind="stable")[:top_k]
                results.append(ImageClassification(
                    None, batch[row] if batch.ndim == 4 else None,
                    [(self.labels.names[label], float(probabilities[row, label])) for label in best],
                    weights[row].reshape(rows, columns)))
        return results

    def _probabilities_and_weights(self, inputs):
        logits, weights = self.model.logits_and_weights(inputs)
        return tf.nn.softmax(logits), weights
