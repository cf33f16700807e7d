"""`seq2seq evaluate`: translate (or caption) a split with a trained run and score it with sacreBLEU
(and CIDEr-D for captions)."""

import dataclasses
import time
from pathlib import Path

from seq2seq.caption_metrics import caption_scores, format_caption_scores
from seq2seq.captioner import Captioner
from seq2seq.data.captions import load_caption_split
from seq2seq.data.corpus import load_split
from seq2seq.data.images import load_images
from seq2seq.data.readers import SkipCounter
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import format_scores, translation_scores, write_evaluation
from seq2seq.run_dir import RunDirectory
from seq2seq.translator import Translator, moses_nbest_lines


def evaluate_run(run_dir, split="test", log=print, model_file=None, ensemble=(), **decode_settings) -> dict:
    """Write `eval/<split>.<search>.hyp` and `.scores.json` into the run directory and return the scores.

    `<search>` names the search, its settings and the model (see `search_name`), so evaluations with
    different settings sit side by side. BLEU/chrF/TER are against the main
    reference; extra references (KJV, BBE for the bible) are scored together as a multi-reference
    BLEU and chrF under `multi_reference`. With `n_best` above 1, the n-best lists go to `.nbest`.
    """
    run = RunDirectory(run_dir)
    config = run.load_config()
    if config.task == "captioning":
        if ensemble:
            raise Seq2SeqError("--ensemble is for translation runs; captioning runs decode with one model")
        return _evaluate_captions(run, config, split, log, model_file, **decode_settings)
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
    nbest_file = run.eval_dir / f"{name}.nbest"
    if decode.n_best > 1:
        nbest_file.write_text("".join(line + "\n" for line in moses_nbest_lines(results)), encoding="utf-8")
    else:
        nbest_file.unlink(missing_ok=True)  # from an earlier evaluation with the same name
    log(f"{split}: {len(hypotheses)} sentences in {seconds:.1f}s ({scores['sentences_per_second']} sent/s)")
    log(format_scores(scores))
    if data.extra_references:
        log(f"multi-reference BLEU ({', '.join(scores['multi_reference']['references'])}): "
            f"{scores['multi_reference']['bleu']:.2f}")
    log(f"written to {path}")
    return scores


def _evaluate_captions(run, config, split, log, model_file, **decode_settings) -> dict:
    """Caption a split's images; BLEU-1..4 and CIDEr-D against all references of each image.

    `eval/<split>.<search>.hyp` holds one `image path<TAB>caption` line per image.
    """
    captioner = Captioner.load(run.path, model_file=model_file, **decode_settings)
    decode = captioner.decode_config
    skips = SkipCounter()
    data = load_caption_split(config.data, split, skips)
    pixels, kept = load_images(data.images, captioner.model.image_size, config.data.on_bad_row, skips)
    if skips.total:
        log(skips.summary())
    started = time.perf_counter()
    captions = [result.text for result in captioner.caption_pixels(pixels, with_attention=False)]
    seconds = time.perf_counter() - started
    scores = caption_scores(captions, [data.captions[index] for index in kept])
    scores["decode"] = {**dataclasses.asdict(decode), "model": str(model_file or run.model_file)}
    scores["decode_seconds"] = round(seconds, 2)
    scores["images_per_second"] = round(len(captions) / seconds, 1)
    scores["skipped_images"] = len(data.images) - len(kept)
    lines = [f"{data.images[index]}\t{caption}" for index, caption in zip(kept, captions)]
    path = write_evaluation(run.eval_dir, f"{split}.{search_name(decode, model_file)}", lines, scores)
    log(f"{split}: {len(captions)} images in {seconds:.1f}s ({scores['images_per_second']} images/s)")
    log(format_caption_scores(scores))
    log(f"written to {path}")
    return scores


def search_name(decode, model_file=None, ensemble=()) -> str:
    """A short file-name tag for a search, its settings that change the output, and the model it ran with.

    e.g. `greedy`, `beam5-lp1`, `beam5-lp0.6-cp0.2.averaged`, `sample-t0.8-k10-seed3.ensemble2`.
    """
    if decode.sample:
        name = "sample" + (f"-t{decode.temperature:g}" if decode.temperature != 1 else "")
        name += (f"-k{decode.top_k}" if decode.top_k else "") + f"-seed{decode.seed}"
    elif decode.beam_size == 1:
        name = "greedy"  # the penalties only score its one output
    else:
        name = f"beam{decode.beam_size}" + (f"-lp{decode.length_penalty:g}" if decode.length_penalty else "")
        name += f"-cp{decode.coverage_penalty:g}" if decode.coverage_penalty else ""
    if model_file:
        name += "." + Path(model_file).name.removesuffix(".keras").removeprefix("model.")
    if ensemble:
        name += f".ensemble{len(ensemble) + 1}"
    return name
