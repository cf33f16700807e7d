"""The character language model's baseline: an interpolated Witten-Bell character n-gram model on the Bible text.

    python -m benchmarks.char_ngram_baseline [--side en] [--order 5] [--cache-dir DIR]
                                             [--output benchmarks/results/char_ngram_baseline.json]

What a recurrent character model must beat, scored on the same test books in the same unit: bits per
character of the text read as one stream, each verse followed by a line end that counts as a character
(`seq2seq.tasks.language_model`). Counts come from the training books' stream; each order's estimate is
interpolated with the next lower one by Witten-Bell (the weight of the lower order is the number of
distinct characters seen after the context over that plus the context's count), down to a uniform
distribution over the training characters and one unknown-character symbol, which every character
unseen in training becomes (as the SentencePiece character model maps it to its unknown piece).
Written with the standard library only (Python dictionaries hold the counts; about a minute
for order 5 on 3.5 M characters).
"""

import argparse
import json
import math
import time
from collections import Counter
from pathlib import Path

from benchmarks.run import machine
from seq2seq.data.bible_verses import read_bible_verses

UNKNOWN = "\0"
LINE_END = "\n"


class WittenBell:
    def __init__(self, text, order):
        self.order = order
        self.alphabet = sorted(set(text)) + [UNKNOWN]
        # counts[k]: (k-character context + next character) -> count; totals and types per context
        self.counts = [Counter(text[start - k:start + 1] for start in range(k, len(text))) for k in range(order)]
        self.totals = [Counter() for _ in range(order)]
        self.types = [Counter() for _ in range(order)]
        for k, counts in enumerate(self.counts):
            for gram, count in counts.items():
                self.totals[k][gram[:-1]] += count
                self.types[k][gram[:-1]] += 1

    def probability(self, history, character) -> float:
        probability = 1.0 / len(self.alphabet)
        for k in range(self.order):
            if k > len(history):
                break
            context = history[len(history) - k:] if k else ""
            total = self.totals[k].get(context, 0)
            if total:
                types = self.types[k][context]
                probability = (self.counts[k].get(context + character, 0) + types * probability) / (total + types)
        return probability

    def bits(self, text, first_history) -> float:
        """Total bits of `text`, each character predicted from the characters before it (and `first_history`)."""
        known = set(self.alphabet)
        text = "".join(character if character in known else UNKNOWN for character in text)
        stream = first_history + text
        offset = len(first_history)
        return -sum(math.log2(self.probability(stream[max(0, i - self.order + 1):i], stream[i]))
                    for i in range(offset, len(stream)))


def stream_of(split, side, cache_dir) -> str:
    return "".join(line + LINE_END for line in read_bible_verses(split, side, cache_dir).texts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", default="en", help="the Bible translation: es, en, en-kjv or en-bbe")
    parser.add_argument("--order", type=int, default=5, help="characters per n-gram (context + 1)")
    parser.add_argument("--cache-dir", type=Path, help="where the Bible corpus is cached (built if missing)")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/char_ngram_baseline.json"))
    args = parser.parse_args()

    started = time.perf_counter()
    model = WittenBell(LINE_END + stream_of("train", args.side, args.cache_dir), args.order)
    trained = time.perf_counter() - started
    scores = {}
    for split in ("dev", "test"):
        text = stream_of(split, args.side, args.cache_dir)
        scores[split] = {"bits_per_character": model.bits(text, LINE_END) / len(text), "characters": len(text)}
    results = {"model": f"interpolated Witten-Bell character {args.order}-gram", "side": args.side,
               "alphabet": len(model.alphabet), "scores": scores, "train_seconds": round(trained, 1),
               "seconds": round(time.perf_counter() - started, 1), "machine": machine()}
    print(f"| side | order | dev bits/char | test bits/char | test characters | seconds |\n|---|---|---|---|---|---|\n"
          f"| {args.side} | {args.order} | {scores['dev']['bits_per_character']:.4f} | "
          f"{scores['test']['bits_per_character']:.4f} | {scores['test']['characters']:,} | {results['seconds']} |")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
