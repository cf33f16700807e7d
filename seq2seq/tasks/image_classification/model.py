"""The image classifier: an image encoder's grid of features, attention pooling over the cells, a softmax.

Each cell's features are projected to `feature_units` (with a learned position embedding, as in the
captioner, so where a thing is can count) and a learned query weighs the cells (`AttentionPooling`):
the weights say where the classifier looked, which `plots.grid_attention_figure` draws over the image.
`call` takes uint8 pixels (B, H, W, 3), or the (B, cells, C) features a frozen encoder computed once.
"""

import keras
from keras import ops

from seq2seq.layers.pooling import AttentionPooling
from seq2seq.models.base import SequenceModel
from seq2seq.models.image_features import ReadsImages, image_encoder_setting


@keras.saving.register_keras_serializable(package="seq2seq")
class ImageClassifierModel(ReadsImages, SequenceModel):
    def __init__(self, num_classes, image_encoder, feature_units=256, attention_units=256, dropout=0.2, **kwargs):
        super().__init__(**kwargs)
        self.hyperparameters = dict(num_classes=num_classes, image_encoder=dict(image_encoder),
                                    feature_units=feature_units, attention_units=attention_units, dropout=dropout)
        self.make_image_encoder(image_encoder)
        self.feature_projection = keras.layers.Dense(feature_units, activation="relu", name="feature_projection",
                                                     dtype=self.dtype_policy)
        self.attention_pooling = AttentionPooling(attention_units, name="attention_pooling", dtype=self.dtype_policy)
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.output_projection = keras.layers.Dense(num_classes, name="output_projection", dtype=self.dtype_policy)
        self.build()

    @classmethod
    def from_settings(cls, model_config, num_classes, precision="float32"):
        """Build from the `model:` section of a run config, computing in `precision` (a Keras dtype policy)."""
        return cls(num_classes, image_encoder_setting(model_config.image_encoder), feature_units=model_config.feature_units,
                   attention_units=model_config.attention_units, dropout=model_config.dropout, dtype=precision)

    def build(self, input_shape=None):
        self.image_encoder.build((None, self.image_size, self.image_size, 3))
        units = self.hyperparameters["feature_units"]
        self.positions = self.add_weight(shape=(self.cells, units), initializer="zeros", name="positions")
        self.feature_projection.build((None, None, self.feature_channels))
        self.attention_pooling.build((None, None, units))
        self.output_projection.build((None, units))
        self.built = True

    def call(self, images, training=False):
        """pixels (B, H, W, 3) or features (B, cells, C) -> logits (B, classes) in float32."""
        return self.logits_and_weights(images, training)[0]

    def logits_and_weights(self, images, training=False):
        """-> (logits (B, classes) in float32, each grid cell's pooling weight (B, cells) in float32)."""
        features = self.image_features(images, training) if len(images.shape) == 4 else images
        cells = self.feature_projection(ops.cast(features, self.compute_dtype)) + ops.cast(self.positions,
                                                                                         self.compute_dtype)
        cells = self.dropout_layer(cells, training=training)
        pooled, weights = self.attention_pooling(cells, ops.ones(ops.shape(cells)[:2], dtype="bool"))
        logits = self.output_projection(self.dropout_layer(pooled, training=training))
        return ops.cast(logits, "float32"), ops.cast(weights, "float32")
