"""The translation model: a recurrent encoder and an attention decoder in one `keras.Model`.

`call` is the teacher-forced pass used for training. `encode` and `step` are what search runs:
any model exposing those two methods can be decoded by `seq2seq.search`.
"""

import keras
import tensorflow as tf
from keras import ops

from seq2seq.layers.decoders import AttentionDecoder
from seq2seq.layers.encoders import RNNEncoder


@keras.saving.register_keras_serializable(package="seq2seq")
class TranslationModel(keras.Model):
    def __init__(self, source_vocab_size, target_vocab_size, cell="gru", embedding_dim=256,
                 encoder_units=256, encoder_layers=2, bidirectional=True, decoder_units=512,
                 decoder_layers=1, attention="bahdanau", attention_units=512, dropout=0.2,
                 tie_embeddings=False, **kwargs):
        super().__init__(**kwargs)
        self.hyperparameters = dict(
            source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size, cell=cell,
            embedding_dim=embedding_dim, encoder_units=encoder_units, encoder_layers=encoder_layers,
            bidirectional=bidirectional, decoder_units=decoder_units, decoder_layers=decoder_layers,
            attention=attention, attention_units=attention_units, dropout=dropout,
            tie_embeddings=tie_embeddings,
        )
        self.encoder = RNNEncoder(source_vocab_size, embedding_dim, encoder_units, encoder_layers, cell,
                                  bidirectional, dropout, name="encoder", dtype=self.dtype_policy)
        self.decoder = AttentionDecoder(
            target_vocab_size, embedding_dim, decoder_units, memory_dim=self.encoder.output_dim,
            encoder_layers=encoder_layers, num_layers=decoder_layers, cell=cell, attention=attention,
            attention_units=attention_units, dropout=dropout, tie_embeddings=tie_embeddings,
            name="decoder", dtype=self.dtype_policy,
        )
        self.build()

    @classmethod
    def from_settings(cls, model_config, source_vocab_size, target_vocab_size, precision="float32"):
        """Build from the `model:` section of a run config, computing in `precision` (a Keras dtype policy)."""
        settings = {key: getattr(model_config, key) for key in (
            "cell", "embedding_dim", "encoder_units", "encoder_layers", "bidirectional", "decoder_units",
            "decoder_layers", "attention", "attention_units", "dropout", "tie_embeddings")}
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
