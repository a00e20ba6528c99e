"""graphgrad.save / graphgrad.load: tensors, state dicts and nested containers in a safe file.

The file is a zip archive: `graphgrad/manifest.json` describes the saved object as JSON (dicts,
lists, tuples, numbers, strings, None, dtypes, devices) with tensors replaced by references to
`graphgrad/data/<n>`, each the raw little-endian bytes of one C-contiguous array. Loading parses
JSON and copies bytes into arrays: it never imports or runs anything named by the file (no
pickle), so a file from anywhere is as safe to load as a JSON document."""
import contextlib
import io
import json
import math
import os
import secrets
import stat
import struct
import zipfile
from typing import Any
from collections import OrderedDict

import numpy as np

from . import cuda, dtypes, nn
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
    if not isinstance(f, (str, os.PathLike)):
        _write_archive(f, text, writer)
        return
    target = os.path.realpath(os.fspath(f))  # a symlink's target is what gets replaced
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise RuntimeError(f"Parent directory {os.path.dirname(os.path.abspath(os.fspath(f)))} does not exist.")
    # Written to a temporary file beside the target, flushed to disk, then renamed over it: a
    # full disk or a kill mid-save leaves the previous file whole (torch.save truncates it first).
    temp = os.path.join(folder, f".{os.path.basename(target)}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            _write_archive(out, text, writer)
            out.flush()
            os.fsync(out.fileno())
        if os.path.exists(target):
            os.chmod(temp, stat.S_IMODE(os.stat(target).st_mode))  # overwriting keeps the file's mode
        os.replace(temp, target)
    except BaseException:  # KeyboardInterrupt too: no temporary file is left behind
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(folder)


def _write_archive(out, text, writer):
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(MANIFEST, text)
        for entry, array in zip(writer.entries, writer.arrays):
            with zf.open(entry["file"], "w", force_zip64=array.nbytes > 2 ** 31) as dst:
                dst.write(memoryview(array.reshape(-1).view(np.uint8)) if array.size else b"")  # (bfloat16 too)


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX; Windows cannot open a folder and needs nothing)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- loading ----------------------------------------------------------------------------------------

def _name_of(f):
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    return getattr(f, "name", None) or f"<{type(f).__name__}>"


# what the manifest may name: numpy arrays keep any of these; tensors only graphgrad's dtypes
_ARRAY_DTYPES = {n: np.dtype(n) for n in ("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
                                          "int64", "float16", "float32", "float64")}
_TENSOR_DTYPES = {d.np.name for d in dtypes.all_dtypes}
_MAX_DIMS = 64        # NumPy's limit (torch's too)
_MAX_BYTES = 2 ** 63 - 1
_CHUNK = 1 << 20      # tensor data is read 1 MiB at a time straight into the array: no second copy
_STRUCTURE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OverflowError, EOFError, OSError,
                     struct.error, NotImplementedError, UnicodeDecodeError, KeyError, IndexError, TypeError)


