"""The low-resource levers for Spanish->English, each alone and combined, at a short fixed step budget.

    python -m benchmarks.ablation [--epochs 2] [--seed 1234] [--variants baseline vocab_4k ...]
    python -m benchmarks.ablation --report        # the table of what results/ablation.json holds

Every variant is `configs/spa_eng_15min.yaml` as it was before the levers (8k pieces, GRU, no weight
averaging, bfloat16, no XLA; `BASE_OVERRIDES` pins it, so the table stays comparable as the recipe
takes levers in) with a few `--set` overrides, trained for `--epochs` whole epochs without its time
limit, in a process of its own (nothing else should run meanwhile). An epoch is about 466 steps whatever the vocabulary, because batches hold 64 verses,
so dev BLEU after epoch N compares runs at the same step count on any machine; the wall time to get
there (tokenizer training included) is the cost, on this machine. Dev BLEU is greedy on all 507 dev
verses, as training logs it. Results accumulate in `benchmarks/results/ablation.json`, one entry per
(variant, seed, epochs); rerunning a variant replaces its entry.
"""

import argparse
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from benchmarks.run import commit, machine, read_metrics, seq2seq_cli

ROOT = Path(__file__).resolve().parent.parent
BASE_CONFIG = ROOT / "configs" / "spa_eng_15min.yaml"
RESULTS = ROOT / "benchmarks" / "results" / "ablation.json"
RUNS = ROOT / "runs" / "ablation"

BASE_OVERRIDES = ["tokenizer.vocab_size=8000", "model.cell=gru", "train.weight_averaging=0.0",
                  "train.precision=mixed_bfloat16"]
VARIANTS = {
    "baseline": [],
    "vocab_4k": ["tokenizer.vocab_size=4000"],
    "vocab_2k": ["tokenizer.vocab_size=2000"],
    "word_dropout_0.1": ["model.source_word_dropout=0.1", "model.target_word_dropout=0.1"],
    "subword_sampling_0.3": ["tokenizer.sampling_alpha=0.3"],
    "weight_averaging_0.99": ["train.weight_averaging=0.99"],
    "layer_norm_gru": ["model.cell=layer_norm_gru"],
    "luong_general": ["model.attention=luong-general"],
    "tied_embeddings": ["model.tie_embeddings=true"],
    "learning_rate_0.003": ["train.learning_rate=0.003"],
    "label_smoothing_0.2": ["train.label_smoothing=0.2"],
    "dropout_0.3": ["model.dropout=0.3"],
}
BATCHES_PER_EPOCH = re.compile(r"in (\d+) batches per epoch")
PARAMETERS = re.compile(r"model: ([\d,]+) parameters")


def run_variant(name, overrides, epochs, seed) -> dict:
    run_dir = RUNS / f"{name}-seed{seed}-e{epochs}"
    shutil.rmtree(run_dir, ignore_errors=True)
    settings = [*BASE_OVERRIDES, *overrides, f"train.epochs={epochs}", "train.max_minutes=null", f"seed={seed}"]
    command = seq2seq_cli("train", str(BASE_CONFIG), "--run-dir", str(run_dir), overrides=settings)
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if finished.returncode:
        raise SystemExit(f"{name}: training failed\n{finished.stdout[-2000:]}\n{finished.stderr[-4000:]}")
    log = finished.stdout + finished.stderr
    steps = int(BATCHES_PER_EPOCH.search(log).group(1))
    rows = read_metrics(run_dir)
    return {
        "variant": name, "seed": seed, "epochs": epochs, "overrides": overrides, "machine": machine(),
        "commit": commit(),
        "parameters": int(PARAMETERS.search(log).group(1).replace(",", "")), "steps_per_epoch": steps,
        "wall_seconds": round(seconds, 1),
        "per_epoch": [{"epoch": int(row["epoch"]), "step": steps * int(row["epoch"]),
                       "dev_bleu": round(row["dev_bleu"], 2), "dev_chrf": round(row["dev_chrf"], 2),
                       "dev_xent": round(row["val_xent"], 4), "epoch_seconds": row["epoch_seconds"]}
                      for row in rows],
    }


def load_results() -> list:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else []


def save_result(result):
    key = lambda entry: (entry["variant"], entry["seed"], entry["epochs"])  # noqa: E731
    kept = [entry for entry in load_results() if key(entry) != key(result)]
    RESULTS.write_text(json.dumps([*kept, result], indent=1) + "\n")


def report(results) -> str:
    """A markdown table: dev BLEU (and cross-entropy) after each epoch, wall time, against the baseline."""
    lines = ["| variant | seed | dev BLEU by epoch (step) | dev xent, last | Δ BLEU vs baseline | wall min |",
             "| --- | --- | --- | --- | --- | --- |"]
    baselines = {(entry["seed"], entry["epochs"]): entry["per_epoch"][-1]["dev_bleu"]
                 for entry in results if entry["variant"] == "baseline"}
    for entry in sorted(results, key=lambda entry: (entry["epochs"], entry["variant"] != "baseline", entry["variant"],
                                                    entry["seed"])):
        curve = ", ".join(f"{epoch['dev_bleu']:.2f} ({epoch['step']})" for epoch in entry["per_epoch"])
        last = entry["per_epoch"][-1]
        baseline = baselines.get((entry["seed"], entry["epochs"]))
        delta = f"{last['dev_bleu'] - baseline:+.2f}" if baseline is not None else "n/a"
        lines.append(f"| {entry['variant']} | {entry['seed']} | {curve} | {last['dev_xent']:.3f} | {delta} | "
                     f"{entry['wall_seconds'] / 60:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--combine", nargs="+", choices=list(VARIANTS), metavar="VARIANT",
                        help="one more run with these variants' overrides together, named after them")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--report", action="store_true", help="print the table of the saved results and stop")
    args = parser.parse_args(argv)
    if args.report:
        print(report(load_results()))
        return
    jobs = {name: VARIANTS[name] for name in args.variants} if not args.combine else {
        "+".join(args.combine): [override for name in args.combine for override in VARIANTS[name]]}
    for name, overrides in jobs.items():
        result = run_variant(name, overrides, args.epochs, args.seed)
        save_result(result)
        print(f"{name}: dev BLEU {[epoch['dev_bleu'] for epoch in result['per_epoch']]} in "
              f"{result['wall_seconds'] / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
