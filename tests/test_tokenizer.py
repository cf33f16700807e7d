"""SentencePiece wrapper: special ids, round trips, file layout, determinism, errors."""

import random

import numpy as np
import pytest

from seq2seq.errors import ConfigError, Seq2SeqError
from seq2seq.data.tokenizer import Tokenizer, load_tokenizers, train_tokenizers
from seq2seq.tokens import BOS_ID, EOS_ID, PAD_ID, UNK_ID

SUBJECTS = ["el niño", "la niña", "mi hermano", "nuestra abuela", "el señor Gil", "los perros"]
VERBS = ["come", "bebe", "lee", "escribe", "compra", "busca", "mira"]
OBJECTS = ["una manzana", "el periódico", "agua fría", "un libro", "la canción", "pan caliente"]
PLACES = ["en la cocina", "por la mañana", "en el jardín", "con cuidado", "después de la cena"]
NOUNS = ["the child", "the girl", "my brother", "our grandmother", "mister Garcia", "the dogs"]
ENGLISH_VERBS = ["sees", "likes", "follows", "calls", "helps", "waits for", "laughs with"]


def spanish_like(count, seed=0):
    """Synthetic sentences: a generator, like a corpus reader would give."""
    rng = random.Random(seed)
    for _ in range(count):
        words = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS)]
        if rng.random() < 0.5:
            words.append(rng.choice(PLACES))
        yield " ".join(words) + rng.choice([".", "?", "!"])


def english_like(count, seed=1):
    rng = random.Random(seed)
    for _ in range(count):
        yield f"{rng.choice(NOUNS)} {rng.choice(ENGLISH_VERBS)} {rng.choice(NOUNS)}."


def all_pieces(tokenizer):
    return tokenizer.id_to_piece(range(tokenizer.vocab_size))


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("spm") / "es"
    return Tokenizer.train(spanish_like(300), prefix, vocab_size=60)


def test_special_ids_are_fixed(tokenizer):
    specials = tokenizer.id_to_piece([PAD_ID, UNK_ID, BOS_ID, EOS_ID])
    assert specials == ["<pad>", "<unk>", "<s>", "</s>"]


def test_training_writes_model_and_vocab(tokenizer):
    assert tokenizer.model_file.name == "es.model"
    assert tokenizer.model_file.is_file()
    assert tokenizer.model_file.with_suffix(".vocab").is_file()
    assert tokenizer.vocab_size == 60


def test_encode_decode_round_trip_without_special_ids(tokenizer):
    texts = list(spanish_like(20, seed=7))
    ids = tokenizer.encode(texts)
    assert len(ids) == len(texts)
    assert all(ids_ and min(ids_) > EOS_ID for ids_ in ids)
    assert tokenizer.decode(ids) == texts


def test_unknown_characters_map_to_unk(tokenizer):
    assert UNK_ID in tokenizer.encode(["el niño come 寿司"])[0]


def test_decode_cuts_at_eos_and_drops_pad_and_bos(tokenizer):
    sentence = "la niña come pan caliente."
    [first, second] = tokenizer.encode([sentence, "mi hermano lee un libro."])
    padded = [BOS_ID, *first, EOS_ID, *second, EOS_ID, PAD_ID, PAD_ID]
    assert tokenizer.decode([padded]) == [sentence]
    assert tokenizer.decode([[PAD_ID, *first[:2], BOS_ID, *first[2:]]]) == [sentence]
    assert tokenizer.decode([[EOS_ID, *first]]) == [""]


def test_decode_accepts_numpy_batches(tokenizer):
    texts = ["el niño come una manzana.", "los perros beben agua fría."]
    ids = tokenizer.encode(texts)
    width = max(map(len, ids)) + 1
    batch = np.full((2, width + 2), PAD_ID, dtype=np.int32)
    for row, ids_ in enumerate(ids):
        batch[row, : len(ids_) + 1] = [*ids_, EOS_ID]
    assert tokenizer.decode(batch) == texts


def test_pieces_match_ids(tokenizer):
    text = "nuestra abuela escribe la canción en el jardín."
    pieces = tokenizer.pieces(text)
    assert "".join(pieces).replace("▁", " ").strip() == text
    assert tokenizer.id_to_piece(np.array(tokenizer.encode([text])[0])) == pieces


