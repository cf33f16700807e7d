"""SentencePiece subword tokenizers with the fixed special ids the models rely on."""

import itertools
import logging
from pathlib import Path

import sentencepiece as spm

from seq2seq.durable_files import make_durable
from seq2seq.errors import ConfigError, Seq2SeqError
from seq2seq.tokens import BOS_ID, EOS_ID, PAD_ID, UNK_ID

MODEL_TYPES = ("unigram", "bpe", "char")  # char: one piece per character (SentencePiece's own)
# SentencePiece only draws random numbers when it samples or shuffles sentences;
# fixing the seed keeps those paths reproducible too.
TRAINING_SEED = 1234
# Not the machine's core count: the workers of a multi-worker run each train the tokenizers and
# must get identical ones, and the thread count changes how SentencePiece sums its statistics.
# 2 is what the published figures (BENCHMARKS.md, made on 2 cores) were trained with.
TRAINING_THREADS = 2
JOINT_NAME, SOURCE_NAME, TARGET_NAME = "joint", "source", "target"

logger = logging.getLogger(__name__)


class Tokenizer:
    """A loaded SentencePiece model that turns sentences into id lists and back."""

    def __init__(self, model_file, processor):
        self.model_file = Path(model_file)
        self._processor = processor

    @classmethod
    def train(
        cls, texts, model_prefix, vocab_size, model_type="unigram", character_coverage=1.0, user_symbols=()
    ) -> "Tokenizer":
        """Train on an iterable of sentences and write `{model_prefix}.model` and `.vocab`.

        `vocab_size` is an upper bound: small corpora get a smaller vocabulary
        instead of an error, so toy experiments work with default settings. `user_symbols` are
        always one piece each, wherever they occur (the placeholder masks of seq2seq.data.placeholders).
        """
        if model_type not in MODEL_TYPES:
            raise ConfigError(
                f"unknown tokenizer model_type {model_type!r}; allowed: {', '.join(MODEL_TYPES)}"
            )
        Path(model_prefix).parent.mkdir(parents=True, exist_ok=True)
        spm.set_random_generator_seed(TRAINING_SEED)
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(texts),
                model_prefix=str(model_prefix),
                vocab_size=vocab_size,
                model_type=model_type,
                character_coverage=character_coverage,
                hard_vocab_limit=False,
                pad_id=PAD_ID,
                unk_id=UNK_ID,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                user_defined_symbols=list(user_symbols),
                num_threads=TRAINING_THREADS,
                minloglevel=2,
            )
        except RuntimeError as error:
            raise Seq2SeqError(f"could not train tokenizer {model_prefix}: {error}") from error
        make_durable(f"{model_prefix}.model", f"{model_prefix}.vocab")
        tokenizer = cls.load(f"{model_prefix}.model")
        logger.info(
            "trained %s tokenizer %s: %d pieces (asked for %d)",
            model_type, tokenizer.model_file, tokenizer.vocab_size, vocab_size,
        )
        return tokenizer

    @classmethod
    def load(cls, model_file) -> "Tokenizer":
        """Load a trained model; refuse models whose special ids differ from ours."""
        processor = spm.SentencePieceProcessor()
        try:
            processor.load(str(model_file))
        except RuntimeError as error:
            raise Seq2SeqError(f"cannot load tokenizer model {model_file}: {error}") from error
        special_ids = (
            processor.pad_id(), processor.unk_id(), processor.bos_id(), processor.eos_id()
        )
        if special_ids != (PAD_ID, UNK_ID, BOS_ID, EOS_ID):
            raise Seq2SeqError(
                f"tokenizer model {model_file} has pad/unk/bos/eos ids {special_ids}, "
                f"expected {(PAD_ID, UNK_ID, BOS_ID, EOS_ID)}"
            )
        return cls(model_file, processor)

    @property
    def vocab_size(self) -> int:
        return self._processor.get_piece_size()

    def encode(self, texts) -> list[list[int]]:
        """Id lists without BOS/EOS: the data pipeline decides where those go."""
        return self._processor.encode(list(texts), out_type=int)

    def nbest(self, texts, size) -> list[list[list[int]]]:
        """The `size` most probable segmentations of each text (fewer where it has fewer), best first.

        Only unigram models rank segmentations; for BPE and char SentencePiece returns the one it has.
        """
        return self._processor.nbest_encode(list(texts), out_type=int, nbest_size=size)

    def piece_log_probs(self):
        """Each piece's unigram log-probability, indexed by id: a segmentation's is their sum."""
        return [self._processor.get_score(piece) for piece in range(self.vocab_size)]

    def decode(self, id_lists) -> list[str]:
        """Text for model outputs: stop at the first EOS, ignore PAD and BOS."""
        return [self._processor.decode(_content_ids(ids)) for ids in id_lists]

    def pieces(self, text) -> list[str]:
        """The subword pieces of one sentence, e.g. for labelling attention plots."""
        return self._processor.encode(text, out_type=str)

    def id_to_piece(self, ids) -> list[str]:
        return [self._processor.id_to_piece(int(token_id)) for token_id in ids]

    def piece_to_id(self, piece) -> int:
        """The id of one piece; UNK's id for a piece the vocabulary lacks."""
        return self._processor.piece_to_id(piece)


def _content_ids(ids) -> list[int]:
    """Ids before the first EOS, minus PAD and BOS (works on lists and numpy rows)."""
    content = itertools.takewhile(lambda token_id: token_id != EOS_ID, map(int, ids))
    return [token_id for token_id in content if token_id not in (PAD_ID, BOS_ID)]


def train_tokenizers(
    source_texts,
    target_texts,
    out_dir,
    vocab_size,
    model_type="unigram",
    joint=False,
    character_coverage=1.0,
    user_symbols=(),
) -> tuple[Tokenizer, Tokenizer]:
    """Train source/target tokenizers in `out_dir`, or one shared model if `joint`.

    `vocab_size` is one int for both sides or a (source, target) pair; a joint
    model uses the source size.
    """
    source_size, target_size = (
        (vocab_size, vocab_size) if isinstance(vocab_size, int) else tuple(vocab_size)
    )
    out_dir = Path(out_dir)
    options = {"model_type": model_type, "character_coverage": character_coverage, "user_symbols": user_symbols}
    if joint:
        both_sides = itertools.chain(source_texts, target_texts)
        shared = Tokenizer.train(both_sides, out_dir / JOINT_NAME, source_size, **options)
        return shared, shared
    source = Tokenizer.train(source_texts, out_dir / SOURCE_NAME, source_size, **options)
    target = Tokenizer.train(target_texts, out_dir / TARGET_NAME, target_size, **options)
    return source, target


def load_tokenizers(directory) -> tuple[Tokenizer, Tokenizer]:
    """Load what `train_tokenizers` wrote: joint.model, or source.model and target.model."""
    directory = Path(directory)
    joint_file = directory / f"{JOINT_NAME}.model"
    pair_files = (directory / f"{SOURCE_NAME}.model", directory / f"{TARGET_NAME}.model")
    has_pair = all(path.is_file() for path in pair_files)
    if joint_file.is_file() and has_pair:
        raise Seq2SeqError(
            f"{directory} holds both joint.model and source.model/target.model; "
            "remove the stale ones"
        )
    if joint_file.is_file():
        shared = Tokenizer.load(joint_file)
        return shared, shared
    if has_pair:
        return Tokenizer.load(pair_files[0]), Tokenizer.load(pair_files[1])
    raise Seq2SeqError(
        f"no tokenizer models in {directory}: expected joint.model or source.model and target.model"
    )
