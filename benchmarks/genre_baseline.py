"""The genre task's baseline: bag-of-words softmax regression on the Bible corpus, Spanish and English sides.

    python -m benchmarks.genre_baseline [--cache-dir DIR] [--output benchmarks/results/genre_baseline.json]

What a sequence classifier of verses must beat. Each verse is a tf-idf vector over the lowercased words
of the training verses seen at least twice (sublinear term frequency, smoothed idf, rows L2-normalised,
plus a bias feature), and a multinomial logistic regression with an L2 penalty is trained on it in numpy
by full-batch gradient descent with Adam's step sizes (plain gradient descent crawls on the weights of
rare words). The penalty and the learning rate are chosen on dev accuracy (dev holds two genres, so its
macro-F1 mostly counts the training-only genres predicted by mistake, each at F1 0); the chosen model is
scored once on test. The split is by book (seq2seq.data.genre), so the model labels books it has never
seen. Results print as a markdown table and go to a JSON file with the machine's CPU.
"""

import argparse
import itertools
import json
import math
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.run import machine
from seq2seq.data.genre import GENRES, load_genre_split
from seq2seq.metrics.classification import classification_scores

SIDES = ("es", "en")
MIN_WORD_COUNT = 2
L2_PENALTIES = (1e-6, 1e-5, 1e-4)
LEARNING_RATES = (0.02, 0.1)
STEPS = 200
ADAM_BETAS = (0.9, 0.999)
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")


class SparseRows:
    """A sparse matrix kept as (row, column, value) triples, with the two products training needs."""

    def __init__(self, rows: list[dict[int, float]], columns: int):
        lengths = [len(row) for row in rows]
        self.shape = (len(rows), columns)
        row_of = np.repeat(np.arange(len(rows)), lengths)
        column_of = np.fromiter((column for row in rows for column in row), dtype=np.int64, count=sum(lengths))
        values = np.fromiter((value for row in rows for value in row.values()), dtype=np.float32,
                             count=sum(lengths))
        self._by_row = _Segments(values, column_of, row_of, len(rows))
        by_column = np.argsort(column_of, kind="stable")
        self._by_column = _Segments(values[by_column], row_of[by_column], column_of[by_column], columns)

    def dot(self, dense: np.ndarray) -> np.ndarray:
        """self @ dense."""
        return self._by_row.sums(dense)

    def transposed_dot(self, dense: np.ndarray) -> np.ndarray:
        """self.T @ dense."""
        return self._by_column.sums(dense)


class _Segments:
    """Entries sorted by an output index: sums(dense)[i] = sum of value * dense[source] over the entries of i."""

    def __init__(self, values, source, target, size):
        self.values, self.source, self.size = values[:, None], source, size
        self.present, self.starts = np.unique(target, return_index=True)

    def sums(self, dense: np.ndarray) -> np.ndarray:
        result = np.zeros((self.size, dense.shape[1]), dtype=np.float32)
        if len(self.present):
            contributions = np.take(dense, self.source, axis=0)  # faster than dense[self.source]
            contributions *= self.values
            result[self.present] = np.add.reduceat(contributions, self.starts, axis=0)
        return result


class TfidfVectorizer:
    """Lowercased words -> tf-idf rows over the training vocabulary, the last column a constant bias."""

    def __init__(self, texts: list[str]):
        documents = [Counter(_words(text)) for text in texts]
        seen_in = Counter(word for document in documents for word in document)
        occurrences = Counter()
        for document in documents:
            occurrences.update(document)
        vocabulary = sorted(word for word, count in occurrences.items() if count >= MIN_WORD_COUNT)
        self.index = {word: position for position, word in enumerate(vocabulary)}
        self.idf = np.array([math.log((1 + len(texts)) / (1 + seen_in[word])) + 1 for word in vocabulary])
        self.bias = len(vocabulary)

    def transform(self, texts: list[str]) -> SparseRows:
        rows = []
        for text in texts:
            counts = Counter(word for word in _words(text) if word in self.index)
            weights = {self.index[word]: (1 + math.log(count)) * self.idf[self.index[word]]
                       for word, count in counts.items()}
            norm = math.sqrt(sum(weight * weight for weight in weights.values())) or 1.0
            rows.append({column: weight / norm for column, weight in weights.items()} | {self.bias: 1.0})
        return SparseRows(rows, self.bias + 1)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def train_softmax_regression(features: SparseRows, targets: np.ndarray, classes: int, l2: float,
                             learning_rate: float) -> np.ndarray:
    """Weights (features x classes) minimising mean cross-entropy + l2/2 |W|^2 (bias row not penalised)."""
    weights = np.zeros((features.shape[1], classes), dtype=np.float32)
    mean, mean_square = np.zeros_like(weights), np.zeros_like(weights)
    penalised = np.ones((features.shape[1], 1), dtype=np.float32)
    penalised[-1] = 0.0
    one_hot = np.eye(classes, dtype=np.float32)[targets]
    first, second = ADAM_BETAS
    for step in range(1, STEPS + 1):
        probabilities = _softmax(features.dot(weights))
        gradient = features.transposed_dot(probabilities - one_hot) / len(targets) + l2 * penalised * weights
        mean = first * mean + (1 - first) * gradient
        mean_square = second * mean_square + (1 - second) * gradient ** 2
        weights -= learning_rate * (mean / (1 - first ** step)) / (np.sqrt(mean_square / (1 - second ** step)) + 1e-8)
    return weights


