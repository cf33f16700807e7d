"""The two models, one `keras.Model` each: a translator (recurrent encoder) and a captioner (image
encoder), both with the same attention decoder.

`call` is the teacher-forced pass used for training. `encode` and `step` are what search runs:
any model exposing those two methods can be decoded by `seq2seq.search`.
"""

import keras
import tensorflow as tf
from keras import ops

from seq2seq.layers.cells import states_per_layer
from seq2seq.layers.decoders import AttentionDecoder
from seq2seq.layers.encoders import RNNEncoder
from seq2seq.layers.image_encoders import make_image_encoder
from seq2seq.tokenizer import PAD_ID

DECODER_SETTINGS = ("cell", "embedding_dim", "decoder_units", "decoder_layers", "attention", "attention_units",
                    "dropout", "tie_embeddings", "context_gate")


class Seq2SeqModel(keras.Model):
    """What both models share: the decoding step, config, and fixes for training under tf.distribute."""

    def step(self, token_ids, states, memory):
        """One decoding step: -> logits (B, V), new states, attention weights (B, S)."""
        keys, values, mask = memory
        return self.decoder.step(token_ids, states, keys, values, mask)

    def get_config(self):
        return {**super().get_config(), **self.hyperparameters}

    def train_step(self, data):
        return self._averageable_across_workers(super().train_step(data))

    def test_step(self, data):
        return self._averageable_across_workers(super().test_step(data))

    def _averageable_across_workers(self, logs):
        """Give each logged scalar an axis: Keras 3.15 averages logs over the workers of a multi-worker
        strategy along axis 0, which scalars lack (TensorFlow issue 72388)."""
        if not isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return logs
        return {name: ops.reshape(value, (1,)) for name, value in logs.items()}

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Build the compiled loss and metrics from one replica's share of the first batch.

        Under tf.distribute, Keras 3.15 first averages that batch across replicas, only to read its
        shapes; the average fails for batches that split unevenly and under multi-worker collectives.
        """
        if self._distribute_strategy is None:  # nothing to average: Keras builds while tracing
            return super()._maybe_symbolic_build(iterator, data_batch)
        if iterator is not None and data_batch is None:
            for _, _, batches in iterator:
                data_batch = keras.tree.map_structure(self._one_replica, next(batches))
                break
        super()._maybe_symbolic_build(data_batch=data_batch)

    def _one_replica(self, value):
        if isinstance(value, tf.distribute.DistributedValues):
            return self.distribute_strategy.experimental_local_results(value)[0]
        return value


@keras.saving.register_keras_serializable(package="seq2seq")
class TranslationModel(Seq2SeqModel):
    def __init__(self, source_vocab_size, target_vocab_size, cell="gru", embedding_dim=256,
                 encoder_units=256, encoder_layers=2, bidirectional=True, decoder_units=512,
                 decoder_layers=1, attention="bahdanau", attention_units=512, dropout=0.2,
                 tie_embeddings=False, context_gate=False, **kwargs):
        super().__init__(**kwargs)
        self.hyperparameters = dict(
            source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size, cell=cell,
            embedding_dim=embedding_dim, encoder_units=encoder_units, encoder_layers=encoder_layers,
            bidirectional=bidirectional, decoder_units=decoder_units, decoder_layers=decoder_layers,
            attention=attention, attention_units=attention_units, dropout=dropout,
            tie_embeddings=tie_embeddings, context_gate=context_gate,
        )
        self.encoder = RNNEncoder(source_vocab_size, embedding_dim, encoder_units, encoder_layers, cell,
                                  bidirectional, dropout, name="encoder", dtype=self.dtype_policy)
        self.decoder = AttentionDecoder(
            target_vocab_size, embedding_dim, decoder_units, memory_dim=self.encoder.output_dim,
            encoder_layers=encoder_layers, num_layers=decoder_layers, cell=cell, attention=attention,
            attention_units=attention_units, dropout=dropout, tie_embeddings=tie_embeddings,
            context_gate=context_gate, name="decoder", dtype=self.dtype_policy,
        )
        self.build()

    @classmethod
    def from_settings(cls, model_config, source_vocab_size, target_vocab_size, precision="float32"):
        """Build from the `model:` section of a run config, computing in `precision` (a Keras dtype policy)."""
        settings = {key: getattr(model_config, key)
                    for key in ("encoder_units", "encoder_layers", "bidirectional", *DECODER_SETTINGS)}
        return cls(source_vocab_size, target_vocab_size, dtype=precision, **settings)

    def build(self, input_shape=None):
        """All sizes come from the constructor, so weights exist before the first batch."""
        self.encoder.build((None, None))
        self.decoder.build((None, None))
        self.built = True

    def call(self, inputs, training=False):
        """(source_ids (B, S), target_in (B, T)) -> logits (B, T, V)."""
        source_ids, target_in = inputs
        memory, memory_mask, encoder_states = self.encoder(source_ids, training=training)
        return self.decoder(target_in, memory, memory_mask, encoder_states, training=training)

    def encode(self, source_ids):
        """-> (initial decoder states, (keys, memory, memory_mask)): what every search step needs."""
        memory, memory_mask, encoder_states = self.encoder(source_ids)
        states, keys = self.decoder.start(memory, memory_mask, encoder_states)
        return states, (keys, memory, memory_mask)


@keras.saving.register_keras_serializable(package="seq2seq")
class CaptionModel(Seq2SeqModel):
    """Show, Attend and Tell: a CNN's grid of features is the memory the decoder attends over.

    Each grid cell's features are projected to `feature_units` and given a learned position
    embedding, so "left of" or "above" can be read from where attention goes. The decoder starts
    from the mean of the cells. `call` takes pixels (B, H, W, 3), or (B, cells, C) features that
    `image_features` computed earlier: a frozen encoder's features are computed once per image, not
    once per epoch. With `attention_regularization` (lambda), training adds Show, Attend and Tell's
    doubly stochastic penalty lambda * sum over cells of (1 - attention the cell got)^2, per target token.
    """

    def __init__(self, target_vocab_size, image_encoder, feature_units=256, cell="gru", embedding_dim=256,
                 decoder_units=512, decoder_layers=1, attention="bahdanau", attention_units=512, dropout=0.2,
                 tie_embeddings=False, context_gate=False, attention_regularization=0.0, **kwargs):
        super().__init__(**kwargs)
        self.hyperparameters = dict(
            target_vocab_size=target_vocab_size, image_encoder=dict(image_encoder), feature_units=feature_units,
            cell=cell, embedding_dim=embedding_dim, decoder_units=decoder_units, decoder_layers=decoder_layers,
            attention=attention, attention_units=attention_units, dropout=dropout, tie_embeddings=tie_embeddings,
            context_gate=context_gate, attention_regularization=attention_regularization,
        )
        self.attention_regularization = attention_regularization
        self.image_encoder = make_image_encoder(**image_encoder, dtype=self.dtype_policy)
        height, width, self.feature_channels = self.image_encoder.grid_shape
        self.grid_shape = (height, width)
        self.cells = height * width
        self.image_size = image_encoder["image_size"]
        self.feature_projection = keras.layers.Dense(feature_units, activation="relu", name="feature_projection",
                                                     dtype=self.dtype_policy)
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.decoder = AttentionDecoder(
            target_vocab_size, embedding_dim, decoder_units, memory_dim=feature_units, encoder_layers=1,
            num_layers=decoder_layers, cell=cell, attention=attention, attention_units=attention_units,
            dropout=dropout, tie_embeddings=tie_embeddings, context_gate=context_gate, name="decoder",
            dtype=self.dtype_policy,
        )
        self.build()

    @classmethod
    def from_settings(cls, model_config, target_vocab_size, precision="float32"):
        """Build from the `model:` section of a run config, computing in `precision` (a Keras dtype policy)."""
        encoder = model_config.image_encoder
        image_encoder = dict(kind=encoder.kind, image_size=encoder.image_size, filters=list(encoder.filters),
                             backbone=encoder.backbone, fine_tune_blocks=encoder.fine_tune_blocks)
        settings = {key: getattr(model_config, key) for key in DECODER_SETTINGS}
        return cls(target_vocab_size, image_encoder, feature_units=model_config.encoder_units,
                   attention_regularization=model_config.attention_regularization, dtype=precision, **settings)

    @property
    def frozen_encoder(self):
        """Whether the image encoder never trains, so its features can be computed once and reused."""
        return getattr(self.image_encoder, "frozen", False)

    def build(self, input_shape=None):
        self.image_encoder.build((None, self.image_size, self.image_size, 3))
        self.positions = self.add_weight(shape=(self.cells, self.hyperparameters["feature_units"]),
                                         initializer="zeros", name="positions")
        self.feature_projection.build((None, None, self.feature_channels))
        self.decoder.build((None, None))
        self.built = True

    def image_features(self, pixels, training=False):
        """uint8 pixels (B, H, W, 3) -> the encoder's features (B, cells, C)."""
        grid = self.image_encoder(pixels, training=training)
        return ops.reshape(grid, (-1, self.cells, self.feature_channels))

    def _memory(self, images, training=False):
        """Pixels or precomputed features -> (memory (B, cells, D), mask, initial states per encoder layer)."""
        features = self.image_features(images, training) if len(images.shape) == 4 else images
        memory = self.feature_projection(ops.cast(features, self.compute_dtype)) + ops.cast(
            self.positions, self.compute_dtype)
        memory = self.dropout_layer(memory, training=training)
        mask = ops.ones(ops.shape(memory)[:2], dtype="bool")
        summary = ops.mean(memory, axis=1)
        return memory, mask, [[summary] * states_per_layer(self.hyperparameters["cell"])]

    def call(self, inputs, training=False):
        """(pixels (B, H, W, 3) or features (B, cells, C), target_in (B, T)) -> logits (B, T, V)."""
        images, target_in = inputs
        memory, mask, encoder_states = self._memory(images, training)
        if not self.attention_regularization:
            return self.decoder(target_in, memory, mask, encoder_states, training=training)
        logits, totals = self.decoder(target_in, memory, mask, encoder_states, training=training,
                                      attention_totals=True)
        tokens = ops.sum(ops.cast(target_in != PAD_ID, "float32"))
        penalty = ops.sum(ops.square(1.0 - totals)) / ops.maximum(tokens, 1.0)
        self.add_loss(self.attention_regularization * penalty)
        return logits

    def encode(self, pixels):
        """-> (initial decoder states, (keys, memory, memory_mask)): what every search step needs."""
        memory, mask, encoder_states = self._memory(pixels)
        states, keys = self.decoder.start(memory, mask, encoder_states)
        return states, (keys, memory, mask)
