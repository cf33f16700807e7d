"""The contract every model that search decodes keeps, and the training fixes all models share.

A decodable model has two methods besides its teacher-forced `call`:

    encode(inputs) -> (states, Memory)                       once per batch of inputs
    step(token_ids (B,), states, memory) -> (logits (B, V), new states, attention weights (B, S))

and, to search with a vocabulary shortlist (`seq2seq.search.shortlist`), `output_weights(vocabulary)`
once per batch and `step(..., output_weights)`, whose logits are then those of the pieces `vocabulary`.

`Memory(keys, values, mask)` is what the decoder attends over: the attention keys computed once per
input (B, S, K), the values (B, S, D) and which of the S positions are real (B, S). A model with
nothing to attend over (a decoder-only language model) returns `Memory.empty(batch)`, with S = 0:
the same search then carries zero-width attention. `seq2seq.search` needs nothing else, so an
ensemble (`seq2seq.tasks.translation.ensemble`) is decoded by the same code as one model.
"""

from typing import NamedTuple

import keras
from keras import ops

from seq2seq.errors import Seq2SeqError
from seq2seq.keras_internals import all_layers, averageable_across_workers, build_from_one_replica

DECODER_SETTINGS = ("cell", "embedding_dim", "decoder_units", "decoder_layers", "attention", "attention_units",
                    "dropout", "tie_embeddings", "context_gate")


class Memory(NamedTuple):
    """What a decoder attends over: keys (B, S, K), values (B, S, D), mask (B, S) of real positions."""

    keys: object
    values: object
    mask: object

    @classmethod
    def empty(cls, batch, dtype="float32"):
        """No positions at all, for models that attend over nothing."""
        return cls(ops.zeros((batch, 0, 1), dtype), ops.zeros((batch, 0, 1), dtype), ops.zeros((batch, 0), "bool"))


class SequenceModel(keras.Model):
    """What every seq2seq model shares: its config from `self.hyperparameters`, parts that can be frozen
    for fine-tuning, and training that works under tf.distribute (see `seq2seq.keras_internals`)."""

    def get_config(self):
        frozen = getattr(self, "frozen", ())
        return {**super().get_config(), **self.hyperparameters, **({"frozen": list(frozen)} if frozen else {})}

    @classmethod
    def from_config(cls, config):
        """Frozen parts are frozen again as the model is made, before a checkpoint's optimizer is built
        for its trainable weights: a fine-tuned run with frozen parts resumes with its optimizer state."""
        config = dict(config)
        frozen = config.pop("frozen", ())
        model = super().from_config(config)
        model.freeze(frozen)
        return model

    def freeze(self, parts):
        """Stop training `parts` (`train.freeze`): `embeddings`, every embedding table (an output layer
        tied to one is frozen with it); `encoder`, the model's `encoder` layer."""
        if "embeddings" in parts:
            for layer in all_layers(self):
                if isinstance(layer, keras.layers.Embedding):
                    layer.trainable = False
        if "encoder" in parts:
            encoder = getattr(self, "encoder", None)
            if not isinstance(encoder, keras.layers.Layer):
                raise Seq2SeqError(f"train.freeze: a {type(self).__name__} has no encoder to freeze")
            encoder.trainable = False
        self.frozen = sorted({*getattr(self, "frozen", ()), *parts})

    def train_step(self, data):
        return averageable_across_workers(self, super().train_step(data))

    def test_step(self, data):
        return averageable_across_workers(self, super().test_step(data))

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        return build_from_one_replica(self, super()._maybe_symbolic_build, iterator, data_batch)


class DecodableModel(SequenceModel):
    """A model with an `AttentionDecoder` named `decoder`; subclasses implement `encode`."""

    def encode(self, inputs):
        """-> (initial decoder states, Memory)."""
        raise NotImplementedError

    def step(self, token_ids, states, memory, output_weights=None):
        """One decoding step: -> logits (B, V), new states, attention weights (B, S); with
        `output_weights` from `output_weights(vocabulary)`, logits (B, V') of those pieces only."""
        return self.decoder.step(token_ids, states, memory.keys, memory.values, memory.mask, output_weights)

    def output_weights(self, vocabulary):
        """The output layer's weights for the target pieces `vocabulary` (V',) alone (a shortlist)."""
        return self.decoder.output_weights(vocabulary)

    def start_decoding(self, memory_values, mask, encoder_states):
        """The decoder's initial states and the `Memory` it attends over, from what was encoded."""
        states, keys = self.decoder.start(memory_values, mask, encoder_states)
        return states, Memory(keys, memory_values, mask)
