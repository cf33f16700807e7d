"""sacreBLEU scoring: perfect scores, a BLEU worked out by hand, multiple references, missing extra
references, files."""

import json
import math

import pytest

from sacrebleu.metrics import BLEU

from seq2seq.config import DataConfig
from seq2seq.data.corpus import load_split
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import write_evaluation
from seq2seq.metrics.translation import format_scores, translation_scores

SENTENCES = ["the cat sat on the mat today", "a dog barked at the postman twice"]


def test_identical_hypotheses_score_perfectly():
    scores = translation_scores(SENTENCES, [SENTENCES])
    assert scores["bleu"] == pytest.approx(100.0)
    assert scores["chrf"] == pytest.approx(100.0)
    assert scores["ter"] == pytest.approx(0.0)
    assert scores["sentences"] == 2
    assert set(scores["signatures"]) == {"bleu", "chrf", "ter"}
    assert "tok:13a" in scores["signatures"]["bleu"]


def test_bleu_matches_hand_computation():
    hypothesis = "the quick brown fox jumps over the dog"  # 8 tokens
    reference = "the quick brown fox jumps over the lazy dog"  # 9 tokens
    # Clipped n-gram matches / hypothesis n-grams:
    #   1-grams: all 8 words occur in the reference ("the" twice in both)   -> 8/8
    #   2-grams: every pair except "the dog"                                -> 6/7
    #   3-grams: every triple except "over the dog"                         -> 5/6
    #   4-grams: every quadruple except "jumps over the dog"                -> 4/5
    precisions = [8 / 8, 6 / 7, 5 / 6, 4 / 5]
    # Hypothesis shorter than the reference: brevity penalty exp(1 - r/c).
    brevity_penalty = math.exp(1 - 9 / 8)
    expected = 100 * brevity_penalty * math.exp(sum(map(math.log, precisions)) / 4)

    scores = translation_scores([hypothesis], [[reference]])

    assert expected == pytest.approx(76.73, abs=0.01)
    assert scores["bleu"] == pytest.approx(expected, abs=1e-6)
    assert 0 < scores["chrf"] < 100
    assert scores["ter"] == pytest.approx(100 / 9)  # one insertion ("lazy") over 9 reference words


def test_second_reference_stream_is_used():
    hypotheses = ["the kid is eating an apple now"]
    first = ["the child eats an apple at the moment"]
    second = ["the kid is eating an apple now"]

    one_reference = translation_scores(hypotheses, [first])
    two_references = translation_scores(hypotheses, [first, second])

    assert one_reference["bleu"] < 50
    assert two_references["bleu"] == pytest.approx(100.0)
    assert "nrefs:2" in two_references["signatures"]["bleu"]


def test_a_missing_extra_reference_line_is_no_reference_not_an_empty_one(tmp_path):
    """The BBE has no Romans 16:24: its empty line must not count as a reference of length 0, which
    would be the closest length for a short output and lift its brevity penalty."""
    (tmp_path / "test.es").write_text("el gato se sentó\nel perro ladró\n", encoding="utf-8")
    (tmp_path / "test.en").write_text("the cat sat on the mat\na dog barked at the postman\n", encoding="utf-8")
    (tmp_path / "test.en-bbe").write_text("the cat was seated on the mat\n\n", encoding="utf-8")
    data = DataConfig(corpus="files", test=str(tmp_path / "test"), extra_references=["en-bbe"])
    split = load_split(data, "test", with_extra_references=True)
    assert split.extra_references["en-bbe"] == ["the cat was seated on the mat", None]
    hypotheses = ["the cat sat on the mat", "a dog"]

    scored = translation_scores(hypotheses, split.references, metrics=("bleu",))["bleu"]

    main_only_for_the_second = BLEU().corpus_score(hypotheses, [split.targets, [split.references[1][0], None]])
    with_an_empty_reference = BLEU().corpus_score(hypotheses, [split.targets, [split.references[1][0], ""]])
    assert scored == pytest.approx(main_only_for_the_second.score)
    assert scored < with_an_empty_reference.score


def test_reference_length_mismatch_is_an_error():
    with pytest.raises(Seq2SeqError, match="reference stream 2 has 1 sentences"):
        translation_scores(SENTENCES, [SENTENCES, SENTENCES[:1]])


def test_empty_inputs_are_errors():
    with pytest.raises(Seq2SeqError, match="no hypotheses"):
        translation_scores([], [[]])
    with pytest.raises(Seq2SeqError, match="no reference streams"):
        translation_scores(SENTENCES, [])


def test_format_scores_shows_scores_and_signatures():
    scores = {
        "bleu": 23.414,
        "chrf": 48.2,
        "ter": 61.0,
        "signatures": {
            "bleu": "nrefs:1|tok:13a",
            "chrf": "nrefs:1|nc:6",
            "ter": "nrefs:1|tok:tercom",
        },
        "sentences": 3,
    }
    lines = format_scores(scores).splitlines()
    assert lines[0] == "BLEU 23.41  chrF 48.20  TER 61.00"
    assert "nrefs:1|tok:13a" in lines[1]
    assert "nrefs:1|nc:6" in lines[2]
    assert "nrefs:1|tok:tercom" in lines[3]


def test_write_evaluation_writes_hypotheses_and_scores(tmp_path):
    hypotheses = ["el niño come.", "la niña bebe agua."]
    scores = translation_scores(hypotheses, [["el niño come.", "la niña bebe leche."]])

    path = write_evaluation(tmp_path / "eval", "test", hypotheses, scores)

    assert path == tmp_path / "eval" / "test.scores.json"
    assert json.loads(path.read_text(encoding="utf-8")) == scores
    hyp_file = tmp_path / "eval" / "test.hyp"
    assert hyp_file.read_text(encoding="utf-8").splitlines() == hypotheses
