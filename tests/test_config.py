from pathlib import Path

import pytest

from seq2seq.config import Config, load_config
from seq2seq.errors import ConfigError

CONFIGS = sorted(Path(__file__).resolve().parents[1].joinpath("configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load(path):
    config = load_config(path)
    assert isinstance(config, Config)


def write(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_unknown_key_names_the_closest_valid_one(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'model.enocder_units'.*did you mean 'model.encoder_units'"):
        load_config(write(tmp_path, "model:\n  enocder_units: 3\n"))


def test_unknown_section_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'trian'.*did you mean 'train'"):
        load_config(write(tmp_path, "trian:\n  epochs: 3\n"))


@pytest.mark.parametrize("text, message", [
    ("train:\n  epochs: three\n", r"'train.epochs' must be int, got str 'three'"),
    ("train:\n  epochs: true\n", r"'train.epochs' must be int, got bool"),
    ("model:\n  bidirectional: 1\n", r"'model.bidirectional' must be bool"),
    ("model:\n  cell: gur\n", r"'model.cell' must be one of gru, lstm, simple_rnn, mtrnn, layer_norm_gru, layer_norm_lstm, got 'gur'; did you mean 'gru'"),
    ("model: 5\n", r"'model' must be a mapping"),
    ("train:\n  early_stopping: {metric: bleu}\n", r"'train.early_stopping.metric' must be one of"),
    ("train:\n  batch_size: 0\n", r"'train.batch_size' must be at least 1, got 0"),
    ("data:\n  columns: [0]\n", r"'data.columns' must be two column numbers"),
    ("model:\n  attention: luong-dot\n  decoder_units: 300\n", r"luong-dot. needs model.decoder_units \(300\) to equal the encoder output size"),
    ("model:\n  dropout: 1.5\n", r"'model.dropout' must be in \[0, 1\), got 1.5"),
    ("model:\n  target_word_dropout: -0.1\n", r"'model.target_word_dropout' must be in \[0, 1\)"),
    ("decode:\n  beam_size: 0\n", r"'decode.beam_size' must be at least 1, got 0"),
    ("decode:\n  beam_size: 2\n  n_best: 3\n", r"'decode.n_best' \(3\) cannot exceed 'decode.beam_size' \(2\)"),
    ("decode:\n  length_penalty: -0.5\n", r"'decode.length_penalty', 'decode.coverage_penalty', 'decode.top_k' and 'decode.shortlist_frequent' must"),
    ("decode:\n  sample: true\n  temperature: 0\n", r"'decode.temperature' above 0"),
])
def test_wrong_types_and_values_are_named(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_scientific_notation_without_a_dot_is_a_float(tmp_path):
    config = load_config(write(tmp_path, "train:\n  learning_rate: 1e-4\n"), ["decode.length_penalty=1E0"])
    assert config.train.learning_rate == 1e-4 and config.decode.length_penalty == 1.0
    with pytest.raises(ConfigError, match="'train.learning_rate' must be float, got str 'fast'"):
        load_config(write(tmp_path, "train:\n  learning_rate: fast\n"))


def test_integers_are_accepted_for_floats(tmp_path):
    assert load_config(write(tmp_path, "train:\n  learning_rate: 1\n")).train.learning_rate == 1.0


def test_overrides_apply_and_are_validated(tmp_path):
    path = write(tmp_path, "train:\n  epochs: 3\n")
    config = load_config(path, ["train.epochs=5", "model.cell=lstm", "data.max_train_pairs=10"])
    assert (config.train.epochs, config.model.cell, config.data.max_train_pairs) == (5, "lstm", 10)
    with pytest.raises(ConfigError, match="did you mean 'train.epochs'"):
        load_config(path, ["train.epoch=5"])
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(path, ["train.epochs"])


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "model: [unclosed\n"))


def test_saved_config_loads_back_identically(tmp_path):
    config = load_config(write(tmp_path, "model:\n  cell: lstm\ntrain:\n  epochs: 2\n"))
    (tmp_path / "saved.yaml").write_text(config.to_yaml(), encoding="utf-8")
    assert load_config(tmp_path / "saved.yaml") == config


CAPTIONING = "task: captioning\ndata: {corpus: shapes}\n"


@pytest.mark.parametrize("text, message", [
    ("data: {corpus: shapes}", "'data.corpus: shapes' is not a translation corpus"),
    ("task: captioning\ndata: {corpus: bible-es-en}", "'data.corpus: bible-es-en' is not a captioning corpus"),
    ("task: captionning", "'task' must be one of .*did you mean 'captioning'"),
    ("model: {attention_regularization: 1.0}", "'model.attention_regularization' does not apply to translation"),
    (CAPTIONING + "model: {encoder_units: 64}", "'model.encoder_units' is not read by captioning; it is now "
                                               "'model.feature_units'"),
    (CAPTIONING + "train: {early_stopping: {metric: dev_chrf}}", "must be one of dev_bleu, dev_cider, dev_loss"),
    (CAPTIONING + "model: {image_encoder: {kind: keras_application, backbone: MobileNetV2}}", "needs"),
    (CAPTIONING + "model: {image_encoder: {kind: efficientnet_lite0, weights: x.h5}}", "keras_application' only"),
    (CAPTIONING + "model: {image_encoder: {image_size: 4, filters: [8, 8, 8]}}", "at least 8"),
    (CAPTIONING + "model: {image_encoder: {fine_tune_blocks: 2}}", "small CNN always trains"),
    (CAPTIONING + "model: {image_encoder: {kind: efficientnet_lite0, image_size: 16}}", "at least 32"),
    (CAPTIONING + "model: {image_encoder: {filters: [8, 0]}}", "channel counts"),
    (CAPTIONING + "decode: {max_caption_length: 0}", "'decode.max_caption_length' must be at least 1"),
])
def test_captioning_settings_are_checked_at_load_time(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)
