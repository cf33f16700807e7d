"""`seq2seq evaluate`: score a trained run on a split with its task's metrics.

Each task writes `eval/<split>.<search>.hyp` (its predictions, one line per input) and
`.scores.json` beside it; this module picks the task and names the files.
"""

import json
from pathlib import Path

from seq2seq.tasks import task_named
from seq2seq.training.run_dir import RunDirectory


def evaluate_run(run_dir, split="test", log=print, model_file=None, ensemble=(), **decode_settings) -> dict:
    """Evaluate `run_dir`'s best model (or `model_file`, or an `ensemble` with other runs) on `split`.

    Keyword arguments change the run's decode settings. -> the scores also written to
    `eval/<split>.<search>.scores.json` (see `search_name`); a translation run on a mixture of corpora
    scores each corpus's split into `eval/<split>-<corpus name>.<search>.*` and returns {name: scores}.
    """
    run = RunDirectory(run_dir)
    task = task_named(run.load_config().task, str(run.config_file))
    return task.evaluate(run, split, log, model_file=model_file, ensemble=ensemble, **decode_settings)


def search_name(decode, model_file=None, ensemble=()) -> str:
    """A short file-name tag for a search, its settings that change the output, and the model it ran with.

    e.g. `greedy`, `beam5-lp1`, `beam5-lp0.6-cp0.2.averaged`, `sample-t0.8-k10-seed3.ensemble2`,
    `beam5-shortlist20+100` (20 candidates per source piece and the 100 most frequent target pieces).
    """
    if decode.sample:
        name = "sample" + (f"-t{decode.temperature:g}" if decode.temperature != 1 else "")
        name += (f"-k{decode.top_k}" if decode.top_k else "") + f"-seed{decode.seed}"
    elif decode.beam_size == 1:
        name = "greedy"  # the penalties only score its one output
    else:
        name = f"beam{decode.beam_size}" + (f"-lp{decode.length_penalty:g}" if decode.length_penalty else "")
        name += f"-cp{decode.coverage_penalty:g}" if decode.coverage_penalty else ""
    if decode.shortlist:
        name += f"-shortlist{decode.shortlist_per_piece}+{decode.shortlist_frequent}"
    if model_file:
        name += "." + Path(model_file).name.removesuffix(".keras").removeprefix("model.")
    if ensemble:
        name += f".ensemble{len(ensemble) + 1}"
    return name


def write_evaluation(out_dir, name, hypotheses, scores) -> Path:
    """Keep the hypotheses next to their scores so a result can be re-scored or inspected."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.hyp").write_text(
        "".join(f"{hypothesis}\n" for hypothesis in hypotheses), encoding="utf-8"
    )
    scores_path = out_dir / f"{name}.scores.json"
    scores_json = json.dumps(scores, indent=2, ensure_ascii=False)
    scores_path.write_text(scores_json + "\n", encoding="utf-8")
    return scores_path
