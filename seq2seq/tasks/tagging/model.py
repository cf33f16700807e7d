"""Sequence tagging (equal many-to-many): a recurrent text encoder, then a softmax over labels at every piece."""

import keras
from keras import ops

from seq2seq.keras_internals import without_keras_mask
from seq2seq.layers.encoders import RNNEncoder
from seq2seq.layers.cells import cell_setting
from seq2seq.models.base import SequenceModel

TAGGER_SETTINGS = ("cell", "embedding_dim", "encoder_units", "encoder_layers", "bidirectional", "dropout")


@keras.saving.register_keras_serializable(package="seq2seq")
class TaggingModel(SequenceModel):
    """Piece ids (B, S) in, label logits (B, S, L) out, in float32 whatever the precision.

    The encoder masks padding inside its recurrences and the output layer reads each position alone,
    so a sentence gets the same logits in any batch, however much padding that batch needs.
    """

    def __init__(self, vocab_size, num_labels, cell="gru", embedding_dim=256, encoder_units=256, encoder_layers=2,
                 bidirectional=True, dropout=0.2, **kwargs):
        super().__init__(**kwargs)
        self.hyperparameters = dict(
            vocab_size=vocab_size, num_labels=num_labels, cell=cell, embedding_dim=embedding_dim,
            encoder_units=encoder_units, encoder_layers=encoder_layers, bidirectional=bidirectional, dropout=dropout,
        )
        self.encoder = RNNEncoder(vocab_size, embedding_dim, encoder_units, encoder_layers, cell, bidirectional,
                                  dropout, name="encoder", dtype=self.dtype_policy)
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.output_projection = keras.layers.Dense(num_labels, name="output_projection", dtype=self.dtype_policy)
        self.build()

    @classmethod
    def from_settings(cls, model_config, vocab_size, num_labels, precision="float32"):
        """Build from the `model:` section of a run config, computing in `precision` (a Keras dtype policy)."""
        settings = {key: getattr(model_config, key) for key in TAGGER_SETTINGS}
        settings["cell"] = cell_setting(model_config)
        return cls(vocab_size, num_labels, dtype=precision, **settings)

    def build(self, input_shape=None):
        """All sizes come from the constructor, so weights exist before the first batch."""
        self.encoder.build((None, None))
        self.output_projection.build((None, None, self.encoder.output_dim))
        self.built = True

    def call(self, ids, training=False):
        """ids (B, S) -> logits (B, S, num_labels) in float32."""
        outputs, _, _ = self.encoder(ids, training=training)
        logits = self.output_projection(self.dropout_layer(outputs, training=training))
        return ops.cast(without_keras_mask(logits), "float32")  # the loss skips unlabelled positions itself
