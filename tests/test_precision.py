"""`precision: auto`: which dtype each machine gets, that a run records it, and decoding in another precision."""

import numpy as np
import pytest

from conftest import padded_source, reversal_config_text, teacher_forced_scores, tiny_model
from seq2seq.config import load_config
from seq2seq.errors import ConfigError
from seq2seq.models.loading import load_model_file, with_precision
from seq2seq.precision import cpu_flags, decoding_precision, native_bfloat16, resolve_precision
from seq2seq.training.loop import train
from seq2seq.training.run_dir import RunDirectory

AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu sse2 avx avx2 fma\n"
SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: avx2 avx512f avx512bw avx512_vnni amx_bf16 amx_tile amx_int8\n"
COOPER_LAKE = "processor\t: 0\nflags\t\t: avx2 avx512f avx512_bf16\n"


@pytest.mark.parametrize("cpuinfo, native", [(AVX2_ONLY, False), (SAPPHIRE_RAPIDS, True), (COOPER_LAKE, True)])
def test_native_bfloat16_is_read_from_the_processor_flags(tmp_path, cpuinfo, native):
    (tmp_path / "cpuinfo").write_text(cpuinfo)
    flags = cpu_flags(tmp_path / "cpuinfo")
    assert "avx2" in flags
    assert native_bfloat16(flags) is native


def test_a_machine_without_proc_cpuinfo_has_no_flags(tmp_path):
    assert cpu_flags(tmp_path / "missing") == set()
    assert native_bfloat16(set()) is False


@pytest.mark.parametrize("gpu, bf16, expected", [(True, False, "mixed_float16"), (True, True, "mixed_float16"),
                                                 (False, True, "mixed_bfloat16"), (False, False, "float32")])
def test_auto_picks_float16_on_a_gpu_bfloat16_where_native_and_float32_elsewhere(monkeypatch, gpu, bf16, expected):
    monkeypatch.setattr("seq2seq.precision.gpu_visible", lambda: gpu)
    monkeypatch.setattr("seq2seq.precision.native_bfloat16", lambda flags=None: bf16)
    precision, why = resolve_precision("auto")
    assert precision == expected and why.startswith("auto: ")
    assert resolve_precision("mixed_bfloat16") == ("mixed_bfloat16", "set in the config")


@pytest.mark.parametrize("bf16, gpu, trained, expected", [
    (False, False, "mixed_bfloat16", "float32"),        # a bfloat16 model on an AVX2-only machine
    (True, False, "mixed_bfloat16", "mixed_bfloat16"),
    (True, False, "float32", "float32"),                # auto never lowers a float32 model's precision
    (False, False, "mixed_float16", "float32"),         # a GPU-trained model on a CPU
    (False, True, "mixed_float16", "mixed_float16"),
])
def test_auto_decoding_keeps_the_trained_precision_where_it_runs_natively(monkeypatch, bf16, gpu, trained, expected):
    monkeypatch.setattr("seq2seq.precision.native_bfloat16", lambda flags=None: bf16)
    monkeypatch.setattr("seq2seq.precision.gpu_visible", lambda: gpu)
    assert decoding_precision("auto", trained) == expected
    assert decoding_precision("mixed_bfloat16", trained) == "mixed_bfloat16"


def test_an_unknown_precision_is_a_one_line_error():
    with pytest.raises(ConfigError, match="precision 'bf16' is not one of auto, float32, mixed_bfloat16"):
        decoding_precision("bf16", "float32")


