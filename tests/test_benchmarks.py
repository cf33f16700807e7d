"""The benchmark suite's arithmetic: FLOP counts from layer sizes and the targets' verdicts."""

import pytest

from benchmarks.flops import forward_flops
from benchmarks.report import render_targets
from seq2seq.config import ModelConfig


def test_forward_flops_of_a_small_gru_model_by_hand():
    model = ModelConfig(cell="gru", embedding_dim=4, encoder_units=3, encoder_layers=2, bidirectional=True,
                        decoder_units=5, attention="bahdanau", attention_units=7)
    flops = forward_flops(model, target_vocab_size=11)
    gru = lambda inputs, units: 2 * 3 * (inputs + units) * units  # noqa: E731
    # two directions per encoder layer; the second reads both directions (6); keys 6 -> 7
    assert flops.per_source_token == 2 * gru(4, 3) + 2 * gru(6, 3) + 2 * 6 * 7
    # decoder GRU reads embedding + fed-back state (4 + 5); query 5 -> 7; attentional (6 + 5) -> 5; vocab 11
    assert flops.per_target_token == gru(9, 5) + 2 * 5 * 7 + 2 * 11 * 5 + 2 * 5 * 11
    assert flops.per_attention_pair == 2 * 6 + 2 * 7  # context read + energy
    assert flops.of_batch(10, 8, 80) == 10 * flops.per_source_token + 8 * flops.per_target_token + 80 * flops.per_attention_pair


def test_lstm_costs_four_gates_and_luong_general_projects_the_memory_once():
    gru = forward_flops(ModelConfig(cell="gru", attention="luong-general"), 8000)
    lstm = forward_flops(ModelConfig(cell="lstm", attention="luong-general"), 8000)
    assert lstm.per_source_token - gru.per_source_token == pytest.approx(
        (gru.per_source_token - 2 * 512 * 512) / 3)  # one gate in three more, keys unchanged
    assert gru.per_attention_pair == 2 * 512 + 2 * 512


def training_row(precision, xla, tokens, gflops):
    return {"size": "reference", "cell": "gru", "precision": precision, "xla": xla,
            "target_tokens_per_second": tokens, "gflops": gflops}


def test_targets_compare_the_fastest_settings_and_say_which_are_missed():
    results = {
        "ceiling": {"float32": {"gflops": 400.0}},
        "training": [training_row("float32", True, 3000, 200.0), training_row("float32", False, 2600, 170.0),
                     training_row("mixed_bfloat16", False, 4200, 270.0)],
        "decoding": {"rows": [{"search": "beam5", "sentences_per_second": 30.0}]},
        "budget": {"test_bleu": 14.0},
        "peer": {"speed": {"target_tokens_per_second": 2000},
                 "budget": {"test": {"sentences_per_second": 25.0, "bleu": 9.0}}},
    }
    lines = render_targets(results).splitlines()
    verdicts = {line.split(" | ")[0].strip("| "): line.split(" | ")[-1].strip(" |") for line in lines[4:]}
    assert verdicts["float32 training ≥ 60 % of the matmul ceiling"] == "**not met**"  # 200 / 400
    assert verdicts["mixed_bfloat16 ≥ 1.3x float32 (fastest of each)"] == "met"  # 4200 / 3000 = 1.4
    assert verdicts["≥ 1.5x OpenNMT-py training tok/s"] == "met"  # 4200 / 2000
    assert verdicts["≥ 1.5x OpenNMT-py beam-5 sent/s"] == "**not met**"  # 30 / 25
    assert verdicts["15-minute test BLEU above OpenNMT-py's and the TF tutorial's (13.0)"] == "met"


def process_row(tokens, gflops, peak):
    return {"target_tokens_per_second": tokens, "gflops": gflops, "peak_rss_mb": peak}


