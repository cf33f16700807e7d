"""What training a classifier needs from its data: labelled texts, a tokenizer, a label set, batches, dev F1."""

import keras
import tensorflow as tf

from seq2seq.data.labels import LabelVocabulary
from seq2seq.data.pipeline import EncodedPairs, batches_per_epoch, bucket_boundaries, make_dataset
from seq2seq.data.readers import SkipCounter
from seq2seq.data.tokenizer import SOURCE_NAME, Tokenizer
from seq2seq.metrics.classification import classification_scores
from seq2seq.tasks.classification.classifier import Classifier, encode_texts
from seq2seq.tasks.classification.corpus import load_labelled_split, sample_examples
from seq2seq.tasks.classification.model import SequenceClassifier


class ClassificationTask:
    """Reads the labelled texts, trains (or loads) the tokenizer and the label set, then serves the
    model, its batches and its dev score to the shared training loop in `seq2seq.training.loop`."""

    model_class = SequenceClassifier

    def __init__(self, config, run, resume, log=print):
        self.config = config
        skips = SkipCounter()
        train_split, self.dev_split = (load_labelled_split(config.data, split, skips) for split in ("train", "dev"))
        if skips.total:
            log(skips.summary())
        train_split = sample_examples(train_split, config.data.max_train_pairs, config.seed)
        log(f"corpus: {len(train_split)} training and {len(self.dev_split)} dev texts")
        if resume:
            self.tokenizer = Tokenizer.load(run.path / f"{SOURCE_NAME}.model")
            self.labels = LabelVocabulary.load(run.path)
        else:
            self.tokenizer = Tokenizer.train(train_split.texts, run.path / SOURCE_NAME, config.tokenizer.vocab_size,
                                             model_type=config.tokenizer.type,
                                             character_coverage=config.tokenizer.character_coverage)
            self.labels = LabelVocabulary.from_training_labels(train_split.labels)
            self.labels.save(run.path)
        log(f"vocabulary: {self.tokenizer.vocab_size} pieces; {len(self.labels)} labels: "
            f"{', '.join(self.labels.names)}")
        self.train_examples = self._encode(train_split, "training", log)
        self.dev_examples = self._encode(self.dev_split, "dev", log)
        self.boundaries = bucket_boundaries(self.train_examples, config.train.buckets)
        self.steps_per_epoch = batches_per_epoch(self.train_examples, self.boundaries, config.train.batch_size)
        self.epoch_size = ("examples", len(self.train_examples))
        log(f"{len(self.train_examples)} training texts in {self.steps_per_epoch} batches per epoch; "
            f"length buckets {self.boundaries}")

    def _encode(self, split, name, log) -> EncodedPairs:
        """Each text's ids as a 'source' and its label id as a one-piece 'target', so that the shared
        pipeline (`seq2seq.data.pipeline`) buckets, pads and shuffles them as it does sentence pairs."""
        ids, truncated = encode_texts(self.tokenizer, split.texts, self.config.data.max_source_length)
        if any(truncated):
            log(f"cut {sum(truncated)} {name} texts longer than data.max_source_length="
                f"{self.config.data.max_source_length} pieces to their first pieces")
        label_ids = self.labels.ids(split.labels, source=split.source)
        return EncodedPairs(ids, [[label] for label in label_ids])

    def loss_and_metrics(self, train_config):
        return class_loss_and_metrics(train_config)

    def new_model(self):
        return SequenceClassifier.from_settings(self.config.model, self.tokenizer.vocab_size, len(self.labels),
                                                self.config.train.precision)

    def datasets(self, model, first_epoch):
        """(endless training batches from `first_epoch` on, one pass of dev batches), as (ids, one-hot label)."""
        train = make_dataset(self.train_examples, self.config.train.batch_size, self.boundaries,
                             shuffle_seed=self.config.seed, first_epoch=first_epoch, epochs=None,
                             shuffle_buffer=self.config.train.shuffle_buffer)
        dev = make_dataset(self.dev_examples, self.config.train.batch_size, bucket_boundaries(self.dev_examples, 4))
        return self._labelled(train), self._labelled(dev)

    def _labelled(self, batches):
        """The pipeline's ((ids, BOS + label), label + EOS) batches as (ids, one-hot label)."""
        classes = len(self.labels)
        return batches.map(lambda inputs, target_out: (inputs[0], tf.one_hot(target_out[:, 0], classes)))

    def dev_scorer(self, model):
        """Dev macro-F1 and accuracy of the labels the model finds most probable."""
        classifier = Classifier(model, self.tokenizer, self.labels, self.config.data.max_source_length,
                                self.config.train.batch_size)
        texts, gold = self.dev_split.texts, self.dev_split.labels

        def score():
            predicted = [result.label for result in classifier.classify(texts)]
            scores = classification_scores(gold, predicted, self.labels.names)
            return ({"dev_macro_f1": scores["macro_f1"], "dev_accuracy": scores["accuracy"]},
                    f"dev accuracy {scores['accuracy']:.4f}  macro-F1 {scores['macro_f1']:.4f} on {len(texts)} texts")

        return score


def class_loss_and_metrics(train_config):
    """Cross-entropy against one-hot labels smoothed by `train.label_smoothing`, and accuracy.

    Keras 3's sparse cross-entropy has no label smoothing, so the batches carry one-hot labels (a
    classifier has few classes, unlike a decoder's vocabulary).
    """
    return (keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=train_config.label_smoothing),
            [keras.metrics.CategoricalAccuracy(name="accuracy")])
