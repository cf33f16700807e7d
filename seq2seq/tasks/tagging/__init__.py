"""Sequence tagging (equal many-to-many): one label per input word, the shape of named entities and truecasing.

A recurrent encoder reads the words' SentencePiece pieces and a softmax labels each word at its first
piece (`seq2seq.tasks.tagging.pieces`). Data: the built-in truecasing and punctuation restoration of
the Bible (`bible-truecase`, the translation `data.source_lang` picks: es, en, en-kjv or en-bbe), or
the user's CoNLL-style files (`conll`: `data.train`, `data.dev`, `data.test`, with `data.on_bad_row`).
`data.max_source_length` caps the pieces of a training sentence: longer ones are left out and counted.

Dev metrics (`seq2seq.tasks.tagging.scores`): `dev_f1` is the exact-span F1 when the labels are BIO,
else the macro-F1 over labels; `dev_accuracy` the share of words labelled right. Truecasing runs also
log `dev_case_accuracy` and `dev_punctuation_f1`, which early stopping can watch on that corpus only.
"""

from seq2seq.errors import ConfigError
from seq2seq.tasks import register_task
from seq2seq.tasks.base import PER_TOKEN_DEV_LOSS, TaskDefinition

TRUECASE_CORPUS = "bible-truecase"
TRUECASE_ONLY_METRICS = ("dev_case_accuracy", "dev_punctuation_f1")


@register_task("tagging")
class Tagging(TaskDefinition):
    description = "label every word of a text (named entities, truecasing) with a recurrent tagger"
    corpora = (TRUECASE_CORPUS, "conll")
    dev_metrics = {"dev_f1": ("dev_f1", "max"), "dev_accuracy": ("dev_accuracy", "max"),
                   "dev_case_accuracy": ("dev_case_accuracy", "max"),
                   "dev_punctuation_f1": ("dev_punctuation_f1", "max"), "dev_loss": PER_TOKEN_DEV_LOSS}
    model_keys = ("cell", "mtrnn_timescales", "embedding_dim", "encoder_units", "encoder_layers", "bidirectional", "dropout")
    keras_modules = ("seq2seq.tasks.tagging.model",)
    training_data = "seq2seq.tasks.tagging.training:TaggingTask"
    evaluator = "seq2seq.tasks.tagging.evaluation:evaluate_tagging"
    cli_verbs = "seq2seq.tasks.tagging.commands:add_commands"
    predictor = "seq2seq.tasks.tagging.tagger:Tagger"
    served = "seq2seq.tasks.tagging.serving:ServedTagger"

    def check_config(self, config, source):
        from seq2seq.data.bible import VERSIONS

        truecase = config.data.corpus == TRUECASE_CORPUS
        if truecase and config.data.source_lang not in VERSIONS:
            raise ConfigError(f"{source}: 'data.source_lang' picks the Bible translation of bible-truecase: one of "
                              f"{', '.join(VERSIONS)}, got {config.data.source_lang!r}")
        metric = config.train.early_stopping.metric
        if metric in TRUECASE_ONLY_METRICS and not truecase:
            raise ConfigError(f"{source}: 'train.early_stopping.metric: {metric}' scores truecasing labels; "
                              f"use dev_f1, dev_accuracy or dev_loss with data.corpus: {config.data.corpus}")

    def draw(self, run_dir, out_dir, texts, images, model_file=None, **decode_settings):
        if texts or images:
            raise ConfigError("--text and --image draw attention, and a tagger has none; `seq2seq plot RUN_DIR` "
                              "draws its training curves")
        return []