def test_a_setting_is_represented_by_its_median_process_whole():
    from benchmarks.run import median_process

    three = median_process([process_row(3300, 180.0, 2000), process_row(2500, 136.0, 2600), process_row(3100, 169.0, 2100)])
    assert (three["target_tokens_per_second"], three["gflops"]) == (3100, 169.0)  # one process's figures together
    assert three["per_process_tokens_per_second"] == [3300, 2500, 3100]
    assert three["peak_rss_mb"] == 2600  # the largest, whichever process it came from
    two = median_process([process_row(3300, 180.0, 2000), process_row(2500, 136.0, 2600)])
    assert two["target_tokens_per_second"] == 2500  # the lower middle: a figure one process really measured


def test_a_phase_records_its_commit_and_only_code_changes_mark_it(tmp_path):
    import subprocess

    from benchmarks.run import commit

    def git(*arguments):
        subprocess.run(["git", *arguments], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "benchmarks" / "results" / "benchmarks.json").write_text("{}\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tmp_path, capture_output=True,
                          text=True).stdout.strip()
    assert commit(tmp_path) == head
    (tmp_path / "benchmarks" / "results" / "benchmarks.json").write_text('{"ceiling": {}}\n')
    assert commit(tmp_path) == head  # the results a run writes are not a change to the code
    (tmp_path / "code.py").write_text("x = 2\n")
    assert commit(tmp_path) == head + "+changes"


def test_the_ablation_table_compares_each_variant_with_the_baseline_of_its_seed_and_budget(tmp_path, monkeypatch):
    from benchmarks import ablation

    monkeypatch.setattr(ablation, "RESULTS", tmp_path / "ablation.json")

    def entry(variant, seed, bleus, minutes=10.0):
        return {"variant": variant, "seed": seed, "epochs": len(bleus), "wall_seconds": minutes * 60,
                "per_epoch": [{"epoch": n, "step": 466 * n, "dev_bleu": bleu, "dev_xent": 3.0}
                              for n, bleu in enumerate(bleus, start=1)]}

    for result in (entry("vocab_4k", 1, [5.0, 12.5]), entry("baseline", 1, [4.0, 11.0]),
                   entry("baseline", 2, [4.1, 11.4]), entry("baseline", 1, [4.5, 11.2])):  # the last replaces
        ablation.save_result(result)

    table = ablation.report(ablation.load_results()).splitlines()

    assert len(ablation.load_results()) == 3
    assert table[2].startswith("| baseline | 1 | 4.50 (466), 11.20 (932) |")
    assert table[4] == "| vocab_4k | 1 | 5.00 (466), 12.50 (932) | 3.000 | +1.30 | 10.0 |"


def test_the_memory_watch_sees_growth_after_the_first_epoch_and_the_kernel_peak(tmp_path):
    import sys

    from benchmarks.memory import epoch_peaks, growth_after_first_epoch, watch

    child = ("import time\n"
             "kept = bytearray(20 * 2**20); kept[::4096] = b'x' * len(kept[::4096])\n"
             "time.sleep(0.6); print('epoch 1: warm', flush=True); print('epoch 1: saved', flush=True)\n"
             "time.sleep(0.3)\n"  # the mark is taken before the next epoch allocates, however busy the machine
             "more = bytearray(80 * 2**20); more[::4096] = b'x' * len(more[::4096])\n"
             "time.sleep(0.6); print('epoch 2: grown', flush=True); time.sleep(0.3)\n")
    result = watch([sys.executable, "-c", child], interval=0.1, log_path=tmp_path / "child.log")
    assert [peak["epoch"] for peak in epoch_peaks(result)] == [1, 2, "after"]
    growth = growth_after_first_epoch(result)
    assert 70 <= growth["growth_mb"] <= 95  # the 80 MB allocated after epoch 1
    assert result["peak_rss_mb"] >= growth["last_epoch_peak_mb"] - 1
    assert "epoch 2: grown" in (tmp_path / "child.log").read_text()
