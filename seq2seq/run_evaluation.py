"""`seq2seq evaluate`: translate a split with a trained run and score it with sacreBLEU."""

import dataclasses
import time
from pathlib import Path

from seq2seq.data.corpus import load_split
from seq2seq.evaluation import format_scores, translation_scores, write_evaluation
from seq2seq.run_dir import RunDirectory
from seq2seq.translator import Translator, moses_nbest_lines


def evaluate_run(run_dir, split="test", log=print, model_file=None, ensemble=(), **decode_settings) -> dict:
    """Write `eval/<split>.<search>.hyp` and `.scores.json` into the run directory and return the scores.

    `<search>` names the search and model, e.g. `greedy`, `beam5`, `beam5.averaged`, `greedy.ensemble3`,
    so evaluations with different settings sit side by side. BLEU/chrF/TER are against the main
    reference; extra references (KJV, BBE for the bible) are scored together as a multi-reference
    BLEU and chrF under `multi_reference`. With `n_best` above 1, the n-best lists go to `.nbest`.
    """
    run = RunDirectory(run_dir)
    config = run.load_config()
    translator = Translator.load(run.path, model_file=model_file, ensemble=ensemble, **decode_settings)
    decode = translator.decode_config
    data = load_split(config.data, split, with_extra_references=True)
    started = time.perf_counter()
    results = translator.translate_with_details(data.sources, with_attention=False)
    seconds = time.perf_counter() - started
    hypotheses = [result.text for result in results]
    scores = translation_scores(hypotheses, [data.targets])
    if data.extra_references:
        scores["multi_reference"] = translation_scores(hypotheses, data.references, metrics=("bleu", "chrf"))
        scores["multi_reference"]["references"] = [config.data.target_lang, *data.extra_references]
    scores["decode"] = {**dataclasses.asdict(decode), "model": str(model_file or run.model_file),
                        "ensemble": [str(path) for path in ensemble]}
    scores["decode_seconds"] = round(seconds, 2)
    scores["sentences_per_second"] = round(len(hypotheses) / seconds, 1)
    name = f"{split}.{search_name(decode, model_file, ensemble)}"
    path = write_evaluation(run.eval_dir, name, hypotheses, scores)
    if decode.n_best > 1:
        (run.eval_dir / f"{name}.nbest").write_text(
            "".join(line + "\n" for line in moses_nbest_lines(results)), encoding="utf-8")
    log(f"{split}: {len(hypotheses)} sentences in {seconds:.1f}s ({scores['sentences_per_second']} sent/s)")
    log(format_scores(scores))
    if data.extra_references:
        log(f"multi-reference BLEU ({', '.join(scores['multi_reference']['references'])}): "
            f"{scores['multi_reference']['bleu']:.2f}")
    log(f"written to {path}")
    return scores


def search_name(decode, model_file=None, ensemble=()) -> str:
    """A short file-name tag for a search and the model it ran with."""
    name = "sample" if decode.sample else "greedy" if decode.beam_size == 1 else f"beam{decode.beam_size}"
    if model_file:
        name += "." + Path(model_file).name.removesuffix(".keras").removeprefix("model.")
    if ensemble:
        name += f".ensemble{len(ensemble) + 1}"
    return name
