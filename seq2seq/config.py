"""Run configuration: typed dataclasses loaded from YAML.

Every key is checked against the dataclasses, so a typo such as `enocder_units` fails at load time
with the closest valid key instead of being silently ignored for an hour of training.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import yaml

from seq2seq.errors import ConfigError

SCIENTIFIC = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
CellType = Literal["gru", "lstm", "simple_rnn"]
TRANSLATION_CORPORA = ("bible-es-en", "files")
CAPTION_CORPORA = ("shapes", "tuxpaint", "flickr8k", "coco")
AttentionType = Literal["bahdanau", "luong-dot", "luong-general", "luong-concat"]


@dataclass
class DataConfig:
    """Which corpus to read, in which direction, and how to treat bad rows (and bad images).

    Translation reads `bible-es-en` or `files` (`train`/`dev`/`test` in `format`). Captioning reads
    `shapes` (built in, `synthetic_images` of them), `tuxpaint` (captions in `target_lang`, en or es),
    `flickr8k` or `coco`: those two need `captions` (Flickr8k captions.txt or Flickr8k.token.txt; COCO
    captions_*.json files), `images` (their directory) and `splits` (a Karpathy dataset_*.json, or for
    Flickr8k the directory of Flickr_8k.*Images.txt). For captioning, `max_train_pairs` limits the
    training images (each keeps all its captions) and `max_target_length` the caption pieces.
    """

    corpus: Literal["bible-es-en", "files", "shapes", "tuxpaint", "flickr8k", "coco"] = "bible-es-en"
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
    captions: list = field(default_factory=list)
    images: Optional[str] = None
    splits: Optional[str] = None
    synthetic_images: int = 3000


@dataclass
class TokenizerConfig:
    type: Literal["unigram", "bpe"] = "unigram"
    vocab_size: int = 8000
    joint: bool = False
    character_coverage: float = 1.0


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
    """Sizes of the encoder and decoder. Captioning uses the decoder keys, `encoder_units` as the
    size image features are projected to, and `image_encoder`. `context_gate` is Show, Attend and
    Tell's gating scalar on the attention context (any task); `attention_regularization` is its
    doubly stochastic attention penalty, lambda (captioning only)."""

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
    image_encoder: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)


@dataclass
class EarlyStoppingConfig:
    """`dev_bleu` is greedy dev BLEU for translation and BLEU-4 for captioning."""

    metric: Literal["dev_bleu", "dev_loss"] = "dev_bleu"
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
    # The layers' compute dtype (weights stay float32): mixed_float16 for GPUs, mixed_bfloat16 for CPUs
    # and TPUs with bfloat16 units. Fixed for the life of a run. On CPUs, use mixed_bfloat16 without
    # jit_compile: XLA's CPU code for bfloat16 products makes steps about 2x slower (BENCHMARKS.md).
    precision: Literal["float32", "mixed_bfloat16", "mixed_float16"] = "float32"
    buckets: int = 8
    shuffle_buffer: int = 50000
    dev_bleu_sentences: Optional[int] = None
    keep_checkpoints: int = 5
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)


@dataclass
class DecodeConfig:
    """How `translate` and `evaluate` search; `beam_size: 1` is greedy search.

    Outputs are at most `max_length_ratio * source_length + max_length_offset` pieces. Every search
    scores its outputs with GNMT's length penalty ((5 + length) / 6) ** length_penalty and coverage
    penalty (coverage_penalty times the summed log of each source piece's capped attention); beam
    search also ranks by that score. `sample: true` draws `n_best` samples per sentence instead
    (softmax at `temperature`, `top_k` best tokens, 0 for all), the same again for the same `seed`
    and the same batches of sentences. Captions are at most `max_caption_length` pieces, EOS included.
    """

    max_length_ratio: float = 1.5
    max_length_offset: int = 10
    max_caption_length: int = 30
    batch_size: int = 64
    beam_size: int = 1
    n_best: int = 1
    length_penalty: float = 0.0
    coverage_penalty: float = 0.0
    sample: bool = False
    temperature: float = 1.0
    top_k: int = 0
    seed: int = 0


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
    task: Literal["translation", "captioning"] = "translation"
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


def load_config(path, overrides=None) -> Config:
    """Read a YAML file, apply `section.key=value` overrides, and validate every key and type."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    for override in overrides or []:
        _apply_override(raw, override)
    return config_from_dict(raw, source=str(path))


def config_from_dict(raw: dict, source: str = "config") -> Config:
    config = _build(Config, raw, source, prefix="")
    _check_consistency(config, source)
    return config


POSITIVE = ("data.max_source_length", "data.max_target_length", "tokenizer.vocab_size", "model.embedding_dim",
            "model.encoder_units", "model.encoder_layers", "model.decoder_units", "model.decoder_layers",
            "model.attention_units", "train.batch_size", "train.epochs", "train.buckets",
            "train.early_stopping.patience", "train.keep_checkpoints", "data.synthetic_images",
            "model.image_encoder.image_size")


def _check_consistency(config, source):
    """Checks across keys, made at load time so a bad value never reaches TensorFlow."""
    for key in POSITIVE:
        value = config
        for part in key.split("."):
            value = getattr(value, part)
        if value < 1:
            raise ConfigError(f"{source}: '{key}' must be at least 1, got {value}")
    if not 0 <= config.model.dropout < 1 or not 0 <= config.train.label_smoothing < 1:
        raise ConfigError(f"{source}: 'model.dropout' and 'train.label_smoothing' must be in [0, 1)")
    _check_task(config, source)
    columns = config.data.columns
    if len(columns) != 2 or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in columns):
        raise ConfigError(f"{source}: 'data.columns' must be two column numbers [source, target], got {columns}")
    check_decode(config.decode, source)
    if config.distribute.devices and config.distribute.strategy != "mirrored":
        raise ConfigError(f"{source}: 'distribute.devices' applies to 'distribute.strategy: mirrored' only")
    if config.distribute.strategy == "multi_worker" and config.train.max_minutes:
        raise ConfigError(f"{source}: 'train.max_minutes' cannot be used with 'distribute.strategy: multi_worker': "
                          "workers whose clocks ran out at different steps would wait for each other forever")
    memory_dim = config.model.encoder_units * (2 if config.model.bidirectional else 1)
    if config.model.attention == "luong-dot" and config.model.decoder_units != memory_dim:
        raise ConfigError(
            f"{source}: 'model.attention: luong-dot' needs model.decoder_units ({config.model.decoder_units}) "
            f"to equal the encoder output size ({memory_dim}); use luong-general instead")


