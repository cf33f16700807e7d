"""What training a captioner needs from its data: images, a caption tokenizer, batches, dev BLEU-4.

Each (image, caption) pair is one training example, so an image with five captions is seen five
times an epoch. Images are decoded and resized once and kept in memory as uint8. A frozen
pretrained encoder's features are computed once, saved in the run directory (`features/`), and
reused by every epoch and by a resumed run; the CNN then never runs during training.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from seq2seq.metrics.captions import caption_scores
from seq2seq.tasks.captioning.captioner import Captioner
from seq2seq.data.captions import load_caption_split
from seq2seq.data.images import load_images
from seq2seq.data.pipeline import EncodedPairs, batches_per_epoch, bucket_boundaries, make_dataset
from seq2seq.data.readers import SkipCounter
from seq2seq.errors import Seq2SeqError
from seq2seq.training.losses import token_loss_and_metrics
from seq2seq.tasks.captioning.model import CaptionModel
from seq2seq.models.image_features import check_pretrained_weights, load_pretrained_weights, model_inputs
from seq2seq.data.tokenizer import TARGET_NAME, Tokenizer

@dataclasses.dataclass
class CaptionedPixels:
    """The images of a split that could be read, resized, and their reference captions."""

    pixels: np.ndarray  # (N, size, size, 3) uint8
    captions: list  # N lists of references
    paths: list  # N image files


class CaptioningTask:
    """Reads and resizes the images, trains (or loads) the caption tokenizer, and serves the model,
    its batches and its dev score to the shared training loop in `seq2seq.training.loop`."""

    model_class = CaptionModel

    def __init__(self, config, run, resume, log=print):
        self.config = config
        self.run = run
        self.log = log
        if not resume:
            check_pretrained_weights(config.model.image_encoder)
        skips = SkipCounter()
        self.train_set, self.dev_set = (self._read_split(split, skips) for split in ("train", "dev"))
        if skips.total:
            log(skips.summary())
        log(f"corpus: {len(self.train_set.pixels)} training and {len(self.dev_set.pixels)} dev images")
        if resume:
            self.tokenizer = Tokenizer.load(run.path / f"{TARGET_NAME}.model")
        else:
            self.tokenizer = Tokenizer.train(
                (caption for references in self.train_set.captions for caption in references),
                run.path / TARGET_NAME, config.tokenizer.vocab_size, model_type=config.tokenizer.type,
                character_coverage=config.tokenizer.character_coverage)
        log(f"vocabulary: {self.tokenizer.vocab_size} caption pieces")
        self.train_pairs = self._encode(self.train_set, self.config.data.max_target_length)
        if not len(self.train_pairs):
            raise Seq2SeqError(f"every training caption is longer than data.max_target_length="
                               f"{config.data.max_target_length} pieces; raise the limit")
        self.boundaries = bucket_boundaries(self.train_pairs, config.train.buckets)
        self.steps_per_epoch = batches_per_epoch(self.train_pairs, self.boundaries, config.train.batch_size)
        self.epoch_size = ("target_tokens", sum(len(target) + 1 for target in self.train_pairs.targets))
        log(f"{len(self.train_pairs)} training captions in {self.steps_per_epoch} batches per epoch")

    def _read_split(self, split, skips) -> CaptionedPixels:
        """`data.max_train_pairs` limits the training images (each with all its captions)."""
        captioned = load_caption_split(self.config.data, split, skips)
        if split == "train" and self.config.data.max_train_pairs:
            captioned.images = captioned.images[:self.config.data.max_train_pairs]
            captioned.captions = captioned.captions[:self.config.data.max_train_pairs]
        pixels, kept = load_images(captioned.images, self.config.model.image_encoder.image_size,
                                   self.config.data.on_bad_row, skips)
        if not kept:
            raise Seq2SeqError(f"the {split} split has no usable images")
        return CaptionedPixels(pixels, [captioned.captions[index] for index in kept],
                               [str(captioned.images[index]) for index in kept])

    def _encode(self, captioned, max_length=None) -> EncodedPairs:
        """One pair per caption; its 'source' is the image's index, which the batches turn into pixels."""
        images, targets, dropped = [], [], 0
        for index, references in enumerate(captioned.captions):
            for ids in self.tokenizer.encode(references):
                if max_length and len(ids) + 1 > max_length:
                    dropped += 1
                    continue
                images.append([index])
                targets.append(ids)
        if dropped:
            self.log(f"dropped {dropped} captions longer than {max_length} pieces")
        return EncodedPairs(images, targets, dropped)

    def loss_and_metrics(self, train_config):
        return token_loss_and_metrics(train_config)

    def new_model(self):
        model = CaptionModel.from_settings(self.config.model, self.tokenizer.vocab_size, self.config.train.precision)
        return load_pretrained_weights(model, self.config.model.image_encoder, self.config.data.cache_dir)

    def datasets(self, model, first_epoch):
        """(endless training batches from `first_epoch` on, one pass of dev batches)."""
        train_inputs, dev_inputs = (model_inputs(model, self.run, split, captioned.pixels, captioned.paths, self.log)
                                    for split, captioned in (("train", self.train_set), ("dev", self.dev_set)))
        train = make_dataset(self.train_pairs, self.config.train.batch_size, self.boundaries,
                             shuffle_seed=self.config.seed, first_epoch=first_epoch, epochs=None,
                             shuffle_buffer=self.config.train.shuffle_buffer)
        dev_pairs = self._encode(self.dev_set)
        dev = make_dataset(dev_pairs, self.config.train.batch_size, bucket_boundaries(dev_pairs, 4))
        return _with_images(train, train_inputs), _with_images(dev, dev_inputs)

    def dev_scorer(self, model):
        """Greedy dev BLEU-4 (as `dev_bleu`, which early stopping watches) and CIDEr-D."""
        limit = self.config.train.dev_bleu_sentences or len(self.dev_set.pixels)
        pixels, references = self.dev_set.pixels[:limit], self.dev_set.captions[:limit]
        greedy = dataclasses.replace(self.config.decode, beam_size=1, n_best=1, sample=False)
        captioner = Captioner(model, self.tokenizer, greedy)

        def score():
            hypotheses = [caption.text for caption in captioner.caption_pixels(pixels, with_attention=False)]
            scores = caption_scores(hypotheses, references)
            return ({"dev_bleu": scores["bleu4"], "dev_cider": scores["cider_d"]},
                    f"dev BLEU-4 {scores['bleu4']:.2f}  CIDEr-D {scores['cider_d']:.3f} on {len(hypotheses)} "
                    f"images; e.g. {hypotheses[0]!r}")

        return score


def _with_images(batches, inputs):
    """Replace each batch's image indices (in the first column of its 'source') by their inputs."""
    inputs = tf.constant(inputs)
    return batches.map(lambda pair_inputs, target_out: (
        (tf.gather(inputs, pair_inputs[0][:, 0]), pair_inputs[1]), target_out))
