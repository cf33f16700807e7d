"""Reads PyTorch `.pth` state dicts with numpy alone, never running code from the file.

`torch.load` unpickles whatever the file names, so a downloaded checkpoint can run any code. Here the
pickle may name only the few globals that rebuild tensors; any other is refused before it is looked up.
Both layouts torch writes are read: the zip archive (torch >= 1.6: `<name>/data.pkl` and one record
`<name>/data/<key>` per storage) and the legacy stream (magic number, protocol, system info, the pickle,
the list of storage keys, then each storage as an int64 element count followed by its raw bytes).
"""

import io
import math
import os
import pickle
import re
import textwrap
import zipfile
import zlib
from collections import OrderedDict, namedtuple
from pathlib import Path

import numpy as np

from seq2seq.errors import Seq2SeqError

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES = {
    "DoubleStorage": "f8", "FloatStorage": "f4", "HalfStorage": "f2",
    "LongStorage": "i8", "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?",
}
_ZIP_PICKLE = re.compile(r"[^/]+/data\.pkl")


class _BadFile(Exception):
    """A problem with the file's content; `read_state_dict` adds the file's name."""


# Whatever the pickle can reach must be immutable or made fresh for it: opcode BUILD sets attributes.
# Named tuples have neither a __dict__ nor a __setstate__; the rebuild functions are handed out as new
# closures on each lookup; OrderedDict is a built-in type, which cannot be changed.
_StorageType = namedtuple("_StorageType", "name dtype")  # what `torch.FloatStorage` and its kin stand for
_Storage = namedtuple("_Storage", "key dtype numel view")  # view: a legacy (offset, length) slice, in elements
_Tensor = namedtuple("_Tensor", "storage offset shape strides")  # where its elements sit in the storage


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *_requires_grad_hooks_metadata):
    if not isinstance(storage, _Storage):
        raise _BadFile("a tensor record does not point at a storage")
    return _Tensor(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, *_requires_grad_hooks):
    return data


_REBUILD_FUNCTIONS = {"_rebuild_tensor_v2": _rebuild_tensor_v2, "_rebuild_parameter": _rebuild_parameter}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the tensor-rebuild globals; notes every storage the pickle names in `storages`."""

    def __init__(self, file, storages):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch._utils" and name in _REBUILD_FUNCTIONS:
            rebuild = _REBUILD_FUNCTIONS[name]
            return lambda *args: rebuild(*args)
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name, np.dtype(_STORAGE_DTYPES[name]))
        raise _BadFile(f"refusing to load {module}.{name}: only tensor records are accepted")

    def persistent_load(self, pid):
        # zip: ('storage', type, key, location, numel); legacy adds view_metadata (view_key, offset, size)
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and _is_count(pid[4])):
            raise _BadFile(f"unexpected persistent record {pid!r:.80}")
        storage_type, key, numel = pid[1], str(pid[2]), pid[4]
        view = pid[5] if len(pid) == 6 else None
        if view is not None:
            if not (isinstance(view, tuple) and len(view) == 3 and all(map(_is_count, view[1:]))):
                raise _BadFile(f"unexpected storage view {view!r:.80}")
            view = view[1:]
        known = self._storages.setdefault(key, (storage_type.dtype, numel))
        if known != (storage_type.dtype, numel):
            raise _BadFile(f"storage {key} is described twice, differently")
        return _Storage(key, storage_type.dtype, numel, view)


def _is_count(value) -> bool:
    return isinstance(value, int) and value >= 0


def read_state_dict(path, name=None) -> dict[str, np.ndarray]:
    """Tensors by name from a `.pth` state dict, as contiguous numpy arrays in native byte order.

    `name` is how errors name the file (default: `path`), e.g. the wheel a temporary copy came from.
    """
    path = Path(path)
    name = name or path
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                raise _BadFile("the file is empty")
            if zipfile.is_zipfile(handle):
                state, storages = _read_zip(handle)
            else:
                handle.seek(0)
                state, storages = _read_legacy(handle)
            return _tensors_by_name(state, storages)
    except OSError as error:
        raise Seq2SeqError(f"cannot read {name}: {error.strerror or error}") from None
    except _BadFile as error:
        raise Seq2SeqError(f"{name}: {error}") from None


def _read_zip(handle):
    """The pickled state and its storages (flat arrays by key) from a zip-format checkpoint."""
    try:
        with zipfile.ZipFile(handle) as archive:
            pickles = [name for name in archive.namelist() if _ZIP_PICKLE.fullmatch(name)]
            if len(pickles) != 1:
                raise _BadFile("a zip archive without exactly one <name>/data.pkl: not a PyTorch checkpoint")
            prefix = pickles[0][: -len("data.pkl")]
            byteorder = "little"
            if f"{prefix}byteorder" in archive.namelist():
                byteorder = archive.read(f"{prefix}byteorder").decode("ascii", "replace").strip()
                if byteorder not in ("little", "big"):
                    raise _BadFile(f"unknown byte order {byteorder!r:.20} in {prefix}byteorder")
            described = {}
            state = _unpickle(io.BytesIO(archive.read(pickles[0])), described)
            storages = {}
            for key, (dtype, numel) in described.items():
                record = f"{prefix}data/{key}"
                if record not in archive.namelist():
                    raise _BadFile(f"the archive has no record {record} for a storage its pickle names")
                storages[key] = _flat(archive.read(record), dtype, numel, byteorder, f"record {record}")
            return state, storages
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        # What zipfile raises for a damaged archive, corrupt compressed data, a cut member and a compression
        # method it lacks; BadZipFile's message can quote a kilobyte of the damaged header.
        raise _BadFile(f"damaged zip archive: {textwrap.shorten(str(error), 200, placeholder=' ...')}") from None


def _read_legacy(handle):
    """The pickled state and its storages from a checkpoint in torch's pre-1.6 stream format."""
    start = handle.read(4)
    if start == b"PK\x03\x04":
        raise _BadFile("a truncated or damaged zip archive (its central directory is missing)")
    if start[:1] != pickle.PROTO:  # torch pickles with protocol 2 or later, which starts with PROTO
        raise _BadFile("not a PyTorch checkpoint: neither a zip archive nor torch's legacy format")
    handle.seek(0)
    if _unpickle(handle, {}, what="the magic number") != _LEGACY_MAGIC:
        raise _BadFile("not a PyTorch checkpoint: neither a zip archive nor the legacy magic number")
    protocol = _unpickle(handle, {}, what="the protocol version")
    if protocol != _LEGACY_PROTOCOL:
        raise _BadFile(f"legacy protocol version {protocol!r}; only {_LEGACY_PROTOCOL} is known")
    system = _unpickle(handle, {}, what="the system information")
    byteorder = "little" if not isinstance(system, dict) or system.get("little_endian", True) else "big"
    described = {}
    state = _unpickle(handle, described)
    keys = _unpickle(handle, {}, what="the list of storage keys")
    if not isinstance(keys, list):
        raise _BadFile("the list of storage keys is missing")
    storages = {}
    for key in map(str, keys):
        if key not in described:
            raise _BadFile(f"storage {key} is listed but no tensor uses it")
        dtype, numel = described[key]
        header = handle.read(8)
        if len(header) < 8:
            raise _BadFile(f"truncated: storage {key} is missing")
        count = int.from_bytes(header, byteorder, signed=True)
        if count != numel:
            raise _BadFile(f"storage {key} holds {count} elements, its tensors expect {numel}")
        storages[key] = _flat(handle.read(numel * dtype.itemsize), dtype, numel, byteorder, f"storage {key}")
    missing = described.keys() - storages.keys()
    if missing:
        raise _BadFile(f"storages named by the pickle are not in the file: {', '.join(sorted(missing))}")
    return state, storages