class _Reader:
    def __init__(self, zf, name, map_location, archive_size=None):
        self.zf, self.name, self.map_location, self.archive_size = zf, name, map_location, archive_size
        self.loaded = {}

    def fail(self, what):
        raise RuntimeError(f"graphgrad.load({self.name!r}): {what}")

    def malformed(self, node, why):
        self.fail(f"the manifest entry {_short(node)} is malformed: {why}")

    def stored(self, name, what):
        """The zip entry `name`, which must be stored as graphgrad.save stores it: uncompressed,
        unencrypted, and lying within the file (its sizes are then bounded by the file's)."""
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            self.fail(f"the archive has no {name!r} ({what}): the file is incomplete")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            self.fail(f"{name!r} ({what}) is compressed or encrypted; graphgrad.save stores entries as they are, so "
                      f"the file was not written by graphgrad.save or was altered")
        beyond = self.archive_size is not None and info.header_offset + info.file_size > self.archive_size
        if info.compress_size != info.file_size or beyond:
            self.fail(f"{name!r} ({what}) claims {info.file_size} bytes, more than the file holds: the file is "
                      "truncated or corrupted")
        return info

    def read_manifest(self):
        info = self.stored(MANIFEST, "the manifest")
        try:
            with self.zf.open(info) as src:
                manifest = json.loads(src.read().decode("utf-8"))
        except RecursionError:
            self.fail("its manifest is nested too deeply")
        except _STRUCTURE_ERRORS as e:
            self.fail(f"its manifest cannot be read ({e}): the file is truncated or corrupted")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            self.fail("its manifest is not a graphgrad manifest")
        version = manifest.get("version")
        if type(version) is not int or version < 1:
            self.fail(f"its manifest has no valid format version ({_short(version)})")
        if version > VERSION:
            self.fail(f"it was written in format version {version}; this graphgrad reads up to version {VERSION}")
        if not isinstance(manifest.get("tensors"), list) or "object" not in manifest:
            self.fail("its manifest is incomplete")
        self.manifest = manifest

    def array(self, index, tag):
        entries = self.manifest["tensors"]
        if type(index) is not int or not 0 <= index < len(entries):
            self.fail(f"the manifest refers to tensor {_short(index)}, which it does not list")
        entry = entries[index]
        dtype, shape, file = self.check_entry(index, entry, tag)
        expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow to fool the size check
        size = self.stored(file, f"the data of tensor {index}").file_size
        if size != expected:  # checked before allocating: a manifest cannot make us allocate what is not there
            self.fail(f"tensor {index} ({entry['dtype']} of shape {list(shape)}) should have {expected} bytes but "
                      f"has {size}: the file is truncated or corrupted")
        if math.prod(max(s, 1) for s in shape) * dtype.itemsize > _MAX_BYTES:
            self.malformed(entry, f"shape {list(shape)} is too large for any array")
        array = np.empty(shape, dtype)
        try:
            got = self.read_into(file, array.reshape(-1).view(np.uint8).data) if expected else 0
        except _STRUCTURE_ERRORS as e:
            self.fail(f"the data of tensor {index} cannot be read ({e}): the file is truncated or corrupted")
        if got != expected:
            self.fail(f"the data of tensor {index} ends after {got} of {expected} bytes: the file is truncated")
        return (array if dtype.isnative else array.astype(dtype.newbyteorder("="))), entry

    def read_into(self, file, view):
        """Fill `view` from the entry in chunks (ZipExtFile.readinto would read it all into one
        bytes object first, doubling the peak memory); the CRC is checked at the end."""
        got = 0
        with self.zf.open(file) as src:
            while got < len(view):
                chunk = src.read(min(_CHUNK, len(view) - got))
                if not chunk:
                    break
                view[got:got + len(chunk)] = chunk
                got += len(chunk)
            src.read(1)  # reaching the end is what makes zipfile compare the CRC
        return got

    def check_entry(self, index, entry, tag):
        """A tensor entry's dtype, shape and file, each checked: the tag that refers to it must match
        its kind, and a tensor's dtype must be one graphgrad has."""
        if not isinstance(entry, dict):
            self.malformed(entry, f"tensor entry {index} is not an object")
        kind, file = entry.get("kind", "tensor"), entry.get("file")
        if (kind == "ndarray") != (tag == "ndarray") or kind not in ("tensor", "parameter", "ndarray"):
            self.malformed(entry, f"tensor entry {index} is of kind {_short(kind)} but is referred to as {tag!r}")
        allowed = _ARRAY_DTYPES if kind == "ndarray" else _TENSOR_DTYPES
        name = entry.get("dtype")
        if not isinstance(name, str) or name not in allowed:
            self.malformed(entry, f"tensor entry {index} has dtype {_short(name)}, which a {kind} cannot hold")
        shape = entry.get("shape")
        if not isinstance(shape, list) or len(shape) > _MAX_DIMS or \
                any(type(s) is not int or s < 0 for s in shape):
            self.malformed(entry, f"tensor entry {index} has shape {_short(shape)}: a list of at most {_MAX_DIMS} "
                                  "non-negative ints is expected")
        if not isinstance(file, str):
            self.malformed(entry, f"tensor entry {index} names no data file")
        if not isinstance(entry.get("requires_grad", False), bool) or not isinstance(entry.get("device", "cpu"), str):
            self.malformed(entry, f"tensor entry {index} has a requires_grad or device of the wrong type")
        return np.dtype(name).newbyteorder("<"), tuple(shape), file

    def tensor(self, index):
        if type(index) is int and index in self.loaded:
            return self.loaded[index]
        array, entry = self.array(index, "tensor")
        location = self.device_name(entry.get("device", "cpu"), entry)
        t = Tensor._wrap(array)
        t = self.place(t, location)
        if entry.get("requires_grad") and t._data.dtype.kind == "f":
            t.requires_grad = True
        if entry.get("kind") == "parameter":
            t = nn.Parameter(t, requires_grad=t.requires_grad)
        self.loaded[index] = t
        return t

    def device_name(self, value, node):
        try:
            return str(device(value))
        except (RuntimeError, ValueError, TypeError) as e:
            self.malformed(node, f"{_short(value)} is not a device ({e})")

    def place(self, t: Tensor, location) -> Any:   # (a map_location function may return anything)
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
        if target is not CPU and not cuda.is_available():
            raise RuntimeError("Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
                               "is False. If you are running on a CPU-only machine, please use torch.load with "
                               "map_location=torch.device('cpu') to map your storages to the CPU.")
        return t.to(target)

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or not isinstance(node.get("$"), str):
            self.fail(f"the manifest holds an entry it cannot read: {_short(node)}")
        tag, value = node["$"], node.get("v")
        if tag == "tensor":
            return self.tensor(node.get("id"))
        if tag == "ndarray":
            return self.array(node.get("id"), "ndarray")[0]
        if tag in ("dict", "odict"):
            out = (OrderedDict if tag == "odict" else dict)(self.pair(node, item) for item in self.items(node, value))
            if "metadata" in node:
                out._metadata = self.decode(node["metadata"])  # pyright: ignore[reportAttributeAccessIssue]  (as torch's)
            return out
        if tag == "tuple":
            return tuple(self.decode(v) for v in self.items(node, value))
        decode_value = _VALUES.get(tag)
        if decode_value is None:
            self.fail(f"the manifest holds an entry of unknown kind {_short(tag)} (saved by a newer graphgrad?)")
        try:
            return decode_value(node, value)
        except (KeyError, TypeError, ValueError, OverflowError, RuntimeError) as e:
            self.malformed(node, str(e) or type(e).__name__)

    def items(self, node, value):
        if not isinstance(value, list):
            self.malformed(node, "a list of items is expected")
        return value

    def pair(self, node, item):
        if not isinstance(item, list) or len(item) != 2:
            self.malformed(node, f"{_short(item)} is not a [key, value] pair")
        key = self.decode(item[0])
        try:
            hash(key)
        except TypeError:
            self.malformed(node, f"the key {_short(item[0])} cannot be a dict key")
        return key, self.decode(item[1])


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _float(node, value):
    if not isinstance(value, str):
        raise TypeError(f"{_short(value)} is not a float's text")
    return float(value)


