"""Run configuration: typed dataclasses loaded from YAML.

Every key is checked against the dataclasses, so a typo such as `enocder_units` fails at load time
with the closest valid key instead of being silently ignored for an hour of training.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import importlib.util
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Literal, Optional

import yaml

from seq2seq.errors import ConfigError, shown
from seq2seq.paths import checked_path

SCIENTIFIC = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
CellType = Literal["gru", "lstm", "simple_rnn", "mtrnn", "layer_norm_gru", "layer_norm_lstm"]
# Written into every run's config.yaml; a saved config without it was written by seq2seq 0.1.0.
CONFIG_VERSION = 2
AttentionType = Literal["bahdanau", "luong-dot", "luong-general", "luong-concat"]


@dataclass
class DataConfig:
    """Which corpus to read, in which direction, and how to treat bad rows (and bad images).

    `corpus` is one of the task's corpora (default: the task's first; `seq2seq.tasks` lists them).
    Translation reads `bible-es-en`, `software-es-en` (Debian's message catalogs) or `files`
    (`train`/`dev`/`test` in `format`), or a mixture: `corpora` lists several (see `CorpusConfig`), and
    `corpus` is then `mixed`; the other keys (languages, lengths, bad rows, cache) apply to each. Captioning reads
    `shapes` (built in, `synthetic_images` of them), `tuxpaint` (captions in `target_lang`, en or es),
    `flickr8k` or `coco`: those two need `captions` (Flickr8k captions.txt or Flickr8k.token.txt; COCO
    captions_*.json files), `images` (their directory) and `splits` (a Karpathy dataset_*.json, or for
    Flickr8k the directory of Flickr_8k.*Images.txt). For captioning, `max_train_pairs` limits the
    training images (each keeps all its captions) and `max_target_length` the caption pieces; for
    translation, `max_train_pairs` keeps a sample of each corpus's training pairs drawn by the seed.
    """

    corpus: Optional[str] = None
    format: Literal["aligned", "tsv", "tatoeba"] = "aligned"
    train: Optional[str] = None
    dev: Optional[str] = None
    test: Optional[str] = None
    source_lang: str = "es"
    target_lang: str = "en"
    columns: list = field(default_factory=lambda: [0, 1])
    extra_references: list = field(default_factory=list)
    on_bad_row: Literal["error", "skip"] = "error"
    max_source_length: int = 100
    max_target_length: int = 100
    max_train_pairs: Optional[int] = None
    cache_dir: Optional[str] = None
    corpora: list = field(default_factory=list)
    captions: list = field(default_factory=list)
    images: Optional[str] = None
    splits: Optional[str] = None
    synthetic_images: int = 3000


MIXED_CORPUS = "mixed"  # data.corpus of a run whose data.corpora lists several
MAX_CORPUS_WEIGHT = 100.0  # reads a corpus 100 times an epoch; more is surely a typo (and memory)
_PER_CORPUS_KEYS = ("format", "train", "dev", "test", "columns", "extra_references")


@dataclass
class CorpusConfig:
    """One corpus of a translation mixture (an entry of `data.corpora`): a built-in `corpus`, or `files`
    with their own `train`/`dev`/`test`, `format`, `columns` and `extra_references`. `name` (default:
    the corpus) names its dev scores (`dev_bleu_NAME`) and evaluation files. `weight` is how many times
    an epoch reads its training pairs on average: 2 reads each twice, 0.5 a half of them, drawn once
    with the run's seed (so a resumed run reads the same pairs)."""

    corpus: str = ""
    name: Optional[str] = None
    weight: float = 1.0
    format: Literal["aligned", "tsv", "tatoeba"] = "aligned"
    train: Optional[str] = None
    dev: Optional[str] = None
    test: Optional[str] = None
    columns: list = field(default_factory=lambda: [0, 1])
    extra_references: list = field(default_factory=list)


@dataclass(frozen=True)
class CorpusPart:
    """A corpus as a run reads it: its name, its weight, and the `data:` settings that read it alone."""

    name: str
    weight: float
    data: "DataConfig"


def corpus_parts(data, source="config") -> list:
    """The corpora a run reads, as `CorpusPart`s: one of weight 1, or each entry of `data.corpora`."""
    if not data.corpora:
        return [CorpusPart(data.corpus, 1.0, data)]
    defaults = DataConfig()
    beside = [key for key in _PER_CORPUS_KEYS if getattr(data, key) != getattr(defaults, key)]
    if beside:
        raise ConfigError(f"{source}: 'data.{beside[0]}' is set beside 'data.corpora'; with a mixture it belongs "
                          f"in each corpus's entry ('data.corpora[0].{beside[0]}')")
    parts = []
    for index, raw in enumerate(data.corpora):
        key = f"data.corpora[{index}]"
        entry = _build(CorpusConfig, raw, source, prefix=f"{key}.")
        if not entry.corpus or entry.corpus == MIXED_CORPUS:
            raise ConfigError(f"{source}: '{key}.corpus' must name a corpus (e.g. bible-es-en, software-es-en, files)")
        name = entry.name or entry.corpus
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ConfigError(f"{source}: '{key}.name' may hold letters, digits, '_', '.' and '-' only, "
                              f"got {shown(name)}")
        if name in (part.name for part in parts):
            raise ConfigError(f"{source}: two entries of data.corpora are named {shown(name)}; "
                              "give each a distinct 'name'")
        if not 0 < entry.weight <= MAX_CORPUS_WEIGHT:
            raise ConfigError(f"{source}: '{key}.weight' must be above 0 and at most {MAX_CORPUS_WEIGHT}, "
                              f"got {entry.weight}")
        _check_columns(entry.columns, f"{key}.columns", source)
        missing = [split for split in ("train", "dev", "test") if entry.corpus == "files" and not getattr(entry, split)]
        if missing:
            raise ConfigError(f"{source}: '{key}' reads files: give its {', '.join(missing)} path"
                              f"{'s' if len(missing) > 1 else ''} ('{key}.{missing[0]}')")
        settings = {key: getattr(entry, key) for key in ("corpus", *_PER_CORPUS_KEYS)}
        parts.append(CorpusPart(name, entry.weight, dataclasses.replace(data, corpora=[], **settings)))
    return parts


@dataclass
class TokenizerConfig:
    """SentencePiece settings. `sampling_alpha` above 0 turns on subword regularisation for the training
    pairs of a translation run (unigram models only): each epoch reads each sentence in one of its
    `sampling_nbest` best segmentations, drawn with probability proportional to P ** alpha, so small
    alphas sample widely and large ones mostly keep the best (seq2seq.data.subword_sampling).

    `placeholders` (translation) protects `%s`, `{0}`, `%(name)s`, markup and written escapes: they are
    masked as one-piece symbols in training and translation, and the source's own text is put back in the
    output (seq2seq.data.placeholders), so the model can neither cut nor garble them."""

    type: Literal["unigram", "bpe", "char"] = "unigram"
    vocab_size: int = 8000
    joint: bool = False
    character_coverage: float = 1.0
    sampling_alpha: float = 0.0
    sampling_nbest: int = 8
    placeholders: bool = False


@dataclass
class ImageEncoderConfig:
    """The CNN of a captioning model, which turns an image into a grid of feature vectors.

    `small_cnn` is trained from scratch (`filters`: channels of its conv blocks, each halving the
    grid). `efficientnet_lite0` starts from ImageNet weights (`seq2seq data efficientnet-lite0`);
    `keras_application` is any `keras.applications` `backbone` (e.g. MobileNetV2) with a local
    `weights` file. Pretrained encoders stay frozen, their features computed once and cached,
    unless `fine_tune_blocks` unfreezes their last N blocks.
    """

    kind: Literal["small_cnn", "efficientnet_lite0", "keras_application"] = "small_cnn"
    image_size: int = 224
    filters: list = field(default_factory=lambda: [32, 64, 128])
    backbone: Optional[str] = None
    weights: Optional[str] = None
    fine_tune_blocks: int = 0


@dataclass
class ModelConfig:
    """Sizes of the encoder and decoder; each task reads only some keys (its `model_keys`), and any
    other must keep its default. Captioning uses the decoder keys, `feature_units` (the size image
    features are projected to) and `image_encoder`. `context_gate` is Show, Attend and Tell's gating
    scalar on the attention context; `attention_regularization` its doubly stochastic attention
    penalty, lambda. `pooling` is how a classifier turns the encoder's outputs into one vector."""

    cell: CellType = "gru"
    embedding_dim: int = 256
    encoder_units: int = 256
    encoder_layers: int = 2
    bidirectional: bool = True
    decoder_units: int = 512
    decoder_layers: int = 1
    attention: AttentionType = "bahdanau"
    attention_units: int = 512
    dropout: float = 0.2
    tie_embeddings: bool = False
    context_gate: bool = False
    attention_regularization: float = 0.0
    feature_units: int = 256
    pooling: Literal["attention", "last", "mean"] = "attention"
    # Translation: the probability that training replaces a source token, or a token the decoder reads
    # (never one it must predict), by UNK (seq2seq.layers.word_dropout).
    source_word_dropout: float = 0.0
    target_word_dropout: float = 0.0
    # cell: mtrnn only: groups [time constant tau, share of the layer's units], fast to slow
    # (seq2seq.layers.mtrnn).
    mtrnn_timescales: list = field(default_factory=lambda: [[2.0, 0.5], [8.0, 0.25], [32.0, 0.25]])
    image_encoder: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)


