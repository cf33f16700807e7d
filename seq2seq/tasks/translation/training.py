"""What training a translator needs from its data: sentence pairs, tokenizers, batches, dev BLEU."""

import dataclasses

from seq2seq.data.corpus import load_split
from seq2seq.data.pipeline import batches_per_epoch, bucket_boundaries, encode_pairs, make_dataset
from seq2seq.data.readers import SkipCounter
from seq2seq.data.subword_sampling import SampledSegmentations, segmentation_candidates
from seq2seq.errors import Seq2SeqError
from seq2seq.training.losses import token_loss_and_metrics
from seq2seq.metrics.translation import translation_scores
from seq2seq.tasks.translation.model import TranslationModel
from seq2seq.data.tokenizer import load_tokenizers, train_tokenizers
from seq2seq.tasks.translation.translator import Translator


class TranslationTask:
    """Reads the corpus and tokenizes it once (training the tokenizers for a new run), then serves
    the model, its batches and its dev score to the shared training loop in `seq2seq.training.loop`."""

    model_class = TranslationModel

    def __init__(self, config, run, resume, log=print):
        self.config = config
        self.log = log
        train_split, self.dev_split = _load_training_splits(config, log)
        if resume:
            self.source_tokenizer, self.target_tokenizer = load_tokenizers(run.path)
        else:
            self.source_tokenizer, self.target_tokenizer = train_tokenizers(
                train_split.sources, train_split.targets, run.path, config.tokenizer.vocab_size,
                model_type=config.tokenizer.type, joint=config.tokenizer.joint,
                character_coverage=config.tokenizer.character_coverage)
        log(f"vocabulary: {self.source_tokenizer.vocab_size} source / {self.target_tokenizer.vocab_size} "
            "target pieces")
        self.train_pairs = self._encode_training_pairs(train_split)
        self.boundaries = bucket_boundaries(self.train_pairs, config.train.buckets)
        self.steps_per_epoch = batches_per_epoch(self.train_pairs, self.boundaries, config.train.batch_size)
        self.epoch_size = ("target_tokens", sum(len(target) + 1 for target in self.train_pairs.targets))
        log(f"{len(self.train_pairs)} training pairs in {self.steps_per_epoch} batches per epoch; "
            f"length buckets {self.boundaries}")

    def loss_and_metrics(self, train_config):
        return token_loss_and_metrics(train_config)

    def new_model(self):
        return TranslationModel.from_settings(self.config.model, self.source_tokenizer.vocab_size,
                                              self.target_tokenizer.vocab_size, self.config.train.precision)

    def datasets(self, model, first_epoch):
        """(endless training batches from `first_epoch` on, one pass of dev batches)."""
        train_batches = make_dataset(self.train_pairs, self.config.train.batch_size, self.boundaries,
                                     shuffle_seed=self.config.seed, first_epoch=first_epoch, epochs=None,
                                     shuffle_buffer=self.config.train.shuffle_buffer)
        dev_pairs = encode_pairs(self.dev_split.sources, self.dev_split.targets, self.source_tokenizer,
                                 self.target_tokenizer)
        return train_batches, make_dataset(dev_pairs, self.config.train.batch_size, bucket_boundaries(dev_pairs, 4))

    def dev_scorer(self, model):
        """Greedy dev BLEU and chrF: they follow training every epoch, so they use the fastest search."""
        dev_limit = self.config.train.dev_bleu_sentences or len(self.dev_split)
        sources, references = self.dev_split.sources[:dev_limit], [self.dev_split.targets[:dev_limit]]
        translator = self._greedy_translator(model)

        def score():
            hypotheses = translator.translate(sources)
            scores = translation_scores(hypotheses, references, metrics=("bleu", "chrf"))
            return ({"dev_bleu": scores["bleu"], "dev_chrf": scores["chrf"]},
                    f"dev BLEU {scores['bleu']:.2f}  chrF {scores['chrf']:.2f} on {len(sources)} sentences; "
                    f"e.g. {hypotheses[0]!r}")

        return score

    def pictures(self, model, count=3):
        """For TensorBoard: where the model looks as it translates the first `count` dev sentences."""
        from seq2seq.tasks.translation.plots import attention_figure

        translations = self._greedy_translator(model).translate_with_details(self.dev_split.sources[:count])
        return [(f"attention/dev_{number}", attention_figure(translation))
                for number, translation in enumerate(translations, start=1)]

    def _greedy_translator(self, model):
        greedy = dataclasses.replace(self.config.decode, beam_size=1, n_best=1, sample=False)
        return Translator(model, self.source_tokenizer, self.target_tokenizer, greedy)

    def _encode_training_pairs(self, train_split):
        limits = self.config.data.max_source_length, self.config.data.max_target_length
        pairs = encode_pairs(train_split.sources, train_split.targets, self.source_tokenizer, self.target_tokenizer,
                             *limits)
        if pairs.dropped_too_long:
            self.log(f"dropped {pairs.dropped_too_long} training pairs longer than {limits[0]}/{limits[1]} pieces")
        if not len(pairs):
            raise Seq2SeqError(f"every training pair is longer than data.max_source_length={limits[0]} or "
                               f"data.max_target_length={limits[1]} pieces; raise the limits")
        tokenizer = self.config.tokenizer
        if tokenizer.sampling_alpha:
            kept = [(train_split.sources[row], train_split.targets[row]) for row in pairs.rows]
            sources, targets = (list(side) for side in zip(*kept))
            options = dict(size=tokenizer.sampling_nbest, alpha=tokenizer.sampling_alpha)
            pairs.sampling = SampledSegmentations(
                segmentation_candidates(self.source_tokenizer, sources, max_length=limits[0], append_eos=True,
                                        **options),
                segmentation_candidates(self.target_tokenizer, targets, max_length=limits[1] - 1, **options))
            self.log(f"subword regularisation: each epoch draws one of up to {tokenizer.sampling_nbest} "
                     f"segmentations per sentence (alpha {tokenizer.sampling_alpha})")
        return pairs


def _load_training_splits(config, log):
    skips = SkipCounter()
    train_split = load_split(config.data, "train", skips)
    dev_split = load_split(config.data, "dev", skips)
    if skips.total:
        log(skips.summary())
    if config.data.max_train_pairs:
        train_split.sources = train_split.sources[:config.data.max_train_pairs]
        train_split.targets = train_split.targets[:config.data.max_train_pairs]
    log(f"corpus: {len(train_split)} training and {len(dev_split)} dev pairs")
    return train_split, dev_split
