"""Translation on a weighted mixture of corpora, with placeholders protected (data.corpora, tokenizer.placeholders)."""

import csv
import json
import random

import pytest
import yaml

from seq2seq.cli import main
from seq2seq.config import config_from_dict, corpus_parts
from seq2seq.data.corpus import weighted_rows
from seq2seq.data.placeholders import placeholders
from seq2seq.errors import ConfigError
from seq2seq.tasks.translation.translator import Translator

from conftest import WORDS

PLACEHOLDERS = ["%s", "%d", "{0}", "%(name)s", "<b>", "&amp;"]


def mixture(data_dir, **extra):
    return {"data": {"corpora": [
        {"corpus": "files", "name": "plain", "format": "tsv", "train": f"{data_dir}/plain/train.tsv",
         "dev": f"{data_dir}/plain/dev.tsv", "test": f"{data_dir}/plain/test.tsv"},
        {"corpus": "files", "name": "software", "weight": 2.0, "format": "tsv", "train": f"{data_dir}/soft/train.tsv",
         "dev": f"{data_dir}/soft/dev.tsv", "test": f"{data_dir}/soft/test.tsv"}], **extra}}


def test_a_mixture_is_read_as_parts_that_inherit_the_shared_keys(tmp_path):
    config = config_from_dict(mixture(tmp_path, max_source_length=30, source_lang="xx"))
    assert config.data.corpus == "mixed"
    parts = corpus_parts(config.data)
    assert [(part.name, part.weight, part.data.corpus) for part in parts] == [("plain", 1.0, "files"),
                                                                              ("software", 2.0, "files")]
    assert parts[1].data.train == f"{tmp_path}/soft/train.tsv" and parts[1].data.format == "tsv"
    assert parts[1].data.max_source_length == 30 and parts[1].data.source_lang == "xx" and parts[1].data.corpora == []
    single = config_from_dict({"data": {"corpus": "software-es-en"}})
    assert [(part.name, part.weight) for part in corpus_parts(single.data)] == [("software-es-en", 1.0)]


@pytest.mark.parametrize("data, problem", [
    ({"corpus": "bible-es-en", "corpora": [{"corpus": "software-es-en"}]},
     r"'data.corpora' replaces 'data.corpus' \(here 'bible-es-en'\)"),
    ({"corpus": "mixed"}, r"'data.corpus: mixed' needs the corpora to mix in 'data.corpora'"),
    ({"corpora": [{"corpus": "bible-es-en"}, {"corpus": "bible-es-en"}]}, r"two entries of data.corpora are named"),
    ({"corpora": [{"corpus": "bible-es-en", "weight": 0}]}, r"'data.corpora\[0\].weight' must be above 0"),
    ({"corpora": [{"corpus": "bible-es-en", "wieght": 2}]}, r"unknown key 'data.corpora\[0\].wieght'; did you mean"),
    ({"corpora": [{"corpus": "bible-es-en", "weight": "two"}]}, r"'data.corpora\[0\].weight' must be float"),
    ({"corpora": [{"corpus": "bible-genre"}]}, r"'data.corpus: bible-genre' is not a translation corpus"),
    ({"corpora": [{"corpus": "mixed"}]}, r"'data.corpora\[0\].corpus' must name a corpus"),
    ({"corpora": [{"corpus": "files", "name": "my corpus"}]}, r"'data.corpora\[0\].name' may hold letters"),
    ({"corpora": ["bible-es-en"]}, r"'data.corpora\[0\]' must be a mapping"),
    ({"corpora": [{"corpus": "bible-es-en", "weight": float("inf")}]}, r"must be above 0 and at most 100"),
    ({"corpora": [{"corpus": "files", "train": "t.tsv"}]}, r"'data.corpora\[0\]' reads files: give its dev, test paths"),
    ({"corpora": [{"corpus": "files", "train": "t", "dev": "d", "test": "e", "columns": [0]}]},
     r"'data.corpora\[0\].columns' must be two column numbers"),
    ({"train": "t.tsv", "corpora": [{"corpus": "bible-es-en"}]}, r"'data.train' is set beside 'data.corpora'"),
])
def test_bad_mixtures_are_named(data, problem):
    with pytest.raises(ConfigError, match=problem):
        config_from_dict({"data": data})


def test_a_mixture_and_placeholders_are_for_translation_only():
    with pytest.raises(ConfigError, match=r"'data.corpora' \(a mixture of corpora\) is for translation runs"):
        config_from_dict({"task": "classification", "data": {"corpora": [{"corpus": "bible-genre"}]}})
    with pytest.raises(ConfigError, match=r"'tokenizer.placeholders' \(placeholder masking\) does not apply to tagging"):
        config_from_dict({"task": "tagging", "tokenizer": {"placeholders": True}})


