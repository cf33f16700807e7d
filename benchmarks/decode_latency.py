"""Single-sentence latency: one sentence per call, what an interactive user sees.

    python -m benchmarks.decode_latency runs/spa_eng [--pieces 30] [--sentences 20] [--settings beam5 greedy]
        [--rounds 3]

Takes the `--sentences` sentences of the split whose sources are nearest `--pieces` SentencePiece
pieces long (EOS not counted) and translates each alone (batch 1) with one warm `Translator` per
setting: every sentence is translated once untimed (the search is traced once, for any shape), then
`--repeats` times timed. A sentence's latency is the median of its repeats; the result gives the median
over sentences and their range, per setting, as JSON lines and in a JSON file with the machine.
`--rounds N` times every setting N times, alternating, so that settings compared side by side meet the
same moments of a noisy machine.
"""

import argparse
import itertools
import json
import statistics
import time
from pathlib import Path

from benchmarks.decode_speed import SETTINGS


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--settings", nargs="+", default=["beam5", "greedy"], choices=sorted(SETTINGS))
    parser.add_argument("--pieces", type=int, default=30, help="source length sought, in pieces")
    parser.add_argument("--sentences", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/decode_latency.json"))
    args = parser.parse_args()

    from benchmarks.run import machine
    from seq2seq.data.corpus import load_split
    from seq2seq.tasks.translation.translator import Translator
    from seq2seq.training.run_dir import RunDirectory

    sources = load_split(RunDirectory(args.run_dir).load_config().data, args.split).sources
    translators = {name: Translator.load(args.run_dir, **SETTINGS[name]) for name in args.settings}
    lengths = [len(ids) for ids in next(iter(translators.values())).source_tokenizer.encode(sources)]
    nearest = sorted(range(len(sources)), key=lambda index: (abs(lengths[index] - args.pieces), index))
    chosen = [sources[index] for index in nearest[:args.sentences]]
    rows = []
    for round_number, name in itertools.product(range(1, args.rounds + 1), args.settings):
        latencies = [sentence_latency(translators[name], sentence, args.repeats) for sentence in chosen]
        row = {"search": name, "round": round_number, **SETTINGS[name], "batch_size": 1, "sentences": len(chosen),
               "source_pieces": sorted({lengths[index] for index in nearest[:args.sentences]}),
               "median_ms": round(1000 * statistics.median(latencies), 1),
               "min_ms": round(1000 * min(latencies), 1), "max_ms": round(1000 * max(latencies), 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"run_dir": str(args.run_dir), "split": args.split, "machine": machine(),
                                       "repeats": args.repeats, "rows": rows}, indent=2) + "\n")


def sentence_latency(translator, sentence, repeats) -> float:
    """Median seconds of `repeats` timed translations of `sentence` alone, after one untimed."""
    translator.translate([sentence])
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        translator.translate([sentence])
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


if __name__ == "__main__":
    main()
