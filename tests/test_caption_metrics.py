"""Caption scores: CIDEr-D against the reference implementation, BLEU against sacreBLEU, bad input."""

import pytest
from sacrebleu.metrics import BLEU

from seq2seq.metrics.captions import caption_scores, cider_d, format_caption_scores
from seq2seq.errors import Seq2SeqError

# Lowercase, whitespace-tokenised and free of punctuation, so that the reference implementation
# (which only splits on whitespace) and caption_scores see the same tokens.

# References per image: 2, 3, 5 and 4. N-grams shared across images make the idf matter, "dog dog dog"
# exercises the clipping and the differing lengths the Gaussian penalty.
VARIED_HYPOTHESES = [
    "a man riding a horse on a beach",
    "a dog dog dog playing with a frisbee in the park",
    "two people sitting on a bench",
    "a plate of food with broccoli and rice",
]
VARIED_REFERENCES = [
    ["a man rides a brown horse along the beach",
     "a person riding a horse on the sand near the ocean"],
    ["a dog catches a frisbee in a grassy park",
     "a brown dog playing with a red frisbee",
     "a dog jumping in the air to catch a frisbee"],
    ["two people sit on a wooden bench in a park",
     "an old couple sitting on a bench",
     "two women are sitting together on a park bench",
     "people resting on a bench near some trees",
     "a man and a woman sitting on a bench"],
    ["a white plate topped with broccoli and rice",
     "a plate of rice with broccoli and chicken",
     "a meal of chicken rice and vegetables on a plate",
     "food on a plate with a fork"],
]

EQUAL_HYPOTHESES = [
    "a cat sleeping on a red couch",
    "a train arriving at a station",
    "a bowl of fruit on a table",
]
EQUAL_REFERENCES = [
    ["a cat is sleeping on a couch", "a gray cat lying on a red sofa", "a cat curled up asleep on the couch"],
    ["a train pulls into the station", "a passenger train stopped at a train station",
     "a red train arriving at a platform"],
    ["a bowl filled with apples and oranges", "fruit in a bowl on a wooden table",
     "a table with a bowl of fresh fruit on it"],
]

# Each hypothesis is one of its image's references.
PERFECT_HYPOTHESES = [
    "a small boat floating on a calm lake",
    "a red double decker bus on a city street",
    "a giraffe standing next to a tall tree",
]
PERFECT_REFERENCES = [
    ["a small boat floating on a calm lake", "a boat on the water near the shore"],
    ["a red double decker bus on a city street", "a bus driving down the road", "a large red bus in traffic"],
    ["a giraffe standing next to a tall tree", "a giraffe eating leaves from a tree"],
]

# Captions too short for some n-gram orders, whose vectors are then empty.
SHORT_HYPOTHESES = ["a dog", "cat", "red bus"]
SHORT_REFERENCES = [["a dog", "a brown dog"], ["a cat", "cat"], ["a red bus on a road", "bus"]]

# CIDEr-D of each example as computed by pycocoevalcap 1.2 (PyPI), Cider().compute_score(gts, res)
# with gts = {i: references[i]} and res = {i: [hypotheses[i]]}; its PTB tokenizer was not used.
KNOWN_CIDER_D = [
    pytest.param(VARIED_HYPOTHESES, VARIED_REFERENCES, 2.4036728936843623, id="varied-reference-counts"),
    pytest.param(EQUAL_HYPOTHESES, EQUAL_REFERENCES, 2.5188051667886024, id="three-references-each"),
    pytest.param(PERFECT_HYPOTHESES, PERFECT_REFERENCES, 4.891619094527699, id="hypothesis-is-a-reference"),
    pytest.param(PERFECT_HYPOTHESES, [[hyp, hyp] for hyp in PERFECT_HYPOTHESES], 10.0, id="all-identical"),
    pytest.param(VARIED_HYPOTHESES[:1], VARIED_REFERENCES[:1], 0.0, id="single-image"),
    pytest.param(SHORT_HYPOTHESES, SHORT_REFERENCES, 2.6271758737974715, id="short-captions"),
]


@pytest.mark.parametrize("hypotheses, references, expected", KNOWN_CIDER_D)
def test_cider_d_matches_the_reference_implementation(hypotheses, references, expected):
    assert caption_scores(hypotheses, references)["cider_d"] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_cider_d_normalises_case_and_punctuation():
    shouted = [hyp.upper() + "!" for hyp in VARIED_HYPOTHESES]
    punctuated = [[ref.capitalize().replace(" with ", ", with ") + "." for ref in refs]
                  for refs in VARIED_REFERENCES]

    scores = caption_scores(shouted, punctuated)

    assert scores["cider_d"] == pytest.approx(2.4036728936843623, rel=1e-12)


