"""Every registered layer through `layer_harness.run_layer_test`: config and `.keras` round trips,
mixed precision, and a training step. A layer registered under `seq2seq>` without a case here fails
`test_every_registered_layer_has_a_harness_case`."""

import dataclasses
import importlib
import pkgutil
from functools import partial
from typing import Callable

import keras
import numpy as np
import pytest

import seq2seq.layers
from layer_harness import run_layer_test
from seq2seq.layers.attention import BahdanauAttention, LuongAttention
from seq2seq.layers.decoders import AttentionDecoder, InputFeedingCell
from seq2seq.layers.encoders import RNNEncoder
from seq2seq.layers.image_encoders import PretrainedCNN, SmallCNN
from seq2seq.layers.layer_norm_rnn import LayerNormGRU, LayerNormGRUCell, LayerNormLSTM, LayerNormLSTMCell
from seq2seq.layers.mtrnn import MTRNN, MTRNNCell
from seq2seq.layers.pooling import AttentionPooling
from seq2seq.layers.recurrent import InputProjectedGRU, InputProjectedLSTM
from seq2seq.layers.word_dropout import WordDropout

BATCH, SOURCE_LENGTH, TARGET_LENGTH, VOCAB = 2, 5, 4, 12


# Example inputs, from fixed seeds. In token ids and memory masks the second row is padded, so masks matter.

def _rng(seed):
    return np.random.default_rng(seed)


def token_ids(length, seed=0):
    ids = _rng(seed).integers(4, VOCAB, size=(BATCH, length)).astype("int32")
    ids[1, length - 2:] = 0
    return ids


def floats(*shape, seed=0):
    return _rng(seed).normal(size=shape).astype("float32")


def memory_mask():
    return np.arange(SOURCE_LENGTH)[None, :] < np.array([[SOURCE_LENGTH], [3]])


def pixels(size):
    return _rng(0).integers(0, 256, size=(BATCH, size, size, 3)).astype("uint8")


# Forward passes for layers that `layer(*inputs)` does not cover.

def call_with_mask(layer, sequence, mask, training=False):
    """Keras-style recurrent layers: the mask goes by keyword."""
    return layer(sequence, mask=mask, training=training)


def step_cell(cell, inputs, states, training=False):
    return cell(inputs, states, training=training)


def attend(attention, query, memory, mask, training=False):
    """Attention as the decoder uses it: keys prepared once from the memory, then one query."""
    if not attention.built:  # `prepare_keys` needs the projections that `build` makes
        attention.build(query.shape, memory_shape=memory.shape)
    return attention(query, attention.prepare_keys(memory), memory, mask)


def unroll_input_feeding_cell(cell, embedded, memory, mask, states, training=False):
    """Run the cell over every target step through its RNN interface, as `AttentionDecoder` does: the
    memory's parts (keys, memory, mask) come after the recurrent states.
    -> (attentional states (B, T, output_dim), final recurrent states)."""
    if not cell.built:
        cell.build((embedded.shape[0], embedded.shape[2]))
    keys = cell.attention.prepare_keys(memory)
    recurrent, outputs = list(states), []
    for position in range(embedded.shape[1]):
        output, new_states = cell(embedded[:, position], [*recurrent, keys, memory, mask], training=training)
        recurrent = new_states[:len(cell.state_size)]
        outputs.append(output)
    return keras.ops.stack(outputs, axis=1), recurrent


def decode_with_attention_totals(decoder, *inputs, training=False):
    return decoder(*inputs, training=training, attention_totals=True)


def pretrained_cnn(*args, **kwargs):
    """A `PretrainedCNN` whose convolutions get He-normal kernels (fixed seed) in place of ImageNet's.

    With Keras' default initialisers an untrained 50-layer network's features vanish (about 1e-12
    at its top), and outputs that small would pass every comparison of the harness.
    """
    encoder = PretrainedCNN(*args, **kwargs)
    rng = _rng(0)
    for layer in encoder.network.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
            shape = layer.kernel.shape  # (kh, kw, channels in, out or depth multiplier)
            fan_in = np.prod(shape[:2]) * (1 if isinstance(layer, keras.layers.DepthwiseConv2D) else shape[2])
            layer.kernel.assign(rng.normal(scale=np.sqrt(2 / fan_in), size=shape).astype("float32"))
    return encoder


@dataclasses.dataclass(frozen=True)
class Case:
    """One harness run: `make_layer(**overrides)` -> the layer, `inputs()` -> its example inputs."""

    name: str
    layer_class: type
    make_layer: Callable
    inputs: Callable
    call: Callable | None = None
    options: dict = dataclasses.field(default_factory=dict)  # run_layer_test's keyword options


def decoder_inputs(memory_dim, encoder_states):
    """(target ids, memory, memory mask, encoder states: per encoder layer, its h (and c))."""
    return lambda: (token_ids(TARGET_LENGTH, seed=1), floats(BATCH, SOURCE_LENGTH, memory_dim, seed=2), memory_mask(),
                    [[floats(BATCH, memory_dim, seed=10 + 2 * layer + index) for index in range(count)]
                     for layer, count in enumerate(encoder_states)])