def test_a_weight_that_reads_no_pair_is_refused_naming_the_corpus(tmp_path, capsys):
    write_mixture(tmp_path / "data")
    (tmp_path / "data/soft/train.tsv").write_text("a %s b\tb %s a\n")
    config = mixture(tmp_path / "data")
    config["data"]["corpora"][1]["weight"] = 0.4
    (tmp_path / "mixed.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", str(tmp_path / "mixed.yaml"), "--run-dir", str(tmp_path / "run")]) != 0
    assert "data.corpora: 'software' at weight 0.4 reads none of its 1 training pairs; raise its weight" in \
        capsys.readouterr().err


def test_weights_repeat_whole_corpora_and_draw_a_fixed_share():
    assert weighted_rows(4, 1.0, seed=1) == [0, 1, 2, 3]
    twice_and_half = weighted_rows(10, 2.5, seed=1)
    assert twice_and_half[:20] == list(range(10)) * 2 and len(twice_and_half) == 25
    assert len(set(twice_and_half[20:])) == 5 and twice_and_half == weighted_rows(10, 2.5, seed=1)
    assert weighted_rows(10, 0.5, seed=1) != weighted_rows(10, 0.5, seed=2)


def write_mixture(directory, seed=0):
    """Two reversal corpora (seq2seq's test task): plain words, and words around placeholders."""
    rng = random.Random(seed)
    for name, with_placeholders, sizes in (("plain", False, (("train", 1200), ("dev", 40), ("test", 40))),
                                           ("soft", True, (("train", 600), ("dev", 40), ("test", 40)))):
        (directory / name).mkdir(parents=True)
        for split, count in sizes:
            lines = []
            for _ in range(count):
                words = [rng.choice(WORDS) for _ in range(rng.randint(3, 7))]
                if with_placeholders:
                    for placeholder in rng.sample(PLACEHOLDERS, rng.randint(1, 2)):
                        words.insert(rng.randint(0, len(words)), placeholder)
                lines.append(" ".join(words) + "\t" + " ".join(reversed(words)) + "\n")
            (directory / name / f"{split}.tsv").write_text("".join(lines), encoding="utf-8")


def test_a_mixture_trains_scores_each_corpus_and_keeps_placeholders(tmp_path, capsys):
    write_mixture(tmp_path / "data")
    config = mixture(tmp_path / "data")
    config |= {"seed": 5, "tokenizer": {"vocab_size": 60, "placeholders": True},
               "model": {"embedding_dim": 32, "encoder_units": 32, "encoder_layers": 1, "decoder_units": 64,
                         "attention_units": 32, "dropout": 0.0},
               "train": {"batch_size": 32, "epochs": 5, "learning_rate": 0.006, "warmup_steps": 20,
                         "early_stopping": {"patience": 10}}}
    (tmp_path / "mixed.yaml").write_text(yaml.safe_dump(config))
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "mixed.yaml"), "--run-dir", str(run)]) == 0
    with open(run / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {"dev_bleu", "dev_bleu_plain", "dev_bleu_software", "dev_chrf_plain", "dev_chrf_software"} <= set(rows[0])
    assert float(rows[-1]["dev_bleu_software"]) > float(rows[0]["dev_bleu_software"])
    vocabulary = (run / "source.vocab").read_text(encoding="utf-8")
    assert "⦅1⦆\t0" in vocabulary and "⦅16⦆\t0" in vocabulary  # user-defined symbols: always one piece

    assert main(["evaluate", str(run)]) == 0
    plain = json.loads((run / "eval/test-plain.greedy.scores.json").read_text())
    software = json.loads((run / "eval/test-software.greedy.scores.json").read_text())
    assert "placeholder_match" not in plain and software["placeholder_sentences"] == 40
    outputs = (run / "eval/test-software.greedy.hyp").read_text(encoding="utf-8").splitlines()
    sources = [line.split("\t")[0] for line in (tmp_path / "data/soft/test.tsv").read_text().splitlines()]
    assert not any("⦅" in output or "⦆" in output for output in outputs)  # every symbol unmasked or dropped
    # No output holds a placeholder its source lacks: symbols come back only as the source's own text.
    assert all(set(placeholders(output)) <= set(placeholders(source)) for source, output in zip(sources, outputs))
    assert software["placeholder_match"] == 100.0, software  # decode.keep_placeholders: each output holds them all

    # The service's per-request translators keep the masking; the SavedModel, which cannot mask, is refused.
    translator = Translator.load(run, beam_size=2)
    assert translator.protect_placeholders and translator.with_decode(translator.decode_config).protect_placeholders
    served = translator.translate(["a %(name)s b {0}"])[0]
    assert sorted(placeholders(served)) == ["%(name)s", "{0}"] and "⦅" not in served
    capsys.readouterr()
    assert main(["export", str(run), str(tmp_path / "exported")]) != 0
    assert "trained with tokenizer.placeholders" in capsys.readouterr().err and not (tmp_path / "exported").exists()