@dataclass
class EarlyStoppingConfig:
    """`metric` is one of the task's dev metrics (default: its first), e.g. `dev_bleu` (greedy dev
    BLEU for translation, BLEU-4 for captioning) or `dev_loss` for any task: for tasks that predict
    tokens, the dev set's per-token cross-entropy (every token weighted alike, unlike Keras' val_loss,
    which weights batches by their sentences)."""

    metric: Optional[str] = None
    patience: int = 3


@dataclass
class TrainConfig:
    """How to train; `dev_bleu_sentences` limits the dev sentences (or images) decoded each epoch."""

    batch_size: int = 64
    epochs: int = 10
    optimizer: Literal["adam", "sgd"] = "adam"
    learning_rate: float = 0.002
    warmup_steps: int = 200
    decay: Literal["none", "inverse_sqrt", "cosine"] = "inverse_sqrt"
    label_smoothing: float = 0.1
    clip_norm: float = 5.0
    max_minutes: Optional[float] = None
    jit_compile: bool = False
    # The layers' compute dtype (weights stay float32). `auto` picks it for the machine at the start of a
    # run (seq2seq.precision): mixed_float16 with a GPU, mixed_bfloat16 on a CPU with native bfloat16
    # instructions (AVX512_BF16, AMX), float32 elsewhere; the run's config.yaml records the choice, fixed
    # for the life of the run. On CPUs, use mixed_bfloat16 without jit_compile: XLA's CPU code for
    # bfloat16 products makes steps about 2x slower (BENCHMARKS.md).
    precision: Literal["auto", "float32", "mixed_bfloat16", "mixed_float16"] = "auto"
    # An exponential moving average of the weights, updated every step with this decay (0: off;
    # 0.999 averages over about the last 1,000 steps): it is what the dev pass scores and what the
    # checkpoints and the model file hold as weights (seq2seq.training.callbacks).
    weight_averaging: float = 0.0
    buckets: int = 8
    shuffle_buffer: int = 50000
    dev_bleu_sentences: Optional[int] = None
    keep_checkpoints: int = 5
    # Language models: the stream of training text is cut into windows of `bptt_length` pieces, read by
    # `batch_size` parallel rows; `bptt_carry_state` carries each row's recurrent state from one window to
    # the next (truncated backpropagation through time), false starts every window from zero.
    bptt_length: int = 128
    bptt_carry_state: bool = True
    # Fine-tuning (`seq2seq train CONFIG --init-from RUN`): start from that run's best model and its
    # tokenizers or labels, with a fresh optimizer and schedule. Its `model:` and `tokenizer:` sections must
    # be this config's. `freeze` keeps parts of it fixed: `embeddings` (every embedding table), `encoder`.
    init_from: Optional[str] = None
    freeze: list = field(default_factory=list)
    # A resumable checkpoint within the epoch every this many minutes (none: at epoch ends only), so that
    # an interrupted long epoch loses at most that much work.
    checkpoint_every_minutes: Optional[float] = None
    # A progress line (loss, tokens/s, ETA) every this many steps when the output is not a terminal (0: none).
    log_every_steps: int = 50
    # Write the epoch scalars and a few attention pictures to RUN/tensorboard/ (`tensorboard --logdir RUN`).
    tensorboard: bool = False
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)


