"""What training an image classifier needs: the images read and resized once, the labels, shuffled
batches, dev accuracy. A frozen encoder's features are computed once (`seq2seq.models.image_features`).

The order of each epoch is a permutation drawn from (seed, epoch), so a resumed run reads the epochs it
has left in the same order as an uninterrupted one.
"""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from seq2seq.data.images import load_images
from seq2seq.data.labels import LabelVocabulary
from seq2seq.data.readers import SkipCounter
from seq2seq.errors import Seq2SeqError
from seq2seq.metrics.classification import classification_scores
from seq2seq.models.image_features import check_pretrained_weights, load_pretrained_weights, model_inputs
from seq2seq.tasks.classification.training import class_loss_and_metrics
from seq2seq.tasks.image_classification.classifier import ImageClassifier
from seq2seq.tasks.image_classification.corpus import check_training_classes, load_image_split
from seq2seq.tasks.image_classification.model import ImageClassifierModel


@dataclass
class LabelledPixels:
    """The images of a split that could be read, resized to the encoder's size, with their labels."""

    pixels: np.ndarray  # (N, size, size, 3) uint8
    labels: list
    paths: list


def read_labelled_pixels(data_config, split, image_size, skips) -> LabelledPixels:
    images = load_image_split(data_config, split, skips)
    if split == "train" and data_config.corpus != "tuxpaint-categories":
        check_training_classes(images)
    pixels, kept = load_images(images.paths, image_size, data_config.on_bad_row, skips)
    if not kept:
        raise Seq2SeqError(f"{images.source}: the {split} split has no usable images")
    return LabelledPixels(pixels, [images.labels[index] for index in kept], [images.paths[index] for index in kept])


class ImageClassificationTask:
    """Reads the labelled images, fixes (or loads) the label set, and serves the model, its batches and
    its dev score to the shared training loop in `seq2seq.training.loop`."""

    model_class = ImageClassifierModel

    def __init__(self, config, run, resume, log=print):
        self.config = config
        self.run = run
        self.log = log
        encoder = config.model.image_encoder
        if not resume:
            check_pretrained_weights(encoder)
        skips = SkipCounter()
        self.train_set, self.dev_set = (read_labelled_pixels(config.data, split, encoder.image_size, skips)
                                        for split in ("train", "dev"))
        if skips.total:
            log(skips.summary())
        if resume:
            self.labels = LabelVocabulary.load(run.path)
        else:
            self.labels = LabelVocabulary.from_training_labels(self.train_set.labels)
            self.labels.save(run.path)
        self.train_ids = np.asarray(self.labels.ids(self.train_set.labels, source="training labels"), np.int32)
        batch = config.train.batch_size
        self.steps_per_epoch = -(-len(self.train_ids) // batch)
        self.epoch_size = ("images", len(self.train_ids))
        log(f"corpus: {len(self.train_ids)} training and {len(self.dev_set.labels)} dev images; {len(self.labels)} "
            f"labels: {', '.join(self.labels.names)}")

    def loss_and_metrics(self, train_config):
        return class_loss_and_metrics(train_config)

    def new_model(self):
        model = ImageClassifierModel.from_settings(self.config.model, len(self.labels), self.config.train.precision)
        return load_pretrained_weights(model, self.config.model.image_encoder, self.config.data.cache_dir)

    def datasets(self, model, first_epoch):
        """(endless shuffled training batches from `first_epoch` on, one pass of dev batches), as
        (pixels or features, one-hot label)."""
        train_inputs, dev_inputs = (model_inputs(model, self.run, split, images.pixels, images.paths, self.log)
                                    for split, images in (("train", self.train_set), ("dev", self.dev_set)))
        classes, batch, seed = len(self.labels), self.config.train.batch_size, self.config.seed
        train_inputs, train_targets = tf.constant(train_inputs), tf.one_hot(self.train_ids, classes)
        count = len(self.train_ids)

        def epoch_batches(epoch):
            order = tf.random.experimental.stateless_shuffle(tf.range(count), seed=tf.stack([seed, epoch]))
            return tf.data.Dataset.from_tensor_slices(order).batch(batch)

        train = (tf.data.Dataset.range(first_epoch, 2 ** 31 - 1).flat_map(epoch_batches)
                 .map(lambda index: (tf.gather(train_inputs, index), tf.gather(train_targets, index))))
        known = {name: index for index, name in enumerate(self.labels.names)}
        dev_ids = [known.get(label, -1) for label in self.dev_set.labels]  # an unseen label: an all-zero target
        dev = tf.data.Dataset.from_tensor_slices((dev_inputs, tf.one_hot(dev_ids, classes))).batch(batch)
        return train.prefetch(2), dev

    def dev_scorer(self, model):
        """Dev accuracy and macro-F1 of the labels the model finds most probable."""
        classifier = ImageClassifier(model, self.labels, self.config.train.batch_size)
        inputs = model_inputs(model, self.run, "dev", self.dev_set.pixels, self.dev_set.paths, self.log)
        gold = self.dev_set.labels

        def score():
            predicted = [result.label for result in classifier.classify_inputs(inputs)]
            scores = classification_scores(gold, predicted, self.labels.names)
            return ({"dev_accuracy": scores["accuracy"], "dev_macro_f1": scores["macro_f1"]},
                    f"dev accuracy {scores['accuracy']:.4f}  macro-F1 {scores['macro_f1']:.4f} on {len(gold)} images")

        return score
