"""An image classification run against a majority-class and a nearest-neighbour baseline on the same split and features.

    python -m benchmarks.image_classification_baseline runs/tuxpaint_categories --split test

The majority baseline labels every image with the most frequent training label. The nearest-neighbour
baseline labels each image with the label of the training image whose encoder features, averaged over
the grid and L2-normalised, are closest (cosine): with a frozen pretrained encoder these are the very
features the classifier reads, so it shows what the trained pooling and softmax add. All three are
scored with accuracy and macro-F1 over the run's labels; results print and go to a JSON file.
"""

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.run import machine


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--split", default="test", choices=["dev", "test"])
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/image_classification_baseline.json"))
    args = parser.parse_args()

    from seq2seq.data.readers import SkipCounter
    from seq2seq.metrics.classification import classification_scores
    from seq2seq.models.image_features import encode_images
    from seq2seq.tasks.image_classification.classifier import ImageClassifier
    from seq2seq.tasks.image_classification.training import read_labelled_pixels
    from seq2seq.training.run_dir import RunDirectory

    config = RunDirectory(args.run_dir).load_config()
    classifier = ImageClassifier.load(args.run_dir)
    size = classifier.model.image_size
    train, evaluated = (read_labelled_pixels(config.data, split, size, SkipCounter()) for split in ("train", args.split))

    def pooled(pixels):
        means = encode_images(classifier.model, pixels).mean(axis=1)
        return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)

    nearest = np.argmax(pooled(evaluated.pixels) @ pooled(train.pixels).T, axis=1)
    majority = Counter(train.labels).most_common(1)[0][0]
    predictions = {
        "classifier": [result.label for result in classifier.classify_inputs(evaluated.pixels)],
        "nearest_neighbour": [train.labels[index] for index in nearest],
        "majority_class": [majority] * len(evaluated.labels),
    }
    labels = sorted(set(classifier.labels.names) | set(evaluated.labels))
    results = {"run": str(args.run_dir), "split": args.split, "images": len(evaluated.labels),
               "encoder": config.model.image_encoder.kind, "machine": machine()}
    print(f"| {args.split} ({len(evaluated.labels)} images) | accuracy | macro-F1 |\n|---|---|---|")
    for name, predicted in predictions.items():
        scores = classification_scores(evaluated.labels, predicted, labels)
        results[name] = {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"]}
        print(f"| {name.replace('_', ' ')} | {scores['accuracy']:.3f} | {scores['macro_f1']:.3f} |")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