def test_unigram_and_bpe_both_train_and_differ(tmp_path):
    unigram = Tokenizer.train(spanish_like(300), tmp_path / "uni", 60, model_type="unigram")
    bpe = Tokenizer.train(spanish_like(300), tmp_path / "bpe", 60, model_type="bpe")
    texts = list(spanish_like(10, seed=3))
    for trained in (unigram, bpe):
        assert trained.decode(trained.encode(texts)) == texts
    assert all_pieces(unigram) != all_pieces(bpe)


def test_unknown_model_type_names_the_allowed_ones(tmp_path):
    with pytest.raises(ConfigError, match="unigram.*bpe"):
        Tokenizer.train(spanish_like(10), tmp_path / "x", 50, model_type="word")


def test_vocab_larger_than_data_supports_still_trains(tmp_path):
    for model_type in ("unigram", "bpe"):
        prefix = tmp_path / model_type
        small = Tokenizer.train(spanish_like(30), prefix, 5000, model_type=model_type)
        assert 4 < small.vocab_size < 5000
        sentence = ["el niño come pan caliente."]
        assert small.decode(small.encode(sentence)) == sentence


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_training_is_deterministic(tmp_path, model_type):
    """Same corpus, same vocabulary; the file also records its own path, so bytes match per path."""

    def train(prefix):
        trained = Tokenizer.train(spanish_like(300), prefix, 60, model_type=model_type)
        return trained.model_file.read_bytes(), all_pieces(trained)

    first_bytes, first_vocab = train(tmp_path / "a" / "m")
    again_bytes, again_vocab = train(tmp_path / "a" / "m")
    _, elsewhere_vocab = train(tmp_path / "b" / "m")
    assert first_bytes == again_bytes
    assert first_vocab == again_vocab == elsewhere_vocab


def test_separate_tokenizers_per_side(tmp_path):
    source, target = train_tokenizers(
        spanish_like(300), english_like(300), tmp_path, vocab_size=(60, 40)
    )
    assert (source.model_file.name, target.model_file.name) == ("source.model", "target.model")
    assert (source.vocab_size, target.vocab_size) == (60, 40)
    loaded_source, loaded_target = load_tokenizers(tmp_path)
    text = ["the dogs sees the girl."]
    assert loaded_target.encode(text) == target.encode(text)
    assert loaded_source.model_file == source.model_file


def test_joint_tokenizer_is_shared(tmp_path):
    source, target = train_tokenizers(
        spanish_like(300), english_like(300), tmp_path, vocab_size=150, joint=True
    )
    assert source is target
    assert source.model_file == tmp_path / "joint.model"
    assert not (tmp_path / "source.model").exists()
    both = ["el niño come pan.", "the child sees the dogs."]
    assert source.decode(source.encode(both)) == both
    loaded_source, loaded_target = load_tokenizers(tmp_path)
    assert loaded_source is loaded_target
    assert loaded_source.encode(both) == source.encode(both)


def test_load_tokenizers_without_models_is_a_clear_error(tmp_path):
    with pytest.raises(Seq2SeqError, match="joint.model or source.model and target.model"):
        load_tokenizers(tmp_path)


def test_load_tokenizers_refuses_ambiguous_directory(tmp_path):
    train_tokenizers(spanish_like(100), english_like(100), tmp_path, 60)
    train_tokenizers(spanish_like(100), english_like(100), tmp_path, 60, joint=True)
    with pytest.raises(Seq2SeqError, match="both"):
        load_tokenizers(tmp_path)


def test_load_missing_model_names_the_file(tmp_path):
    missing = tmp_path / "missing.model"
    with pytest.raises(Seq2SeqError, match="missing.model"):
        Tokenizer.load(missing)


def test_load_corrupt_model_names_the_file(tmp_path):
    corrupt = tmp_path / "corrupt.model"
    corrupt.write_bytes(random.Random(0).randbytes(512))
    with pytest.raises(Seq2SeqError, match="corrupt.model"):
        Tokenizer.load(corrupt)