def cell_inputs(memory_dim, state_sizes):
    """(embedded targets, memory, float memory mask, the recurrent states of `state_size`)."""
    return lambda: (floats(BATCH, 3, 6, seed=1), floats(BATCH, SOURCE_LENGTH, memory_dim, seed=2),
                    memory_mask().astype("float32"),
                    [floats(BATCH, size, seed=10 + index) for index, size in enumerate(state_sizes)])


def attention_inputs(query_dim, memory_dim):
    return lambda: (floats(BATCH, query_dim, seed=1), floats(BATCH, SOURCE_LENGTH, memory_dim, seed=2),
                    memory_mask())


def sequence_inputs():
    return (floats(BATCH, SOURCE_LENGTH, 3, seed=1), memory_mask())


# Outputs documented as float32 under mixed precision: attention weights come from a float32 softmax
# (`_Attention.call`), attention totals are cast to float32 (`AttentionDecoder.call`), and pretrained
# image networks compute in float32 whatever the model's precision (`make_image_encoder`).
ATTENTION_OPTIONS = dict(float32_outputs=(1,))  # (context, weights)
# The decoder, the layer with the most Python around its recurrence (states passed through the RNN,
# target masks, attention totals), also trains once in a traced `tf.function`, as `fit` runs it.
TRACED = dict(run_eagerly=False)
MTRNN_CELL = {"type": "mtrnn", "timescales": [[1, 0.5], [8, 0.5]]}

