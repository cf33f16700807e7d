"""Markdown tables from `benchmarks.run`'s results, as BENCHMARKS.md shows them.

    python -m benchmarks.report [benchmarks/results/benchmarks.json]

Each section renders only when its phase has run, so a partial rerun still gives a report.
"""

import json
import sys
from pathlib import Path

TARGETS = {"ceiling_fraction": 0.60, "bf16_speedup": 1.3, "peer_ratio": 1.5,
           "peer_bleu_measured_in_issue": 9.2, "tutorial_bleu": 13.0}


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fastest_reference_gru(training, precision=None, xla=None):
    """The reference-size GRU row with the most tokens/s, among those of `precision` and `xla` when
    given; None when there is none."""
    rows = [row for row in training if row["size"] == "reference" and row["cell"] == "gru"
            and precision in (None, row["precision"]) and xla in (None, row["xla"])]
    return max(rows, key=lambda row: row["target_tokens_per_second"], default=None)


def speedup(row, training):
    """A mixed_bfloat16 row's tokens/s over the float32 row with the same size, cell and XLA setting."""
    if row["precision"] == "float32":
        return ""
    for other in training:
        if (other["size"], other["cell"], other["xla"], other["precision"]) == (
                row["size"], row["cell"], row["xla"], "float32"):
            return f"{row['target_tokens_per_second'] / other['target_tokens_per_second']:.2f}x"
    return ""


def process_spread(row):
    """'min–max' of a setting's per-process tokens/s; empty for a single process."""
    rates = row.get("per_process_tokens_per_second", [])
    return f"{min(rates):,.0f}–{max(rates):,.0f}" if len(rates) > 1 else ""


def render_training(results):
    ceiling = results.get("ceiling", {}).get("float32", {}).get("gflops")
    rows = []
    for row in results["training"]:
        fraction = f"{100 * row['gflops'] / ceiling:.0f} %" if ceiling else "n/a"
        rows.append([row["size"], row["cell"], row["precision"], "on" if row["xla"] else "off",
                     f"{row['target_tokens_per_second']:,.0f}", process_spread(row), speedup(row, results["training"]),
                     f"{row['gflops']:.0f}", fraction, f"{row['peak_rss_mb']:,}", f"{row['warmup_seconds']:.0f}"])
    first = results["training"][0]
    processes = len(first.get("per_process_tokens_per_second", [None]))
    return "\n".join([
        "### Training throughput",
        "",
        f"Batches of {first['batch_shape'][0]} real training verse pairs whose longer side is "
        f"{first['window'][0]}–{first['window'][1]} pieces, padded to {first['window'][1]}. Each setting ran "
        f"in {processes} process{'es' if processes > 1 else ''} of its own, each timing "
        f"{len(first['all_target_tokens_per_second'])} runs after warm-up and keeping their median"
        + ("; the table shows the median process and the range across processes" if processes > 1 else "")
        + ". Target tokens are real "
        "pieces (EOS included, padding not); GFLOP/s counts the matrix products of those tokens "
        "(`benchmarks/flops.py`, training = 3 forward passes), so the fraction of the float32 ceiling "
        "is of useful work.",
        "",
        table(["size", "cell", "precision", "XLA", "target tok/s", "across processes", "bf16 vs fp32", "GFLOP/s",
               "of fp32 ceiling", "peak RSS MB", "warm-up s"], rows),
    ])


def render_budget(budget):
    epochs = budget["epochs"]
    complete = sum(1 for epoch in epochs if epoch.get("complete_epoch") == 1)
    curve = ", ".join(f"{epoch['dev_bleu']:.1f}" for epoch in epochs if "dev_bleu" in epoch)
    return "\n".join([
        "### 15-minute budget",
        "",
        f"`{budget['config']}`{' with ' + ' '.join(budget['overrides']) if budget['overrides'] else ''}: "
        f"{complete} full epochs and {len(epochs) - complete} partial in the budget (dev BLEU, greedy, after "
        f"each: {curve}); whole process {budget['wall_seconds'] / 60:.1f} min including tokenizer training, "
        f"peak RSS {budget['train_peak_rss_mb']:,} MB. Test BLEU with beam {budget['decode']['beam_size']}: "
        f"**{budget['test_bleu']:.2f}** (chrF {budget['test_chrf']:.2f}).",
    ])