def _npscalar(node, value):
    dtype = _ARRAY_DTYPES[node.get("dtype")] if isinstance(node.get("dtype"), str) else None
    if dtype is None or isinstance(value, (list, dict, str)) or value is None:
        raise ValueError(f"a numeric value of a numpy dtype is expected, not {_short(value)}")
    if isinstance(value, float) and dtype.kind in "biu":
        raise ValueError(f"{dtype.name} cannot hold {value!r}")
    return dtype.type(value)


def _dtype(node, value):
    if not isinstance(value, str) or value not in _TENSOR_DTYPES:
        raise ValueError(f"{_short(value)} is not a graphgrad dtype")
    return dtypes.from_name(value)


def _device(node, value):
    if not isinstance(value, str):
        raise TypeError(f"{_short(value)} is not a device string")
    return device(value)


def _size(node, value):
    if not isinstance(value, list) or any(type(s) is not int or s < 0 for s in value):
        raise ValueError(f"{_short(value)} is not a list of sizes")
    return Size(value)


def _bytes(node, value):
    if not isinstance(value, str):
        raise TypeError(f"{_short(value)} is not a hex string")
    return bytes.fromhex(value)


_VALUES = {"float": _float, "npscalar": _npscalar, "dtype": _dtype, "device": _device, "size": _size,
           "bytes": _bytes}


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Read what graphgrad.save wrote. Nothing in the file is ever executed (weights_only is
    accepted for compatibility: every graphgrad file is weights-only). Anything malformed is
    refused with a RuntimeError naming the file and the entry; nothing half-loaded is returned."""
    from .serialization_torch import load_foreign  # (torch's archives, .safetensors: that module builds on this one)
    name = _name_of(f)
    try:
        loaded = load_foreign(f, map_location)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except _STRUCTURE_ERRORS as e:  # bytes no reader can parse (a hostile zip directory, ...): said, not raised raw
        raise RuntimeError(f"graphgrad.load({name!r}): the file cannot be read ({type(e).__name__}: {e}): it is "
                           "truncated, corrupted or of another format") from e
    if loaded is not NotImplemented:
        return loaded
    source = os.fspath(f) if isinstance(f, (str, os.PathLike)) else f
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    with open(source, "rb") if isinstance(source, str) else contextlib.nullcontext(source) as src:
        return _load_archive(src, name, map_location)


def _load_archive(src, name, map_location):
    try:
        start = src.tell()
        archive_size = src.seek(0, io.SEEK_END) - start
        src.seek(start)
        zf = zipfile.ZipFile(src, "r")
    except _STRUCTURE_ERRORS as e:
        raise RuntimeError(f"graphgrad.load({name!r}): not a graphgrad file ({e}). A graphgrad file is a zip archive "
                           "written by graphgrad.save; this one is truncated, corrupted or of another format.") \
            from None
    with zf:
        reader = _Reader(zf, name, map_location, archive_size)
        names = zf.namelist()
        if MANIFEST not in names:
            if any(n.endswith("data.pkl") for n in names):
                reader.fail("this is a PyTorch file (torch.save writes Python pickles). graphgrad does not unpickle, "
                            "because unpickling can run arbitrary code; re-save the tensors from PyTorch as numpy "
                            "arrays and build graphgrad tensors from them.")
            reader.fail(f"the archive has no {MANIFEST}: it was not written by graphgrad.save")
        reader.read_manifest()
        try:
            return reader.decode(reader.manifest["object"])
        except RecursionError:
            reader.fail("its manifest is nested too deeply")


# torch.serialization's allow-list API, re-exported: graphgrad.serialization.add_safe_globals(...)
from .serialization_torch import (add_safe_globals, clear_safe_globals, get_safe_globals,  # noqa: E402, F401
                                  safe_globals)
