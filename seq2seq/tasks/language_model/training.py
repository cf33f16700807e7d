"""What training a language model needs: the text streams, a tokenizer, windows in order, dev bits per character.

The tokenizer (`source.model` in the run; a character model with `tokenizer.type: char`) is trained on
the training lines; a resumed run loads it. `data.max_train_pairs` keeps the first training lines.
"""

from seq2seq.data.readers import SkipCounter
from seq2seq.data.tokenizer import SOURCE_NAME, Tokenizer
from seq2seq.tasks.language_model.corpus import load_text_split
from seq2seq.tasks.language_model.model import RecurrentLanguageModel
from seq2seq.tasks.language_model.scoring import bits_per_character, perplexity, stream_nats
from seq2seq.tasks.language_model.streams import check_long_enough, token_stream, window_count, windows
from seq2seq.training.losses import token_loss_and_metrics

TOKENIZER_FILE = f"{SOURCE_NAME}.model"


class LanguageModelTask:
    """Reads the train and dev text once as piece streams and serves the model, its windows and its dev
    score to `seq2seq.training.loop`."""

    model_class = RecurrentLanguageModel

    def __init__(self, config, run, resume, log=print):
        self.config = config
        skips = SkipCounter()
        train_text = load_text_split(config.data, "train", skips)
        self.dev_text = load_text_split(config.data, "dev", skips)
        if skips.total:
            log(skips.summary())
        if config.data.max_train_pairs:
            train_text.lines = train_text.lines[:config.data.max_train_pairs]
        if resume:
            self.tokenizer = Tokenizer.load(run.path / TOKENIZER_FILE)
        else:
            self.tokenizer = Tokenizer.train(train_text.lines, run.path / SOURCE_NAME, config.tokenizer.vocab_size,
                                             model_type=config.tokenizer.type,
                                             character_coverage=config.tokenizer.character_coverage)
        self.train_stream = token_stream(self.tokenizer, train_text.lines)
        self.dev_stream = token_stream(self.tokenizer, self.dev_text.lines)
        rows, length = config.train.batch_size, config.train.bptt_length
        check_long_enough(self.train_stream, rows, length, f"the training text ({train_text.path})")
        check_long_enough(self.dev_stream, rows, length, f"the dev text ({self.dev_text.path})")
        self.steps_per_epoch = window_count(self.train_stream, rows, length)
        self.epoch_size = ("pieces", self.steps_per_epoch * rows * length)
        log(f"vocabulary: {self.tokenizer.vocab_size} pieces ({config.tokenizer.type}); training text: "
            f"{len(train_text.lines)} lines, {train_text.characters} characters, {len(self.train_stream)} pieces; "
            f"{self.steps_per_epoch} windows of {rows} rows x {length} pieces per epoch, state "
            + ("carried from window to window" if config.train.bptt_carry_state else "reset at every window"))

    def loss_and_metrics(self, train_config):
        return token_loss_and_metrics(train_config)

    def new_model(self):
        return RecurrentLanguageModel.from_settings(self.config.model, self.tokenizer.vocab_size,
                                                    self.config.train.batch_size, self.config.train.precision)

    def datasets(self, model, first_epoch):
        """(endless training windows in stream order, one pass of dev windows); every epoch reads the same
        windows, so `first_epoch` changes nothing."""
        rows, length, carry = self.config.train.batch_size, self.config.train.bptt_length, self.config.train.bptt_carry_state
        return (windows(self.train_stream, rows, length, carry),
                windows(self.dev_stream, rows, length, carry, epochs=1))

    def dev_scorer(self, model):
        """Dev bits per character of the whole dev stream, its state carried across windows."""
        def score():
            nats, pieces = stream_nats(model, self.dev_stream)
            bpc = bits_per_character(nats, self.dev_text.characters)
            logs = {"dev_bits_per_character": bpc, "dev_perplexity": perplexity(nats, pieces)}
            return logs, f"dev {bpc:.4f} bits per character, perplexity {logs['dev_perplexity']:.2f} per piece"

        return score
