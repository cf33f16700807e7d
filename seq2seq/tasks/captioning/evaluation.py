"""`seq2seq evaluate` for captioning runs: caption a split's images, score BLEU-1..4 and CIDEr-D."""

import dataclasses
import time

from seq2seq.data.captions import load_caption_split
from seq2seq.data.images import load_images
from seq2seq.data.readers import SkipCounter
from seq2seq.evaluation import search_name, write_evaluation
from seq2seq.errors import Seq2SeqError
from seq2seq.metrics.captions import caption_scores, format_caption_scores
from seq2seq.tasks.captioning.captioner import Captioner


def evaluate_captions(run, split="test", log=print, model_file=None, ensemble=(), **decode_settings) -> dict:
    """Caption a split's images; BLEU-1..4 and CIDEr-D against all references of each image.

    `eval/<split>.<search>.hyp` holds one `image path<TAB>caption` line per image.
    """
    if ensemble:
        raise Seq2SeqError("--ensemble is for translation runs; captioning runs decode with one model")
    config = run.load_config()
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