def _softmax(logits: np.ndarray) -> np.ndarray:
    exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def run_side(side: str, cache_dir) -> dict:
    started = time.perf_counter()
    splits = {split: load_genre_split(split, side, cache_dir) for split in ("train", "dev", "test")}
    vectorizer = TfidfVectorizer(splits["train"].texts)
    features = {split: vectorizer.transform(data.texts) for split, data in splits.items()}
    targets = np.array([GENRES.index(label) for label in splits["train"].labels])

    def predict(weights, split):
        return [GENRES[index] for index in np.argmax(features[split].dot(weights), axis=1)]

    candidates = []
    for l2, learning_rate in itertools.product(L2_PENALTIES, LEARNING_RATES):
        weights = train_softmax_regression(features["train"], targets, len(GENRES), l2, learning_rate)
        dev = classification_scores(splits["dev"].labels, predict(weights, "dev"), GENRES)
        candidates.append({"l2": l2, "learning_rate": learning_rate, "dev": dev, "weights": weights})
        print(f"{side}: l2 {l2:g}, learning rate {learning_rate:g}: dev accuracy {dev['accuracy']:.3f}, "
              f"macro-F1 {dev['macro_f1']:.3f}", flush=True)
    best = max(candidates, key=lambda candidate: (candidate["dev"]["accuracy"], candidate["dev"]["macro_f1"]))
    return {
        "verses": {split: len(data) for split, data in splits.items()},
        "vocabulary": vectorizer.bias,
        "l2": best["l2"],
        "learning_rate": best["learning_rate"],
        "dev_search": [{key: candidate[key] for key in ("l2", "learning_rate")}
                       | {"accuracy": candidate["dev"]["accuracy"], "macro_f1": candidate["dev"]["macro_f1"]}
                       for candidate in candidates],
        "dev": best["dev"],
        "test": classification_scores(splits["test"].labels, predict(best["weights"], "test"), GENRES),
        "seconds": round(time.perf_counter() - started, 1),
    }


def markdown_table(sides: dict) -> str:
    lines = ["| side | test accuracy | test macro-F1 | dev accuracy | dev macro-F1 | L2 | learning rate | vocabulary "
             "| seconds |", "|---|---|---|---|---|---|---|---|---|"]
    for side, result in sides.items():
        lines.append(f"| {side} | {result['test']['accuracy']:.3f} | {result['test']['macro_f1']:.3f} "
                     f"| {result['dev']['accuracy']:.3f} | {result['dev']['macro_f1']:.3f} | {result['l2']:g} "
                     f"| {result['learning_rate']:g} | {result['vocabulary']:,} | {result['seconds']} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, help="where the Bible corpus is cached (built if missing)")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/genre_baseline.json"))
    args = parser.parse_args()

    started = time.perf_counter()
    sides = {side: run_side(side, args.cache_dir) for side in SIDES}
    results = {"task": "genre of a verse's book", "model": "tf-idf bag of words + softmax regression (numpy)",
               "optimizer": {"name": "full-batch Adam", "steps": STEPS, "betas": ADAM_BETAS},
               "min_word_count": MIN_WORD_COUNT, "machine": machine(),
               "sides": sides, "seconds": round(time.perf_counter() - started, 1)}
    print(markdown_table(sides))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
