"""Shared fixtures: a synthetic sequence-reversal task and one tiny trained run reused by many tests."""

import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

WORDS = "a b c d e f g h i j k l m n o p".split()


@pytest.fixture(scope="session", autouse=True)
def float32_on_every_cpu():
    """`precision: auto` (the default) picks bfloat16 on CPUs with AVX512_BF16: the suite's tolerances and
    figures are float32's on every CPU, so its in-process runs see a CPU without it (test_precision
    tests the choice itself; the tiny recipes that CLI tests run pin float32)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("seq2seq.precision.native_bfloat16", lambda flags=None: False)
        yield


def tiny_model(seed=3, target_vocab_size=12):
    """An untrained TranslationModel small enough to search exhaustively; 30 source pieces."""
    import keras

    from seq2seq.tasks.translation.model import TranslationModel

    keras.utils.set_random_seed(seed)
    return TranslationModel(30, target_vocab_size, embedding_dim=16, encoder_units=16, encoder_layers=1,
                            decoder_units=24, attention_units=16, dropout=0.0)


def padded_source():
    """Four source rows for `tiny_model`, two of them padded: batches must not mix their rows up."""
    import numpy as np

    source = np.random.default_rng(0).integers(4, 30, size=(4, 7)).astype("int32")
    source[1, 3:] = 0
    source[3, 5:] = 0
    return source


def teacher_forced_scores(models, inputs, outputs, alpha=0.0):
    """Reference GNMT scores (no coverage penalty) of search outputs (B, N, L), each ending with EOS, in float64
    numpy: each step's probabilities are the mean of the models' softmax (one model: its own) from
    teacher-forced calls `model((inputs, target_in))`, not the `step` the searches use, with PAD and BOS
    removed and the rest renormalised, as every search does. -> (B, N)."""
    import numpy as np

    from seq2seq.tokens import BOS_ID, PAD_ID

    batch, n_best, length = outputs.shape
    tokens = outputs.reshape(batch * n_best, length)
    target_in = np.concatenate([np.full((len(tokens), 1), BOS_ID, "int32"), tokens[:, :-1]], axis=1)
    probabilities = []
    for model in models:
        logits = np.asarray(model((np.repeat(inputs, n_best, axis=0), target_in)), "float64")
        probabilities.append(np.exp(logits - logits.max(axis=-1, keepdims=True)))
        probabilities[-1] /= probabilities[-1].sum(axis=-1, keepdims=True)
    mean = np.mean(probabilities, axis=0)
    mean[..., [PAD_ID, BOS_ID]] = 0.0
    mean /= mean.sum(axis=-1, keepdims=True)
    chosen = np.take_along_axis(mean, tokens[..., None], axis=-1)[..., 0]
    real = tokens != PAD_ID  # up to and with EOS
    log_probability = np.log(np.where(real, chosen, 1.0)).sum(axis=1)
    return (log_probability / ((5 + real.sum(axis=1)) / 6) ** alpha).reshape(batch, n_best)


def write_reversal_task(directory, sizes=(("train", 3000), ("dev", 100), ("test", 100)), seed=0):
    """TSV files whose targets are the sources reversed word by word: learnable only with attention."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for split, count in sizes:
        with open(directory / f"{split}.tsv", "w", encoding="utf-8") as handle:
            for _ in range(count):
                words = [rng.choice(WORDS) for _ in range(rng.randint(3, 8))]
                handle.write(" ".join(words) + "\t" + " ".join(reversed(words)) + "\n")
    return directory


def reversal_config_text(data_dir, epochs=6, extra=""):
    return f"""
seed: 7
data: {{corpus: files, format: tsv, train: {data_dir}/train.tsv, dev: {data_dir}/dev.tsv, test: {data_dir}/test.tsv}}
tokenizer: {{vocab_size: 40}}
model: {{embedding_dim: 32, encoder_units: 32, encoder_layers: 1, decoder_units: 64, attention_units: 32, dropout: 0.0}}
train: {{batch_size: 32, epochs: {epochs}, learning_rate: 0.005, warmup_steps: 20, early_stopping: {{patience: 10}}}}
{extra}
"""


@pytest.fixture(scope="session")
def reversal_data(tmp_path_factory):
    return write_reversal_task(tmp_path_factory.mktemp("reversal"))


@pytest.fixture(scope="session")
def tiny_reversal_data(tmp_path_factory):
    """64 training pairs, 8 dev and 8 test: for runs that check what training does, not what it learns,
    whose cost is then mostly the tracing of the train and dev steps."""
    return write_reversal_task(tmp_path_factory.mktemp("tiny_reversal"), sizes=(("train", 64), ("dev", 8), ("test", 8)))


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, reversal_data):
    """A run directory trained through the CLI on the reversal task (shared: training is the slow part)."""
    from seq2seq.cli import main

    root = tmp_path_factory.mktemp("trained")
    config = root / "reverse.yaml"
    config.write_text(reversal_config_text(reversal_data))
    assert main(["train", str(config), "--run-dir", str(root / "run")]) == 0
    return root / "run"


def shapes_config_text(cache_dir, epochs=9, extra=""):
    """A captioner small enough to train in about a minute on the built-in shapes, 32 px images."""
    return f"""
task: captioning
seed: 3
data: {{corpus: shapes, synthetic_images: 1000, max_target_length: 40, cache_dir: {cache_dir}}}
tokenizer: {{type: bpe, vocab_size: 100}}
model:
  image_encoder: {{kind: small_cnn, image_size: 32, filters: [16, 32]}}
  embedding_dim: 32
  feature_units: 64
  decoder_units: 96
  attention_units: 48
  dropout: 0.0
  context_gate: true
  attention_regularization: 0.02
train: {{batch_size: 32, epochs: {epochs}, learning_rate: 0.003, warmup_steps: 30, early_stopping: {{patience: 10}}}}
{extra}
"""


@pytest.fixture(scope="session")
def quick_captioner(tmp_path_factory):
    """A captioning run after one short epoch: for tests of what serves or reads a captioner, not of what it
    learns (`trained_captioner` trains for minutes)."""
    from seq2seq.cli import main

    root = tmp_path_factory.mktemp("quick_captioner")
    config = root / "shapes.yaml"
    config.write_text(shapes_config_text(root / "cache", epochs=1).replace("synthetic_images: 1000",
                                                                           "synthetic_images: 160"))
    assert main(["train", str(config), "--run-dir", str(root / "run")]) == 0
    return root / "run"


@pytest.fixture(scope="session")
def trained_captioner(tmp_path_factory):
    """A captioning run trained through the CLI on the synthetic shapes (shared: training is slow)."""
    from seq2seq.cli import main

    root = tmp_path_factory.mktemp("captioner")
    config = root / "shapes.yaml"
    config.write_text(shapes_config_text(root / "cache"))
    assert main(["train", str(config), "--run-dir", str(root / "run")]) == 0
    return root / "run"
