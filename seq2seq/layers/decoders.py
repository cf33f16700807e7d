"""Recurrent decoder with attention and input feeding (Luong et al. 2015, as in OpenNMT).

At step t the RNN stack reads [embedding of y_{t-1}; attentional state of t-1] (input feeding: the
decoder knows what it attended to last), attention is queried with the top RNN output, and the
attentional state tanh(W [context; rnn output]) feeds the output projection. Any attention score
(Bahdanau's additive or Luong's dot/general/concat) plugs into the same step. With `context_gate`,
the context is scaled by a learned gate sigmoid(w . rnn output + b) first: the gating scalar of
Show, Attend and Tell (Xu et al. 2015), which lets a captioner rely less on the image for words
such as "of" and "a".

Training runs the step under a `keras.layers.RNN` (`MemoryReadingRNN`); search calls `step` itself,
one token at a time.
"""

import keras
from keras import ops

from seq2seq.keras_internals import recurrent_loop, without_keras_mask
from seq2seq.layers.attention import make_attention
from seq2seq.layers.cells import cell_type, check_cell, recurrent_cell, states_per_layer
from seq2seq.layers.initializers import embedding_initializer
from seq2seq.tokens import PAD_ID


# What every step reads and none changes: the attention keys, the memory and its mask.
MEMORY_PARTS = 3


class MemoryReadingRNN(keras.layers.RNN):
    """`keras.layers.RNN` whose last `MEMORY_PARTS` initial states are constants: handed to every step
    after the states and never carried from one step to the next.

    TensorFlow's while-loop gradient keeps each loop state of every step for the backward pass, but a
    constant once. The keys and memory carried as states cost 1.3 GB in one training step of the reference
    recipe at its longest bucket (64 sentences of 101 pieces: 5.87 GB peak, 4.59 GB as constants).
    Keras 2's RNN took `constants=`; Keras 3's has lost it, while its loop (`recurrent_loop`) still does.
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        states, constants = initial_state[:-MEMORY_PARTS], initial_state[-MEMORY_PARTS:]

        def step(inputs, states_and_constants):
            return self.cell(inputs, list(states_and_constants), training=training)

        return recurrent_loop()(step, sequences, states, go_backwards=self.go_backwards, mask=mask,
                                constants=constants, unroll=self.unroll, input_length=sequences.shape[1],
                                zero_output_for_mask=self.zero_output_for_mask,
                                return_all_outputs=self.return_sequences)


@keras.saving.register_keras_serializable(package="seq2seq")
class InputFeedingCell(keras.layers.Layer):
    """One decoder time step: RNN stack, attention, attentional state."""

    def __init__(self, units, num_layers, cell, attention, attention_units, memory_dim, output_dim,
                 context_gate=False, **kwargs):
        super().__init__(**kwargs)
        check_cell(cell)
        self.units = units
        self.num_layers = num_layers
        self.cell = cell
        self.attention_kind = attention
        self.attention_units = attention_units
        self.memory_dim = memory_dim
        self.output_dim = output_dim
        self.rnn_cells = [recurrent_cell(cell, units, name=f"{cell_type(cell)}_cell_{index}", dtype=self.dtype_policy)
                          for index in range(num_layers)]
        self.attention = make_attention(attention, attention_units, dtype=self.dtype_policy)
        self.attentional = keras.layers.Dense(output_dim, activation="tanh", use_bias=False, name="attentional",
                                              dtype=self.dtype_policy)
        self.context_gate = context_gate
        self.gate = (keras.layers.Dense(1, activation="sigmoid", name="context_gate", dtype=self.dtype_policy)
                     if context_gate else None)

    @property
    def state_size(self):
        """Sizes of the states a step updates: the RNN stack's, then the fed-back attentional state."""
        return [self.units] * (self.num_layers * states_per_layer(self.cell)) + [self.output_dim]

    @property
    def output_size(self):
        return self.output_dim

    def build(self, input_shape):
        batch, embedding_dim = input_shape[0], input_shape[-1]
        shape = (batch, embedding_dim + self.output_dim)
        for rnn_cell in self.rnn_cells:
            rnn_cell.build(shape)
            shape = (batch, self.units)
        self.attention.build((batch, self.units), memory_shape=(batch, None, self.memory_dim))
        self.attentional.build((batch, self.memory_dim + self.units))
        if self.gate is not None:
            self.gate.build((batch, self.units))

    def step(self, inputs, states, keys, memory, memory_mask, training=False):
        """inputs (B, E), states as in `state_size` -> (attentional, new states, attention weights)."""
        *rnn_states, feed = states
        per_layer = states_per_layer(self.cell)
        outputs = ops.concatenate([inputs, feed], axis=-1)
        new_states = []
        for index, rnn_cell in enumerate(self.rnn_cells):
            layer_states = rnn_states[index * per_layer:(index + 1) * per_layer]
            outputs, layer_states = rnn_cell(outputs, layer_states, training=training)
            new_states.extend(layer_states)
        context, weights = self.attention(outputs, keys, memory, memory_mask)
        if self.gate is not None:
            context = context * self.gate(outputs)
        attentional = self.attentional(ops.concatenate([context, outputs], axis=-1))
        return attentional, [*new_states, attentional], weights

    def call(self, inputs, states, training=False):
        """The `MemoryReadingRNN` interface: the recurrent states, then, when the caller tracks them, the
        attention weights summed so far, then the memory's `MEMORY_PARTS` (keys, memory, mask)."""
        recurrent, totals = states[:len(self.state_size)], states[len(self.state_size):-MEMORY_PARTS]
        keys, memory, mask = states[-MEMORY_PARTS:]
        attentional, new_states, weights = self.step(inputs, recurrent, keys, memory, mask > 0.5, training)
        totals = [totals[0] + ops.cast(weights, totals[0].dtype)] if totals else []
        return attentional, [*new_states, *totals]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_layers": self.num_layers,
            "cell": self.cell,
            "attention": self.attention_kind,
            "attention_units": self.attention_units,
            "memory_dim": self.memory_dim,
            "output_dim": self.output_dim,
            "context_gate": self.context_gate,
        }


