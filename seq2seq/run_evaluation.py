"""`seq2seq evaluate`: translate a split with a trained run and score it with sacreBLEU."""

import time

from seq2seq.data.corpus import load_split
from seq2seq.evaluation import format_scores, translation_scores, write_evaluation
from seq2seq.run_dir import RunDirectory
from seq2seq.translator import Translator


def evaluate_run(run_dir, split="test", log=print) -> dict:
    """Write `eval/<split>.hyp` and `eval/<split>.scores.json` into the run directory and return the scores.

    BLEU/chrF/TER are against the main reference; extra references (KJV, BBE for the bible) are
    scored together as a multi-reference BLEU under `multi_reference`.
    """
    run = RunDirectory(run_dir)
    config = run.load_config()
    translator = Translator.load(run.path)
    data = load_split(config.data, split, with_extra_references=True)
    started = time.perf_counter()
    hypotheses = translator.translate(data.sources)
    seconds = time.perf_counter() - started
    scores = translation_scores(hypotheses, [data.targets])
    if data.extra_references:
        scores["multi_reference"] = translation_scores(hypotheses, data.references)
        scores["multi_reference"]["references"] = [config.data.target_lang, *data.extra_references]
    scores["decode_seconds"] = round(seconds, 2)
    scores["sentences_per_second"] = round(len(hypotheses) / seconds, 1)
    run.eval_dir.mkdir(exist_ok=True)
    path = write_evaluation(run.eval_dir, split, hypotheses, scores)
    log(f"{split}: {len(hypotheses)} sentences in {seconds:.1f}s ({scores['sentences_per_second']} sent/s)")
    log(format_scores(scores))
    if data.extra_references:
        log(f"multi-reference BLEU ({', '.join(scores['multi_reference']['references'])}): "
            f"{scores['multi_reference']['bleu']:.2f}")
    log(f"written to {path}")
    return scores
