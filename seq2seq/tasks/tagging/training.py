"""What training a tagger needs from its data: tagged sentences, a tokenizer, the labels, batches, dev scores.

The SentencePiece tokenizer is trained on the training sentences' words (`source.model` in the run)
and the labels are those of the training split (`labels.json`, id 0 reserved for "no label"); a
resumed run loads both. Training sentences longer than `data.max_source_length` pieces are left out
and counted; dev, test and prediction read every sentence whole. A dev or test word whose gold label
never occurs in training cannot be predicted: it counts as an error in the dev scores and is left out
of the dev loss (it gets label id 0, which the loss skips).
"""

from seq2seq.data.labels import LabelVocabulary
from seq2seq.data.readers import SkipCounter
from seq2seq.data.tokenizer import SOURCE_NAME, Tokenizer
from seq2seq.data.pipeline import batches_per_epoch, bucket_boundaries
from seq2seq.errors import Seq2SeqError
from seq2seq.tasks.tagging.batches import dev_batches, tagging_batches
from seq2seq.tasks.tagging import TRUECASE_CORPUS
from seq2seq.tasks.tagging.corpus import load_tagged_split
from seq2seq.tasks.tagging.model import TaggingModel
from seq2seq.tasks.tagging.pieces import UNLABELLED, tagged_pieces, to_pieces
from seq2seq.tasks.tagging.scores import describe, dev_logs, tagging_scores
from seq2seq.tasks.tagging.tagger import TOKENIZER_FILE, Tagger
from seq2seq.training.losses import token_loss_and_metrics


class TaggingTask:
    """Reads the tagged splits and tokenizes them once (training the tokenizer and fixing the labels for
    a new run), then serves the model, its batches and its dev scores to `seq2seq.training.loop`."""

    model_class = TaggingModel

    def __init__(self, config, run, resume, log=print):
        self.config = config
        self.log = log
        train_split, self.dev_split = _load_training_splits(config, log)
        if resume:
            self.tokenizer = Tokenizer.load(run.path / TOKENIZER_FILE)
            self.labels = LabelVocabulary.load(run.path)
        else:
            self.tokenizer = Tokenizer.train(
                (" ".join(words) for words in train_split.tokens), run.path / SOURCE_NAME,
                config.tokenizer.vocab_size, model_type=config.tokenizer.type,
                character_coverage=config.tokenizer.character_coverage)
            self.labels = LabelVocabulary.from_training_labels(
                (label for labels in train_split.tags for label in labels), reserves_padding=True)
            self.labels.save(run.path)
        log(f"vocabulary: {self.tokenizer.vocab_size} pieces; {len(self.labels) - 1} labels")
        self.train_tagged = self._encode_training_sentences(train_split)
        self.boundaries = bucket_boundaries(self.train_tagged, config.train.buckets)
        self.steps_per_epoch = batches_per_epoch(self.train_tagged, self.boundaries, config.train.batch_size)
        # Every training word has a label id, at its first piece: the labelled pieces count the words.
        self.epoch_size = ("words", sum(len(labels) - labels.count(UNLABELLED) for labels in self.train_tagged.targets))
        log(f"{len(self.train_tagged)} training sentences in {self.steps_per_epoch} batches per epoch; "
            f"length buckets {self.boundaries}")

    def loss_and_metrics(self, train_config):
        return token_loss_and_metrics(train_config)

    def new_model(self):
        return TaggingModel.from_settings(self.config.model, self.tokenizer.vocab_size, len(self.labels),
                                          self.config.train.precision)

    def datasets(self, model, first_epoch):
        """(endless training batches from `first_epoch` on, one pass of dev batches)."""
        train = tagging_batches(self.train_tagged, self.config.train.batch_size, self.boundaries,
                                shuffle_seed=self.config.seed, first_epoch=first_epoch, epochs=None,
                                shuffle_buffer=self.config.train.shuffle_buffer)
        return train, dev_batches(self._dev_tagged(), self.config.train.batch_size)

    def dev_scorer(self, model):
        """Dev F1 and accuracy (and case accuracy and punctuation F1 for truecasing) of each word's best label."""
        limit = self.config.train.dev_bleu_sentences or len(self.dev_split)
        words, gold = self.dev_split.tokens[:limit], self.dev_split.tags[:limit]
        tagger = Tagger(model, self.tokenizer, self.labels, self.config.decode.batch_size,
                        truecase=self.config.data.corpus == TRUECASE_CORPUS)

        def score():
            predicted = tagger.tag_words(words)
            scores = tagging_scores(gold, predicted, self.labels, tagger.truecase)
            return dev_logs(scores), f"dev {describe(scores)}"

        return score

    def _encode_training_sentences(self, train_split):
        limit = self.config.data.max_source_length
        tagged = tagged_pieces(to_pieces(self.tokenizer, train_split.tokens),
                               [self.labels.ids(labels, train_split.source) for labels in train_split.tags], limit)
        if tagged.dropped_too_long:
            self.log(f"left out {tagged.dropped_too_long} training sentences longer than {limit} pieces")
        if not len(tagged):
            raise Seq2SeqError(f"every training sentence is longer than data.max_source_length={limit} pieces; "
                               "raise the limit")
        return tagged

    def _dev_tagged(self):
        """The dev sentences with their label ids; a label the training split lacks becomes `UNLABELLED`."""
        ids = dict(zip(self.labels.names, range(len(self.labels))))
        label_ids = [[ids.get(label, UNLABELLED) for label in labels] for labels in self.dev_split.tags]
        unseen = sum(labels.count(UNLABELLED) for labels in label_ids)
        if unseen:
            self.log(f"dev words whose label the training split lacks: {unseen}; they count as errors in the "
                     "dev scores and are left out of the dev loss")
        return tagged_pieces(to_pieces(self.tokenizer, self.dev_split.tokens), label_ids)


def _load_training_splits(config, log):
    """The train and dev sentences; `data.max_train_pairs` keeps the first training sentences."""
    skips = SkipCounter()
    train_split = load_tagged_split(config.data, "train", skips)
    dev_split = load_tagged_split(config.data, "dev", skips)
    if skips.total:
        log(skips.summary())
    if config.data.max_train_pairs:
        train_split.tokens = train_split.tokens[:config.data.max_train_pairs]
        train_split.tags = train_split.tags[:config.data.max_train_pairs]
    log(f"corpus: {len(train_split)} training and {len(dev_split)} dev sentences, "
        f"{sum(map(len, train_split.tokens))} training words")
    return train_split, dev_split
