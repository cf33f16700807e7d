"""Ensemble decoding: several models search as one by averaging their next-token probabilities.

Models trained from different seeds or runs make partly different mistakes, so the average of
their distributions usually translates better than any one of them. Averaging needs every member
to read the same source ids and mean the same target pieces by the same ids: identical tokenizers.
"""

import math
from pathlib import Path

from keras import ops
from sentencepiece import sentencepiece_model_pb2

from seq2seq.errors import Seq2SeqError

# Trainer settings that say where and on how many cores a tokenizer was trained, not how it
# tokenizes: two runs of one config train tokenizers that differ only in these.
TRAINING_PLACE_FIELDS = ("model_prefix", "num_threads")


class EnsembleModel:
    """Members that decode in lockstep behind the `encode`/`step` interface `seq2seq.search` expects.

    States and memory are tuples with one entry per member, so the search tiles and reorders beams
    of every member at once with `keras.tree.map_structure`, as it does for a single model.
    """

    def __init__(self, members):
        self.members = list(members)
        if not self.members:
            raise Seq2SeqError("an ensemble needs at least one model")
        for side in ("source", "target"):
            _check_shared_vocabulary(self.members, side)

    def encode(self, source_ids):
        """-> (states, memory), each a tuple with one member's entry per member."""
        encoded = [member.encode(source_ids) for member in self.members]
        return tuple(states for states, _ in encoded), tuple(memory for _, memory in encoded)

    def output_weights(self, vocabulary):
        """Each member's output weights for the pieces `vocabulary` (a shortlist), a tuple like states."""
        return tuple(member.output_weights(vocabulary) for member in self.members)

    def step(self, token_ids, states, memory, output_weights=None):
        """-> log of the mean member probabilities (B, V) in float32, new states, mean attention (B, S)."""
        output_weights = output_weights or (None,) * len(self.members)
        outputs = [member.step(token_ids, member_states, member_memory, member_output)
                   for member, member_states, member_memory, member_output
                   in zip(self.members, states, memory, output_weights)]
        log_probs = ops.stack([ops.log_softmax(ops.cast(logits, "float32"), axis=-1) for logits, _, _ in outputs])
        mean_log_probs = ops.logsumexp(log_probs, axis=0) - math.log(len(self.members))
        attention = ops.mean(ops.stack([ops.cast(weights, "float32") for _, _, weights in outputs]), axis=0)
        return mean_log_probs, tuple(new_states for _, new_states, _ in outputs), attention


def _check_shared_vocabulary(members, side):
    """Ids past a member's vocabulary would index out of range deep inside TensorFlow."""
    sizes = [member.get_config()[f"{side}_vocab_size"] for member in members]
    if len(set(sizes)) > 1:
        raise Seq2SeqError(f"ensemble members have {side} vocabularies of {', '.join(map(str, sizes))} "
                           f"pieces: they must share one {side} tokenizer")


def check_same_tokenizers(runs):
    """Refuse an ensemble whose runs tokenize differently.

    `runs` holds (run_dir, source_tokenizer, target_tokenizer) per member. Equal vocabulary sizes
    are not enough: two tokenizers of one size map most ids to different pieces. The model files
    are compared whole except for `TRAINING_PLACE_FIELDS`, so runs that trained their tokenizers
    from the same data and settings in different directories still qualify.
    """
    (first_run, *first_tokenizers), *others = runs
    for run, *tokenizers in others:
        for side, tokenizer, reference in zip(("source", "target"), tokenizers, first_tokenizers):
            if _tokenization(tokenizer) != _tokenization(reference):
                raise Seq2SeqError(
                    f"{run} and {first_run} have different {side} tokenizers ({tokenizer.model_file} does not "
                    f"tokenize like {reference.model_file}); ensembled models need the same tokenizers")


def _tokenization(tokenizer) -> bytes:
    """The serialized model proto without the fields that do not affect tokenization."""
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(Path(tokenizer.model_file).read_bytes())
    for name in TRAINING_PLACE_FIELDS:
        proto.trainer_spec.ClearField(name)
    return proto.SerializeToString(deterministic=True)
