"""`seq2seq evaluate` for image classification runs: label a split's images and score them.

`eval/<split>.greedy.hyp` holds one `image<TAB>label` line per image; `.scores.json` accuracy, macro-F1
and the per-class table; `.confusion.png` the confusion matrix (as for text classifiers).
"""

import time

from seq2seq.data.readers import SkipCounter
from seq2seq.errors import Seq2SeqError
from seq2seq.tasks.classification.evaluation import write_labelled_evaluation
from seq2seq.tasks.image_classification.classifier import ImageClassifier
from seq2seq.tasks.image_classification.training import read_labelled_pixels


def evaluate_image_classification(run, split="test", log=print, model_file=None, ensemble=(), **decode_settings):
    if ensemble:
        raise Seq2SeqError("--ensemble is for translation runs; an image classification run labels with one model")
    config = run.load_config()
    classifier = ImageClassifier.load(run.path, model_file=model_file, **decode_settings)
    skips = SkipCounter()
    images = read_labelled_pixels(config.data, split, classifier.model.image_size, skips)
    if skips.total:
        log(skips.summary())
    started = time.perf_counter()
    predicted = [result.label for result in classifier.classify_inputs(images.pixels)]
    seconds = time.perf_counter() - started
    return write_labelled_evaluation(run, split, images.labels, predicted,
                                     [f"{image}\t{label}" for image, label in zip(images.paths, predicted)],
                                     classifier.labels.names, model_file, seconds, "images", log,
                                     skipped_images=skips.total)
