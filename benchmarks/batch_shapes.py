"""Resident memory of one process decoding batches of random shapes, as a service does.

    python -m benchmarks.batch_shapes RUN [--batches 800] [--threads 2] [--batch fixed]

Translates `--batches` batches of 1-32 sentences drawn at random from the test split (seed 0), in
`--threads` threads as `seq2seq serve --searches` does, and reads the process's resident set after
every 100 batches. `--batch fixed` decodes the same 16 sentences every time instead: one input shape.
Memory that grows with random batches and stays flat with a fixed one is kept per input shape, which
the translator's shape buckets (`seq2seq/batch_shapes.py`) bound. Results:
`benchmarks/results/batch_shapes.json` (or `--output`).
"""

import argparse
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.memory import resident_mb
from benchmarks.run import commit, machine
from benchmarks.serving import test_sentences

RESULTS = Path(__file__).resolve().parent / "results" / "batch_shapes.json"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--batches", type=int, default=800)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", choices=("random", "fixed"), default="random")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from seq2seq.tasks.translation.translator import Translator

    translator = Translator.load(args.run_dir)
    sentences = test_sentences()
    translator.translate(sentences[:1])
    draw = random.Random(0)
    if args.batch == "fixed":
        batches = [sentences[:16]] * args.batches
    else:
        batches = [[draw.choice(sentences) for _ in range(draw.randint(1, 32))] for _ in range(args.batches)]
    samples = [(0, resident_mb(os.getpid()))]
    started = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        for start in range(0, len(batches), 100):
            list(pool.map(lambda batch: translator.translate_with_details(batch, False), batches[start:start + 100]))
            samples.append((min(start + 100, len(batches)), resident_mb(os.getpid())))
            print(f"after {samples[-1][0]} batches: {samples[-1][1]:.0f} MB", flush=True)
    result = {"run_dir": str(args.run_dir), "batch": args.batch, "threads": args.threads,
              "sentences": sum(map(len, batches)), "seconds": round(time.perf_counter() - started, 1),
              "rss_mb_after_batches": samples, "machine": machine(), "commit": commit(),
              "date": time.strftime("%Y-%m-%d %H:%M")}
    args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
