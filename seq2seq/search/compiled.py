"""The search a decode config asks for, compiled once for any batch size (and source length).

Translation and captioning differ only in what the model reads and how that bounds the outputs:
an `InputKind` says both, and the same greedy, sampling and beam search run on either.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf
from keras import ops

from seq2seq.config import check_decode
from seq2seq.errors import ConfigError
from seq2seq.search.beam import beam_search
from seq2seq.search.common import Hypotheses, Scoring, output_length_limits
from seq2seq.search.greedy import greedy_search, sample_search
from seq2seq.tokens import PAD_ID


@dataclass(frozen=True)
class InputKind:
    """`signature` of a batch of inputs, and `frame(inputs, decode)` -> (limits (B,), attention mask
    (B, S), capacity): each output's length limit, the memory positions attention may use, and the
    longest any output can be."""

    signature: tf.TensorSpec
    frame: Callable


def _source_frame(source_ids, decode):
    """Outputs grow with their source: at most ratio * source length + offset pieces."""
    attention_mask = source_ids != PAD_ID
    limits = output_length_limits(ops.sum(ops.cast(attention_mask, "int32"), axis=1),
                                  decode.max_length_ratio, decode.max_length_offset)
    capacity = output_length_limits(ops.shape(source_ids)[1], decode.max_length_ratio, decode.max_length_offset)
    return limits, attention_mask, capacity


SOURCE_IDS = InputKind(tf.TensorSpec([None, None], tf.int32), _source_frame)


def image_inputs(image_size, cells) -> InputKind:
    """uint8 images of one size, attended over as `cells` grid cells; captions are at most
    `decode.max_caption_length` pieces."""
    def frame(pixels, decode):
        batch = ops.shape(pixels)[0]
        limits = ops.full((batch,), decode.max_caption_length, dtype="int32")
        return limits, ops.ones((batch, cells), dtype="bool"), decode.max_caption_length

    return InputKind(tf.TensorSpec([None, image_size, image_size, 3], tf.uint8), frame)


def _prompt_frame(prompt_ids, decode):
    """A language model's continuations are at most `decode.max_generated_length` pieces."""
    batch = ops.shape(prompt_ids)[0]
    limits = ops.full((batch,), decode.max_generated_length, dtype="int32")
    return limits, ops.zeros((batch, 0), dtype="bool"), decode.max_generated_length


PROMPT_IDS = InputKind(tf.TensorSpec([None, None], tf.int32), _prompt_frame)


def search(model, inputs, decode, with_attention=True, kind=SOURCE_IDS, shortlist=None,
           placeholders=None) -> Hypotheses:
    """Search outputs for a batch of `kind` inputs with the settings of a `DecodeConfig`; with a
    `Shortlist` (translation), among the target pieces it allows for these inputs; with a
    `PlaceholderQuota` (translation of masked placeholders), outputs that hold their sources' symbols."""
    limits, attention_mask, capacity = kind.frame(inputs, decode)
    scoring = Scoring(decode.length_penalty, decode.coverage_penalty)
    vocabulary = None if shortlist is None else shortlist.vocabulary(inputs)
    if decode.sample:
        return sample_search(model, inputs, limits, attention_mask, capacity, decode.n_best, decode.temperature,
                             decode.top_k, decode.seed, scoring, with_attention, vocabulary, placeholders)
    if decode.beam_size == 1:
        return greedy_search(model, inputs, limits, attention_mask, capacity, scoring, with_attention, vocabulary,
                             decode.shrink_batch, placeholders)
    return beam_search(model, inputs, limits, attention_mask, capacity, decode.beam_size, decode.n_best,
                       scoring, with_attention, vocabulary, decode.shrink_batch, placeholders)


def search_translations(model, source_ids, decode, with_attention=True, shortlist=None) -> Hypotheses:
    """Search translations of padded source ids (B, S)."""
    return search(model, source_ids, decode, with_attention, SOURCE_IDS, shortlist)


class CompiledSearch:
    """`search` bound to one model, decode config, input kind, shortlist and placeholder quota, traced once
    for any input shape."""

    def __init__(self, model, decode, with_attention=True, kind=SOURCE_IDS, shortlist=None, placeholders=None):
        check_decode(decode)  # a bad value would otherwise fail deep inside the traced loop
        if decode.shortlist and shortlist is None:  # e.g. Captioner.load(run, shortlist=True): refused, not ignored
            raise ConfigError("decode.shortlist: only a translation run's search has a vocabulary shortlist")
        self._dtype = kind.signature.dtype

        def run(inputs):
            return search(model, inputs, decode, with_attention, kind, shortlist, placeholders)

        self._compiled = tf.function(run, input_signature=[kind.signature])

    def __call__(self, inputs) -> Hypotheses:
        found = self._compiled(tf.convert_to_tensor(np.asarray(inputs), self._dtype))
        return Hypotheses(*(None if part is None else part.numpy() for part in found))