@dataclass
class DecodeConfig:
    """How `translate` and `evaluate` search; `beam_size: 1` is greedy search.

    Outputs are at most `max_length_ratio * source_length + max_length_offset` pieces. Every search
    scores its outputs with GNMT's length penalty ((5 + length) / 6) ** length_penalty and coverage
    penalty (coverage_penalty times the summed log of each source piece's capped attention); beam
    search also ranks by that score. `sample: true` draws `n_best` samples per sentence instead
    (softmax at `temperature`, `top_k` best tokens, 0 for all), the same again for the same `seed`
    and the same batches of sentences. Captions are at most `max_caption_length` pieces, EOS included;
    a language model's continuations at most `max_generated_length`.
    """

    max_length_ratio: float = 1.5
    max_length_offset: int = 10
    max_caption_length: int = 30
    max_generated_length: int = 200
    batch_size: int = 64
    beam_size: int = 1
    n_best: int = 1
    length_penalty: float = 0.0
    coverage_penalty: float = 0.0
    sample: bool = False
    temperature: float = 1.0
    top_k: int = 0
    seed: int = 0
    # The compute dtype of decoding, whatever the model was trained in: `auto` keeps the trained one where
    # this machine computes it natively and decodes in float32 where not (seq2seq.precision).
    precision: Literal["auto", "float32", "mixed_bfloat16", "mixed_float16"] = "auto"
    # Translation: with `shortlist`, a batch's search scores only its source pieces' `shortlist_per_piece`
    # likeliest translations and the `shortlist_frequent` most frequent target pieces, from the run's
    # shortlist.npz (seq2seq.search.shortlist): faster, and the same output where the shortlist holds it.
    shortlist: bool = False
    shortlist_per_piece: int = 20
    shortlist_frequent: int = 100
    # Greedy and beam search: outputs that are done leave the batch (seq2seq.search.live_rows), so later
    # steps run on the rows still growing. The same outputs; `false` keeps every row to the batch's end.
    shrink_batch: bool = True
    # Translation with a run trained with `tokenizer.placeholders`: every output holds each of its source's
    # placeholders as often as the source does, and no other (seq2seq.search.placeholder_quota); `false`
    # leaves the model free to drop or repeat them.
    keep_placeholders: bool = True