CASES = [
    Case("encoder-gru-bidirectional", RNNEncoder, partial(RNNEncoder, VOCAB, 6, 4, cell="gru"),
         lambda: (token_ids(SOURCE_LENGTH),)),
    Case("encoder-lstm-2-layers-dropout", RNNEncoder,
         partial(RNNEncoder, VOCAB, 6, 4, num_layers=2, cell="lstm", bidirectional=False, dropout=0.1),
         lambda: (token_ids(SOURCE_LENGTH),)),
    Case("encoder-simple-rnn-bidirectional", RNNEncoder, partial(RNNEncoder, VOCAB, 6, 4, cell="simple_rnn"),
         lambda: (token_ids(SOURCE_LENGTH),)),
    Case("input-projected-gru", InputProjectedGRU,
         partial(InputProjectedGRU, 4, return_sequences=True, return_state=True), sequence_inputs, call_with_mask),
    Case("input-projected-gru-reset-before-backwards", InputProjectedGRU,
         partial(InputProjectedGRU, 4, return_sequences=True, return_state=True, reset_after=False,
                 go_backwards=True), sequence_inputs, call_with_mask),
    Case("input-projected-lstm", InputProjectedLSTM,
         partial(InputProjectedLSTM, 4, return_sequences=True, return_state=True), sequence_inputs, call_with_mask),
    Case("mtrnn-two-timescales", MTRNN,
         partial(MTRNN, 4, timescales=[[1, 0.5], [4, 0.5]], return_sequences=True, return_state=True),
         sequence_inputs, call_with_mask),
    Case("mtrnn-cell", MTRNNCell, partial(MTRNNCell, 4, timescales=[[2, 0.25], [16, 0.75]]),
         lambda: (floats(BATCH, 3, seed=1), [floats(BATCH, 4, seed=2)]), step_cell),
    Case("encoder-mtrnn-bidirectional", RNNEncoder, partial(RNNEncoder, VOCAB, 6, 4, cell=MTRNN_CELL),
         lambda: (token_ids(SOURCE_LENGTH),)),
    Case("layer-norm-gru", LayerNormGRU, partial(LayerNormGRU, 4, return_sequences=True, return_state=True),
         sequence_inputs, call_with_mask),
    Case("layer-norm-lstm-backwards", LayerNormLSTM,
         partial(LayerNormLSTM, 4, return_sequences=True, return_state=True, go_backwards=True),
         sequence_inputs, call_with_mask),
    Case("layer-norm-gru-cell", LayerNormGRUCell, partial(LayerNormGRUCell, 4),
         lambda: (floats(BATCH, 3, seed=1), [floats(BATCH, 4, seed=2)]), step_cell),
    Case("layer-norm-lstm-cell", LayerNormLSTMCell, partial(LayerNormLSTMCell, 4),
         lambda: (floats(BATCH, 3, seed=1), [floats(BATCH, 4, seed=2), floats(BATCH, 4, seed=3)]), step_cell),
    Case("encoder-layer-norm-lstm-bidirectional", RNNEncoder, partial(RNNEncoder, VOCAB, 6, 4, cell="layer_norm_lstm"),
         lambda: (token_ids(SOURCE_LENGTH),)),
    Case("attention-bahdanau", BahdanauAttention, partial(BahdanauAttention, 5), attention_inputs(4, 6), attend,
         ATTENTION_OPTIONS),
    Case("attention-luong-dot", LuongAttention, partial(LuongAttention, "dot"), attention_inputs(6, 6), attend,
         dict(ATTENTION_OPTIONS, trainable=False)),  # the dot score has no weights
    Case("attention-luong-general", LuongAttention, partial(LuongAttention, "general"), attention_inputs(4, 6),
         attend, ATTENTION_OPTIONS),
    Case("attention-luong-concat", LuongAttention, partial(LuongAttention, "concat", 5), attention_inputs(4, 6),
         attend, ATTENTION_OPTIONS),
    Case("attention-pooling", AttentionPooling, partial(AttentionPooling, 5),
         lambda: (floats(BATCH, SOURCE_LENGTH, 6, seed=2), memory_mask()), options=ATTENTION_OPTIONS),
    Case("input-feeding-cell-gru-bahdanau-gate", InputFeedingCell,
         partial(InputFeedingCell, 4, 1, "gru", "bahdanau", 5, memory_dim=6, output_dim=4, context_gate=True),
         cell_inputs(6, [4, 4]), unroll_input_feeding_cell),
    Case("input-feeding-cell-lstm-2-layers-luong-general", InputFeedingCell,
         partial(InputFeedingCell, 4, 2, "lstm", "luong-general", 5, memory_dim=6, output_dim=5),
         cell_inputs(6, [4, 4, 4, 4, 5]), unroll_input_feeding_cell),
    Case("decoder-gru-bahdanau", AttentionDecoder,
         partial(AttentionDecoder, VOCAB, 6, 4, memory_dim=8, attention_units=5), decoder_inputs(8, [1]),
         options=TRACED),
    Case("decoder-lstm-2-layers-luong-concat-tied-gated", AttentionDecoder,
         partial(AttentionDecoder, VOCAB, 6, 4, memory_dim=8, encoder_layers=2, num_layers=2, cell="lstm",
                 attention="luong-concat", attention_units=5, tie_embeddings=True, context_gate=True),
         decoder_inputs(8, [2, 2]), options=TRACED),
    Case("decoder-layer-norm-gru-luong-general", AttentionDecoder,
         partial(AttentionDecoder, VOCAB, 6, 4, memory_dim=8, cell="layer_norm_gru", attention="luong-general",
                 attention_units=5), decoder_inputs(8, [1]), options=TRACED),
    Case("decoder-layer-norm-lstm-2-layers", AttentionDecoder,
         partial(AttentionDecoder, VOCAB, 6, 4, memory_dim=8, encoder_layers=2, num_layers=2, cell="layer_norm_lstm",
                 attention_units=5), decoder_inputs(8, [2, 2]), options=TRACED),
    Case("decoder-mtrnn-bahdanau", AttentionDecoder,
         partial(AttentionDecoder, VOCAB, 6, 4, memory_dim=8, cell=MTRNN_CELL, attention_units=5),
         decoder_inputs(8, [1]), options=TRACED),
    Case("decoder-gru-luong-dot-attention-totals", AttentionDecoder,  # dot: units == memory_dim
         partial(AttentionDecoder, VOCAB, 6, 8, memory_dim=8, attention="luong-dot", attention_units=5),
         decoder_inputs(8, [1]), decode_with_attention_totals,
         dict(TRACED, float32_outputs=(1,))),  # (logits, totals)
    Case("word-dropout", WordDropout, partial(WordDropout, 0.3), lambda: (token_ids(SOURCE_LENGTH),),
         options=dict(trainable=False)),  # ids in, ids out; no weights
    Case("image-small-cnn", SmallCNN, partial(SmallCNN, 8, filters=(4, 8)), lambda: (pixels(8),),
         options=dict(updates_statistics=True)),  # batch normalisation's moving statistics
    Case("image-efficientnet-lite0-frozen", PretrainedCNN, partial(pretrained_cnn, "efficientnet_lite0", 32),
         lambda: (pixels(32),),
         options=dict(trainable=False, float32_outputs=(0,), float32_sublayers=("efficientnet_lite0",))),
    Case("image-mobilenet-v2-fine-tune-last-block", PretrainedCNN,  # keras.applications with weights=None
         partial(pretrained_cnn, "keras_application", 32, backbone="MobileNetV2", fine_tune_blocks=1),
         lambda: (pixels(32),),
         options=dict(float32_outputs=(0,), float32_sublayers=("mobilenetv2_1.00_32",))),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_layer_contract(case):
    layer = run_layer_test(case.make_layer, case.inputs(), case.call, **case.options)
    assert type(layer) is case.layer_class


def registered_layer_classes():
    """Every layer class registered under `seq2seq>`, once every `seq2seq.layers` module is imported."""
    for module in pkgutil.iter_modules(seq2seq.layers.__path__):
        importlib.import_module(f"seq2seq.layers.{module.name}")
    return {name: value for name, value in keras.saving.get_custom_objects().items()
            if name.startswith("seq2seq>") and isinstance(value, type)
            and issubclass(value, keras.layers.Layer) and not issubclass(value, keras.Model)}


def test_every_registered_layer_has_a_harness_case():
    covered = {case.layer_class for case in CASES}
    missing = sorted(name for name, cls in registered_layer_classes().items() if cls not in covered)
    assert not missing, f"registered layers without a case in tests/test_layer_harness.py: {missing}"
