"""Reading files that PyTorch wrote: `torch.save` checkpoints and `.safetensors` files.

A torch.save file is a zip archive: `<name>/data.pkl` is a pickle of the saved object in which
every tensor's storage is a persistent reference to the raw bytes in `<name>/data/<key>`
(`<name>/byteorder` says their byte order). Pickle is a program: its GLOBAL opcode imports any
name and REDUCE calls it, so `pickle.load` of a file from elsewhere runs whatever it says. This
reader does what torch.load(weights_only=True) promises (the default in torch 2.13): its
`find_class` looks names up in a fixed table of stand-ins and never imports anything, so a
pickle can build tensors (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`), storages,
dtypes, devices, sizes and plain containers, and nothing else. Any other global is refused with
an UnpicklingError that names it, before anything runs. Classes a user trusts can be admitted
with `add_safe_globals([cls])` or `with safe_globals([cls]):`, as in torch.serialization.

`.safetensors` files hold no code at all: a JSON header and raw bytes, read with the
safetensors package's NumPy API (bfloat16 through ml_dtypes)."""
import collections
import contextlib
import io
import json
import os
import pickle
import struct
import zipfile

import numpy as np

from . import dtypes
from .device import device
from .nn import Parameter
from .tensor import Size, Tensor

# ---- the globals a checkpoint may name ------------------------------------------------------------

# torch.<X>Storage: the element type of the bytes in data/<key>
_STORAGE_DTYPES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
    "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
    "ByteStorage": "uint8", "BoolStorage": "bool",
}
_TORCH_DTYPES = {"float64": "float64", "double": "float64", "float32": "float32", "float": "float32",
                 "float16": "float16", "half": "float16", "bfloat16": "bfloat16", "int64": "int64", "long": "int64",
                 "int32": "int32", "int": "int32", "int16": "int16", "short": "int16", "int8": "int8",
                 "uint8": "uint8", "bool": "bool"}


class _StorageType:
    """What `torch.FloatStorage` (and the like) stand for in a pickle: an element type."""

    def __init__(self, name):
        self.name = name

    def np_dtype(self):
        return dtypes.from_name(_STORAGE_DTYPES[self.name]).np


class _Storage:
    """A storage read from data/<key>: its elements, and the device torch.save found it on."""

    def __init__(self, array, location):
        self.array, self.location = array, location


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    """torch._utils._rebuild_tensor_v2: a strided view of a storage (bounds checked first, so a
    crafted file cannot make a view past the storage's end)."""
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError(f"a tensor's storage is a {type(storage).__name__}, not a storage")
    array, itemsize = storage.array, storage.array.dtype.itemsize
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or storage_offset < 0 or any(s < 0 for s in size + stride):
        raise pickle.UnpicklingError(f"a tensor of size {list(size)} and stride {list(stride)} is malformed")
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else storage_offset - 1
    if last >= array.size:
        raise pickle.UnpicklingError(f"a tensor of size {list(size)}, stride {list(stride)} and offset "
                                     f"{storage_offset} reaches past its storage of {array.size} elements")
    view = np.lib.stride_tricks.as_strided(array[storage_offset:] if array.size else array, size,
                                           tuple(s * itemsize for s in stride))
    t = Tensor._wrap(view if view.flags.c_contiguous or view.size == 0 else view.copy())
    if requires_grad and dtypes.from_numpy(view.dtype).is_floating_point:
        t.requires_grad = True
    t._torch_location = storage.location  # read (and dropped) by _placed
    return t


def _rebuild_parameter(data, requires_grad, backward_hooks=None, state=None):
    p = Parameter(data, requires_grad=bool(requires_grad))
    p._torch_location = data.__dict__.pop("_torch_location", "cpu")  # pyright: ignore[reportAttributeAccessIssue]
    return p


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _rebuild_parameter(data, requires_grad)


def _encode(text, encoding="latin1"):
    """_codecs.encode, as protocol 2 pickles bytes: only the two encodings pickle uses."""
    if encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return text.encode(encoding)


def _torch_dtype(name):
    return dtypes.from_name(_TORCH_DTYPES[name])


def _device(*args):
    return device(*args)


_ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch", "device"): _device,
    ("torch", "Size"): Size,
    ("_codecs", "encode"): _encode,
    ("builtins", "set"): set, ("__builtin__", "set"): set,
    ("builtins", "frozenset"): frozenset, ("__builtin__", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray, ("__builtin__", "bytearray"): bytearray,
    ("builtins", "slice"): slice, ("__builtin__", "slice"): slice,
    ("builtins", "complex"): complex, ("__builtin__", "complex"): complex,
}
_ALLOWED.update({("torch", name): _StorageType(name) for name in _STORAGE_DTYPES})
_ALLOWED.update({("torch", name): _torch_dtype(name) for name in _TORCH_DTYPES})