# The decode settings that still apply where the model's best label is the answer and nothing is searched
# (classification, image classification, tagging): the others are refused there rather than ignored.
SETTINGS_WITHOUT_SEARCH = ("batch_size", "precision")


@dataclass
class DistributeConfig:
    """Training on several devices or machines with tf.distribute (see README, "Several GPUs or machines").

    `train.batch_size` is the global batch: each step, the N replicas get about batch_size / N
    examples each and their gradients are averaged. `mirrored` uses `devices` (default: every GPU,
    or the CPU); `multi_worker` reads the cluster and this process's role from `TF_CONFIG`.
    """

    strategy: Literal["none", "mirrored", "multi_worker"] = "none"
    devices: list = field(default_factory=list)


@dataclass
class Config:
    """A whole run; `task` is a registered task (`seq2seq.tasks`)."""

    task: str = "translation"
    config_version: int = CONFIG_VERSION
    seed: int = 1234
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    distribute: DistributeConfig = field(default_factory=DistributeConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def load_config(path, overrides=None, saved_run=False) -> Config:
    """Read a YAML file, apply `section.key=value` overrides, and validate every key and type.

    `saved_run`: the file is a run directory's config.yaml, possibly written by an older release.
    """
    path = checked_path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = _parse_yaml(path.read_bytes().decode("utf-8"), str(path)) or {}
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: bytes that are not UTF-8 at byte {error.start + 1}; "
                          "save the config as UTF-8") from None
    except OSError as error:  # a file it may not read
        raise ConfigError(f"{path}: cannot read it: {error.strerror}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    if saved_run:
        raw = upgrade_saved_config(raw)
    if not overrides:
        return config_from_dict(raw, source=str(path))
    overridden = copy.deepcopy(raw)
    for override in overrides:
        _apply_override(overridden, override)
    try:
        return config_from_dict(overridden, source=str(path))
    except ConfigError:
        # Blame the file only for the file's own mistakes; one that --set brought in is --set's.
        config_from_dict(raw, source=str(path))
        config_from_dict(overridden, source=f"--set (over {path})")
        raise


def _parse_yaml(text: str, source: str):
    """`yaml.safe_load` (no tag can run code), its failures as one-line ConfigErrors naming `source`.

    PyYAML's own message spans several lines (the context, a copy of the line, a caret under the
    problem); the error keeps the problem and its line and column. Input nested some hundreds of levels deep
    exhausts the parser's recursion, and a number PyYAML cannot convert (an integer of over 4,300 digits,
    a date such as 2024-02-30) raises ValueError: both are a bad file too.
    """
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = " ".join((error.problem or error.context or str(error).splitlines()[0]).split())
        raise ConfigError(f"{source}: not valid YAML: {where}{problem}") from None
    except yaml.YAMLError as error:  # a ReaderError: a character YAML does not allow; its first line says it
        raise ConfigError(f"{source}: not valid YAML: {str(error).splitlines()[0]}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not a config: nested too deeply for YAML to read") from None
    except ValueError as error:
        raise ConfigError(f"{source}: not valid YAML: {error}") from None


def config_from_dict(raw: dict, source: str = "config") -> Config:
    """Build and check a config; the task's defaults fill `data.corpus` and the early-stopping metric."""
    from seq2seq.tasks import task_named

    task = task_named(raw.get("task", Config.task), source)
    config = _build(Config, raw, source, prefix="")
    config.data.corpus = config.data.corpus or (MIXED_CORPUS if config.data.corpora else task.corpora[0])
    config.train.early_stopping.metric = config.train.early_stopping.metric or next(iter(task.dev_metrics))
    _check_consistency(config, task, source)
    return config


def upgrade_saved_config(raw: dict) -> dict:
    """A run's saved config as this version reads it (the keys a release renamed, moved over).

    seq2seq 0.1.0 stored a captioner's feature size as `model.encoder_units`.
    """
    if raw.get("config_version") is None:
        raw = {**raw, "config_version": CONFIG_VERSION}
        model = raw.get("model")
        if raw.get("task") == "captioning" and isinstance(model, dict) and "encoder_units" in model:
            model = dict(model)
            model["feature_units"] = model.pop("encoder_units")
            raw["model"] = model
    return raw


POSITIVE = ("data.max_source_length", "data.max_target_length", "tokenizer.vocab_size", "model.embedding_dim",
            "model.encoder_units", "model.encoder_layers", "model.decoder_units", "model.decoder_layers",
            "model.attention_units", "model.feature_units", "train.batch_size", "train.epochs", "train.buckets",
            "train.early_stopping.patience", "train.keep_checkpoints", "data.synthetic_images", "train.bptt_length",
            "decode.max_generated_length",
            "model.image_encoder.image_size")


FRACTIONS = ("model.dropout", "model.source_word_dropout", "model.target_word_dropout", "train.label_smoothing",
             "train.weight_averaging")


def _check_consistency(config, task, source):
    """Checks across keys, made at load time so a bad value never reaches TensorFlow."""
    for key in POSITIVE:
        value = config
        for part in key.split("."):
            value = getattr(value, part)
        if value < 1:
            raise ConfigError(f"{source}: '{key}' must be at least 1, got {value}")
    for key in FRACTIONS:
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if not 0 <= value < 1:
            raise ConfigError(f"{source}: '{key}' must be in [0, 1), got {value}")
    if config.seed < 0:  # NumPy's generators, which Keras seeds, take 0 to 2**32 - 1
        raise ConfigError(f"{source}: 'seed' must be at least 0, got {config.seed}")
    if not 0.98 <= config.tokenizer.character_coverage <= 1:  # else SentencePiece fails after the data is read
        raise ConfigError(f"{source}: 'tokenizer.character_coverage' must be in [0.98, 1] (SentencePiece's range), "
                          f"got {config.tokenizer.character_coverage}")
    if config.config_version != CONFIG_VERSION:
        raise ConfigError(f"{source}: 'config_version' {config.config_version} is not this release's "
                          f"({CONFIG_VERSION}); remove the key from a config you wrote")
    _check_task(config, task, source)
    _check_columns(config.data.columns, "data.columns", source)
    check_decode(config.decode, source)
    _check_training_extras(config.train, source)
    if config.distribute.devices and config.distribute.strategy != "mirrored":
        raise ConfigError(f"{source}: 'distribute.devices' applies to 'distribute.strategy: mirrored' only")
    for clocked in ("max_minutes", "checkpoint_every_minutes"):
        if config.distribute.strategy == "multi_worker" and getattr(config.train, clocked):
            raise ConfigError(f"{source}: 'train.{clocked}' cannot be used with 'distribute.strategy: multi_worker': "
                              "workers whose clocks ran out at different steps would stop or resume at different "
                              "steps and wait for each other forever")
    task.check_config(config, source)


FREEZABLE = ("embeddings", "encoder")  # what `SequenceModel.freeze` takes


def _check_training_extras(train, source):
    """Fine-tuning, mid-epoch checkpoints and progress lines."""
    unknown = [part for part in train.freeze if part not in FREEZABLE]
    if unknown:
        raise ConfigError(f"{source}: 'train.freeze' takes {' and '.join(FREEZABLE)}, got {shown(unknown[0])}")
    if train.freeze and not train.init_from:
        raise ConfigError(f"{source}: 'train.freeze' applies when fine-tuning a trained run "
                          "('train.init_from', or --init-from RUN)")
    if train.checkpoint_every_minutes is not None and train.checkpoint_every_minutes <= 0:
        raise ConfigError(f"{source}: 'train.checkpoint_every_minutes' must be above 0, got "
                          f"{train.checkpoint_every_minutes}")
    if train.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(f"{source}: 'train.tensorboard' needs the tensorboard package: "
                          'pip install "seq2seq[tensorboard]"')
    if train.log_every_steps < 0:
        raise ConfigError(f"{source}: 'train.log_every_steps' must be at least 0, got {train.log_every_steps}")


def _check_task(config, task, source):
    """The corpus, the early-stopping metric and the model keys must be ones the task reads."""
    data = config.data
    if data.corpora and MIXED_CORPUS not in task.corpora:
        raise ConfigError(f"{source}: 'data.corpora' (a mixture of corpora) is for translation runs")
    if data.corpora and data.corpus != MIXED_CORPUS:
        raise ConfigError(f"{source}: 'data.corpora' replaces 'data.corpus' (here {shown(data.corpus)}); "
                          "set one of the two")
    if data.corpus == MIXED_CORPUS and not data.corpora:
        raise ConfigError(f"{source}: 'data.corpus: mixed' needs the corpora to mix in 'data.corpora'")
    for part in corpus_parts(data, source):
        if part.data.corpus not in task.corpora:  # corpus_parts refuses "mixed" inside a mixture
            corpus = shown(part.data.corpus, quoted=False)
            raise ConfigError(f"{source}: 'data.corpus: {corpus}' is not a {task.name} corpus; "
                              f"use one of {', '.join(c for c in task.corpora if c != MIXED_CORPUS)} (or set 'task')")
    metric = config.train.early_stopping.metric
    if metric not in task.dev_metrics:
        close = difflib.get_close_matches(str(metric), task.dev_metrics, n=1)
        raise ConfigError(f"{source}: 'train.early_stopping.metric' must be one of {', '.join(task.dev_metrics)} "
                          f"for {task.name}, got {shown(metric)}" + (f"; did you mean '{close[0]}'?" if close else ""))
    defaults = ModelConfig()
    for key in (field.name for field in dataclasses.fields(ModelConfig)):
        if key not in task.model_keys and getattr(config.model, key) != getattr(defaults, key):
            if key in task.renamed_keys:
                raise ConfigError(f"{source}: 'model.{key}' is not read by {task.name}; it is now "
                                  f"'model.{task.renamed_keys[key]}'")
            raise ConfigError(f"{source}: 'model.{key}' does not apply to {task.name}; it reads "
                              f"{', '.join(task.model_keys)}")
    _check_subword_sampling(config.tokenizer, task, source)
    if config.tokenizer.placeholders and not task.masks_placeholders:
        raise ConfigError(f"{source}: 'tokenizer.placeholders' (placeholder masking) does not apply to {task.name}")
    if config.decode.shortlist and not task.shortlists_vocabulary:
        raise ConfigError(f"{source}: 'decode.shortlist' (a vocabulary shortlist from the source) does not apply "
                          f"to {task.name}")
    _check_timescales(config.model, source)
    if config.model.attention_regularization < 0 or config.model.image_encoder.fine_tune_blocks < 0:
        raise ConfigError(f"{source}: 'model.attention_regularization' and "
                          "'model.image_encoder.fine_tune_blocks' must be at least 0")
    _check_image_encoder(config.model.image_encoder, source)


def _check_columns(columns, key, source):
    if len(columns) != 2 or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in columns):
        raise ConfigError(f"{source}: '{key}' must be two column numbers [source, target], got {shown(columns)}")


