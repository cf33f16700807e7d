"""The recurrent language model: embeddings, stacked recurrent layers, a softmax over the next piece.

It keeps the decode contract of `seq2seq.models.base` with nothing to attend over: `encode(prompts)`
reads each prompt but its last piece and returns the states and `Memory.empty`; `start_tokens` gives
that last piece, which the search's first `step` reads. Prompts are padded ids that start with EOS (a
line end: what every line of the training stream follows), so an empty prompt is just EOS.

For truncated backpropagation through time the model keeps, as non-trainable weights, the state each
of the `stream_rows` rows of the training stream ended its last window with (`seq2seq.tasks.language_model.
streams`). Called on `(ids, reset)`, it starts from those states (from zero where `reset` is 1) and
stores the states it ends with; gradients stop at the window's edge because the stored states are
values, not part of the next step's graph. Called on ids alone, it starts from zero states.
"""

import keras
from keras import ops

from seq2seq.layers.cells import cell_setting, cell_type, check_cell, recurrent_layer, states_per_layer
from seq2seq.layers.initializers import embedding_initializer
from seq2seq.models.base import Memory, SequenceModel
from seq2seq.tokens import PAD_ID

LANGUAGE_MODEL_SETTINGS = ("cell", "embedding_dim", "decoder_units", "decoder_layers", "dropout")


@keras.saving.register_keras_serializable(package="seq2seq")
class RecurrentLanguageModel(SequenceModel):
    def __init__(self, vocab_size, cell="gru", embedding_dim=256, decoder_units=512, decoder_layers=1, dropout=0.2,
                 stream_rows=64, **kwargs):
        super().__init__(**kwargs)
        check_cell(cell)
        self.hyperparameters = dict(vocab_size=vocab_size, cell=cell, embedding_dim=embedding_dim,
                                    decoder_units=decoder_units, decoder_layers=decoder_layers, dropout=dropout,
                                    stream_rows=stream_rows)
        self.cell = cell
        self.units = decoder_units
        self.stream_rows = stream_rows
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, embeddings_initializer=embedding_initializer(),
                                                name="embedding", dtype=self.dtype_policy)
        self.recurrent_layers = [recurrent_layer(cell, decoder_units, return_sequences=True, return_state=True,
                                                 name=f"{cell_type(cell)}_{index}", dtype=self.dtype_policy)
                                 for index in range(decoder_layers)]
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.output_projection = keras.layers.Dense(vocab_size, name="output_projection", dtype=self.dtype_policy)
        self.build()

    @classmethod
    def from_settings(cls, model_config, vocab_size, stream_rows, precision="float32"):
        """Build from the `model:` section of a run config, computing in `precision` (a Keras dtype policy)."""
        settings = {key: getattr(model_config, key) for key in LANGUAGE_MODEL_SETTINGS}
        settings["cell"] = cell_setting(model_config)
        return cls(vocab_size, stream_rows=stream_rows, dtype=precision, **settings)

    def build(self, input_shape=None):
        """All sizes come from the constructor, so weights exist before the first batch."""
        self.embedding.build((None, None))
        shape = (None, None, self.hyperparameters["embedding_dim"])
        for layer in self.recurrent_layers:
            layer.build(shape)
            shape = (None, None, self.units)
        self.output_projection.build(shape)
        self.carried = [self.add_weight(shape=(self.stream_rows, self.units), initializer="zeros", trainable=False,
                                        name=f"carried_state_{index}")
                        for index in range(len(self.recurrent_layers) * states_per_layer(self.cell))]
        self.built = True

    def call(self, inputs, training=False):
        """ids (B, T), or a training window (ids, reset (B,)) -> next-piece logits (B, T, V) in float32."""
        if not isinstance(inputs, (tuple, list)):
            return self.logits_and_states(inputs, self.zero_states(ops.shape(inputs)[0]), training)[0]
        ids, reset = inputs
        keep = ops.expand_dims(1.0 - ops.cast(reset, "float32"), 1)
        logits, states = self.logits_and_states(ids, [stored * keep for stored in self.carried], training)
        for stored, state in zip(self.carried, states):
            stored.assign(ops.cast(ops.stop_gradient(state), "float32"))
        return logits

    def zero_states(self, batch):
        return [ops.zeros((batch, self.units)) for _ in self.carried]

    def logits_and_states(self, ids, states, training=False, mask=None):
        """Read ids (B, T) from `states` (a flat list, each layer's in turn) -> (logits (B, T, V), final states).

        Where `mask` is False a position leaves the states unchanged (a prompt's padding).
        """
        outputs = self.embedding(ids)
        per_layer = states_per_layer(self.cell)
        final_states = []
        for index, layer in enumerate(self.recurrent_layers):
            outputs = self.dropout_layer(outputs, training=training)
            initial = [ops.cast(state, self.compute_dtype) for state in states[index * per_layer:(index + 1) * per_layer]]
            outputs, *layer_states = layer(outputs, initial_state=initial, mask=mask, training=training)
            final_states.extend(layer_states)
        outputs = self.dropout_layer(outputs, training=training)
        return ops.cast(self.output_projection(outputs), "float32"), final_states

    def encode(self, prompt_ids):
        """Prompts (B, P) padded, each starting with EOS -> (states after all but its last piece, Memory.empty)."""
        batch, length = ops.shape(prompt_ids)[0], ops.shape(prompt_ids)[1]
        read = ops.expand_dims(ops.arange(length), 0) < ops.expand_dims(self._prompt_lengths(prompt_ids) - 1, 1)
        _, states = self.logits_and_states(prompt_ids, self.zero_states(batch), mask=read)
        return states, Memory.empty(batch)

    def start_tokens(self, prompt_ids):
        """Each prompt's last piece: the first step reads it."""
        last = ops.expand_dims(self._prompt_lengths(prompt_ids) - 1, 1)
        return ops.cast(ops.take_along_axis(prompt_ids, last, axis=1)[:, 0], "int32")

    def step(self, token_ids, states, memory):
        """One piece in -> (next-piece logits (B, V), new states, zero-width attention (B, 0))."""
        outputs = self.embedding(token_ids)
        per_layer = states_per_layer(self.cell)
        new_states = []
        for index, layer in enumerate(self.recurrent_layers):
            outputs, layer_states = layer.cell(outputs, list(states[index * per_layer:(index + 1) * per_layer]))
            new_states.extend(layer_states if isinstance(layer_states, (list, tuple)) else [layer_states])
        logits = ops.cast(self.output_projection(outputs), "float32")
        return logits, new_states, ops.zeros((ops.shape(token_ids)[0], 0))

    @staticmethod
    def _prompt_lengths(prompt_ids):
        return ops.sum(ops.cast(ops.not_equal(prompt_ids, PAD_ID), "int32"), axis=1)
