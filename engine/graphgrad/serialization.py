"""graphgrad.save / graphgrad.load: tensors, state dicts and nested containers in a safe file.

The file is a zip archive: `graphgrad/manifest.json` describes the saved object as JSON (dicts,
lists, tuples, numbers, strings, None, dtypes, devices) with tensors replaced by references to
`graphgrad/data/<n>`, each the raw little-endian bytes of one C-contiguous array. Loading parses
JSON and copies bytes into arrays: it never imports or runs anything named by the file (no
pickle), so a file from anywhere is as safe to load as a JSON document."""
import io
import json
import math
import os
import zipfile
from collections import OrderedDict

import numpy as np

from . import dtypes
from .device import CPU, as_device, device
from .tensor import Size, Tensor

FORMAT, VERSION = "graphgrad.save", 1
MANIFEST = "graphgrad/manifest.json"


# ---- saving --------------------------------------------------------------------------------------

class _Writer:
    def __init__(self):
        self.arrays = []       # host arrays, in the order their entries are written
        self.entries = []      # manifest descriptions of those arrays
        self.seen = {}         # id(tensor or array) -> index: a shared tensor is stored once
        self.objects = []      # what was saved, alive while saving so that ids stay unique

    def array_ref(self, obj, array, kind, requires_grad=False, device_str="cpu"):
        key = id(obj)
        if key not in self.seen:
            host = array if type(array) is np.ndarray else array.get()
            host = host if host.flags.c_contiguous else host.copy(order="C")
            host = host.astype(host.dtype.newbyteorder("<"), copy=False)
            self.seen[key] = len(self.arrays)
            self.arrays.append(host)
            self.entries.append({"file": f"graphgrad/data/{len(self.entries)}", "kind": kind,
                                 "dtype": host.dtype.name, "shape": list(host.shape), "device": device_str,
                                 "requires_grad": bool(requires_grad)})
            self.objects.append(obj)
        return self.seen[key]

    def encode(self, obj):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int) and not isinstance(obj, bool):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"$": "float", "v": repr(obj)}
        if isinstance(obj, Tensor):
            kind = "parameter" if type(obj).__name__ == "Parameter" else "tensor"
            return {"$": "tensor", "id": self.array_ref(obj, obj._data, kind, obj.requires_grad, str(obj.device))}
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biuf":
                raise TypeError(f"graphgrad.save cannot store numpy arrays of dtype {obj.dtype}")
            return {"$": "ndarray", "id": self.array_ref(obj, obj, "ndarray")}
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return {"$": "npscalar", "dtype": obj.dtype.name, "v": self.encode(obj.item())}
        if isinstance(obj, dtypes.dtype):
            return {"$": "dtype", "v": obj.name}
        if isinstance(obj, device):
            return {"$": "device", "v": str(obj)}
        if isinstance(obj, Size):
            return {"$": "size", "v": list(obj)}
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):
            raise _unsupported(obj)
        if isinstance(obj, tuple):
            return {"$": "tuple", "v": [self.encode(v) for v in obj]}
        if isinstance(obj, list):
            return [self.encode(v) for v in obj]
        if isinstance(obj, dict):
            out = {"$": "odict" if isinstance(obj, OrderedDict) else "dict",
                   "v": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
            metadata = getattr(obj, "_metadata", None)  # what torch's module state_dicts carry
            if metadata is not None:
                out["metadata"] = self.encode(metadata)
            return out
        if isinstance(obj, bytes):
            return {"$": "bytes", "v": obj.hex()}
        raise _unsupported(obj)


def _unsupported(obj):
    name = type(obj).__name__
    hint = (" Save model.state_dict() instead, and restore it with model.load_state_dict(graphgrad.load(path))."
            if hasattr(obj, "state_dict") else "")
    return TypeError(f"graphgrad.save cannot store an object of type {name}: its file format holds tensors, numpy "
                     f"arrays, numbers, strings, None, dtypes, devices and dicts, lists and tuples of them, so that "
                     f"loading never runs code.{hint}")


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True):
    """Write obj (tensors, state dicts, nested containers of them) to a path or a binary file."""
    writer = _Writer()
    manifest = {"format": FORMAT, "version": VERSION, "object": writer.encode(obj), "tensors": writer.entries}
    text = json.dumps(manifest, allow_nan=False)
    target = os.fspath(f) if isinstance(f, (str, os.PathLike)) else f
    if isinstance(target, str) and not os.path.isdir(os.path.dirname(os.path.abspath(target))):
        raise RuntimeError(f"Parent directory {os.path.dirname(os.path.abspath(target))} does not exist.")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(MANIFEST, text)
        for entry, array in zip(writer.entries, writer.arrays):
            with zf.open(entry["file"], "w", force_zip64=array.nbytes > 2 ** 31) as out:
                out.write(memoryview(array.reshape(-1)).cast("B") if array.size else b"")


# ---- loading ----------------------------------------------------------------------------------------

def _name_of(f):
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    return getattr(f, "name", None) or f"<{type(f).__name__}>"