def _check_subword_sampling(tokenizer, task, source):
    if not tokenizer.sampling_alpha and tokenizer.sampling_nbest == TokenizerConfig().sampling_nbest:
        return
    if not task.samples_subwords:
        raise ConfigError(f"{source}: 'tokenizer.sampling_alpha' and 'tokenizer.sampling_nbest' (subword "
                          f"regularisation) do not apply to {task.name}")
    if tokenizer.sampling_alpha < 0 or tokenizer.sampling_nbest < 2:
        raise ConfigError(f"{source}: 'tokenizer.sampling_alpha' must be at least 0 and 'tokenizer.sampling_nbest' "
                          f"at least 2, got {tokenizer.sampling_alpha} and {tokenizer.sampling_nbest}")
    if tokenizer.sampling_alpha and tokenizer.type != "unigram":
        raise ConfigError(f"{source}: 'tokenizer.sampling_alpha' needs 'tokenizer.type: unigram', the model type "
                          f"that ranks segmentations; got {tokenizer.type}")


def _check_timescales(model, source):
    """`model.mtrnn_timescales`: [tau >= 1, share > 0] groups whose shares add up to 1, for `cell: mtrnn` only."""
    key = "model.mtrnn_timescales"
    if model.cell != "mtrnn" and model.mtrnn_timescales != ModelConfig().mtrnn_timescales:
        raise ConfigError(f"{source}: '{key}' applies to 'model.cell: mtrnn' only")
    groups = model.mtrnn_timescales
    numbers = (int, float)
    if not groups or not all(isinstance(group, list) and len(group) == 2 and all(
            isinstance(value, numbers) and not isinstance(value, bool) for value in group) for group in groups):
        raise ConfigError(f"{source}: '{key}' must be a list of [tau, share] pairs, e.g. [[2, 0.5], [8, 0.25], "
                          f"[32, 0.25]], got {shown(groups)}")
    if any(tau < 1 or share <= 0 for tau, share in groups) or abs(sum(share for _, share in groups) - 1) > 1e-6:
        raise ConfigError(f"{source}: '{key}' needs each time constant tau >= 1 and shares above 0 that add up to 1, "
                          f"got {shown(groups)}")


