"""`.pth` files written as `torch.save` writes them, without torch: for the weight reader's tests and the
fuzz test. Stand-in `torch` modules make the pickler write the globals torch writes."""

import io
import pickle
import struct
import sys
import types
import zipfile
from collections import OrderedDict

import pytest

LEGACY_HEADER = (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True})
DTYPE_NAMES = {"f4": "FloatStorage", "f8": "DoubleStorage", "f2": "HalfStorage", "i8": "LongStorage",
               "b1": "BoolStorage"}


class FakeTensor:
    """Pickles as torch does a tensor: _rebuild_tensor_v2(storage, offset, size, stride, grad, hooks)."""

    def __init__(self, storage, offset, shape, strides):
        self.args = (storage, offset, shape, strides, False, OrderedDict())

    def __reduce__(self):
        return sys.modules["torch._utils"]._rebuild_tensor_v2, self.args


class FakeParameter:
    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce__(self):
        return sys.modules["torch._utils"]._rebuild_parameter, (self.tensor, True, OrderedDict())


class FakeStorage:
    """A storage: its key, elements, and (legacy format only) a (view key, offset, size) slice."""

    def __init__(self, key, elements, view=None):
        self.key, self.elements, self.view = key, elements, view


class RunsCode:
    """A pickle payload: unpickling it calls `function(*arguments)`."""

    def __init__(self, function, *arguments):
        self.function, self.arguments = function, arguments

    def __reduce__(self):
        return self.function, self.arguments


def _fake_torch():
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    for name in DTYPE_NAMES.values():
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    for name in ("_rebuild_tensor_v2", "_rebuild_parameter"):
        function = lambda *args: None  # noqa: E731 -- only pickled by reference, never called
        function.__module__, function.__name__, function.__qualname__ = "torch._utils", name, name
        setattr(utils, name, function)
    return {"torch": torch, "torch._utils": utils}


def pth_bytes(state, legacy=False, payload=None) -> bytes:
    """`state` (names -> FakeTensor) as torch.save writes it: a zip archive, or the legacy stream;
    `payload`, pickled bytes, stands where the state's pickle belongs."""
    storages = {}

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if not isinstance(obj, FakeStorage):
                return None
            storages[obj.key] = obj.elements
            storage_type = getattr(sys.modules["torch"], DTYPE_NAMES[obj.elements.dtype.str[1:]])
            record = ("storage", storage_type, obj.key, "cpu", obj.elements.size)
            return record + (obj.view,) if legacy else record

    buffer = io.BytesIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, module in _fake_torch().items():
            patch.setitem(sys.modules, name, module)
        if payload is None:
            Pickler(buffer, protocol=2).dump(state)
        else:
            buffer.write(payload)
    out = io.BytesIO()
    if legacy:
        for header in LEGACY_HEADER:
            pickle.dump(header, out, protocol=2)
        out.write(buffer.getvalue())
        pickle.dump(list(storages), out, protocol=2)
        for elements in storages.values():
            out.write(struct.pack("<q", elements.size) + elements.tobytes())
        return out.getvalue()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        archive.writestr("archive/byteorder", "little")
        for key, elements in storages.items():
            archive.writestr(f"archive/data/{key}", elements.tobytes())
        archive.writestr("archive/version", "3\n")
    return out.getvalue()


def write_pth(path, state, legacy=False, payload=None):
    path.write_bytes(pth_bytes(state, legacy, payload))
    return path
