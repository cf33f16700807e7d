"""Image captioning (one-to-many): Show, Attend and Tell on the same attention decoder and search.

Data: the built-in synthetic `shapes` and the Tux Paint stamps (`tuxpaint`), or the user's
Flickr8k or COCO files.
"""

from pathlib import Path

from seq2seq.errors import ConfigError
from seq2seq.tasks import register_task
from seq2seq.tasks.base import PER_TOKEN_DEV_LOSS, TaskDefinition


@register_task("captioning")
class Captioning(TaskDefinition):
    description = "describe images with a CNN and an attention decoder"
    corpora = ("shapes", "tuxpaint", "flickr8k", "coco")
    dev_metrics = {"dev_bleu": ("dev_bleu", "max"), "dev_cider": ("dev_cider", "max"), "dev_loss": PER_TOKEN_DEV_LOSS}
    model_keys = ("cell", "mtrnn_timescales", "embedding_dim", "feature_units", "decoder_units", "decoder_layers", "attention",
                  "attention_units", "dropout", "tie_embeddings", "context_gate", "attention_regularization",
                  "image_encoder")
    renamed_keys = {"encoder_units": "feature_units"}
    keras_modules = ("seq2seq.tasks.captioning.model",)
    training_data = "seq2seq.tasks.captioning.training:CaptioningTask"
    evaluator = "seq2seq.tasks.captioning.evaluation:evaluate_captions"
    cli_verbs = "seq2seq.tasks.captioning.commands:add_commands"
    predictor = "seq2seq.tasks.captioning.captioner:Captioner"
    served = "seq2seq.tasks.captioning.serving:ServedCaptioner"

    def draw(self, run_dir, out_dir, texts, images, model_file=None, **decode_settings):
        if texts:
            raise ConfigError("--text is for text runs; draw a caption's attention with --image")
        from seq2seq.plotting import save_figure
        from seq2seq.tasks.captioning.captioner import Captioner
        from seq2seq.tasks.captioning.plots import caption_attention_figure

        captioner = Captioner.load(run_dir, model_file=model_file, **decode_settings)
        return [save_figure(caption_attention_figure(result), Path(out_dir) / f"caption-attention-{number}.png")
                for number, result in enumerate(captioner.caption_with_details(images), start=1)]
