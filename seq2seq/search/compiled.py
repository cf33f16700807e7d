"""The search a decode config asks for, on source token ids, compiled once for any input shape."""

import numpy as np
import tensorflow as tf
from keras import ops

from seq2seq.config import check_decode
from seq2seq.search.beam import beam_search
from seq2seq.search.common import Hypotheses, Scoring, output_length_limits
from seq2seq.search.greedy import greedy_search, sample_search
from seq2seq.tokenizer import PAD_ID


def search_translations(model, source_ids, decode, with_attention=True):
    """Search outputs for padded source ids (B, S) with the settings of a `DecodeConfig`."""
    attention_mask = source_ids != PAD_ID
    limits = output_length_limits(ops.sum(ops.cast(attention_mask, "int32"), axis=1),
                                  decode.max_length_ratio, decode.max_length_offset)
    capacity = output_length_limits(ops.shape(source_ids)[1], decode.max_length_ratio, decode.max_length_offset)
    scoring = Scoring(decode.length_penalty, decode.coverage_penalty)
    if decode.sample:
        return sample_search(model, source_ids, limits, attention_mask, capacity, decode.n_best,
                             decode.temperature, decode.top_k, decode.seed, scoring, with_attention)
    if decode.beam_size == 1:
        return greedy_search(model, source_ids, limits, attention_mask, capacity, scoring, with_attention)
    return beam_search(model, source_ids, limits, attention_mask, capacity, decode.beam_size, decode.n_best,
                       scoring, with_attention)

class CompiledSearch:
    """`search_translations` bound to one model and decode config, traced once for any input shape."""

    def __init__(self, model, decode, with_attention=True):
        check_decode(decode)  # a bad value would otherwise fail deep inside the traced loop
        def run(source_ids):
            return search_translations(model, source_ids, decode, with_attention)

        self._compiled = tf.function(run, input_signature=[tf.TensorSpec([None, None], tf.int32)])

    def __call__(self, source_ids) -> Hypotheses:
        found = self._compiled(tf.convert_to_tensor(np.asarray(source_ids), tf.int32))
        return Hypotheses(*(None if part is None else part.numpy() for part in found))
