"""Caption scores as image captioning papers report them: BLEU-1..4 and CIDEr-D over all references.

BLEU is sacreBLEU's (13a tokenisation, lowercased) so it is reproducible from its signature. CIDEr-D
follows the coco-caption reference implementation (Vedantam et al. 2015, as in pycocoevalcap's
cider_scorer.py) on text normalised the way that evaluation does it: lowercased, punctuation dropped.
"""

import math
import re
from collections import Counter

from sacrebleu.metrics import BLEU

from seq2seq.errors import Seq2SeqError

BLEU_ORDERS = (1, 2, 3, 4)
CIDER_MAX_ORDER = 4
CIDER_SIGMA = 6.0
CIDER_SIGNATURE = f"n:{CIDER_MAX_ORDER}|sigma:{CIDER_SIGMA}|df:eval-refs|clip:yes|case:lc|tok:ptb-nopunct"

# Stands in for coco-caption's PTB tokenizer: clitics split off ("do n't", "dog 's"), decimals and
# hyphenated words kept whole, and every other punctuation mark dropped, as that evaluation drops its
# punctuation tokens.
_CAPTION_TOKEN = re.compile(
    r"\d+(?:[.,]\d+)+|[^\W_]+(?=n't\b)|n't\b|'(?:s|re|ve|ll|m|d)\b|[^\W_]+(?:-[^\W_]+)*"
)


def caption_scores(hypotheses: list[str], references: list[list[str]]) -> dict:
    """Score one caption per image against all of that image's reference captions.

    references[i] lists the captions of image i; images may have different numbers of them. sacreBLEU
    takes reference streams, so images with fewer captions are padded with None, which it skips per
    sentence (an empty string would instead count as a reference of length 0). Its signature does not
    record the maximum n-gram order, so one BLEU signature serves BLEU-1..4.
    """
    hypotheses = list(hypotheses)
    if not hypotheses:
        raise Seq2SeqError("no hypotheses to score")
    references = [_caption_list(number, refs) for number, refs in enumerate(references, start=1)]
    if len(references) != len(hypotheses):
        raise Seq2SeqError(
            f"there are {len(hypotheses)} hypotheses but references for {len(references)} images"
        )
    width = max(len(refs) for refs in references)
    streams = [[refs[k] if k < len(refs) else None for refs in references] for k in range(width)]
    scores = {}
    for order in BLEU_ORDERS:
        bleu = BLEU(lowercase=True, max_ngram_order=order)
        scores[f"bleu{order}"] = float(bleu.corpus_score(hypotheses, streams).score)
    scores["cider_d"] = cider_d(
        [_caption_tokens(hypothesis) for hypothesis in hypotheses],
        [[_caption_tokens(ref) for ref in refs] for refs in references],
    )
    scores["signatures"] = {"bleu": str(bleu.get_signature()), "cider_d": CIDER_SIGNATURE}
    scores["images"] = len(hypotheses)
    return scores


def _caption_list(number, refs) -> list:
    """An image's reference captions, refusing inputs that would silently score the wrong thing."""
    if isinstance(refs, str):
        raise Seq2SeqError(f"references of image {number} must be a list of captions, not one string")
    refs = list(refs)
    if not refs:
        raise Seq2SeqError(f"image {number} has no reference captions")
    if any(not ref.strip() for ref in refs):
        raise Seq2SeqError(f"image {number} has an empty reference caption")
    return refs


def _caption_tokens(caption) -> list:
    return _CAPTION_TOKEN.findall(caption.lower())


def cider_d(hypotheses: list[list[str]], references: list[list[list[str]]]) -> float:
    """CIDEr-D of tokenised captions, the mean over images of the reference implementation's score.

    Each caption becomes one tf-idf vector per n-gram order, with document frequencies counted over the
    images' reference sets (an image counts once per n-gram however many of its captions contain it)
    and log(max(1, df)) so that n-grams absent from every reference get the largest weight. An image
    scores 10 times the mean, over orders and references, of the cosine between its hypothesis and a
    reference, where the hypothesis weights are first capped at the reference's (the "-D" clipping) and
    a Gaussian in their length difference (sigma 6) penalises captions of the wrong length. With a
    single image every n-gram is in all reference sets, so every weight and the score are 0.
    """
    log_images = math.log(len(references))
    reference_counts = [[_ngram_counts(ref) for ref in refs] for refs in references]
    document_frequency = Counter(
        ngram for refs in reference_counts for ngram in set().union(*refs)
    )

    def tf_idf(tokens):
        vectors = [{} for _ in range(CIDER_MAX_ORDER)]
        for ngram, count in _ngram_counts(tokens).items():
            idf = log_images - math.log(max(1, document_frequency[ngram]))
            vectors[len(ngram) - 1][ngram] = count * idf
        norms = [math.sqrt(sum(weight * weight for weight in vector.values())) for vector in vectors]
        # The reference measures length in bigrams; that differs from the token count only for an empty
        # caption, which has no n-grams and so scores 0 whatever the penalty.
        return vectors, norms, len(tokens)

    image_scores = []
    for hypothesis, refs in zip(hypotheses, references):
        hyp_vectors, hyp_norms, hyp_length = tf_idf(hypothesis)
        total = 0.0
        for ref in refs:
            ref_vectors, ref_norms, ref_length = tf_idf(ref)
            penalty = math.exp(-((hyp_length - ref_length) ** 2) / (2 * CIDER_SIGMA**2))
            for hyp_vector, ref_vector, hyp_norm, ref_norm in zip(
                hyp_vectors, ref_vectors, hyp_norms, ref_norms
            ):
                if hyp_norm and ref_norm:
                    overlap = sum(
                        min(weight, ref_vector.get(ngram, 0.0)) * ref_vector.get(ngram, 0.0)
                        for ngram, weight in hyp_vector.items()
                    )
                    total += overlap / (hyp_norm * ref_norm) * penalty
        image_scores.append(10.0 * total / (CIDER_MAX_ORDER * len(refs)))
    return sum(image_scores) / len(image_scores)


def _ngram_counts(tokens) -> Counter:
    return Counter(
        tuple(tokens[start : start + order])
        for order in range(1, CIDER_MAX_ORDER + 1)
        for start in range(len(tokens) - order + 1)
    )


def format_caption_scores(scores: dict) -> str:
    """The scores on one line, then the signatures needed to reproduce them."""
    bleu = "  ".join(f"BLEU-{order} {scores[f'bleu{order}']:.1f}" for order in BLEU_ORDERS)
    return "\n".join(
        [
            f"{bleu}  CIDEr-D {scores['cider_d']:.3f}",
            f"  BLEU-n signature: {scores['signatures']['bleu']} (n = max n-gram order)",
            f"  CIDEr-D signature: {scores['signatures']['cider_d']}",
        ]
    )