def repository_path(path):
    """`path` relative to the repository when it lies inside it: the report is read on other machines."""
    try:
        return str(Path(path).resolve().relative_to(Path(__file__).resolve().parent.parent))
    except ValueError:
        return str(path)


def render_decoding(decoding):
    rows = decoding["rows"]
    speed = table(["search", "batch", "sent/s (warm)", "first pass s", "test BLEU", "peak RSS MB"],
                  [[row["search"], row["batch_size"], row["sentences_per_second"], row["cold_seconds"],
                    row["bleu"], f"{row['peak_rss_mb']:,}"] for row in rows])
    bins = [length_bin["source_pieces"] for length_bin in rows[0].get("by_length", [])]
    by_length = table(["search", *(f"{low}+ pieces" if high >= 1000 else f"{low}–{high} pieces" for low, high in bins)],
                      [[row["search"], *(f"{cell['ms_per_sentence']:.1f} ms" for cell in row["by_length"])]
                       for row in rows if row.get("by_length")])
    return "\n".join([
        "### Decoding",
        "",
        f"Test split of `{repository_path(decoding['run_dir'])}`, length penalty 1.0; warm = the second of two passes "
        "with one `Translator`. Beam sizes 1 (greedy), 2, 5 and 10:",
        "",
        speed,
        "",
        "Milliseconds per sentence by source length (warm, batch 64):",
        "",
        by_length,
    ])


def render_scaling(scaling):
    rows = [[f"{row['fraction']:g}", f"{row['pairs']:,}", f"{row['epoch_seconds']:.0f}",
             f"{1000 * row['epoch_seconds'] / row['pairs']:.1f}", f"{row['target_tokens_per_second']:,.0f}",
             f"{row['peak_rss_mb']:,}" if row["peak_rss_mb"] else "(budget run)"] for row in scaling]
    return "\n".join([
        "### Epoch time against corpus size",
        "",
        "The budget recipe on the first N training pairs; the second epoch is timed (for the whole "
        "corpus, the budget run's own).",
        "",
        table(["fraction", "pairs", "epoch s", "ms per pair", "target tok/s", "peak RSS MB"], rows),
    ])


def render_peer(results):
    peer = results["peer"]
    ours_best = fastest_reference_gru(results.get("training", []))
    ours_fp32 = fastest_reference_gru(results.get("training", []), "float32", xla=False)
    beam5 = next((row for row in results.get("decoding", {}).get("rows", []) if row["search"] == "beam5"), None)
    budget = results.get("budget")
    rows = []

    def add(name, ours, theirs):
        ratio = f"{ours / theirs:.2f}x" if ours and theirs else ""
        rows.append([name, f"{ours:,.1f}" if ours else "n/a", f"{theirs:,.1f}" if theirs else "n/a", ratio])

    theirs_speed = peer["speed"]["target_tokens_per_second"]
    if ours_fp32:
        add("training target tok/s, float32, no XLA", ours_fp32["target_tokens_per_second"], theirs_speed)
    if ours_best:
        add(f"training target tok/s, our fastest ({ours_best['precision']}, XLA "
            f"{'on' if ours_best['xla'] else 'off'})", ours_best["target_tokens_per_second"], theirs_speed)
    if beam5:
        add("beam-5 decoding sent/s, test split", beam5["sentences_per_second"],
            peer["budget"]["test"]["sentences_per_second"])
    if budget:
        add("test BLEU after 15 minutes (beam 5)", budget["test_bleu"], peer["budget"]["test"]["bleu"])
    return "\n".join([
        "### Side by side with OpenNMT-py",
        "",
        f"OpenNMT-py {peer['versions']['OpenNMT-py']} on torch {peer['versions']['torch']}, same data, "
        "same SentencePiece pieces, same model size (see `benchmarks/opennmt_peer.py` for what cannot "
        f"match). Its training speed: {peer['speed']['timed_steps']} steps after "
        f"{peer['speed']['warmup_steps_excluded']} untimed; its budget run reached step "
        f"{peer['budget']['training']['steps_at_budget']} and was scored with its checkpoint of step "
        f"{peer['budget']['training']['checkpoint_step']}; beam-5 sent/s is OpenNMT's own translation time, "
        "model loading excluded.",
        "",
        table(["", "seq2seq", "OpenNMT-py", "ratio"], rows),
    ])


