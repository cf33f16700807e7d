"""What a tagging run is scored with: each epoch on dev, and by `seq2seq evaluate`.

Every score counts words, never pieces. `f1` (logged as `dev_f1` while training) has one meaning per
run: when the run's labels and the gold labels are BIO, the exact-span F1 conlleval computes (also
under `span`, with precision, recall and per type); otherwise the macro-F1 over labels (the mean
per-label F1 over the labels present in gold or predictions, as `seq2seq.metrics.classification`
defines it). Truecasing runs (`bible-truecase`) add `case_accuracy` and `punctuation` (the F1 of the
marks after words, `seq2seq.metrics.tagging`); their labels are not BIO, so their `f1` is the macro-F1.
"""

from seq2seq.metrics.classification import macro_f1
from seq2seq.metrics.tagging import (bio_span_scores, case_accuracy, is_bio, per_label_scores,
                                     punctuation_scores, token_accuracy)

TABLE_ROWS = 10  # the most frequent gold labels the log's table shows; scores.json has them all


def tagging_scores(gold, predicted, labels, truecase=False) -> dict:
    """Scores of predicted against gold labels (lists of sentences of labels), JSON-ready.

    `labels`: the run's `LabelVocabulary`, whose labels decide whether span F1 applies.
    """
    flat_gold = [label for labels in gold for label in labels]
    flat_predicted = [label for labels in predicted for label in labels]
    scores = {"sentences": len(gold), "words": len(flat_gold), "token_accuracy": token_accuracy(gold, predicted),
              "macro_f1": macro_f1(flat_gold, flat_predicted)}
    if is_bio([labels.names[labels.first_real_id:]]) and is_bio(gold):
        scores["span"] = bio_span_scores(gold, predicted)
    scores["f1"] = scores["span"]["f1"] if "span" in scores else scores["macro_f1"]
    if truecase:
        scores["case_accuracy"] = case_accuracy(gold, predicted)
        scores["punctuation"] = punctuation_scores(gold, predicted)
    scores["per_label"] = per_label_scores(gold, predicted)
    return scores


def dev_logs(scores) -> dict:
    """The epoch's log entries (metrics.csv columns; `Tagging.dev_metrics` offers them to early stopping)."""
    logs = {"dev_f1": scores["f1"], "dev_accuracy": scores["token_accuracy"]}
    if "punctuation" in scores:
        logs.update(dev_case_accuracy=scores["case_accuracy"], dev_punctuation_f1=scores["punctuation"]["f1"])
    return logs


def describe(scores) -> str:
    """One line: accuracy, what `f1` is here, and the truecasing scores."""
    kind = "span F1" if "span" in scores else "macro-F1"
    line = f"accuracy {scores['token_accuracy']:.4f}  {kind} {scores['f1']:.4f}"
    if "span" in scores:
        line += f" (P {scores['span']['precision']:.4f} R {scores['span']['recall']:.4f})"
    if "punctuation" in scores:
        marks = scores["punctuation"]
        line += (f"  case accuracy {scores['case_accuracy']:.4f}  punctuation F1 {marks['f1']:.4f} "
                 f"(P {marks['precision']:.4f} R {marks['recall']:.4f})")
    return line + f" on {scores['sentences']} sentences, {scores['words']} words"


def format_tagging_scores(scores) -> str:
    """`describe`'s line, then precision, recall and F1 of the most frequent gold labels."""
    rows = sorted(scores["per_label"].items(), key=lambda item: -item[1]["support"])[:TABLE_ROWS]
    width = max(len("label"), *(len(label) for label, _ in rows))
    lines = [describe(scores), f"{'label':<{width}}  precision  recall     F1  support  predicted"]
    lines += [f"{label:<{width}}  {row['precision']:>9.3f}  {row['recall']:>6.3f}  {row['f1']:>5.3f}  "
              f"{row['support']:>7}  {row['predicted']:>9}" for label, row in rows]
    if len(scores["per_label"]) > len(rows):
        lines.append(f"({len(scores['per_label']) - len(rows)} rarer labels in scores.json)")
    return "\n".join(lines)
