"""What training a translator needs from its data: sentence pairs, tokenizers, batches, dev BLEU."""

import dataclasses
import random

from seq2seq.config import corpus_parts
from seq2seq.data.corpus import Split, load_split, weighted_rows
from seq2seq.data.lexical_shortlist import MAX_PAIRS, build_shortlist, save_shortlist
from seq2seq.data.placeholders import mask, placeholder_symbols
from seq2seq.data.pipeline import batches_per_epoch, bucket_boundaries, encode_pairs, make_dataset
from seq2seq.data.readers import SkipCounter
from seq2seq.data.subword_sampling import SampledSegmentations, segmentation_candidates
from seq2seq.errors import ConfigError, Seq2SeqError
from seq2seq.training.losses import token_loss_and_metrics
from seq2seq.metrics.translation import translation_scores
from seq2seq.tasks.translation.model import TranslationModel
from seq2seq.data.tokenizer import load_tokenizers, train_tokenizers
from seq2seq.tasks.translation.translator import Translator


class TranslationTask:
    """Reads the corpus (or the mixture of `data.corpora`) and tokenizes it once (training the
    tokenizers for a new run), then serves the model, its batches and its dev scores (per corpus of a
    mixture) to the shared training loop in `seq2seq.training.loop`."""

    model_class = TranslationModel

    def __init__(self, config, run, resume, log=print):
        self.config = config
        self.log = log
        train_split, self.dev_splits = _load_training_splits(config, log)
        self.dev_split = Split([s for split in self.dev_splits.values() for s in split.sources],
                               [t for split in self.dev_splits.values() for t in split.targets])
        tokenizer = config.tokenizer
        if resume:
            self.source_tokenizer, self.target_tokenizer = load_tokenizers(run.path)
        else:
            self.source_tokenizer, self.target_tokenizer = train_tokenizers(
                *_masked(train_split, tokenizer.placeholders), run.path, tokenizer.vocab_size,
                model_type=tokenizer.type, joint=tokenizer.joint, character_coverage=tokenizer.character_coverage,
                user_symbols=placeholder_symbols() if tokenizer.placeholders else ())
        log(f"vocabulary: {self.source_tokenizer.vocab_size} source / {self.target_tokenizer.vocab_size} "
            "target pieces")
        self.train_pairs = self._encode_training_pairs(train_split)
        # A new run writes its own, over any an earlier, killed start left; a fine-tuned run builds its own
        # from its data, and a run from before shortlists existed gets one on resume.
        if not resume or not run.shortlist_file.exists():
            self._write_shortlist(run)
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
        dev_pairs = encode_pairs(*_masked(self.dev_split, self.config.tokenizer.placeholders),
                                 self.source_tokenizer, self.target_tokenizer)
        return train_batches, make_dataset(dev_pairs, self.config.train.batch_size, bucket_boundaries(dev_pairs, 4))

    def dev_scorer(self, model):
        """Greedy dev BLEU and chrF: they follow training every epoch, so they use the fastest search.

        `train.dev_bleu_sentences` are taken from each corpus; a mixture's `dev_bleu`/`dev_chrf` (what
        early stopping reads) score them all together, and `dev_bleu_NAME`/`dev_chrf_NAME` each corpus."""
        limit = self.config.train.dev_bleu_sentences or None
        samples = {name: (split.sources[:limit], split.targets[:limit]) for name, split in self.dev_splits.items()}
        translator = self._greedy_translator(model)

        def score():
            metrics, described, all_hypotheses, all_references = {}, [], [], []
            for name, (sources, references) in samples.items():
                hypotheses = translator.translate(sources)
                all_hypotheses += hypotheses
                all_references += references
                if len(samples) > 1:
                    scores = translation_scores(hypotheses, [references], metrics=("bleu", "chrf"))
                    metrics |= {f"dev_bleu_{name}": scores["bleu"], f"dev_chrf_{name}": scores["chrf"]}
                    described.append(f"{name} {scores['bleu']:.2f}")
            scores = translation_scores(all_hypotheses, [all_references], metrics=("bleu", "chrf"))
            per_corpus = f" ({', '.join(described)})" if described else ""
            return ({"dev_bleu": scores["bleu"], "dev_chrf": scores["chrf"], **metrics},
                    f"dev BLEU {scores['bleu']:.2f}{per_corpus}  chrF {scores['chrf']:.2f} on {len(all_hypotheses)} "
                    f"sentences; e.g. {all_hypotheses[0]!r}")

        return score

    def pictures(self, model, count=3):
        """For TensorBoard: where the model looks as it translates the first `count` dev sentences."""
        from seq2seq.tasks.translation.plots import attention_figure

        translations = self._greedy_translator(model).translate_with_details(self.dev_split.sources[:count])
        return [(f"attention/dev_{number}", attention_figure(translation))
                for number, translation in enumerate(translations, start=1)]

    def _greedy_translator(self, model):
        greedy = dataclasses.replace(self.config.decode, beam_size=1, n_best=1, sample=False, shortlist=False)
        return Translator(model, self.source_tokenizer, self.target_tokenizer, greedy,
                          protect_placeholders=self.config.tokenizer.placeholders)

    def _write_shortlist(self, run):
        """The lexical shortlist `decode.shortlist` searches with (seq2seq.data.lexical_shortlist)."""
        sizes = self.source_tokenizer.vocab_size, self.target_tokenizer.vocab_size
        self.log(f"vocabulary shortlist: estimating IBM Model 1 on up to {MAX_PAIRS:,} training pairs")
        try:
            shortlist = build_shortlist(self.train_pairs.sources, self.train_pairs.targets, *sizes, seed=self.config.seed)
        except Seq2SeqError as error:
            self.log(f"no vocabulary shortlist: {error}")
            return
        save_shortlist(run.shortlist_file, *shortlist)
        self.log(f"vocabulary shortlist: the {shortlist[0].shape[1]} likeliest target pieces of each source piece "
                 f"in {run.shortlist_file}")

    def _encode_training_pairs(self, train_split):
        limits = self.config.data.max_source_length, self.config.data.max_target_length
        train_split = Split(*_masked(train_split, self.config.tokenizer.placeholders))
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
    """(the training pairs of every corpus, each repeated per its weight and, for a mixture, shuffled
    together once by the seed; {corpus name: dev split}).

    `data.max_train_pairs` keeps a sample drawn by the seed from each corpus (a corpus's file order is
    its books' or packages' order, so its first pairs would be one kind of text). A mixture's pairs
    are shuffled together because the training pipeline shuffles within a bounded buffer: read in
    corpus order, an epoch would start with one corpus and end with another.
    """
    skips = SkipCounter()
    pairs, dev_splits = [], {}
    parts = corpus_parts(config.data)
    for number, part in enumerate(parts):
        train_split = load_split(part.data, "train", skips)
        dev_splits[part.name] = load_split(part.data, "dev", skips)
        rows = range(len(train_split))
        if config.data.max_train_pairs and config.data.max_train_pairs < len(rows):
            rows = sorted(random.Random(config.seed + number).sample(rows, config.data.max_train_pairs))
        rows = [rows[index] for index in weighted_rows(len(rows), part.weight, seed=config.seed + number)]
        if not rows:
            raise ConfigError(f"data.corpora: '{part.name}' at weight {part.weight:g} reads none of its "
                              f"{len(train_split)} training pairs; raise its weight")
        pairs += [(train_split.sources[row], train_split.targets[row]) for row in rows]
        if len(parts) > 1:
            log(f"corpus {part.name}: {len(train_split)} training pairs, weight {part.weight:g} ({len(rows)} read "
                f"per epoch); {len(dev_splits[part.name])} dev pairs")
    if len(parts) > 1:
        random.Random(config.seed).shuffle(pairs)
    if skips.total:
        log(skips.summary())
    log(f"corpus: {len(pairs)} training and {sum(map(len, dev_splits.values()))} dev pairs")
    sources, targets = (list(side) for side in zip(*pairs))
    return Split(sources, targets), dev_splits


def _masked(split, placeholders) -> tuple[list, list]:
    """(sources, targets), with each pair's placeholders masked when `tokenizer.placeholders` is on."""
    if not placeholders:
        return split.sources, split.targets
    sources, targets = [], []
    for source, target in zip(split.sources, split.targets):
        masked_source, numbering = mask(source)
        sources.append(masked_source)
        targets.append(mask(target, numbering)[0])
    return sources, targets
