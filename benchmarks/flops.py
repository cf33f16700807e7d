"""Matrix-multiply FLOPs of a translation model, counted from its layer sizes.

Only matrix products count (2 FLOPs per multiply-add); activations, softmaxes and the optimizer
are left out, so the fraction of the matmul ceiling a training run reaches is an honest lower bound
on how busy the CPU's vector units are. A training step is taken as three forward passes (the
backward pass multiplies by each weight matrix twice: once for the input's gradient, once for the
weight's).
"""

from dataclasses import dataclass

TRAINING_PASSES = 3


def _gates(cell: str) -> int:
    return {"gru": 3, "lstm": 4, "simple_rnn": 1}[cell]


def _recurrent_layer(cell, input_dim, units) -> int:
    """One time step of one direction: input and recurrent kernels for every gate."""
    return 2 * _gates(cell) * (input_dim + units) * units


@dataclass(frozen=True)
class ForwardFlops:
    """Forward cost split by what it scales with: source tokens, target tokens, and the
    (target token, source token) pairs attention scores and reads."""

    per_source_token: int
    per_target_token: int
    per_attention_pair: int

    def of_batch(self, source_tokens: int, target_tokens: int, attention_pairs: int) -> int:
        return (self.per_source_token * source_tokens + self.per_target_token * target_tokens
                + self.per_attention_pair * attention_pairs)


def forward_flops(model, target_vocab_size: int) -> ForwardFlops:
    """`model` is a `ModelConfig` (the `model:` section of a run config)."""
    directions = 2 if model.bidirectional else 1
    memory_dim = model.encoder_units * directions
    encoder, input_dim = 0, model.embedding_dim
    for _ in range(model.encoder_layers):
        encoder += directions * _recurrent_layer(model.cell, input_dim, model.encoder_units)
        input_dim = memory_dim
    output_dim = model.embedding_dim if model.tie_embeddings else model.decoder_units
    decoder, input_dim = 0, model.embedding_dim + output_dim  # input feeding
    for _ in range(model.decoder_layers):
        decoder += _recurrent_layer(model.cell, input_dim, model.decoder_units)
        input_dim = model.decoder_units
    decoder += 2 * (memory_dim + model.decoder_units) * output_dim  # attentional state
    decoder += 2 * output_dim * target_vocab_size  # output projection
    per_pair = 2 * memory_dim  # context: weights . memory
    if model.attention in ("bahdanau", "luong-concat"):
        encoder += 2 * memory_dim * model.attention_units  # keys, once per source token
        decoder += 2 * model.decoder_units * model.attention_units  # query projection
        per_pair += 2 * model.attention_units  # energy . tanh(...)
    elif model.attention == "luong-general":
        encoder += 2 * memory_dim * model.decoder_units
        per_pair += 2 * model.decoder_units
    else:  # luong-dot
        per_pair += 2 * model.decoder_units
    if model.context_gate:
        decoder += 2 * model.decoder_units
    return ForwardFlops(encoder, decoder, per_pair)
