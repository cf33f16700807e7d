"""Sequence classification (many-to-one): a recurrent encoder, a pooling of its outputs, and a softmax.

Data: the built-in genre of Bible verses (`bible-genre`: each verse labelled with its book's genre; the
key `data.source_lang` picks the language of the verses, es or en), or the user's `label<TAB>text`
files (`labelled-text`: `data.train`, `data.dev`, `data.test`). `data.max_source_length` cuts longer
texts to their first pieces (counted in the log); `data.max_train_pairs` trains on a random sample.
"""

from pathlib import Path

from seq2seq.errors import ConfigError
from seq2seq.tasks import register_task
from seq2seq.tasks.base import TaskDefinition


@register_task("classification")
class Classification(TaskDefinition):
    description = "label texts with a recurrent encoder and a pooled softmax"
    corpora = ("bible-genre", "labelled-text")
    dev_metrics = {"dev_macro_f1": ("dev_macro_f1", "max"), "dev_accuracy": ("dev_accuracy", "max"),
                   "dev_loss": ("val_loss", "min")}
    model_keys = ("cell", "mtrnn_timescales", "embedding_dim", "encoder_units", "encoder_layers", "bidirectional", "dropout", "pooling",
                  "attention_units")
    keras_modules = ("seq2seq.tasks.classification.model",)
    training_data = "seq2seq.tasks.classification.training:ClassificationTask"
    evaluator = "seq2seq.tasks.classification.evaluation:evaluate_classification"
    cli_verbs = "seq2seq.tasks.classification.commands:add_commands"
    predictor = "seq2seq.tasks.classification.classifier:Classifier"
    served = "seq2seq.tasks.classification.serving:ServedClassifier"

    def check_config(self, config, source):
        from seq2seq.config import DecodeConfig
        from seq2seq.data.bible import VERSIONS

        data = config.data
        if data.corpus == "bible-genre" and data.source_lang not in VERSIONS:
            raise ConfigError(f"{source}: 'data.source_lang' picks the language of the verses for bible-genre: "
                              f"one of {', '.join(VERSIONS)}, got {data.source_lang!r}")
        if data.max_source_length < 2:
            raise ConfigError(f"{source}: 'data.max_source_length' must be at least 2 for classification (a piece "
                              f"of text and the end of text), got {data.max_source_length}")
        if config.tokenizer.joint:
            raise ConfigError(f"{source}: 'tokenizer.joint' does not apply to classification: it tokenizes one "
                              "side of text")
        defaults = DecodeConfig(batch_size=config.decode.batch_size)
        changed = [key for key, value in vars(config.decode).items() if value != getattr(defaults, key)]
        if changed:
            raise ConfigError(f"{source}: 'decode.{changed[0]}' does not apply to classification, which takes the "
                              "most probable label; it reads decode.batch_size only")

    def draw(self, run_dir, out_dir, texts, images, model_file=None, **decode_settings):
        if images:
            raise ConfigError("--image is for captioning runs; draw a classifier's pooling weights with --text")
        from seq2seq.plotting import save_figure
        from seq2seq.tasks.classification.classifier import Classifier
        from seq2seq.tasks.classification.plots import pooling_figure

        classifier = Classifier.load(run_dir, model_file=model_file, **decode_settings)
        return [save_figure(pooling_figure(result), Path(out_dir) / f"pooling-{number}.png")
                for number, result in enumerate(classifier.classify(texts, top_k=min(3, len(classifier.labels))),
                                                start=1)]