def _check_task(config, source):
    corpora = TRANSLATION_CORPORA if config.task == "translation" else CAPTION_CORPORA
    if config.data.corpus not in corpora:
        raise ConfigError(f"{source}: 'data.corpus: {config.data.corpus}' is not a {config.task} corpus; "
                          f"use one of {', '.join(corpora)} (or set 'task')")
    if config.model.attention_regularization < 0 or config.model.image_encoder.fine_tune_blocks < 0:
        raise ConfigError(f"{source}: 'model.attention_regularization' and "
                          "'model.image_encoder.fine_tune_blocks' must be at least 0")
    if config.task == "translation" and config.model.attention_regularization:
        raise ConfigError(f"{source}: 'model.attention_regularization' applies to captioning only")
    _check_image_encoder(config.model.image_encoder, source)


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
            raise ConfigError(f"{source}: '{key}.filters' must be a list of channel counts, got {encoder.filters}")
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


def check_decode(decode, source="decode settings"):
    """Also run on its own: the Python API builds decode settings without a config file."""
    for key in ("batch_size", "beam_size", "n_best", "max_length_offset", "max_caption_length"):
        if getattr(decode, key) < 1:
            raise ConfigError(f"{source}: 'decode.{key}' must be at least 1, got {getattr(decode, key)}")
    if decode.max_length_ratio < 0:
        raise ConfigError(f"{source}: 'decode.max_length_ratio' must be at least 0, got {decode.max_length_ratio}")
    if decode.length_penalty < 0 or decode.coverage_penalty < 0 or decode.temperature <= 0 or decode.top_k < 0:
        raise ConfigError(f"{source}: 'decode.length_penalty', 'decode.coverage_penalty' and 'decode.top_k' "
                          f"must be at least 0 and 'decode.temperature' above 0")
    if not decode.sample and decode.n_best > decode.beam_size:
        raise ConfigError(f"{source}: 'decode.n_best' ({decode.n_best}) cannot exceed 'decode.beam_size' "
                          f"({decode.beam_size}): beam search finds at most beam_size hypotheses")


def parse_override(text: str) -> tuple[list[str], object]:
    """`train.epochs=3` -> (["train", "epochs"], 3); the value is parsed as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    return key.split("."), yaml.safe_load(value)


def _apply_override(raw: dict, text: str) -> None:
    keys, value = parse_override(text)
    node = raw
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {text!r}: {key!r} is not a section")
    node[keys[-1]] = value


def _build(cls, raw, source, prefix):
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: '{prefix.rstrip('.') or 'top level'}' must be a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in fields:
            close = difflib.get_close_matches(str(key), sorted(fields), n=1)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; valid keys: {', '.join(sorted(fields))}"
            raise ConfigError(f"{source}: unknown key '{prefix}{key}'{hint}")
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
            close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
            hint_text = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"{source}: '{key}' must be one of {', '.join(map(str, args))}, got {value!r}{hint_text}"
            )
        return value
    if hint is float and isinstance(value, str) and SCIENTIFIC.fullmatch(value.strip()):
        value = float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string
    expected = {int: (int,), float: (int, float), str: (str,), bool: (bool,), list: (list,)}[hint]
    if isinstance(value, bool) and hint is not bool or not isinstance(value, expected):
        raise ConfigError(
            f"{source}: '{key}' must be {hint.__name__}, got {type(value).__name__} {value!r}"
        )
    return float(value) if hint is float else value
