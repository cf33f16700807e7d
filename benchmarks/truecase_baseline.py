"""The truecasing task's baseline: each word's most frequent training label, Spanish and English sides.

    python -m benchmarks.truecase_baseline [--cache-dir DIR] [--output benchmarks/results/truecase_baseline.json]

What a tagger restoring case and punctuation must beat. Every word is given the label (case and marks,
seq2seq.data.truecase) it carries most often in the training verses, ties going to the label first seen;
a word never seen in training gets the most frequent label overall ("lower|"). It ignores context, so it
cannot know a sentence start or a clause end; what it gets right is what the words alone tell (names are
capitalised, "Jehová" is). Scored on test with case accuracy, punctuation F1 and the token accuracy of
whole labels (seq2seq.metrics.tagging). Results print as a markdown table and go to a JSON file with the
machine's CPU.
"""

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

from benchmarks.run import machine
from seq2seq.data.truecase import load_truecase_split
from seq2seq.metrics.tagging import case_accuracy, punctuation_scores, token_accuracy

SIDES = ("es", "en")


class MostFrequentLabel:
    """word -> its most frequent training label; unseen words -> the most frequent label overall."""

    def __init__(self, sentences, tags):
        counts = defaultdict(Counter)
        for words, labels in zip(sentences, tags):
            for word, label in zip(words, labels):
                counts[word][label] += 1
        self.label_of = {word: labels.most_common(1)[0][0] for word, labels in counts.items()}
        self.fallback = Counter(label for labels in tags for label in labels).most_common(1)[0][0]

    def predict(self, sentences) -> list[list[str]]:
        return [[self.label_of.get(word, self.fallback) for word in words] for words in sentences]


def run_side(side: str, cache_dir) -> dict:
    started = time.perf_counter()
    train, test = (load_truecase_split(split, side, cache_dir) for split in ("train", "test"))
    baseline = MostFrequentLabel(train.tokens, train.tags)
    predicted = baseline.predict(test.tokens)
    words = [word for sentence in test.tokens for word in sentence]
    return {
        "verses": {"train": len(train), "test": len(test)},
        "test_words": len(words),
        "unseen_test_words": sum(word not in baseline.label_of for word in words) / len(words),
        "fallback_label": baseline.fallback,
        "case_accuracy": case_accuracy(test.tags, predicted),
        "punctuation": punctuation_scores(test.tags, predicted),
        "token_accuracy": token_accuracy(test.tags, predicted),
        "seconds": round(time.perf_counter() - started, 1),
    }


def markdown_table(sides: dict) -> str:
    lines = ["| side | case accuracy | punctuation F1 (P / R) | token accuracy | unseen test words | seconds |",
             "|---|---|---|---|---|---|"]
    for side, result in sides.items():
        marks = result["punctuation"]
        lines.append(f"| {side} | {result['case_accuracy']:.3f} | {marks['f1']:.3f} ({marks['precision']:.3f} / "
                     f"{marks['recall']:.3f}) | {result['token_accuracy']:.3f} | {result['unseen_test_words']:.1%} "
                     f"| {result['seconds']} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, help="where the Bible corpus is cached (built if missing)")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/truecase_baseline.json"))
    args = parser.parse_args()

    started = time.perf_counter()
    sides = {side: run_side(side, args.cache_dir) for side in SIDES}
    results = {"task": "truecasing and punctuation restoration", "model": "most frequent label per word",
               "split": "test", "machine": machine(), "sides": sides,
               "seconds": round(time.perf_counter() - started, 1)}
    print(markdown_table(sides))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