def _check_image_encoder(encoder, source):
    """What can be checked without TensorFlow; `keras_application` names are checked when a run starts."""
    key = "model.image_encoder"
    if encoder.kind == "keras_application" and not (encoder.backbone and encoder.weights):
        raise ConfigError(f"{source}: '{key}.kind: keras_application' needs '{key}.backbone' (e.g. MobileNetV2) "
                          f"and '{key}.weights', a local ImageNet weights file without the classifier (*_notop.h5)")
    if encoder.kind != "keras_application" and (encoder.backbone or encoder.weights):
        raise ConfigError(f"{source}: '{key}.backbone' and '{key}.weights' apply to 'kind: keras_application' only")
    if encoder.kind == "small_cnn":
        if not encoder.filters or not all(isinstance(count, int) and not isinstance(count, bool) and count > 0
                                          for count in encoder.filters):
            raise ConfigError(f"{source}: '{key}.filters' must be a list of channel counts, "
                              f"got {shown(encoder.filters)}")
        if encoder.image_size < 2 ** len(encoder.filters):
            raise ConfigError(f"{source}: '{key}.image_size' {encoder.image_size} is too small for "
                              f"{len(encoder.filters)} pooling blocks: it must be at least {2 ** len(encoder.filters)}")
        if encoder.fine_tune_blocks:
            raise ConfigError(f"{source}: '{key}.fine_tune_blocks' applies to pretrained encoders; the small CNN "
                              "always trains")
    elif encoder.image_size < 32:
        raise ConfigError(f"{source}: '{key}.image_size' must be at least 32 for an ImageNet network, "
                          f"got {encoder.image_size}")