def render_targets(results):
    rows = []
    ceiling = results.get("ceiling", {}).get("float32", {}).get("gflops")
    training = results.get("training", [])
    fp32 = fastest_reference_gru(training, "float32")  # same FLOPs per token: fastest = most GFLOP/s
    bf16 = fastest_reference_gru(training, "mixed_bfloat16")
    if fp32 and ceiling:
        fraction = fp32["gflops"] / ceiling
        rows.append(["float32 training ≥ 60 % of the matmul ceiling", f"{100 * fraction:.0f} %",
                     verdict(fraction >= TARGETS["ceiling_fraction"])])
    if fp32 and bf16:
        ratio = bf16["target_tokens_per_second"] / fp32["target_tokens_per_second"]
        rows.append(["mixed_bfloat16 ≥ 1.3x float32 (fastest of each)", f"{ratio:.2f}x",
                     verdict(ratio >= TARGETS["bf16_speedup"])])
    if "peer" in results and training:
        ratio = fastest_reference_gru(training)["target_tokens_per_second"] / results["peer"]["speed"][
            "target_tokens_per_second"]
        rows.append(["≥ 1.5x OpenNMT-py training tok/s", f"{ratio:.2f}x", verdict(ratio >= TARGETS["peer_ratio"])])
    beam5 = next((row for row in results.get("decoding", {}).get("rows", []) if row["search"] == "beam5"), None)
    if "peer" in results and beam5:
        ratio = beam5["sentences_per_second"] / results["peer"]["budget"]["test"]["sentences_per_second"]
        rows.append(["≥ 1.5x OpenNMT-py beam-5 sent/s", f"{ratio:.2f}x", verdict(ratio >= TARGETS["peer_ratio"])])
    if "budget" in results:
        bleu = results["budget"]["test_bleu"]
        peer_bleu = results.get("peer", {}).get("budget", {}).get("test", {}).get(
            "bleu", TARGETS["peer_bleu_measured_in_issue"])
        rows.append(["15-minute test BLEU above OpenNMT-py's and the TF tutorial's (13.0)",
                     f"{bleu:.2f} vs {peer_bleu:.2f} and 13.0",
                     verdict(bleu > peer_bleu and bleu > TARGETS["tutorial_bleu"])])
    return "\n".join(["### Targets", "", table(["target", "measured", ""], rows)])


def verdict(met):
    return "met" if met else "**not met**"


def render(results):
    machine = results["machine"]
    parts = [
        f"Machine: {machine['cpu']}, {machine['cpus']} cores, {machine['memory_gb']} GB, {machine['platform']}, "
        f"Python {machine['python']}." + (" **Quick run: toy scale, not for quoting.**" if results.get("quick") else ""),
    ]
    if "ceiling" in results:
        ceiling = results["ceiling"]
        parts.append(f"Matrix-multiply ceiling (square products, best of {', '.join(ceiling['float32']['by_size'])}): "
                     f"float32 **{ceiling['float32']['gflops']:.0f} GFLOP/s**, bfloat16 "
                     f"{ceiling['bfloat16']['gflops']:.0f} GFLOP/s.")
    sections = [("training", render_training), ("budget", lambda r: render_budget(r["budget"])),
                ("decoding", lambda r: render_decoding(r["decoding"])),
                ("scaling", lambda r: render_scaling(r["scaling"])), ("peer", render_peer)]
    parts.append("Measured: " + "; ".join(
        f"{phase} {results[phase + '_measured_at']}" + (f" (commit {results[phase + '_commit']})"
                                                        if phase + "_commit" in results else "")
        for phase in ("ceiling", "training", "budget", "decoding", "scaling", "peer")
        if phase + "_measured_at" in results) + ".")
    parts += [render_section(results) for phase, render_section in sections if phase in results]
    parts.append(render_targets(results))
    return "\n\n".join(parts) + "\n"


def main():
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/benchmarks.json")
    print(render(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
