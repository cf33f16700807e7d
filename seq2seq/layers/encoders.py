"""Recurrent text encoder: embeddings, then stacked (optionally bidirectional) GRU/LSTM/SimpleRNN."""

import keras
from keras import ops

from seq2seq.layers.cells import cell_type, check_cell, recurrent_layer, states_per_layer
from seq2seq.layers.initializers import embedding_initializer
from seq2seq.tokens import PAD_ID


@keras.saving.register_keras_serializable(package="seq2seq")
class RNNEncoder(keras.layers.Layer):
    """Encodes padded token ids into a memory for attention and final states for the decoder.

    Padding (id 0) is masked inside the recurrences, so a sentence encodes identically whatever
    padding its batch needs; the backward direction starts at the sentence's real last token.
    """

    def __init__(self, vocab_size, embedding_dim, units, num_layers=1, cell="gru",
                 bidirectional=True, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        check_cell(cell)
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.num_layers = num_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.embedding = keras.layers.Embedding(
            vocab_size, embedding_dim, embeddings_initializer=embedding_initializer(), name="embedding",
            dtype=self.dtype_policy)
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.recurrent_layers = [self._make_layer(index) for index in range(num_layers)]

    def _make_layer(self, index):
        layer = recurrent_layer(self.cell, self.units, return_sequences=True, return_state=True,
                                name=f"{cell_type(self.cell)}_{index}", dtype=self.dtype_policy)
        if self.bidirectional:
            return keras.layers.Bidirectional(layer, merge_mode="concat", name=f"bidirectional_{index}",
                                              dtype=self.dtype_policy)
        return layer

    @property
    def output_dim(self):
        return self.units * (2 if self.bidirectional else 1)

    def build(self, ids_shape):
        self.embedding.build(ids_shape)
        shape = (ids_shape[0], ids_shape[1], self.embedding_dim)
        for layer in self.recurrent_layers:
            layer.build(shape)
            shape = (ids_shape[0], ids_shape[1], self.output_dim)

    def call(self, ids, training=False):
        """ids (B, S) -> memory (B, S, output_dim), mask (B, S), final states: one list per layer.

        Each layer's final states have size `output_dim` (both directions concatenated).
        """
        mask = ops.not_equal(ids, PAD_ID)
        outputs = self.embedding(ids)
        final_states = []
        for layer in self.recurrent_layers:
            outputs = self.dropout_layer(outputs, training=training)
            outputs, *states = layer(outputs, mask=mask, training=training)
            final_states.append(self._merge_directions(states))
        return outputs, mask, final_states

    def _merge_directions(self, states):
        if not self.bidirectional:
            return list(states)
        per_direction = states_per_layer(self.cell)
        forward, backward = states[:per_direction], states[per_direction:]
        return [ops.concatenate([f, b], axis=-1) for f, b in zip(forward, backward)]

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "num_layers": self.num_layers,
            "cell": self.cell,
            "bidirectional": self.bidirectional,
            "dropout": self.dropout,
        }