def updated_decode(decode, changes, source="decode settings") -> DecodeConfig:
    """`decode` with `changes` ({field: value}) applied, type-checked and validated like a config file."""
    decode = _build(DecodeConfig, {**dataclasses.asdict(decode), **changes}, source, prefix="decode.")
    check_decode(decode, source)
    return decode


# What one search may allocate: beams and n-best lists, and the output pieces of each (the limit of a sentence
# is `max_length_ratio * its length + max_length_offset`). Past these, the search's buffers cannot be allocated
# or their int32 sizes overflow, far from the setting that caused it. Sampling at a temperature of 1,000 is
# already uniform; far above it the search's ban on PAD and BOS (a score of -1e9) is divided away. Penalties
# far above the usual 0 to 2 overflow the float32 scores into NaN, which reads as a broken model.
MAX_BEAM_SIZE = 1000
MAX_OUTPUT_LENGTH = 100_000
MAX_LENGTH_RATIO = 100.0
MAX_TEMPERATURE = 1000.0
MAX_PENALTY = 100.0


def check_decode(decode, source="decode settings"):
    """Also run on its own: the Python API builds decode settings without a config file."""
    for key in ("batch_size", "beam_size", "n_best", "max_length_offset", "max_caption_length", "max_generated_length",
                "shortlist_per_piece"):
        if getattr(decode, key) < 1:
            raise ConfigError(f"{source}: 'decode.{key}' must be at least 1, got {getattr(decode, key)}")
    for key, most in (("beam_size", MAX_BEAM_SIZE), ("n_best", MAX_BEAM_SIZE), ("max_length_offset", MAX_OUTPUT_LENGTH),
                      ("max_caption_length", MAX_OUTPUT_LENGTH), ("max_generated_length", MAX_OUTPUT_LENGTH),
                      ("max_length_ratio", MAX_LENGTH_RATIO), ("temperature", MAX_TEMPERATURE),
                      ("length_penalty", MAX_PENALTY), ("coverage_penalty", MAX_PENALTY)):
        if getattr(decode, key) > most:
            raise ConfigError(f"{source}: 'decode.{key}' must be at most {most:,}, got {getattr(decode, key)}")
    if decode.max_length_ratio < 0:
        raise ConfigError(f"{source}: 'decode.max_length_ratio' must be at least 0, got {decode.max_length_ratio}")
    if (decode.length_penalty < 0 or decode.coverage_penalty < 0 or decode.temperature <= 0 or decode.top_k < 0
            or decode.shortlist_frequent < 0):
        raise ConfigError(f"{source}: 'decode.length_penalty', 'decode.coverage_penalty', 'decode.top_k' and "
                          f"'decode.shortlist_frequent' must be at least 0 and 'decode.temperature' above 0")
    if not decode.sample and decode.n_best > decode.beam_size:
        raise ConfigError(f"{source}: 'decode.n_best' ({decode.n_best}) cannot exceed 'decode.beam_size' "
                          f"({decode.beam_size}): beam search finds at most beam_size hypotheses")