@keras.saving.register_keras_serializable(package="seq2seq")
class AttentionDecoder(keras.layers.Layer):
    """Target embeddings, bridge from encoder states, input-feeding attention RNN, output projection.

    `tie_embeddings` reuses the target embedding matrix as the output projection (Press & Wolf
    2017); the attentional state then has the embedding's size.
    """

    def __init__(self, vocab_size, embedding_dim, units, memory_dim, encoder_layers=1, num_layers=1,
                 cell="gru", attention="bahdanau", attention_units=512, dropout=0.0,
                 tie_embeddings=False, context_gate=False, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.memory_dim = memory_dim
        self.encoder_layers = encoder_layers
        self.num_layers = num_layers
        self.cell = cell
        self.attention_kind = attention
        self.attention_units = attention_units
        self.dropout = dropout
        self.tie_embeddings = tie_embeddings
        self.context_gate = context_gate
        output_dim = embedding_dim if tie_embeddings else units
        self.embedding = keras.layers.Embedding(
            vocab_size, embedding_dim, embeddings_initializer=embedding_initializer(), name="embedding",
            dtype=self.dtype_policy)
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.step_cell = InputFeedingCell(units, num_layers, cell, attention, attention_units,
                                          memory_dim, output_dim, context_gate, name="step", dtype=self.dtype_policy)
        self.rnn = MemoryReadingRNN(self.step_cell, return_sequences=True, return_state=True, name="rnn",
                                    dtype=self.dtype_policy)
        self.bridge = [
            keras.layers.Dense(units, activation="tanh" if kind == 0 else None, name=f"bridge_{index}",
                               dtype=self.dtype_policy)
            for index in range(num_layers) for kind in range(states_per_layer(cell))
        ]
        self.output_projection = (
            None if tie_embeddings else keras.layers.Dense(vocab_size, name="output_projection", dtype=self.dtype_policy)
        )

    def build(self, target_shape):
        self.embedding.build(target_shape)
        self.step_cell.build((None, self.embedding_dim))
        self.rnn.build((None, None, self.embedding_dim))
        for dense in self.bridge:
            dense.build((None, self.memory_dim))
        if self.tie_embeddings:
            self.output_bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="output_bias")
        else:
            self.output_projection.build((None, None, self.step_cell.output_dim))

    def start(self, memory, memory_mask, encoder_states):
        """The decoder's initial recurrent states and the attention keys for this memory.

        Decoder layer j starts from encoder layer j counted from the top stack's alignment, so a
        one-layer decoder starts from the encoder's top layer.
        """
        offset = max(0, self.encoder_layers - self.num_layers)
        per_layer = states_per_layer(self.cell)
        states = []
        for index in range(self.num_layers):
            source = encoder_states[min(self.encoder_layers - 1, index + offset)]
            for kind in range(per_layer):
                states.append(self.bridge[index * per_layer + kind](source[kind]))
        batch = ops.shape(memory)[0]
        states.append(ops.zeros((batch, self.step_cell.output_dim), dtype=memory.dtype))
        keys = self.step_cell.attention.prepare_keys(memory)
        return states, keys

    def output_weights(self, vocabulary):
        """(kernel (D, V'), bias (V',)) of the pieces `vocabulary` only, in the compute dtype: a
        shortlisted search gathers them once per batch and then scores only those pieces."""
        if self.tie_embeddings:
            kernel = ops.transpose(ops.take(self.embedding.embeddings, vocabulary, axis=0))
            bias = ops.take(self.output_bias, vocabulary)
        else:
            kernel = ops.take(self.output_projection.kernel, vocabulary, axis=1)
            bias = ops.take(self.output_projection.bias, vocabulary)
        return ops.cast(kernel, self.compute_dtype), ops.cast(bias, self.compute_dtype)

    def logits(self, attentional, output_weights=None):
        if output_weights is not None:
            kernel, bias = output_weights
            return ops.matmul(attentional, kernel) + bias
        if self.tie_embeddings:
            # Search calls this outside the layer's `__call__`, where variables are not cast to the
            # compute dtype automatically.
            embeddings, bias = (ops.cast(weight, attentional.dtype) for weight in (self.embedding.embeddings,
                                                                                   self.output_bias))
            return ops.matmul(attentional, ops.transpose(embeddings)) + bias
        return self.output_projection(attentional)

    def call(self, target_ids, memory, memory_mask, encoder_states, training=False, attention_totals=False):
        """Teacher forcing: target_ids (B, T) are the gold tokens shifted right -> logits (B, T, V).

        With `attention_totals`, also -> (B, S): each memory position's attention summed over the
        real (non-padding) target steps, for Show, Attend and Tell's doubly stochastic regulariser.
        """
        states, keys = self.start(memory, memory_mask, encoder_states)
        embedded = self.dropout_layer(self.embedding(target_ids), training=training)
        totals = []
        if attention_totals:  # padding steps leave every state, and so the totals, as they were
            totals.append(ops.zeros(ops.shape(memory_mask), dtype=memory.dtype))  # the RNN's state dtype
        initial = [*states, *totals, keys, memory, ops.cast(memory_mask, memory.dtype)]
        attentional, *final_states = self.rnn(embedded, initial_state=initial, training=training,
                                              mask=target_ids != PAD_ID if attention_totals else None)
        attentional = without_keras_mask(attentional)  # the loss skips padding itself
        logits = self.logits(self.dropout_layer(attentional, training=training))
        return (logits, ops.cast(final_states[-1], "float32")) if attention_totals else logits

    def step(self, token_ids, states, keys, memory, memory_mask, output_weights=None):
        """One search step: token_ids (B,) -> logits (B, V) (of a shortlist's pieces with its
        `output_weights`), new states, attention weights (B, S)."""
        attentional, states, weights = self.step_cell.step(
            self.embedding(token_ids), states, keys, memory, memory_mask
        )
        return self.logits(attentional, output_weights), states, weights

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "memory_dim": self.memory_dim,
            "encoder_layers": self.encoder_layers,
            "num_layers": self.num_layers,
            "cell": self.cell,
            "attention": self.attention_kind,
            "attention_units": self.attention_units,
            "dropout": self.dropout,
            "tie_embeddings": self.tie_embeddings,
            "context_gate": self.context_gate,
        }