_user_globals = {}  # "module.qualname" -> the object a user trusts (add_safe_globals)


def _full_name(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def add_safe_globals(safe_globals):
    """Admit these classes or functions in checkpoints (torch.serialization.add_safe_globals).
    An entry may be (obj, "module.name") to admit obj under the name a file uses for it."""
    for entry in safe_globals:
        obj, name = entry if isinstance(entry, tuple) else (entry, _full_name(entry))
        _user_globals[name] = obj


def get_safe_globals():
    return list(_user_globals.values())


def clear_safe_globals():
    _user_globals.clear()


@contextlib.contextmanager
def safe_globals(safe_globals):
    """with safe_globals([cls]): admitted only inside the block."""
    before = dict(_user_globals)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _user_globals.clear()
        _user_globals.update(before)


# ---- the restricted unpickler -------------------------------------------------------------------------

class _WeightsUnpickler(pickle._Unpickler):
    """The pure-Python unpickler with every way to reach outside the file closed: globals come
    from the table above, and BUILD (which sets attributes or calls __setstate__) is allowed
    only on OrderedDicts (a state dict's _metadata) and on instances of classes a user admitted."""

    def __init__(self, file, storages):
        super().__init__(file, fix_imports=False)
        self.storages = storages

    def find_class(self, module, name):
        allowed = _ALLOWED.get((module, name))
        if allowed is not None:
            return allowed
        user = _user_globals.get(f"{module}.{name}")
        if user is not None:
            return user
        raise pickle.UnpicklingError(
            f"Weights only load failed: Unsupported global: GLOBAL {module}.{name} was not an allowed global by "
            f"default. graphgrad.load never imports or calls what a file names (torch's weights_only=True "
            f"contract); if you trust {module}.{name}, allow it with "
            f"graphgrad.serialization.add_safe_globals([{name}]) or the "
            f"graphgrad.serialization.safe_globals([{name}]) context manager.")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unknown persistent id {str(pid)[:80]}")
        _, storage_type, key, location, _numel = pid
        return self.storages(storage_type, str(key), str(location))

    def load_build(self):
        inst = self.stack[-2]  # pyright: ignore[reportAttributeAccessIssue]  (the state is on top)
        if not (isinstance(inst, collections.OrderedDict) or type(inst) in _user_globals.values()):
            raise pickle.UnpicklingError(f"Weights only load failed: cannot set the state of a "
                                         f"{type(inst).__name__} (only OrderedDicts and allowed classes)")
        super().load_build()  # pyright: ignore[reportAttributeAccessIssue]  (pickle's Python unpickler)

    dispatch = dict(pickle._Unpickler.dispatch)  # pyright: ignore[reportAttributeAccessIssue]
    dispatch[pickle.BUILD[0]] = load_build  # pyright: ignore[reportArgumentType]


# ---- torch.save's zip archives -----------------------------------------------------------------------

def is_torch_zip(zf):
    return any(n.endswith("/data.pkl") or n == "data.pkl" for n in zf.namelist())


def load_torch_zip(zf, name, map_location):
    """What torch.load(weights_only=True) returns, with graphgrad tensors."""
    from .serialization import _Reader  # its map_location rules, shared (serialization imports this module)
    placer = _Reader(zf, name, map_location)
    pkl = next(n for n in zf.namelist() if n.endswith("data.pkl"))
    prefix = pkl[:-len("data.pkl")]
    names = set(zf.namelist())
    order = zf.read(prefix + "byteorder").decode().strip() if prefix + "byteorder" in names else "little"
    if order not in ("little", "big"):
        placer.fail(f"its byteorder file says {order!r}")
    loaded = {}

    def storage(storage_type, key, location):
        if key not in loaded:
            member = f"{prefix}data/{key}"
            if member not in names:
                placer.fail(f"the archive has no {member!r}: the file is incomplete")
            dtype = storage_type.np_dtype().newbyteorder("<" if order == "little" else ">")
            raw = zf.read(member)
            if len(raw) % dtype.itemsize:
                placer.fail(f"{member} holds {len(raw)} bytes, not a whole number of {storage_type.name} elements")
            array = np.frombuffer(raw, dtype).astype(dtype.newbyteorder("="))  # a writable native copy
            loaded[key] = _Storage(array, location)
        return loaded[key]

    unpickler = _WeightsUnpickler(io.BytesIO(zf.read(pkl)), storage)
    try:
        obj = unpickler.load()
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(f"graphgrad.load({name!r}): {e}") from None
    return _placed(obj, placer, {})


def _placed(obj, placer, moved):
    """The loaded object with each tensor moved where map_location says, a tensor met twice moved
    once (the walk covers the containers a pickle can build here)."""
    if isinstance(obj, Tensor):
        if id(obj) not in moved:
            moved[id(obj)] = _place_tensor(obj, placer)
        return moved[id(obj)]
    if isinstance(obj, dict):
        out = type(obj)((k, _placed(v, placer, moved)) for k, v in obj.items())
        if hasattr(obj, "__dict__"):
            out.__dict__.update(obj.__dict__)
        return out
    if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        return type(obj)(_placed(v, placer, moved) for v in obj)
    return obj


def _place_tensor(t, placer):
    location = t.__dict__.pop("_torch_location", "cpu")
    if location == "cpu" and placer.map_location is None:
        return t
    out = placer.place(t, location)
    if type(t).__name__ == "Parameter" and out is not t:
        out = Parameter(out, requires_grad=t.requires_grad)
    return out


# ---- safetensors ------------------------------------------------------------------------------------

def is_safetensors(head):
    """A .safetensors file: an 8-byte little-endian header length, then a JSON object."""
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n < 100_000_000 and head[8:9] == b"{"


def load_safetensors(data, name, map_location=None):
    """A dict of tensors from the bytes of a .safetensors file (bfloat16 included)."""
    from safetensors.numpy import load
    from .serialization import _Reader  # (serialization imports this module to read torch's archives)
    placer = _Reader(None, name, map_location)
    try:
        header = json.loads(data[8:8 + struct.unpack("<Q", data[:8])[0]])
        bf16 = {k for k, v in header.items() if isinstance(v, dict) and v.get("dtype") == "BF16"}
        arrays = load(_bf16_read_as_u16(data, header) if bf16 else data)
    except Exception as e:  # the package raises its own error types for malformed files
        placer.fail(f"not a readable .safetensors file ({e})")
    out = {}
    for key, array in arrays.items():
        t = Tensor._wrap(array.view(dtypes.from_name("bfloat16").np) if key in bf16 else array)
        out[key] = t if map_location is None else placer.place(t, "cpu")
    return out


def _bf16_read_as_u16(data, header):
    """NumPy knows no "bfloat16" by name, so the package cannot read BF16 entries: they are read
    as U16 (the same bytes, under a rewritten header), then viewed as ml_dtypes' bfloat16."""
    old_length = struct.unpack("<Q", data[:8])[0]
    header = {k: (dict(v, dtype="U16") if isinstance(v, dict) and v.get("dtype") == "BF16" else v)
              for k, v in header.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data[8 + old_length:]


def save_safetensors(tensors, path, metadata=None):
    """A dict of graphgrad tensors to a .safetensors file (safetensors.numpy.save_file)."""
    from safetensors.numpy import save_file
    save_file({k: np.ascontiguousarray(t.detach().cpu()._data) for k, v in tensors.items() for t in (v,)},
              os.fspath(path), metadata=metadata)


# ---- what graphgrad.load hands over -------------------------------------------------------------------

def load_foreign(f, map_location=None):
    """A torch.save archive or a .safetensors file, loaded; NotImplemented for anything else
    (graphgrad's own format goes on to graphgrad.serialization)."""
    from .serialization import _name_of  # (serialization imports this module to read torch's archives)
    name = _name_of(f)
    if isinstance(f, (str, os.PathLike)):
        if not os.path.isfile(f):
            return NotImplemented
        with open(f, "rb") as src:
            return _load_from(src, name, map_location)
    if isinstance(f, (bytes, bytearray)):
        return _load_from(io.BytesIO(f), name, map_location)
    if hasattr(f, "seek") and hasattr(f, "read"):
        start = f.tell()
        loaded = _load_from(f, name, map_location)
        if loaded is NotImplemented:
            f.seek(start)
        return loaded
    return NotImplemented


_LEGACY_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"  # protocol 2, then torch's magic number, pickled


def _load_from(src, name, map_location):
    start = src.tell()
    head = src.read(16)
    src.seek(start)
    if is_safetensors(head):
        return load_safetensors(src.read(), name, map_location)
    if head.startswith(_LEGACY_MAGIC):
        raise RuntimeError(f"graphgrad.load({name!r}): this file is in torch's legacy format (torch.save with "
                           "_use_new_zipfile_serialization=False, or torch before 1.6), which graphgrad does not "
                           "read; load it with torch and save it again with torch.save's default (zip) format")
    if head[:4] != b"PK\x03\x04":
        return NotImplemented
    try:
        zf = zipfile.ZipFile(src, "r")
    except zipfile.BadZipFile:
        src.seek(start)
        return NotImplemented
    with zf:
        if not is_torch_zip(zf):
            src.seek(start)
            return NotImplemented
        return load_torch_zip(zf, name, map_location)
