"""Scores of a tagger: token accuracy, per-label F1, BIO span F1 as conlleval computes it, and the truecasing
scores (case accuracy, punctuation F1).

Every function takes gold and predicted tags as lists of sentences, each a list of tags, sentence i of the
prediction as long as sentence i of the gold.

BIO spans follow conlleval (the CoNLL-2000 shared task's scorer), so figures compare with papers': a span
starts at B-X, or at I-X when the tag before it is O, the sentence start, or of another type (so IOB1 data
and ill-formed predictions are read as conlleval reads them), and goes on over the I-X that follow.
Precision, recall and F1 count exact spans: same start, same end, same type. Other schemes (IOBES, BILOU)
are not BIO and are refused.

Truecasing labels are those of seq2seq.data.truecase ("cap|,", "¿|lower|"). Case accuracy is the fraction
of words whose predicted case (lower, cap, upper, mixed) is the gold one. Punctuation F1 scores the marks
that follow words: a word followed by a mark (any non-empty "after" part: ",", ".", '."', " --") is a gold
mark, a word predicted to be followed by one a predicted mark, and a predicted mark is correct when the gold
mark after that word is the same string; precision = correct / predicted marks, recall = correct / gold
marks. Opening marks ("¿", '"') count in the token accuracy of the full labels only.
"""

from seq2seq.data.truecase import parse_label
from seq2seq.errors import Seq2SeqError
from seq2seq.metrics.classification import accuracy, per_class_scores, precision_recall_f1

_SPAN_TAG_STARTS = ("B-", "I-")


def token_accuracy(gold, predicted) -> float:
    """The fraction of tokens whose predicted tag is the gold one."""
    return accuracy(*_tokens(gold, predicted))


def per_label_scores(gold, predicted, labels=None) -> dict[str, dict]:
    """{tag: {precision, recall, f1, support, predicted}} over tokens, as classification's per_class_scores."""
    return per_class_scores(*_tokens(gold, predicted), labels)


def is_bio(sentences) -> bool:
    """Whether tags are BIO: each O, B-TYPE or I-TYPE, and at least one not O (all O could be anything)."""
    tags = [tag for sentence in sentences for tag in sentence]
    return all(map(_is_bio_tag, tags)) and any(tag != "O" for tag in tags)


def bio_spans(tags) -> list[tuple[int, int, str]]:
    """The spans of one sentence of BIO tags as (start, end, type), end exclusive, read as conlleval reads them."""
    spans = []
    start, kind = 0, None  # kind: the type of the span open at this point, None outside spans
    for position, tag in enumerate([*tags, "O"]):  # the O closes a span that ends the sentence
        tag_type = tag[2:] if tag != "O" else None
        continues = tag.startswith("I-") and tag_type == kind
        if kind is not None and not continues:
            spans.append((start, position, kind))
            kind = None
        if tag_type is not None and not continues:
            start, kind = position, tag_type
    return spans


def bio_span_scores(gold, predicted) -> dict:
    """Exact-span precision, recall and F1, overall and per type, with the span counts behind them."""
    gold, predicted = list(gold), list(predicted)
    _tokens(gold, predicted)
    for name, sentences in (("gold", gold), ("predicted", predicted)):
        bad = next((tag for sentence in sentences for tag in sentence if not _is_bio_tag(tag)), None)
        if bad is not None:
            raise Seq2SeqError(f"{name} tag {bad!r} is not BIO (O, B-TYPE or I-TYPE); span F1 needs BIO tags")
    gold_spans = {(number, *span) for number, tags in enumerate(gold) for span in bio_spans(tags)}
    predicted_spans = {(number, *span) for number, tags in enumerate(predicted) for span in bio_spans(tags)}
    scores = _span_counts_scores(gold_spans, predicted_spans)
    types = sorted({span[3] for span in gold_spans | predicted_spans})
    scores["per_type"] = {kind: _span_counts_scores({span for span in gold_spans if span[3] == kind},
                                                    {span for span in predicted_spans if span[3] == kind})
                          for kind in types}
    return scores


def case_accuracy(gold, predicted) -> float:
    """The fraction of words whose predicted case is the gold case (truecasing labels)."""
    gold_labels, predicted_labels = _tokens(gold, predicted)
    return accuracy([parse_label(label).case for label in gold_labels],
                    [parse_label(label).case for label in predicted_labels])


def punctuation_scores(gold, predicted) -> dict:
    """Precision, recall and F1 of the marks after words (truecasing labels; see the module docstring)."""
    gold_labels, predicted_labels = _tokens(gold, predicted)
    gold_marks = [parse_label(label).after for label in gold_labels]
    predicted_marks = [parse_label(label).after for label in predicted_labels]
    correct = sum(bool(mark) and mark == truth for mark, truth in zip(predicted_marks, gold_marks))
    return _scores(correct, sum(map(bool, predicted_marks)), sum(map(bool, gold_marks)), "marks")


def _is_bio_tag(tag: str) -> bool:
    return tag == "O" or (tag.startswith(_SPAN_TAG_STARTS) and len(tag) > 2)


def _span_counts_scores(gold_spans: set, predicted_spans: set) -> dict:
    return _scores(len(gold_spans & predicted_spans), len(predicted_spans), len(gold_spans), "spans")


def _scores(correct: int, predicted: int, gold: int, unit: str) -> dict:
    precision, recall, f1 = precision_recall_f1(correct, predicted, gold)
    return {"precision": precision, "recall": recall, "f1": f1,
            f"gold_{unit}": gold, f"predicted_{unit}": predicted, f"correct_{unit}": correct}


def _tokens(gold, predicted) -> tuple[list, list]:
    """Both sides flattened to tokens, after checking that the sentences pair up."""
    gold, predicted = list(gold), list(predicted)
    if len(gold) != len(predicted):
        raise Seq2SeqError(f"{len(gold)} gold sentences but {len(predicted)} predicted; they must pair up")
    for number, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted), start=1):
        if len(gold_tags) != len(predicted_tags):
            raise Seq2SeqError(f"sentence {number} has {len(gold_tags)} gold tags but {len(predicted_tags)} "
                               f"predicted; a tagger gives one tag per token")
    return [tag for tags in gold for tag in tags], [tag for tags in predicted for tag in tags]
