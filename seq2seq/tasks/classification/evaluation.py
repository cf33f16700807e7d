"""`seq2seq evaluate` for classification runs: label a split, score accuracy and F1, draw the confusion matrix."""

import time

from seq2seq.config import DecodeConfig
from seq2seq.data.readers import SkipCounter
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import search_name, write_evaluation
from seq2seq.metrics.classification import classification_scores, format_classification_scores
from seq2seq.plotting import save_figure
from seq2seq.tasks.classification.classifier import Classifier
from seq2seq.tasks.classification.corpus import load_labelled_split
from seq2seq.tasks.classification.plots import confusion_figure


def evaluate_classification(run, split="test", log=print, model_file=None, ensemble=(), **decode_settings) -> dict:
    """Write `eval/<split>.<name>.hyp` (the predicted label of each text, in split order), `.scores.json`
    (accuracy, macro-F1, the per-class table, the confusion matrix) and `.confusion.png`; return the scores.

    A classifier does not search: the only decode setting it takes is `batch_size`. A gold label
    that never occurred in training cannot be predicted: it is scored (always wrong) and named in the log.
    """
    if ensemble:
        raise Seq2SeqError("--ensemble is for translation runs; a classification run predicts with one model")
    config = run.load_config()
    classifier = Classifier.load(run.path, model_file=model_file, **decode_settings)
    skips = SkipCounter()
    data = load_labelled_split(config.data, split, skips)
    if skips.total:
        log(skips.summary())
    started = time.perf_counter()
    results = classifier.classify(data.texts)
    seconds = time.perf_counter() - started
    return write_labelled_evaluation(run, split, data.labels, [result.label for result in results], predicted_lines=None,
                                     label_names=classifier.labels.names, model_file=model_file, seconds=seconds,
                                     unit="texts", log=log, truncated_texts=sum(result.truncated for result in results),
                                     skipped_rows=skips.total)


def write_labelled_evaluation(run, split, gold, predicted, predicted_lines, label_names, model_file, seconds, unit,
                              log, **extra) -> dict:
    """What every classifier's evaluation does with its predictions: score them against the gold labels,
    write `eval/<split>.greedy.hyp` (`predicted_lines`, or the labels), `.scores.json` and `.confusion.png`,
    and log the table. A gold label never seen in training is named in the log and scored (always wrong)."""
    unseen = sorted(set(gold) - set(label_names))
    if unseen:
        log(f"note: {split} labels never seen in training, so never predicted: {', '.join(unseen)}")
    scores = classification_scores(gold, predicted, [*label_names, *unseen])
    scores.update(model=str(model_file or run.model_file), **extra, seconds=round(seconds, 2))
    scores[f"{unit}_per_second"] = round(len(predicted) / max(seconds, 1e-9), 1)
    name = f"{split}.{search_name(DecodeConfig(), model_file)}"
    path = write_evaluation(run.eval_dir, name, predicted if predicted_lines is None else predicted_lines, scores)
    figure_path = save_figure(confusion_figure(scores, title=f"{run.path.name}: {split}"),
                              run.eval_dir / f"{name}.confusion.png")
    log(f"{split}: {len(predicted)} {unit} in {seconds:.1f}s ({scores[f'{unit}_per_second']} {unit}/s)")
    log(format_classification_scores(scores))
    log(f"written to {path} and {figure_path}")
    return scores
