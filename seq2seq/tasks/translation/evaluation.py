"""`seq2seq evaluate` for translation runs: translate a split and score it with sacreBLEU."""

import dataclasses
import time

from seq2seq.config import corpus_parts
from seq2seq.data.corpus import load_split
from seq2seq.data.placeholders import match_rate, placeholders
from seq2seq.evaluation import search_name, write_evaluation
from seq2seq.metrics.translation import format_scores, translation_scores
from seq2seq.tasks.translation.translator import Translator, moses_nbest_lines


def evaluate_translations(run, split="test", log=print, model_file=None, ensemble=(), **decode_settings) -> dict:
    """Write `eval/<split>.<search>.hyp` and `.scores.json` into the run directory and return the scores.

    `<search>` names the search, its settings and the model (see `search_name`), so evaluations with
    different settings sit side by side. BLEU/chrF/TER are against the main
    reference; extra references (KJV, BBE for the bible) are scored together as a multi-reference
    BLEU and chrF under `multi_reference`. With `n_best` above 1, the n-best lists go to `.nbest`.
    Where sources hold placeholders (`%s`, `{0}`, markup), `placeholder_match` is the percentage of
    their translations with exactly the source's. A run on a mixture (`data.corpora`) scores each
    corpus's split on its own, into `eval/<split>-<corpus name>.<search>.*`, and returns
    {corpus name: scores}.
    """
    config = run.load_config()
    translator = Translator.load(run.path, model_file=model_file, ensemble=ensemble, **decode_settings)
    search = search_name(translator.decode_config, model_file, ensemble)
    parts = corpus_parts(config.data)
    if len(parts) == 1:
        return _evaluate_corpus(run, translator, config.data, split, split, search, model_file, ensemble, log)
    return {part.name: _evaluate_corpus(run, translator, part.data, split, f"{split}-{part.name}", search,
                                        model_file, ensemble, log)
            for part in parts}


def _evaluate_corpus(run, translator, data_config, split, label, search, model_file, ensemble, log) -> dict:
    """Scores one corpus's `split`, written as `eval/<label>.<search>.*`."""
    name = f"{label}.{search}"
    decode = translator.decode_config
    data = load_split(data_config, split, with_extra_references=True)
    started = time.perf_counter()
    results = translator.translate_with_details(data.sources, with_attention=False)
    seconds = time.perf_counter() - started
    hypotheses = [result.text for result in results]
    scores = translation_scores(hypotheses, [data.targets])
    if data.extra_references:
        scores["multi_reference"] = translation_scores(hypotheses, data.references, metrics=("bleu", "chrf"))
        scores["multi_reference"]["references"] = [data_config.target_lang, *data.extra_references]
    with_placeholders = sum(bool(placeholders(source)) for source in data.sources)
    if with_placeholders:
        scores["placeholder_match"] = round(match_rate(data.sources, hypotheses), 2)
        scores["placeholder_sentences"] = with_placeholders
    scores["decode"] = {**dataclasses.asdict(decode), "model": str(model_file or run.model_file),
                        "ensemble": [str(path) for path in ensemble]}
    scores["decode_seconds"] = round(seconds, 2)
    scores["sentences_per_second"] = round(len(hypotheses) / seconds, 1)
    path = write_evaluation(run.eval_dir, name, hypotheses, scores)
    nbest_file = run.eval_dir / f"{name}.nbest"
    if decode.n_best > 1:
        nbest_file.write_text("".join(line + "\n" for line in moses_nbest_lines(results)), encoding="utf-8")
    else:
        nbest_file.unlink(missing_ok=True)  # from an earlier evaluation with the same name
    log(f"{label}: {len(hypotheses)} sentences in {seconds:.1f}s ({scores['sentences_per_second']} sent/s)")
    log(format_scores(scores))
    if data.extra_references:
        log(f"multi-reference BLEU ({', '.join(scores['multi_reference']['references'])}): "
            f"{scores['multi_reference']['bleu']:.2f}")
    if with_placeholders:
        log(f"placeholders: {scores['placeholder_match']:.2f} % of the {with_placeholders} translations whose source "
            "has placeholders have exactly its placeholders")
    log(f"written to {path}")
    return scores
