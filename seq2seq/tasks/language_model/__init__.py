"""Language modelling (next-piece prediction): a decoder-only recurrent network over characters or pieces.

Data: the built-in Bible text (`bible-text`; `data.source_lang` picks the translation: es, en, en-kjv
or en-bbe), trained on the training books and scored on the test books, or the user's plain-text files
(`text-files`: `data.train`, `data.dev`, `data.test`, one segment per line). `tokenizer.type: char`
models characters (SentencePiece's character model); unigram and bpe model pieces.

Each split is read as one stream: every line's pieces and an end-of-line (EOS), so the model learns
where lines end and `generate` stops there. Training cuts the stream into windows of
`train.bptt_length` read by `train.batch_size` parallel rows, carrying the recurrent state from window to
window (truncated backpropagation through time; `seq2seq.tasks.language_model.streams`).

Dev metric: `dev_bits_per_character`, the stream's cross-entropy in bits per character of text (each
line end counts as one character), the same on any tokenizer; `dev_loss` is the per-piece cross-entropy.
"""

from pathlib import Path

from seq2seq.errors import ConfigError
from seq2seq.tasks import register_task
from seq2seq.tasks.base import PER_TOKEN_DEV_LOSS, TaskDefinition

BIBLE_TEXT = "bible-text"


@register_task("language_model")
class LanguageModelling(TaskDefinition):
    description = "predict the next character or piece of text, and generate text, with a recurrent network"
    corpora = (BIBLE_TEXT, "text-files")
    dev_metrics = {"dev_bits_per_character": ("dev_bits_per_character", "min"), "dev_loss": PER_TOKEN_DEV_LOSS}
    model_keys = ("cell", "mtrnn_timescales", "embedding_dim", "decoder_units", "decoder_layers", "dropout")
    keras_modules = ("seq2seq.tasks.language_model.model",)
    training_data = "seq2seq.tasks.language_model.training:LanguageModelTask"
    evaluator = "seq2seq.tasks.language_model.evaluation:evaluate_language_model"
    cli_verbs = "seq2seq.tasks.language_model.commands:add_commands"
    predictor = "seq2seq.tasks.language_model.predictor:LanguageModel"
    served = "seq2seq.tasks.language_model.serving:ServedLanguageModel"

    def check_config(self, config, source):
        from seq2seq.data.bible import VERSIONS

        if config.data.corpus == BIBLE_TEXT and config.data.source_lang not in VERSIONS:
            raise ConfigError(f"{source}: 'data.source_lang' picks the Bible translation of bible-text: one of "
                              f"{', '.join(VERSIONS)}, got {config.data.source_lang!r}")
        if config.tokenizer.joint:
            raise ConfigError(f"{source}: 'tokenizer.joint' does not apply to a language model: it reads one text")
        if config.distribute.strategy != "none" and config.train.bptt_carry_state:
            raise ConfigError(f"{source}: 'distribute.strategy: {config.distribute.strategy}' cannot carry a language "
                              "model's state from window to window (each replica would need its own rows); train on "
                              "one device, or set 'train.bptt_carry_state: false'")

    def draw(self, run_dir, out_dir, texts, images, model_file=None, **decode_settings):
        if images:
            raise ConfigError("--image is for image runs; draw a language model's next-piece probabilities with --text")
        from seq2seq.plotting import save_figure
        from seq2seq.tasks.language_model.plots import next_piece_figure
        from seq2seq.tasks.language_model.predictor import LanguageModel

        model = LanguageModel.load(run_dir, model_file=model_file)
        return [save_figure(next_piece_figure(model, text), Path(out_dir) / f"next-piece-{number}.png")
                for number, text in enumerate(texts, start=1)]