class _Reader:
    def __init__(self, zf, name, map_location):
        self.zf, self.name, self.map_location = zf, name, map_location
        self.loaded = {}

    def fail(self, what):
        raise RuntimeError(f"graphgrad.load({self.name!r}): {what}")

    def array(self, index):
        entries = self.manifest["tensors"]
        if not isinstance(index, int) or not 0 <= index < len(entries):
            self.fail(f"the manifest refers to tensor {index!r}, which it does not list")
        entry = entries[index]
        try:
            dtype = np.dtype(entry["dtype"]).newbyteorder("<")
            shape = tuple(int(s) for s in entry["shape"])
            if dtype.kind not in "biuf" or any(s < 0 for s in shape):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            self.fail(f"tensor entry {index} is malformed: {entry!r}")
        expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow to fool the size check
        try:
            size = self.zf.getinfo(str(entry.get("file"))).file_size
        except KeyError:
            self.fail(f"the archive has no {entry['file']!r} (the data of tensor {index}): the file is incomplete")
        if size != expected:  # checked before allocating: a manifest cannot make us allocate what is not there
            self.fail(f"tensor {index} ({entry['dtype']} of shape {list(shape)}) should have {expected} bytes but "
                      f"has {size}: the file is truncated or corrupted")
        array = np.empty(shape, dtype)
        try:
            with self.zf.open(entry["file"]) as src:
                got = src.readinto(memoryview(array.reshape(-1)).cast("B")) if expected else 0
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
            self.fail(f"the data of tensor {index} cannot be read ({e}): the file is truncated or corrupted")
        if got != expected:
            self.fail(f"the data of tensor {index} ends after {got} of {expected} bytes: the file is truncated")
        return (array if dtype.isnative else array.astype(dtype.newbyteorder("="))), entry

    def tensor(self, index):
        if index in self.loaded:
            return self.loaded[index]
        array, entry = self.array(index)
        location = entry.get("device", "cpu")
        t = Tensor._wrap(array)
        t = self.place(t, location)
        if entry.get("requires_grad") and t._data.dtype.kind == "f":
            t.requires_grad = True
        if entry.get("kind") == "parameter":
            from . import nn
            t = nn.Parameter(t, requires_grad=t.requires_grad)
        self.loaded[index] = t
        return t

    def place(self, t, location):
        """Where a tensor saved on `location` goes, under map_location (as torch.load's)."""
        m = self.map_location
        if callable(m) and not isinstance(m, (str, device)):
            moved = m(t, location)
            return t if moved is None else moved
        if isinstance(m, dict):
            target = m.get(location, location)
        else:
            target = location if m is None else m
        target = as_device(target)
        if target is not CPU:
            from . import cuda
            if not cuda.is_available():
                raise RuntimeError("Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
                                   "is False. If you are running on a CPU-only machine, please use torch.load with "
                                   "map_location=torch.device('cpu') to map your storages to the CPU.")
        return t.to(target)

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or "$" not in node:
            self.fail(f"the manifest holds an entry it cannot read: {str(node)[:80]}")
        tag, value = node["$"], node.get("v")
        if tag == "tensor":
            return self.tensor(node.get("id"))
        if tag == "ndarray":
            return self.array(node.get("id"))[0]
        if tag in ("dict", "odict"):
            out = (OrderedDict if tag == "odict" else dict)((self.decode(k), self.decode(v)) for k, v in value)
            if "metadata" in node:
                out._metadata = self.decode(node["metadata"])
            return out
        if tag == "tuple":
            return tuple(self.decode(v) for v in value)
        if tag == "float":
            return float(value)
        if tag == "npscalar":
            return np.dtype(node["dtype"]).type(self.decode(value))
        if tag == "dtype":
            return dtypes.from_name(value)
        if tag == "device":
            return device(value)
        if tag == "size":
            return Size(value)
        if tag == "bytes":
            return bytes.fromhex(value)
        self.fail(f"the manifest holds an entry of unknown kind {tag!r} (saved by a newer graphgrad?)")


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Read what graphgrad.save wrote. Nothing in the file is ever executed (weights_only is
    accepted for compatibility: every graphgrad file is weights-only)."""
    from .serialization_torch import load_foreign  # torch.save archives and .safetensors files
    loaded = load_foreign(f, map_location)
    if loaded is not NotImplemented:
        return loaded
    name = _name_of(f)
    source = os.fspath(f) if isinstance(f, (str, os.PathLike)) else f
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        zf = zipfile.ZipFile(source, "r")
    except zipfile.BadZipFile as e:
        raise RuntimeError(f"graphgrad.load({name!r}): not a graphgrad file ({e}). A graphgrad file is a zip archive "
                           "written by graphgrad.save; this one is truncated, corrupted or of another format.") \
            from None
    with zf:
        reader = _Reader(zf, name, map_location)
        names = zf.namelist()
        if MANIFEST not in names:
            if any(n.endswith("data.pkl") for n in names):
                reader.fail("this is a PyTorch file (torch.save writes Python pickles). graphgrad does not unpickle, "
                            "because unpickling can run arbitrary code; re-save the tensors from PyTorch as numpy "
                            "arrays and build graphgrad tensors from them.")
            reader.fail(f"the archive has no {MANIFEST}: it was not written by graphgrad.save")
        try:
            manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
        except (ValueError, zipfile.BadZipFile, EOFError, OSError) as e:
            reader.fail(f"its manifest cannot be read ({e}): the file is truncated or corrupted")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            reader.fail("its manifest is not a graphgrad manifest")
        if manifest.get("version", 0) > VERSION:
            reader.fail(f"it was written in format version {manifest['version']}; this graphgrad reads up to "
                        f"version {VERSION}")
        if not isinstance(manifest.get("tensors"), list) or "object" not in manifest:
            reader.fail("its manifest is incomplete")
        reader.manifest = manifest
        return reader.decode(manifest["object"])


from .serialization_torch import (add_safe_globals, clear_safe_globals, get_safe_globals,  # noqa: E402
                                  safe_globals)