def test_a_model_changes_precision_with_its_weights_and_outputs_kept():
    model = tiny_model()
    source = padded_source()
    float32_memory = model.encode(source)[1].values
    mixed = with_precision(model, "mixed_bfloat16")
    assert {layer.dtype_policy.name for layer in mixed.layers} >= {"mixed_bfloat16"}
    assert [w.dtype for w in mixed.weights] == [w.dtype for w in model.weights]  # weights stay float32
    for mixed_weight, weight in zip(mixed.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(mixed_weight, weight)
    mixed_memory = mixed.encode(source)[1].values
    assert mixed_memory.dtype == "bfloat16"
    np.testing.assert_allclose(np.asarray(mixed_memory, "float32"), float32_memory, atol=0.05)
    assert with_precision(model, "float32") is model


def test_auto_is_resolved_once_written_into_the_run_and_kept_on_resume(tmp_path, tiny_reversal_data, monkeypatch):
    (tmp_path / "auto.yaml").write_text(reversal_config_text(tiny_reversal_data, epochs=2))
    monkeypatch.setattr("seq2seq.precision.native_bfloat16", lambda flags=None: True)
    lines = []
    train(load_config(tmp_path / "auto.yaml", ["train.epochs=1"]), tmp_path / "run", log=lines.append)
    assert "precision: mixed_bfloat16 (auto: this CPU has native bfloat16 instructions (AVX512_BF16 or AMX))" in lines
    assert RunDirectory(tmp_path / "run").load_config().train.precision == "mixed_bfloat16"
    # Resumed on a machine without bfloat16, the run goes on in the precision its layers were made with.
    monkeypatch.setattr("seq2seq.precision.native_bfloat16", lambda flags=None: False)
    train(load_config(tmp_path / "auto.yaml"), tmp_path / "run", resume=True, log=lines.append)
    saved = RunDirectory(tmp_path / "run")
    assert saved.read_state()["epoch"] == 2
    assert saved.load_config().train.precision == "mixed_bfloat16"


@pytest.mark.slow  # a run and two searches to trace: about 15 s on 2 cores
def test_mixed_float16_trains_with_loss_scaling_and_translates_close_to_float32(tmp_path, tiny_reversal_data):
    """`precision: mixed_float16` (what `auto` picks on a GPU), run on this CPU: one epoch of a tiny run trains
    with Keras' loss scaling (float16 gradients underflow without it) and float32 weights, and its model
    translates in float16. Each float16 beam output must score, under the same weights rescored in float32
    with teacher forcing, what the float16 search said, to float16's precision: the logits come out of
    float16 layers with 11 significant bits (a relative rounding of 2**-11, about 5e-4) and the search sums
    their float32 log-softmax, so scores may differ by a few times that, relatively (2e-3 here)."""
    from keras.optimizers import LossScaleOptimizer

    from seq2seq.batch_shapes import padded_ids
    from seq2seq.config import DecodeConfig
    from seq2seq.search import CompiledSearch
    from seq2seq.tasks.translation.translator import Translator
    from seq2seq.tokens import EOS_ID

    (tmp_path / "f16.yaml").write_text(reversal_config_text(tiny_reversal_data, epochs=1))
    config = load_config(tmp_path / "f16.yaml", ["train.precision=mixed_float16", "train.buckets=1"])
    lines = []
    train(config, tmp_path / "run", log=lines.append)
    assert "precision: mixed_float16 (set in the config)" in lines
    run = RunDirectory(tmp_path / "run")
    assert run.load_config().train.precision == "mixed_float16"
    checkpoint = load_model_file(run.checkpoint(1))
    assert checkpoint.dtype_policy.name == "mixed_float16"
    assert isinstance(checkpoint.optimizer, LossScaleOptimizer)
    assert {weight.dtype for weight in checkpoint.weights} == {"float32"}

    in_float16 = Translator.load(run.path, precision="mixed_float16")
    assert in_float16.model.decoder.output_projection.compute_dtype == "float16"
    in_float32 = Translator.load(run.path)  # `auto` decodes a float16 model in float32 where no GPU is seen
    assert in_float32.model.dtype_policy.name == "float32"
    sources = [line.split("\t")[0] for line in (tiny_reversal_data / "test.tsv").read_text().splitlines()]
    source_ids = padded_ids([ids + [EOS_ID] for ids in in_float16.source_tokenizer.encode(sources)])
    found = CompiledSearch(in_float16.model, DecodeConfig(beam_size=3, n_best=2))(source_ids)
    assert np.all(np.isfinite(found.scores)) and np.all(found.scores < 0)
    np.testing.assert_allclose(found.scores, teacher_forced_scores([in_float32.model], source_ids, found.tokens),
                               rtol=2e-3, atol=1e-3)