def test_cider_d_splits_clitics_and_keeps_decimals_and_hyphenated_words_whole():
    hypotheses = ["A dog's t-shirt (2.50); it isn't red.", "two cats"]
    references = [["a dog 's t-shirt 2.50 it is n't red"], ["two cats"]]
    tokenised = [["a", "dog", "'s", "t-shirt", "2.50", "it", "is", "n't", "red"], ["two", "cats"]]

    expected = cider_d(tokenised, [[tokens] for tokens in tokenised])

    assert caption_scores(hypotheses, references)["cider_d"] == pytest.approx(expected)
    assert expected > 0


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_bleu_matches_sacrebleu_multi_reference(order):
    streams = [list(stream) for stream in zip(*EQUAL_REFERENCES)]
    expected = BLEU(lowercase=True, max_ngram_order=order).corpus_score(EQUAL_HYPOTHESES, streams).score

    scores = caption_scores(EQUAL_HYPOTHESES, EQUAL_REFERENCES)

    assert scores[f"bleu{order}"] == pytest.approx(expected, abs=1e-9)
    assert "nrefs:3" in scores["signatures"]["bleu"]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_bleu_with_varying_reference_counts(order):
    # Repeating a reference changes neither the clipped n-gram counts nor the closest reference length,
    # so padding every image to five references with copies must give the same BLEU.
    padded = [refs + [refs[0]] * (5 - len(refs)) for refs in VARIED_REFERENCES]
    streams = [list(stream) for stream in zip(*padded)]
    expected = BLEU(lowercase=True, max_ngram_order=order).corpus_score(VARIED_HYPOTHESES, streams).score

    scores = caption_scores(VARIED_HYPOTHESES, VARIED_REFERENCES)

    assert scores[f"bleu{order}"] == pytest.approx(expected, abs=1e-9)
    assert "nrefs:var" in scores["signatures"]["bleu"]


def test_missing_references_are_not_scored_as_empty_ones():
    hypotheses = ["a dog", "a cat sat down"]
    # As an empty reference, the missing second caption of image 1 would be as close in length to "a dog"
    # as "a dog runs fast" and, being shorter, win: no brevity penalty and BLEU 100.
    empty_padded = BLEU().corpus_score(hypotheses, [["a dog runs fast", "a cat sat down"], ["", "a cat"]])
    assert empty_padded.score == pytest.approx(100.0)

    scores = caption_scores(hypotheses, [["a dog runs fast"], ["a cat sat down", "a cat"]])

    assert scores["bleu4"] < 100


def test_bleu_is_lowercased():
    lower = caption_scores(EQUAL_HYPOTHESES, EQUAL_REFERENCES)
    upper = caption_scores([hyp.upper() for hyp in EQUAL_HYPOTHESES], EQUAL_REFERENCES)

    assert [upper[f"bleu{order}"] for order in (1, 2, 3, 4)] == [lower[f"bleu{order}"] for order in (1, 2, 3, 4)]
    assert "case:lc" in lower["signatures"]["bleu"]
    assert "tok:13a" in lower["signatures"]["bleu"]


def test_perfect_match():
    scores = caption_scores(PERFECT_HYPOTHESES, PERFECT_REFERENCES)

    for order in (1, 2, 3, 4):
        assert scores[f"bleu{order}"] == pytest.approx(100.0)
    assert scores["cider_d"] == pytest.approx(4.891619094527699, rel=1e-12)
    assert scores["images"] == 3


def test_format_caption_scores():
    text = format_caption_scores(caption_scores(VARIED_HYPOTHESES, VARIED_REFERENCES))
    headline, bleu_signature, cider_signature = text.split("\n")

    assert headline == "BLEU-1 88.2  BLEU-2 76.8  BLEU-3 61.2  BLEU-4 45.4  CIDEr-D 2.404"
    assert bleu_signature.startswith("  BLEU-n signature: nrefs:var|case:lc|eff:no|tok:13a|")
    assert cider_signature == "  CIDEr-D signature: n:4|sigma:6.0|df:eval-refs|clip:yes|case:lc|tok:ptb-nopunct"


@pytest.mark.parametrize(
    "hypotheses, references, message",
    [
        ([], [], "no hypotheses to score"),
        (["a dog", "a cat"], [["a dog"]], "there are 2 hypotheses but references for 1 images"),
        (["a dog", "a cat"], [["a dog"], []], "image 2 has no reference captions"),
        (["a dog"], [["a dog", "  "]], "image 1 has an empty reference caption"),
        (["a dog"], ["a dog"], "references of image 1 must be a list of captions, not one string"),
    ],
)
def test_bad_input_is_an_error(hypotheses, references, message):
    with pytest.raises(Seq2SeqError, match=message):
        caption_scores(hypotheses, references)
