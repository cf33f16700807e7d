"""Trained runs against the rule-based Apertium on the same test splits, side by side on one machine.

    apt-get install apertium apertium-eng-spa
    python -m benchmarks.apertium_baseline runs/spa_eng_general runs/spa_eng [--beam-size 5] [--free-placeholders]

For each corpus (the Bible's and the software messages' test splits), Apertium's `spa-eng` pair
translates the Spanish side (`apertium -u`: unknown words unmarked; its `#` and `@` marks for
generation and transfer errors are removed too, unless the source has the token), then each run
translates it with its own search settings (or `--beam-size`). All are scored with sacreBLEU's
BLEU and chrF against the same references, plus the placeholder-match rate (the share of outputs
whose source has placeholders that keep exactly them). Decoding speed is printed beside each. With
`--free-placeholders`, each run trained with placeholders also translates with `decode.keep_placeholders`
off, side by side with its quota-kept search. Results print and go to a JSON file that names the CPU.
"""

import argparse
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from benchmarks.run import commit, machine
from seq2seq.config import DataConfig
from seq2seq.data.corpus import load_split
from seq2seq.data.placeholders import match_rate
from seq2seq.metrics.translation import translation_scores
from seq2seq.tensorflow_startup import start_tensorflow_quietly

CORPORA = ("bible-es-en", "software-es-en")
_ERROR_MARK = re.compile(r"(?<!\S)[#@*](?=[^\W\d_])\S*")


def apertium(sources: list[str]) -> list[str]:
    """Apertium's spa-eng translations, one per source line."""
    if shutil.which("apertium") is None:
        raise SystemExit("apertium is not installed: apt-get install apertium apertium-eng-spa")
    result = subprocess.run(["apertium", "-u", "spa-eng"], input="".join(f"{line}\n" for line in sources),
                            capture_output=True, text=True, check=True)
    outputs = result.stdout.split("\n")[:len(sources)]
    if len(outputs) != len(sources) or result.stdout.count("\n") != len(sources):
        raise SystemExit(f"apertium returned {result.stdout.count(chr(10))} lines for {len(sources)} sentences")
    return [_without_error_marks(output, source) for output, source in zip(outputs, sources)]


def _without_error_marks(output: str, source: str) -> str:
    source_tokens = set(source.split())
    return _ERROR_MARK.sub(lambda match: match.group(0) if match.group(0) in source_tokens else match.group(0)[1:],
                           output)


def scored(outputs, sources, references, seconds) -> dict:
    scores = translation_scores(outputs, [references], metrics=("bleu", "chrf"))
    return {"bleu": round(scores["bleu"], 2), "chrf": round(scores["chrf"], 2),
            "placeholder_match": round(match_rate(sources, outputs), 2),
            "sentences_per_second": round(len(outputs) / seconds, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", type=Path, nargs="*")
    parser.add_argument("--split", default="test", choices=["dev", "test"])
    parser.add_argument("--beam-size", type=int, help="every run's beam (default: each run's decode config)")
    parser.add_argument("--cache-dir", help="where the corpora are built (default: the seq2seq cache)")
    parser.add_argument("--free-placeholders", action="store_true",
                        help="also translate with decode.keep_placeholders off, for runs trained with placeholders")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/apertium_baseline.json"))
    args = parser.parse_args()

    start_tensorflow_quietly()
    from seq2seq.tasks.translation.translator import Translator

    settings = {"beam_size": args.beam_size} if args.beam_size else {}
    translators = {str(run): Translator.load(run, **settings) for run in args.run_dirs}
    if args.free_placeholders:
        translators |= {f"{run} (keep_placeholders: false)": Translator.load(run, keep_placeholders=False, **settings)
                        for run in args.run_dirs if translators[str(run)].protect_placeholders}
    results = {"machine": machine(), "commit": commit(), "split": args.split, "corpora": {}}
    for corpus in CORPORA:
        data = DataConfig(corpus=corpus, on_bad_row="skip", cache_dir=args.cache_dir)
        split = load_split(data, args.split)
        started = time.perf_counter()
        outputs = apertium(split.sources)
        row = {"sentences": len(split), "apertium": scored(outputs, split.sources, split.targets,
                                                           time.perf_counter() - started)}
        for run, translator in translators.items():
            started = time.perf_counter()
            outputs = translator.translate(split.sources)
            row[run] = scored(outputs, split.sources, split.targets, time.perf_counter() - started)
            row[run]["beam_size"] = translator.decode_config.beam_size
        results["corpora"][corpus] = row
        print(f"{corpus} {args.split} ({len(split)} sentences)")
        for system, scores in row.items():
            if system != "sentences":
                print(f"  {system:40s} BLEU {scores['bleu']:6.2f}  chrF {scores['chrf']:6.2f}  placeholders "
                      f"{scores['placeholder_match']:6.2f} %  {scores['sentences_per_second']:7.1f} sent/s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
