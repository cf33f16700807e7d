"""`precision: auto`: the compute dtype this machine runs fastest without losing the model's quality.

bfloat16 halves the bytes every matrix product reads, but only a processor with bfloat16 instructions
(AVX512_BF16 or AMX on x86) computes in it natively; elsewhere TensorFlow converts to float32 and back
around every product, which costs more than it saves (BENCHMARKS.md, "Precision"). GPUs run float16
fast, with loss scaling (Keras does it for `mixed_float16`). So `auto` means: mixed_float16 where
TensorFlow sees a GPU, mixed_bfloat16 where the CPU has native bfloat16 instructions, float32 elsewhere.
Decoding with `auto` keeps the precision the model was trained in where this machine runs it natively
(so `evaluate` reproduces the dev scores of training) and falls back to float32 where it does not: a
model trained in bfloat16 on one machine decodes at full speed on a machine without bfloat16.

The processor's flags are read from /proc/cpuinfo (Linux); where there is no such file, `auto` stays
with float32, the choice that is never slow for lack of an instruction.
"""

from pathlib import Path

from seq2seq.errors import ConfigError

AUTO = "auto"
PRECISIONS = (AUTO, "float32", "mixed_bfloat16", "mixed_float16")
NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo=Path("/proc/cpuinfo")) -> set[str]:
    """The instruction-set flags of the first processor listed, or none where the file is not there."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def native_bfloat16(flags=None) -> bool:
    """Whether the CPU computes bfloat16 products in hardware (AVX512_BF16 or AMX)."""
    flags = cpu_flags() if flags is None else flags
    return any(flag in flags for flag in NATIVE_BFLOAT16_FLAGS)


def gpu_visible() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def resolve_precision(requested: str) -> tuple[str, str]:
    """-> (a Keras dtype policy name, why), for a `precision:` setting; `auto` is decided here."""
    check_precision(requested)
    if requested != AUTO:
        return requested, "set in the config"
    if gpu_visible():
        return "mixed_float16", "auto: a GPU is visible"
    if native_bfloat16():
        return "mixed_bfloat16", "auto: this CPU has native bfloat16 instructions (AVX512_BF16 or AMX)"
    return "float32", "auto: this CPU has no native bfloat16 instructions (AVX512_BF16 or AMX)"


def decoding_precision(requested: str, trained: str) -> str:
    """The dtype policy to decode a model trained in `trained` with, for a `decode.precision` setting."""
    check_precision(requested)
    if requested != AUTO:
        return requested
    runs_natively = {"mixed_bfloat16": native_bfloat16, "mixed_float16": gpu_visible}.get(trained, lambda: True)
    return trained if runs_natively() else "float32"


def check_precision(name: str):
    if name not in PRECISIONS:
        raise ConfigError(f"precision '{name}' is not one of {', '.join(PRECISIONS)}")
