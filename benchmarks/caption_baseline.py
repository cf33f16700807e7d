"""A captioning run against the nearest-neighbour baseline on the same split and image features.

    python -m benchmarks.caption_baseline runs/captions_tuxpaint --split test

The baseline captions each image with the first caption of the training image whose encoder
features, averaged over the grid and L2-normalised, are closest (cosine). It shows what retrieval
alone gets from the same CNN; a captioner worth having beats it. Both are scored with BLEU-1..4
and CIDEr-D against all references; results print and go to a JSON file.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--split", default="test", choices=["dev", "test"])
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/caption_baseline.json"))
    args = parser.parse_args()

    from seq2seq.metrics.captions import caption_scores, format_caption_scores
    from seq2seq.tasks.captioning.captioner import Captioner
    from seq2seq.models.image_features import encode_images
    from seq2seq.data.captions import load_caption_split
    from seq2seq.data.images import load_images
    from seq2seq.training.run_dir import RunDirectory

    config = RunDirectory(args.run_dir).load_config()
    captioner = Captioner.load(args.run_dir)
    size = captioner.model.image_size
    train, evaluated = (load_caption_split(config.data, split) for split in ("train", args.split))
    train_pixels, train_kept = load_images(train.images, size)
    pixels, kept = load_images(evaluated.images, size)
    references = [evaluated.captions[index] for index in kept]

    def pooled(images):
        means = encode_images(captioner.model, images).mean(axis=1)
        return means / np.linalg.norm(means, axis=1, keepdims=True)

    nearest = np.argmax(pooled(pixels) @ pooled(train_pixels).T, axis=1)
    baseline = [train.captions[train_kept[index]][0] for index in nearest]
    started = time.perf_counter()
    generated = [result.text for result in captioner.caption_pixels(pixels, with_attention=False)]
    seconds = time.perf_counter() - started
    results = {"run": str(args.run_dir), "split": args.split, "images": len(pixels),
               "decode": {"beam_size": captioner.decode_config.beam_size},
               "captioner": caption_scores(generated, references),
               "nearest_neighbour": caption_scores(baseline, references),
               "captioner_seconds": round(seconds, 2)}
    for name in ("captioner", "nearest_neighbour"):
        print(f"{name}:\n{format_caption_scores(results[name])}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
