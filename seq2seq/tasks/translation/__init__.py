"""Translation (unequal many-to-many): a recurrent encoder, attention decoder, and the search.

Data: the built-in Spanish-English Bible (`bible-es-en`), Debian's software messages (`software-es-en`), the
user's parallel files (`files`), or a weighted mixture of them (`data.corpora`; the corpus is then `mixed`).
"""

from pathlib import Path

from seq2seq.errors import ConfigError
from seq2seq.tasks import register_task
from seq2seq.tasks.base import PER_TOKEN_DEV_LOSS, TaskDefinition


@register_task("translation")
class Translation(TaskDefinition):
    description = "translate text with an attention encoder-decoder"
    corpora = ("bible-es-en", "software-es-en", "files", "mixed")
    dev_metrics = {"dev_bleu": ("dev_bleu", "max"), "dev_chrf": ("dev_chrf", "max"), "dev_loss": PER_TOKEN_DEV_LOSS}
    model_keys = ("cell", "mtrnn_timescales", "embedding_dim", "encoder_units", "encoder_layers", "bidirectional", "decoder_units",
                  "decoder_layers", "attention", "attention_units", "dropout", "tie_embeddings", "context_gate",
                  "source_word_dropout", "target_word_dropout")
    keras_modules = ("seq2seq.tasks.translation.model",)
    samples_subwords = True
    masks_placeholders = True
    shortlists_vocabulary = True
    training_data = "seq2seq.tasks.translation.training:TranslationTask"
    evaluator = "seq2seq.tasks.translation.evaluation:evaluate_translations"
    cli_verbs = "seq2seq.tasks.translation.commands:add_commands"
    predictor = "seq2seq.tasks.translation.translator:Translator"
    served = "seq2seq.tasks.translation.serving:ServedTranslator"

    def check_config(self, config, source):
        model = config.model
        memory_dim = model.encoder_units * (2 if model.bidirectional else 1)
        if model.attention == "luong-dot" and model.decoder_units != memory_dim:
            raise ConfigError(
                f"{source}: 'model.attention: luong-dot' needs model.decoder_units ({model.decoder_units}) "
                f"to equal the encoder output size ({memory_dim}); use luong-general instead")

    def draw(self, run_dir, out_dir, texts, images, model_file=None, **decode_settings):
        if images:
            raise ConfigError("--image is for captioning runs; draw a translation's attention with --text")
        from seq2seq.plotting import save_figure
        from seq2seq.tasks.translation.plots import attention_figure
        from seq2seq.tasks.translation.translator import Translator

        translator = Translator.load(run_dir, model_file=model_file, **decode_settings)
        return [save_figure(attention_figure(result), Path(out_dir) / f"attention-{number}.png")
                for number, result in enumerate(translator.translate_with_details(texts), start=1)]
