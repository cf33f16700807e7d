"""Corpus-level BLEU, chrF and TER with sacreBLEU, so scores are comparable across papers."""

from sacrebleu.metrics import BLEU, CHRF, TER

from seq2seq.errors import Seq2SeqError

METRIC_LABELS = {"bleu": "BLEU", "chrf": "chrF", "ter": "TER"}
METRICS = {"bleu": BLEU, "chrf": CHRF, "ter": TER}


def translation_scores(hypotheses, references, metrics=tuple(METRIC_LABELS)) -> dict:
    """Score hypotheses against one or more reference streams (default 13a tokenisation).

    TER is by far the slowest (about 20 s for the 1,060 bible test verses, against 1 s for BLEU and
    chrF together), so callers that score often or against several references leave it out.
    """
    hypotheses = list(hypotheses)
    references = [list(stream) for stream in references]
    if not hypotheses:
        raise Seq2SeqError("no hypotheses to score")
    if not references:
        raise Seq2SeqError("no reference streams to score against")
    for number, stream in enumerate(references, start=1):
        if len(stream) != len(hypotheses):
            raise Seq2SeqError(
                f"reference stream {number} has {len(stream)} sentences "
                f"but there are {len(hypotheses)} hypotheses"
            )
    metrics = {name: METRICS[name]() for name in metrics}
    scores = {
        name: float(metric.corpus_score(hypotheses, references).score)
        for name, metric in metrics.items()
    }
    scores["signatures"] = {name: str(metric.get_signature()) for name, metric in metrics.items()}
    scores["sentences"] = len(hypotheses)
    return scores


def format_scores(scores) -> str:
    """The scores on one line, then the signatures needed to reproduce them."""
    shown = [(name, label) for name, label in METRIC_LABELS.items() if name in scores]
    headline = "  ".join(f"{label} {scores[name]:.2f}" for name, label in shown)
    signatures = [f"  {label} signature: {scores['signatures'][name]}" for name, label in shown]
    return "\n".join([headline, *signatures])