def _unpickle(file, storages, what="the pickled state dict"):
    try:
        return _RestrictedUnpickler(file, storages).load()
    except _BadFile:
        raise
    except Exception as error:  # a damaged pickle fails in many ways: EOFError, UnpicklingError, TypeError...
        raise _BadFile(f"truncated or damaged: cannot unpickle {what} ({type(error).__name__}: {error})") from None


def _flat(data: bytes, dtype: np.dtype, numel: int, byteorder: str, where: str) -> np.ndarray:
    if len(data) < numel * dtype.itemsize:
        raise _BadFile(f"truncated: {where} has {len(data)} bytes, expected {numel * dtype.itemsize}")
    endian = "<" if byteorder == "little" else ">"
    return np.frombuffer(data, dtype.newbyteorder(endian), count=numel)


def _tensors_by_name(state, storages) -> dict[str, np.ndarray]:
    if not isinstance(state, dict):
        raise _BadFile(f"holds a {type(state).__name__}, not a state dict (tensors by name)")
    tensors = {}
    for name, tensor in state.items():
        if not isinstance(name, str) or not isinstance(tensor, _Tensor):
            raise _BadFile(f"entry {name!r} is not a tensor: not a state dict (tensors by name)")
        tensors[name] = _materialise(name, tensor, storages[tensor.storage.key])
    return tensors


def _materialise(name, tensor: _Tensor, flat: np.ndarray) -> np.ndarray:
    """A copy of the strided view that `tensor` takes of its storage."""
    if tensor.storage.view is not None:
        start, length = tensor.storage.view
        flat = flat[start:start + length]
    shape, strides, offset = tensor.shape, tensor.strides, tensor.offset
    if len(shape) != len(strides) or not all(map(_is_count, (offset, *shape, *strides))):
        raise _BadFile(f"tensor {name} has a malformed layout: offset {offset}, shape {shape}, strides {strides}")
    native = flat.dtype.newbyteorder("=")
    if math.prod(shape) > flat.size:  # strides of 0 repeat elements: a few bytes could ask for terabytes
        raise _BadFile(f"tensor {name} has {math.prod(shape):,} elements, more than the {flat.size:,} of its storage")
    if 0 in shape:
        return np.zeros(shape, native)
    last = offset + sum((n - 1) * stride for n, stride in zip(shape, strides))
    if last >= flat.size:
        raise _BadFile(f"tensor {name} reaches element {last} of a storage of {flat.size}")
    view = np.lib.stride_tricks.as_strided(
        flat[offset:], shape, [stride * flat.itemsize for stride in strides], writeable=False)
    return np.array(view, dtype=native, order="C")
