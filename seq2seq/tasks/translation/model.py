"""Translation: a recurrent text encoder and the attention decoder (unequal many-to-many)."""

import keras

from seq2seq.layers.decoders import AttentionDecoder
from seq2seq.layers.encoders import RNNEncoder
from seq2seq.layers.cells import cell_setting
from seq2seq.layers.word_dropout import WordDropout
from seq2seq.models.base import DECODER_SETTINGS, DecodableModel


@keras.saving.register_keras_serializable(package="seq2seq")
class TranslationModel(DecodableModel):
    """Source ids (B, S) in, target logits out; the encoder's outputs are the decoder's memory."""

    def __init__(self, source_vocab_size, target_vocab_size, cell="gru", embedding_dim=256,
                 encoder_units=256, encoder_layers=2, bidirectional=True, decoder_units=512,
                 decoder_layers=1, attention="bahdanau", attention_units=512, dropout=0.2,
                 tie_embeddings=False, context_gate=False, source_word_dropout=0.0, target_word_dropout=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.hyperparameters = dict(
            source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size, cell=cell,
            embedding_dim=embedding_dim, encoder_units=encoder_units, encoder_layers=encoder_layers,
            bidirectional=bidirectional, decoder_units=decoder_units, decoder_layers=decoder_layers,
            attention=attention, attention_units=attention_units, dropout=dropout,
            tie_embeddings=tie_embeddings, context_gate=context_gate,
            source_word_dropout=source_word_dropout, target_word_dropout=target_word_dropout,
        )
        self.source_word_dropout = WordDropout(source_word_dropout, name="source_word_dropout")
        self.target_word_dropout = WordDropout(target_word_dropout, name="target_word_dropout")
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
                    for key in ("encoder_units", "encoder_layers", "bidirectional", "source_word_dropout",
                                "target_word_dropout", *DECODER_SETTINGS)}
        settings["cell"] = cell_setting(model_config)
        return cls(source_vocab_size, target_vocab_size, dtype=precision, **settings)

    def build(self, input_shape=None):
        """All sizes come from the constructor, so weights exist before the first batch."""
        self.encoder.build((None, None))
        self.decoder.build((None, None))
        self.built = True

    def call(self, inputs, training=False):
        """(source_ids (B, S), target_in (B, T)) -> logits (B, T, V). Word dropout, when training,
        hides source words and the decoder's previous words (never the ones it must predict)."""
        source_ids, target_in = inputs
        source_ids = self.source_word_dropout(source_ids, training=training)
        target_in = self.target_word_dropout(target_in, training=training)
        encoded, mask, encoder_states = self.encoder(source_ids, training=training)
        return self.decoder(target_in, encoded, mask, encoder_states, training=training)

    def encode(self, source_ids):
        """-> (initial decoder states, Memory over the source pieces)."""
        return self.start_decoding(*self.encoder(source_ids))
