"""How many held-out sentences nearly repeat a training sentence: the measure of a split's leakage.

A split by book keeps every verse in one split, but some passages are told twice (Micah 4:2-3 is
Isaiah 2:3-4), so a few test verses have a near copy in training. A held-out sentence counts as a
near duplicate when at least half of its distinct lowercased word 4-grams occur in one single
training sentence. It is an inverted index over the training 4-grams, so the whole Bible takes
about a second.
"""

import re
from collections import Counter, defaultdict

_WORD = re.compile(r"[^\W_]+")
NGRAM_ORDER = 4
SHARED_FRACTION = 0.5


def word_ngrams(text, order=NGRAM_ORDER) -> set:
    words = _WORD.findall(text.lower())
    return {tuple(words[start:start + order]) for start in range(len(words) - order + 1)}


def near_duplicates(held_out, training, order=NGRAM_ORDER, shared_fraction=SHARED_FRACTION) -> list:
    """Indices of the `held_out` texts that share at least `shared_fraction` of their word n-grams
    with one text of `training`. Texts shorter than `order` words have no n-grams and never count."""
    sentences_with = defaultdict(list)
    for index, text in enumerate(training):
        for ngram in word_ngrams(text, order):
            sentences_with[ngram].append(index)
    found = []
    for index, text in enumerate(held_out):
        ngrams = word_ngrams(text, order)
        shared = Counter(sentence for ngram in ngrams for sentence in sentences_with.get(ngram, ()))
        if shared and max(shared.values()) >= shared_fraction * len(ngrams):
            found.append(index)
    return found
