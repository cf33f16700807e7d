"""Captioning: an image encoder's grid of features and the attention decoder (one-to-many)."""

import keras
from keras import ops

from seq2seq.layers.cells import cell_setting, states_per_layer
from seq2seq.layers.decoders import AttentionDecoder
from seq2seq.models.base import DECODER_SETTINGS, DecodableModel
from seq2seq.models.image_features import ReadsImages, image_encoder_setting
from seq2seq.tokens import PAD_ID


@keras.saving.register_keras_serializable(package="seq2seq")
class CaptionModel(ReadsImages, DecodableModel):
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
        self.make_image_encoder(image_encoder)
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
        settings = {key: getattr(model_config, key) for key in DECODER_SETTINGS}
        settings["cell"] = cell_setting(model_config)
        return cls(target_vocab_size, image_encoder_setting(model_config.image_encoder), feature_units=model_config.feature_units,
                   attention_regularization=model_config.attention_regularization, dtype=precision, **settings)

    def build(self, input_shape=None):
        self.image_encoder.build((None, self.image_size, self.image_size, 3))
        self.positions = self.add_weight(shape=(self.cells, self.hyperparameters["feature_units"]),
                                         initializer="zeros", name="positions")
        self.feature_projection.build((None, None, self.feature_channels))
        self.decoder.build((None, None))
        self.built = True

    def _encode_grid(self, images, training=False):
        """Pixels or precomputed features -> (attended cells (B, cells, D), mask, initial states per encoder layer)."""
        features = self.image_features(images, training) if len(images.shape) == 4 else images
        cells = self.feature_projection(ops.cast(features, self.compute_dtype)) + ops.cast(
            self.positions, self.compute_dtype)
        cells = self.dropout_layer(cells, training=training)
        mask = ops.ones(ops.shape(cells)[:2], dtype="bool")
        summary = ops.mean(cells, axis=1)
        return cells, mask, [[summary] * states_per_layer(self.hyperparameters["cell"])]

    def call(self, inputs, training=False):
        """(pixels (B, H, W, 3) or features (B, cells, C), target_in (B, T)) -> logits (B, T, V)."""
        images, target_in = inputs
        cells, mask, encoder_states = self._encode_grid(images, training)
        if not self.attention_regularization:
            return self.decoder(target_in, cells, mask, encoder_states, training=training)
        logits, totals = self.decoder(target_in, cells, mask, encoder_states, training=training,
                                      attention_totals=True)
        tokens = ops.sum(ops.cast(target_in != PAD_ID, "float32"))
        penalty = ops.sum(ops.square(1.0 - totals)) / ops.maximum(tokens, 1.0)
        self.add_loss(self.attention_regularization * penalty)
        return logits

    def encode(self, pixels):
        """-> (initial decoder states, Memory over the grid cells)."""
        return self.start_decoding(*self._encode_grid(pixels))
