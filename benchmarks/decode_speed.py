"""Decoding speed and quality of a trained run on a split, for several search settings.

    python -m benchmarks.decode_speed runs/spa_eng --settings greedy beam5 --batch-sizes 64 128 [--by-length]
        [--precisions float32 mixed_bfloat16] [--rounds 3]
    python -m benchmarks.decode_speed runs/spa_eng --settings beam5 beam5-shortlist [--shortlist-per-piece 20]
    python -m benchmarks.decode_speed runs/spa_eng --settings beam5 beam5-all-rows --rounds 3

Each setting decodes the split twice with the same Translator: the first pass includes tracing
(and XLA compiles), the second is the warm speed users see in a long-running process. BLEU is
against the split's main reference. A `-shortlist` setting searches with the run's vocabulary
shortlist; an `-all-rows` setting keeps finished outputs in the batch (`decode.shrink_batch: false`,
the search before they could leave it). Where the setting without the suffix ran in the same round,
the row also gives the share of outputs identical to that search's (`same_as_<setting>`).
`--rounds N` repeats every setting N times, alternating, so that settings compared side by side
meet the same moments of a noisy machine. `--by-length` also times each setting on the split's
sentences grouped by source length, to show how decoding cost grows with length. Results print as
JSON lines and go to a JSON file, with the process's peak resident memory.
"""

import argparse
import json
import itertools
import resource
import time
from pathlib import Path

LENGTH_BINS = ((1, 20), (21, 40), (41, 60), (61, 1000))  # source pieces, EOS excluded
SETTINGS = {  # explicit beam sizes: a run's config may decode with a beam by default
    "greedy": {"beam_size": 1},
    "beam2": {"beam_size": 2},
    "beam5": {"beam_size": 5},
    "beam10": {"beam_size": 10},
    "greedy-shortlist": {"beam_size": 1, "shortlist": True},
    "beam5-shortlist": {"beam_size": 5, "shortlist": True},
    "greedy-all-rows": {"beam_size": 1, "shrink_batch": False},
    "beam5-all-rows": {"beam_size": 5, "shrink_batch": False},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--settings", nargs="+", default=["greedy", "beam5"], choices=sorted(SETTINGS))
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[64])
    parser.add_argument("--precisions", nargs="+", default=["auto"],
                        help="decode.precision values to compare (auto: the run's own where this CPU runs it natively)")
    parser.add_argument("--length-penalty", type=float, default=None)
    parser.add_argument("--by-length", action="store_true")
    parser.add_argument("--sentences", type=int, help="decode only the split's first N sentences")
    parser.add_argument("--shortlist-per-piece", type=int, help="for -shortlist settings (default: the run's)")
    parser.add_argument("--shortlist-frequent", type=int, help="for -shortlist settings (default: the run's)")
    parser.add_argument("--rounds", type=int, default=1, help="times each setting runs, alternating")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/decode_speed.json"))
    args = parser.parse_args()

    from benchmarks.run import machine
    from seq2seq.data.corpus import load_split
    from seq2seq.metrics.translation import translation_scores
    from seq2seq.training.run_dir import RunDirectory
    from seq2seq.tasks.translation.translator import Translator

    config = RunDirectory(args.run_dir).load_config()
    data = load_split(config.data, args.split)
    sources, references = data.sources[:args.sentences], data.targets[:args.sentences]
    rows, outputs = [], {}
    for round_number, name, batch_size, precision in itertools.product(
            range(1, args.rounds + 1), args.settings, args.batch_sizes, args.precisions):
        settings = {**SETTINGS[name], "batch_size": batch_size, "precision": precision}
        if args.length_penalty is not None:
            settings["length_penalty"] = args.length_penalty
        if settings.get("shortlist"):
            settings |= {key: value for key, value in (("shortlist_per_piece", args.shortlist_per_piece),
                                                      ("shortlist_frequent", args.shortlist_frequent)) if value is not None}
        translator = Translator.load(args.run_dir, **settings)
        hypotheses, seconds = timed_twice(translator, sources)
        bleu = translation_scores(hypotheses, [references], metrics=("bleu",))["bleu"]
        row = {"search": name, "round": round_number, **settings, "sentences": len(hypotheses),
               "cold_seconds": round(seconds[0], 2), "warm_seconds": round(seconds[1], 2),
               "sentences_per_second": round(len(hypotheses) / seconds[1], 1), "bleu": round(bleu, 2)}
        outputs[name, round_number, batch_size, precision] = hypotheses
        base = name.split("-")[0]
        compared = outputs.get((base, round_number, batch_size, precision))
        if base != name and compared is not None:
            row[f"same_as_{base}"] = round(sum(a == b for a, b in zip(hypotheses, compared)) / len(compared), 4)
        if args.by_length:
            row["by_length"] = by_length(translator, sources)
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"run_dir": str(args.run_dir), "split": args.split, "machine": machine(),
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "rows": rows}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")


def timed_twice(translator, sources):
    """-> (hypotheses, [cold seconds, warm seconds])."""
    seconds = []
    for _ in range(2):
        started = time.perf_counter()
        hypotheses = translator.translate(sources)
        seconds.append(time.perf_counter() - started)
    return hypotheses, seconds


def by_length(translator, sources):
    """Warm decoding time of the sentences in each source-length bin."""
    lengths = [len(ids) for ids in translator.source_tokenizer.encode(sources)]
    rows = []
    for shortest, longest in LENGTH_BINS:
        chosen = [source for source, length in zip(sources, lengths) if shortest <= length <= longest]
        if not chosen:
            continue
        _, seconds = timed_twice(translator, chosen)
        mean_length = sum(length for length in lengths if shortest <= length <= longest) / len(chosen)
        rows.append({"source_pieces": [shortest, longest], "sentences": len(chosen),
                     "mean_source_pieces": round(mean_length, 1),
                     "ms_per_sentence": round(1000 * seconds[1] / len(chosen), 2)})
    return rows


if __name__ == "__main__":
    main()