def parse_override(text: str) -> tuple[list[str], object]:
    """`train.epochs=3` -> (["train", "epochs"], 3); the value is parsed as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {shown(text)} must look like section.key=value")
    return key.split("."), _parse_yaml(value, f"override {shown(text)}")


def _apply_override(raw: dict, text: str) -> None:
    keys, value = parse_override(text)
    node = raw
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {shown(text)}: {shown(key)} is not a section")
    node[keys[-1]] = value


@functools.cache
def _type_hints(cls) -> dict:
    """{field: type} of a config dataclass; cached, as resolving the annotations costs more than the check
    (the service checks each request's decode settings)."""
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in dataclasses.fields(cls)}


def _build(cls, raw, source, prefix):
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: '{prefix.rstrip('.') or 'top level'}' must be a mapping, got {shown(raw)}")
    hints = _type_hints(cls)
    fields = set(hints)
    values = {}
    for key, value in raw.items():
        if key not in fields:
            close = difflib.get_close_matches(str(key), sorted(fields), n=1)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; valid keys: {', '.join(sorted(fields))}"
            raise ConfigError(f"{source}: unknown key {shown(f'{prefix}{key}')}{hint}")
        values[key] = _check(hints[key], value, source, f"{prefix}{key}")
    return cls(**values)


def _check(hint, value, source, key):
    """Validate one value against its type hint; nested dataclasses are built recursively."""
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, source, prefix=f"{key}.")
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _check(inner, value, source, key)
    if origin is Literal:
        if value not in args:
            close = difflib.get_close_matches(value, [str(a) for a in args], n=1) if isinstance(value, str) else []
            hint_text = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"{source}: '{key}' must be one of {', '.join(map(str, args))}, got {shown(value)}{hint_text}"
            )
        return value
    if hint is float and isinstance(value, str) and SCIENTIFIC.fullmatch(value.strip()):
        value = float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string
    expected = {int: (int,), float: (int, float), str: (str,), bool: (bool,), list: (list,)}[hint]
    if isinstance(value, bool) and hint is not bool or not isinstance(value, expected):
        raise ConfigError(
            f"{source}: '{key}' must be {hint.__name__}, got {type(value).__name__} {shown(value)}"
        )
    _check_number(value, source, key)
    return float(value) if hint is float else value


INT32 = 2**31  # config integers become TensorFlow int32 values (sizes, lengths, steps)


def _check_number(value, source, key):
    """NaN passes every range check (each comparison with it is false), and an integer past int32
    overflows in TensorFlow's graph: either would fail far from the config, in a traceback, instead of
    here. Infinities meet the range checks like any other large number."""
    if isinstance(value, float) and math.isnan(value):
        raise ConfigError(f"{source}: '{key}' must be a number, got {value}")
    if isinstance(value, int) and not isinstance(value, bool) and not -INT32 <= value < INT32:
        raise ConfigError(f"{source}: '{key}' must be between -2**31 and 2**31 - 1, got {shown(value)}")
