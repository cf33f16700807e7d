"""Every speed figure in BENCHMARKS.md from one command.

    python -m benchmarks.run [--quick] [--phases ceiling budget training decoding scaling peer]

Phases run one after another, and every measurement runs in a process of its own: peak memory is
per process, and two measurements sharing the CPU would slow each other. Nothing else should run
meanwhile. Results accumulate in `benchmarks/results/benchmarks.json` (rerunning some phases keeps
the others), and the tables are rendered into `benchmarks/results/benchmarks.md` for BENCHMARKS.md.

- ceiling: the float32 and bfloat16 matrix-multiply ceilings (`benchmarks.matmul_ceiling`).
- budget: `configs/spa_eng_15min.yaml` trained for its 15 minutes, then test BLEU with beam 5.
- training: tokens/s and FLOP rate of GRU and LSTM, float32 and mixed_bfloat16, XLA on and off, at
  the reference size and a larger one (`benchmarks.training_speed`), each setting in `--processes`
  processes (default 3) and the median process reported.
- decoding: greedy and beam 2/5/10 sentences/s on the test split, by source length too.
- scaling: epoch time with 1/4, 1/2 and all of the training corpus.
- peer: OpenNMT-py on the same data and vocabulary, same model size and budget (`benchmarks.opennmt_peer`).

`--quick` runs every phase at toy scale (a 3-minute budget, a few steps, small corpora) to check
the pipeline; its figures are not the ones to quote. Its decoding phase decodes the first 128 test
verses only: a barely trained model runs every hypothesis to the length limit.
"""

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.report import render
from seq2seq.precision import cpu_flags

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BUDGET_CONFIG = ROOT / "configs" / "spa_eng_15min.yaml"
# The flags that decide a CPU's speed here: machines of one name ("AMD EPYC") differ in them.
SPEED_RELEVANT_FLAGS = {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"}
PHASES = ("ceiling", "budget", "training", "decoding", "scaling", "peer")


class BenchmarkError(RuntimeError):
    pass


def run_child(command, log_name, env=None):
    """Run one measurement in its own process -> (stdout, wall seconds, its peak RSS in MB).

    stderr goes to `benchmarks/results/logs/<log_name>.log`, which an error message points to.
    """
    log_file = RESULTS / "logs" / f"{log_name}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    print(f"[{time.strftime('%H:%M:%S')}] {log_name}: {' '.join(map(str, command))}", flush=True)
    started = time.perf_counter()
    with open(log_file, "w") as log:
        process = subprocess.Popen([str(part) for part in command], stdout=subprocess.PIPE, stderr=log, text=True,
                                   cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)  # the child's own peak, not the largest child's
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise BenchmarkError(f"{log_name} failed (exit {process.returncode}); see {log_file}")
    return stdout, round(time.perf_counter() - started, 1), usage.ru_maxrss // 1024


def json_lines(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def python(*arguments):
    return [sys.executable, *arguments]


def seq2seq_cli(*arguments, overrides=()):
    return python("-m", "seq2seq.cli", *arguments, *(part for override in overrides for part in ("--set", override)))


def budget_run_dir(quick):
    return RESULTS / "runs" / ("seq2seq_quick" if quick else "seq2seq_15min")


def measure_ceiling(args):
    stdout, _, _ = run_child(python("-m", "benchmarks.matmul_ceiling"), "ceiling")
    return json_lines(stdout)[-1]


def measure_budget(args):
    """Train the 15-minute recipe from scratch, then score the test split with its beam-5 search."""
    run_dir = budget_run_dir(args.quick)
    shutil.rmtree(run_dir, ignore_errors=True)
    overrides = ["train.max_minutes=3", "data.max_train_pairs=4000"] if args.quick else []
    _, seconds, peak = run_child(seq2seq_cli("train", BUDGET_CONFIG, "--run-dir", run_dir, overrides=overrides),
                                 "budget_train")
    epochs = read_metrics(run_dir)
    run_child(seq2seq_cli("evaluate", run_dir, "--split", "test"), "budget_evaluate")
    scores = json.loads(max((run_dir / "eval").glob("test.*.scores.json"), key=os.path.getmtime).read_text())
    return {"config": str(BUDGET_CONFIG.relative_to(ROOT)), "overrides": overrides, "run_dir": str(run_dir),
            "wall_seconds": seconds, "train_peak_rss_mb": peak, "epochs": epochs,
            "test_bleu": round(scores["bleu"], 2), "test_chrf": round(scores["chrf"], 2),
            "test_sentences_per_second": scores["sentences_per_second"], "decode": scores["decode"]}


def read_metrics(run_dir):
    with open(Path(run_dir) / "metrics.csv", newline="") as rows:
        return [{key: float(value) for key, value in row.items() if value != ""} for row in csv.DictReader(rows)]


def measure_training(args):
    """Every size x cell x precision x XLA setting, each in `--processes` processes of its own.

    The same code measured in separate processes varies by up to a quarter (BENCHMARKS.md), far
    more than within one process, so each setting is run several times and the process with the
    median tokens/s stands for it. The rounds go through all settings in turn, so a slow spell of
    the machine lands on every setting alike rather than on one.
    """
    sizes = ["reference"] if args.quick else ["reference", "large"]
    steps, repeats = (3, 2) if args.quick else (10, 3)  # the large size: half the steps, 2 repeats
    settings = [(size, cell, precision, xla) for size in sizes for cell in ("gru", "lstm")
                for precision in ("float32", "mixed_bfloat16") for xla in (False, True)]
    measured = {setting: [] for setting in settings}
    for round_index in range(args.processes or (1 if args.quick else 3)):
        for size, cell, precision, xla in settings:
            name = f"training_{size}_{cell}_{precision}_{'xla' if xla else 'noxla'}_{round_index + 1}"
            command = python("-m", "benchmarks.training_speed", "--tokenizers", budget_run_dir(args.quick),
                             "--size", size, "--cell", cell, "--precision", precision,
                             "--steps", steps if size == "reference" else max(3, steps // 2),
                             "--repeats", repeats if size == "reference" else 2,
                             *(["--xla"] if xla else []))
            stdout, _, _ = run_child(command, name)
            measured[size, cell, precision, xla].append(json_lines(stdout)[-1])
    return [median_process(rows) for rows in measured.values()]


def median_process(rows):
    """One setting's rows, one per process -> the median process's row (the lower of the middle two
    for an even count, so every figure in it comes from one real process), with every process's
    tokens/s and the largest peak memory."""
    ranked = sorted(rows, key=lambda row: row["target_tokens_per_second"])
    return {**ranked[(len(ranked) - 1) // 2],
            "per_process_tokens_per_second": [row["target_tokens_per_second"] for row in rows],
            "peak_rss_mb": max(row["peak_rss_mb"] for row in rows)}


def measure_decoding(args):
    """Greedy and beam 5 alone (each process's peak memory is theirs), then beam 2 and 10."""
    run_dir = args.decode_run or budget_run_dir(args.quick)
    rows = []
    for settings in (["greedy"], ["beam5"], ["beam2", "beam10"]):
        name = "decoding_" + "_".join(settings)
        command = python("-m", "benchmarks.decode_speed", run_dir, "--settings", *settings, "--by-length",
                         "--length-penalty", "1.0", "--output", RESULTS / f"{name}.json",
                         *(["--sentences", 128] if args.quick else []))
        stdout, _, peak = run_child(command, name)
        rows.extend({**row, "peak_rss_mb": peak} for row in json_lines(stdout))
    return {"run_dir": str(run_dir), "rows": rows}


def measure_scaling(args):
    """Epoch time against corpus size: the budget recipe for two epochs on the first N training
    pairs, the second epoch timed (so tracing is left out). The whole corpus is the budget run's
    own second epoch."""
    total = 4000 if args.quick else training_pairs()
    rows = []
    for fraction in (0.25, 0.5, 1.0):
        pairs = int(total * fraction)
        if fraction == 1.0:
            run_dir, peak = budget_run_dir(args.quick), None
        else:
            run_dir = RESULTS / "runs" / f"scaling_{pairs}"
            shutil.rmtree(run_dir, ignore_errors=True)
            overrides = [f"data.max_train_pairs={pairs}", "train.epochs=2", "train.max_minutes=null",
                         "train.early_stopping.patience=10"]
            _, _, peak = run_child(seq2seq_cli("train", BUDGET_CONFIG, "--run-dir", run_dir, overrides=overrides),
                                   f"scaling_{pairs}")
        second = read_metrics(run_dir)[1]
        if second.get("complete_epoch") != 1:
            raise BenchmarkError(f"{run_dir}: the second epoch did not complete, so it cannot be timed")
        rows.append({"fraction": fraction, "pairs": pairs, "epoch_seconds": second["epoch_seconds"],
                     "target_tokens_per_second": second["target_tokens_per_second"], "peak_rss_mb": peak})
    return rows


def training_pairs():
    """Training pairs of the budget config after bad rows are skipped (what `max_train_pairs` counts)."""
    from seq2seq.config import load_config
    from seq2seq.data.corpus import load_split
    from seq2seq.data.readers import SkipCounter

    return len(load_split(load_config(BUDGET_CONFIG).data, "train", SkipCounter()))


def measure_peer(args):
    """OpenNMT-py with our budget run's tokenizers: throughput, then the same budget and beam-5 test BLEU."""
    command = python("-m", "benchmarks.opennmt_peer", "all", "--run-dir", budget_run_dir(args.quick),
                     "--minutes", 2 if args.quick else 15, *(["--quick"] if args.quick else []),
                     "--output", RESULTS / "opennmt.json")
    run_child(command, "peer")
    return json.loads((RESULTS / "opennmt.json").read_text())


MEASURE = {"ceiling": measure_ceiling, "budget": measure_budget, "training": measure_training,
           "decoding": measure_decoding, "scaling": measure_scaling, "peer": measure_peer}


def machine():
    model_names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name")]
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "cpu": model_names[0] if model_names else platform.processor(),
            "instruction_sets": sorted(cpu_flags() & SPEED_RELEVANT_FLAGS),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1)}


def commit(root=ROOT):
    """The checked-out commit, marked `+changes` when tracked files other than the results differ
    from it: results from several runs accumulate in one file, so each phase records the code it
    measured. (The tracked results themselves change with every phase, so they do not count.)"""
    def git(*arguments):
        return subprocess.run(["git", *arguments], cwd=root, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", f":!{RESULTS.relative_to(ROOT)}")
    return head + ("+changes" if changed else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="toy scale: checks the pipeline, not for quoting")
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    parser.add_argument("--decode-run", type=Path, help="decode with this run instead of the budget run")
    parser.add_argument("--processes", type=int,
                        help="processes per training setting, the median one reported (default 3; 1 with --quick)")
    args = parser.parse_args()

    output = RESULTS / ("benchmarks_quick.json" if args.quick else "benchmarks.json")
    results = json.loads(output.read_text()) if output.exists() else {}
    results["machine"] = machine()
    results["quick"] = args.quick
    for phase in PHASES:
        if phase not in args.phases:
            continue
        started, code = time.perf_counter(), commit()
        results[phase] = MEASURE[phase](args)
        results[phase + "_measured_at"] = time.strftime("%Y-%m-%d %H:%M")
        results[phase + "_commit"] = code
        print(f"{phase} done in {time.perf_counter() - started:.0f}s", flush=True)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2) + "\n")  # a later failure keeps this phase
    markdown = render(results)
    output.with_suffix(".md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
