"""Resident memory of one training or decoding process over its whole life: does it stay flat?

    python -m benchmarks.memory train configs/spa_eng.yaml [--set key=value ...] [--interval 60]
    python -m benchmarks.memory translate RUN [--sentences 10000] [--interval 5] [--set beam_size=5]

The command runs as a child process. Its resident set (VmRSS in /proc/PID/status) is read every
`--interval` seconds, and every line the child prints that ends an epoch ("epoch N: ...") marks the
curve, so growth can be told apart from the first epoch's warm-up (compiling a step per length
bucket, the tf.data pipeline filling its buffers). `translate` decodes the test split's sources
repeated to `--sentences` lines in one process. The peak comes from the kernel (wait4's ru_maxrss),
not from the samples, so a spike between two samples still counts.

Written: `benchmarks/results/memory/<name>.json` (samples, epoch marks, each epoch's peak, the growth of
the last epoch's peak over the first's) and `<name>.png`, the curve.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import threading
import time
from pathlib import Path

from benchmarks.run import commit, machine, seq2seq_cli

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "memory"
EPOCH_ENDS = re.compile(r"^epoch (\d+): ")


def resident_mb(pid) -> float | None:
    """The process's current resident set in MB, or None once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


def watch(command, interval, log_path) -> dict:
    """Run `command`, sampling its resident memory every `interval` s -> samples, epoch marks, peak."""
    started = time.perf_counter()
    samples, marks = [], []
    with open(log_path, "w") as log:
        process = subprocess.Popen([str(part) for part in command], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})

        def read_output():
            for line in iter(process.stdout.readline, ""):  # each line as it comes, not read ahead
                log.write(line)
                match = EPOCH_ENDS.match(line)
                if match:
                    marks.append({"epoch": int(match.group(1)), "seconds": round(time.perf_counter() - started, 3)})

        reader = threading.Thread(target=read_output, daemon=True)
        reader.start()
        while True:
            rss = resident_mb(process.pid)
            if rss is not None:
                samples.append({"seconds": round(time.perf_counter() - started, 3), "rss_mb": round(rss, 1)})
            try:
                process.wait(timeout=interval)
                break
            except subprocess.TimeoutExpired:
                continue
        reader.join()
    # Popen.wait has reaped the child, so its peak is in the rusage of waited-for children.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if process.returncode:
        raise SystemExit(f"the watched process failed (exit {process.returncode}); see {log_path}")
    return {"samples": samples, "epoch_marks": marks, "peak_rss_mb": round(peak_mb),
            "wall_seconds": round(time.perf_counter() - started, 1)}


def epoch_peaks(result) -> list[dict]:
    """The largest sample in each epoch (up to its end mark) and in whatever ran after the last.

    Within an epoch the resident set swings by hundreds of MB (batches of different lengths, the dev
    pass), so growth shows in the epochs' peaks, not in one sample against another.
    """
    ends = {}
    for mark in result["epoch_marks"]:
        ends.setdefault(mark["epoch"], mark["seconds"])  # an epoch may print several "epoch N:" lines
    peaks, start = [], -1.0  # before the first sample, at 0 s
    for epoch, end in [*sorted(ends.items()), ("after", float("inf"))]:
        window = [s["rss_mb"] for s in result["samples"] if start < s["seconds"] <= end]
        if window:
            peaks.append({"epoch": epoch, "peak_rss_mb": round(max(window))})
        start = end
    return peaks


def growth_after_first_epoch(result) -> dict | None:
    """How much the epochs' peaks rose after the first: the last epoch's peak against the first's."""
    peaks = [peak for peak in epoch_peaks(result) if peak["epoch"] != "after"]
    if len(peaks) < 2:
        return None
    return {"first_epoch_peak_mb": peaks[0]["peak_rss_mb"], "last_epoch_peak_mb": peaks[-1]["peak_rss_mb"],
            "largest_later_peak_mb": max(peak["peak_rss_mb"] for peak in peaks[1:]),
            "growth_mb": peaks[-1]["peak_rss_mb"] - peaks[0]["peak_rss_mb"]}


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 3.5))
    axes.plot([s["seconds"] / 60 for s in result["samples"]], [s["rss_mb"] for s in result["samples"]])
    for mark in result["epoch_marks"]:
        axes.axvline(mark["seconds"] / 60, color="grey", linewidth=0.5)
    axes.set_xlabel("minutes (grey: an epoch ends)")
    axes.set_ylabel("resident MB")
    axes.set_title(f"{result['name']}: peak {result['peak_rss_mb']:,} MB")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def sentences_file(count, path) -> Path:
    """The test split's Spanish sources, repeated to `count` lines."""
    from seq2seq.data.bible import bible_corpus_dir

    sources = (bible_corpus_dir() / "test.es").read_text().splitlines()
    path.write_text("".join(sources[index % len(sources)] + "\n" for index in range(count)))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["train", "translate"])
    parser.add_argument("target", help="a config to train, or a run directory to translate with")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides (train) or search options as option=value (translate)")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--name", help="result name (default: from the config or run directory)")
    args = parser.parse_args(argv)

    name = args.name or f"{args.what}-{Path(args.target).stem}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.what == "train":
        command = seq2seq_cli("train", args.target, "--run-dir", str(ROOT / "runs" / "memory" / name),
                              overrides=args.set)
    else:
        source = sentences_file(args.sentences, RESULTS / f"{name}.sources.txt")
        options = [part for setting in args.set for part in (f"--{setting.split('=')[0].replace('_', '-')}",
                                                              setting.split("=", 1)[1])]
        command = seq2seq_cli("translate", args.target, "--input", str(source), "--output",
                              str(RESULTS / f"{name}.translations.txt"), *options)
    result = {"name": name, "command": [str(part) for part in command], "machine": machine(), "commit": commit(),
              **watch(command, args.interval, RESULTS / f"{name}.log")}
    result["epoch_peaks"] = epoch_peaks(result)
    result["growth_after_first_epoch"] = growth_after_first_epoch(result)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(result, RESULTS / f"{name}.png")
    print(json.dumps({key: result[key] for key in ("name", "peak_rss_mb", "wall_seconds",
                                                   "growth_after_first_epoch")}))


if __name__ == "__main__":
    main()
