"""Domain adaptation with `--init-from`: a translator that never saw the New Testament letters, fine-tuned
on a few hundred of their verses.

    python -m benchmarks.fine_tuning [--letters 400] [--fine-tune-epochs 10] [--base-overrides key=value ...]

The bible corpus is split by book (seq2seq.data.bible), so whole letters are held out: Romans (book 45)
is in the test split, Galatians, James, 1 Peter and Jude in dev, the other letters in training.

1. base: `configs/spa_eng_tiny.yaml`'s model and settings (its 3 epochs), trained on the training split without its letters (books 45-65).
2. fine-tuned: `seq2seq train ... --init-from base` on `--letters` verses drawn from the training
   split's letters, with the dev split's letters as its dev set and a fresh optimizer at a quarter of
   the recipe's learning rate; again with `train.freeze=[embeddings]`.
3. Each model translates (greedy, as the dev score does) Romans, the held-out letter, and the rest
   of the test and dev splits (the other genres); sacreBLEU scores them.

The corpus comes from `seq2seq data bible-es-en`; the runs and the files they read go to
`runs/fine_tuning/`, the figures to `benchmarks/results/fine_tuning.json`.
"""

import argparse
import json
import random
import shutil
import time
from pathlib import Path

from benchmarks.run import commit, machine, read_metrics, run_child, seq2seq_cli

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "configs" / "spa_eng_tiny.yaml"
RESULTS = ROOT / "benchmarks" / "results" / "fine_tuning.json"
WORK = ROOT / "runs" / "fine_tuning"
LETTERS = range(45, 66)  # Romans .. Jude


def read_split(corpus, split):
    """-> [(book, spanish, english)] of a split of the built bible corpus."""
    columns = [(corpus / f"{split}.{suffix}").read_text(encoding="utf-8").splitlines() for suffix in ("ids", "es", "en")]
    return [(int(ids.split()[0]), spanish, english) for ids, spanish, english in zip(*columns, strict=True)
            if spanish and english]


def write_tsv(path, verses):
    path.write_text("".join(f"{spanish}\t{english}\n" for _, spanish, english in verses), encoding="utf-8")
    return path


def write_data(corpus, letters, seed):
    """The TSV files of the experiment -> {name: path}."""
    data = WORK / "data"
    data.mkdir(parents=True, exist_ok=True)
    train, dev, test = (read_split(corpus, split) for split in ("train", "dev", "test"))
    training_letters = [verse for verse in train if verse[0] in LETTERS]
    sampled = random.Random(seed).sample(training_letters, letters)
    other = [verse for verse in test + dev if verse[0] not in LETTERS]
    return {name: write_tsv(data / f"{name}.tsv", verses) for name, verses in (
        ("base_train", [verse for verse in train if verse[0] not in LETTERS]),
        ("dev", dev),
        ("letters_train", sampled),
        ("letters_dev", [verse for verse in dev if verse[0] in LETTERS]),
        ("romans", [verse for verse in test if verse[0] in LETTERS]),
        ("other_genres", other),
    )}


def files_overrides(files, train, dev):
    return ["data.corpus=files", "data.format=tsv", f"data.train={files[train]}", f"data.dev={files[dev]}",
            f"data.test={files['romans']}"]


def score(run_dir, files):
    """Greedy BLEU and chrF of the run's best model on Romans and on the other genres."""
    script = ("import json, sys; from seq2seq import Translator; from seq2seq.metrics.translation import "
              "translation_scores; t = Translator.load(sys.argv[1], beam_size=1); out = {}\n"
              "for name, path in zip(sys.argv[2::2], sys.argv[3::2]):\n"
              "    rows = [line.split('\\t') for line in open(path, encoding='utf-8').read().splitlines()]\n"
              "    hyps = t.translate([source for source, _ in rows])\n"
              "    s = translation_scores(hyps, [[target for _, target in rows]], metrics=('bleu', 'chrf'))\n"
              "    out[name] = {'sentences': len(rows), 'bleu': round(s['bleu'], 2), 'chrf': round(s['chrf'], 2)}\n"
              "print(json.dumps(out))")
    arguments = [str(run_dir)] + [part for name in ("romans", "other_genres") for part in (name, str(files[name]))]
    stdout, seconds, _ = run_child(["python", "-c", script, *arguments], f"fine_tuning_score_{run_dir.name}")
    return json.loads(stdout.splitlines()[-1])


def train(name, arguments, overrides):
    run_dir = WORK / name
    shutil.rmtree(run_dir, ignore_errors=True)
    _, seconds, peak = run_child(seq2seq_cli("train", RECIPE, "--run-dir", run_dir, *arguments, overrides=overrides),
                                 f"fine_tuning_{name}")
    return run_dir, {"wall_seconds": seconds, "peak_rss_mb": peak, "epochs": read_metrics(run_dir),
                     "overrides": overrides}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=400, help="training verses of the letters to fine-tune on")
    parser.add_argument("--fine-tune-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--base-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--skip-base", action="store_true", help="reuse runs/fine_tuning/base")
    args = parser.parse_args(argv)

    from seq2seq.data.bible import bible_corpus_dir

    files = write_data(bible_corpus_dir(), args.letters, args.seed)
    started = time.strftime("%Y-%m-%d %H:%M")
    # Whole epochs, not the recipe's time limit: the figures then hold on a busy or slower machine too.
    base_overrides = files_overrides(files, "base_train", "dev") + ["train.max_minutes=null", *args.base_overrides]
    if args.skip_base:
        base_dir, base = WORK / "base", {"reused": True}
    else:
        base_dir, base = train("base", [], base_overrides)
    results = {"base": {**base, "scores": score(base_dir, files)}}
    tuning = files_overrides(files, "letters_train", "letters_dev") + [
        f"train.epochs={args.fine_tune_epochs}", "train.learning_rate=0.0005", "train.warmup_steps=0",
        "train.max_minutes=null", "train.early_stopping.patience=100", "train.dev_bleu_sentences=null"]
    for name, extra in (("fine_tuned", []), ("fine_tuned_frozen_embeddings", ["train.freeze=[embeddings]"])):
        run_dir, figures = train(name, ["--init-from", str(base_dir)], tuning + extra)
        results[name] = {**figures, "scores": score(run_dir, files)}
    results.update(letters=args.letters, seed=args.seed, started=started, machine=machine(), commit=commit(),
                   sizes={name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in files.items()})
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("base", "fine_tuned", "fine_tuned_frozen_embeddings"):
        scores = results[name]["scores"]
        print(f"{name:<30} Romans BLEU {scores['romans']['bleu']:6.2f}   other genres BLEU "
              f"{scores['other_genres']['bleu']:6.2f}")


if __name__ == "__main__":
    main()
