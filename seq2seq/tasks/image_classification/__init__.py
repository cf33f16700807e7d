"""Image classification (one-to-one): an image encoder's grid of features, attention pooling, a softmax.

Data: the built-in Tux Paint stamps labelled by their category folder (`tuxpaint-categories`: animals,
food, symbols, town, vehicles... on the captioning set's fixed split; `seq2seq data tuxpaint`), or the
user's images: a folder per split holding a folder per class (`image-folders`: `data.train` is e.g.
`photos/train`, with `photos/train/cat/1.jpg`), or CSV files of `path,label` rows (`image-csv`; paths
relative to the CSV file). The image encoders are captioning's (`model.image_encoder`): a small CNN
trained from scratch, EfficientNet-Lite0 or a `keras.applications` backbone, frozen or fine-tuned.
`seq2seq classify RUN image.png ...` serves a run, as it does a text classifier.
"""

from pathlib import Path

from seq2seq.errors import ConfigError
from seq2seq.tasks import register_task
from seq2seq.tasks.base import TaskDefinition

IMAGE_CORPORA = ("tuxpaint-categories", "image-folders", "image-csv")


@register_task("image_classification")
class ImageClassification(TaskDefinition):
    description = "label images with an image encoder, attention pooling over its grid and a softmax"
    corpora = IMAGE_CORPORA
    dev_metrics = {"dev_accuracy": ("dev_accuracy", "max"), "dev_macro_f1": ("dev_macro_f1", "max"),
                   "dev_loss": ("val_loss", "min")}
    model_keys = ("image_encoder", "feature_units", "attention_units", "dropout")
    keras_modules = ("seq2seq.tasks.image_classification.model",)
    training_data = "seq2seq.tasks.image_classification.training:ImageClassificationTask"
    evaluator = "seq2seq.tasks.image_classification.evaluation:evaluate_image_classification"
    predictor = "seq2seq.tasks.image_classification.classifier:ImageClassifier"  # served by `seq2seq classify`
    served = "seq2seq.tasks.image_classification.serving:ServedImageClassifier"

    def check_config(self, config, source):
        if config.tokenizer.joint:
            raise ConfigError(f"{source}: 'tokenizer.joint' does not apply to image classification: it reads no text")

    def draw(self, run_dir, out_dir, texts, images, model_file=None, **decode_settings):
        if texts:
            raise ConfigError("--text is for text runs; draw where an image classifier looked with --image")
        from seq2seq.plotting import save_figure
        from seq2seq.tasks.image_classification.classifier import ImageClassifier
        from seq2seq.tasks.image_classification.plots import grid_attention_figure

        classifier = ImageClassifier.load(run_dir, model_file=model_file, **decode_settings)
        return [save_figure(grid_attention_figure(result), Path(out_dir) / f"looked-at-{number}.png")
                for number, result in enumerate(classifier.classify(images, top_k=min(3, len(classifier.labels))),
                                                start=1)]
