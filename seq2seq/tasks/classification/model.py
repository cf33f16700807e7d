"""Sequence classification (many-to-one): a recurrent text encoder pooled into one vector, then a softmax."""

import keras
from keras import ops

from seq2seq.layers.encoders import RNNEncoder
from seq2seq.layers.pooling import AttentionPooling
from seq2seq.layers.cells import cell_setting
from seq2seq.models.base import SequenceModel

POOLINGS = ("attention", "last", "mean")
CLASSIFIER_SETTINGS = ("cell", "embedding_dim", "encoder_units", "encoder_layers", "bidirectional", "dropout",
                       "pooling", "attention_units")


@keras.saving.register_keras_serializable(package="seq2seq")
class SequenceClassifier(SequenceModel):
    """Token ids (B, S) in, class logits (B, C) out, in float32 whatever the precision.

    `pooling` turns the encoder's outputs into one vector per text: `attention` (a learned query
    weighs the pieces, `AttentionPooling`), `last` (the top layer's final state; bidirectional, the
    forward direction's at the last real piece and the backward one's at the first) or `mean` (over
    the real pieces). Every one ignores padding, so a text gets the same logits in any batch.
    """

    def __init__(self, vocab_size, num_classes, cell="gru", embedding_dim=256, encoder_units=256, encoder_layers=2,
                 bidirectional=True, dropout=0.2, pooling="attention", attention_units=512, **kwargs):
        super().__init__(**kwargs)
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; use one of {', '.join(POOLINGS)}")
        self.hyperparameters = dict(
            vocab_size=vocab_size, num_classes=num_classes, cell=cell, embedding_dim=embedding_dim,
            encoder_units=encoder_units, encoder_layers=encoder_layers, bidirectional=bidirectional,
            dropout=dropout, pooling=pooling, attention_units=attention_units,
        )
        self.pooling = pooling
        self.encoder = RNNEncoder(vocab_size, embedding_dim, encoder_units, encoder_layers, cell, bidirectional,
                                  dropout, name="encoder", dtype=self.dtype_policy)
        self.attention_pooling = (AttentionPooling(attention_units, name="attention_pooling", dtype=self.dtype_policy)
                                  if pooling == "attention" else None)
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.output_projection = keras.layers.Dense(num_classes, name="output_projection", dtype=self.dtype_policy)
        self.build()

    @classmethod
    def from_settings(cls, model_config, vocab_size, num_classes, precision="float32"):
        """Build from the `model:` section of a run config, computing in `precision` (a Keras dtype policy)."""
        settings = {key: getattr(model_config, key) for key in CLASSIFIER_SETTINGS}
        settings["cell"] = cell_setting(model_config)
        return cls(vocab_size, num_classes, dtype=precision, **settings)

    def build(self, input_shape=None):
        """All sizes come from the constructor, so weights exist before the first batch."""
        self.encoder.build((None, None))
        if self.attention_pooling is not None:
            self.attention_pooling.build((None, None, self.encoder.output_dim))
        self.output_projection.build((None, self.encoder.output_dim))
        self.built = True

    def call(self, ids, training=False):
        """ids (B, S) -> logits (B, C) in float32."""
        logits, _ = self.logits_and_weights(ids, training)
        return logits

    def logits_and_weights(self, ids, training=False):
        """-> (logits (B, C) in float32, how much each piece counted (B, S) in float32, or None for `last`)."""
        pooled, weights = self._pool(ids, training)
        logits = self.output_projection(self.dropout_layer(pooled, training=training))
        return ops.cast(logits, "float32"), weights

    def _pool(self, ids, training):
        outputs, mask, final_states = self.encoder(ids, training=training)
        if self.pooling == "attention":
            return self.attention_pooling(outputs, mask)
        if self.pooling == "last":
            return final_states[-1][0], None  # h; an LSTM's c is its memory cell, not its output
        real = ops.cast(mask, "float32")
        weights = real / ops.sum(real, axis=1, keepdims=True)
        return ops.einsum("bs,bsd->bd", ops.cast(weights, outputs.dtype), outputs), weights
