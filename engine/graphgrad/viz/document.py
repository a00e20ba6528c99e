"""Trace documents (.ggtrace): a graph with what the inspector shows of it, in a file that graphgrad's
JupyterLab extension opens with a double-click (src/ggtrace.ts reads it) and viz.load reads back.

The file is a zip archive in graphgrad.save's safe style (no pickle: loading parses JSON and copies
bytes): `graphgrad/trace.json` holds

    {"format": "graphgrad.trace", "version": 1, "title": str, "graph": <graph schema v1>,
     "graphgrad": the version that wrote it,
     "curves":  [{"name", "chart", "x": array, "y": array}],          training curves (float64)
     "tensors": [{"node", "what": "value"|"grad", "shape", "dtype", "device", "preview_kind",
                  "preview_shape", "truncated", "stats": array, "hist": array, "preview": array,
                  "values": array or null}],                           the inspector's summary
     "arrays":  [{"file": "graphgrad/data/<n>", "dtype", "shape", ...}], "notes": [str]}

where an array is an index into "arrays", each the raw little-endian bytes of one C-contiguous array
(stats and hist float64 in protocol.STATS order, preview float32, values in the tensor's dtype).
Statistics are kept for every node the source can still give a tensor for; values for the chosen
nodes within `max_bytes`."""
import json
import math
import os
import zipfile
from typing import Any

import numpy as np

from .._version import __version__
from . import snapshot
from .protocol import STATS
from .sources import StaticSource, source_of
from .tensors import to_numpy
from ..tensor import Tensor

FORMAT, VERSION = "graphgrad.trace", 1
MANIFEST = "graphgrad/trace.json"
SUFFIX = ".ggtrace"
MAX_BYTES = 64 * 1024 * 1024      # of tensor values, by default
LEGACY_FORMAT = "graphgrad.graph"  # the JSON file viz.save wrote before: a graph alone


def save(x: Any, path: str | os.PathLike[str], tensors: list[int] | None = None, max_bytes: int = MAX_BYTES,
         title: str | None = None) -> str:
    """Write `x` — a trace, a tensor (its autograd graph), a widget (viz.show's, a monitor: its curves
    too), a graph dict or a loaded TraceDocument — to a .ggtrace file.

    tensors: the node ids whose values to store (None: every node's, in graph order, while they fit in
    max_bytes); the inspector's statistics, histogram and preview are stored for every node either way."""
    graph, tensor, curves, title = _parts(x, title)
    writer = _Arrays()
    ref = writer.add
    chosen = None if tensors is None else {int(t) for t in tensors}
    notes, used, entries = [], 0, []
    for node, what, header, (stats, hist, preview), t in snapshot.inspected(graph, tensor, max_tensors=10 ** 9):
        entry = {"node": node, "what": what, "device": str(getattr(t, "device", "cpu")), **header,
                 "stats": ref(stats), "hist": ref(hist), "preview": ref(preview), "values": None}
        if chosen is None or node in chosen:
            values = _host(t)
            if values.dtype.kind not in "biuf":
                notes.append(f"values of dtype {values.dtype} are not stored")
            elif used + values.nbytes > max_bytes:
                notes.append(f"values stored for the first {max_bytes / 2 ** 20:.0f} MiB of tensors (max_bytes)")
            else:
                entry["values"] = ref(values)
                used += values.nbytes
        entries.append(entry)
    saved_curves = [{"name": name, "chart": chart, "x": ref(np.asarray(steps, np.float64)),
                     "y": ref(np.asarray(values, np.float64))} for chart, name, steps, values in curves]
    manifest = {"format": FORMAT, "version": VERSION, "graphgrad": __version__, "title": title, "graph": graph,
                "curves": saved_curves, "tensors": entries, "arrays": writer.entries, "notes": sorted(set(notes))}
    text = json.dumps(manifest, allow_nan=False)
    with zipfile.ZipFile(os.fspath(path), "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(MANIFEST, text)
        for entry, array in zip(writer.entries, writer.arrays):
            zf.writestr(entry["file"], memoryview(array.reshape(-1)).cast("B") if array.size else b"")
    return os.fspath(path)


class TraceDocument(StaticSource):
    """What viz.load reads: `graph` (schema v1), `title`, `curves` ([{"name", "chart", "steps", "values"}]),
    `stats` ({(node, what): {"stats": {name: float}, "hist", "preview", "shape", "dtype", ...}}),
    `values` ({(node, what): numpy array}) and `notes`. viz.show(doc) draws it again; its inspector
    shows the stored values."""

    def __init__(self, graph: dict[str, Any], title: str = "", curves: Any = (), stats: dict | None = None,
                 values: dict | None = None, notes: Any = ()) -> None:
        if graph:   # a monitor's curves may come without a graph
            super().__init__(graph)
        self.graph = graph or {}
        self.title, self.curves, self.notes = title, list(curves), list(notes)
        self.stats, self.values = stats or {}, values or {}

    def tensor(self, node_id: int, what: str) -> tuple[Any, str | None]:
        array = self.values.get((node_id, what))
        if array is None:
            return None, ("its values were not stored in the file" if (node_id, what) in self.stats
                          else f"no {what} was stored for this node")
        return Tensor._wrap(array.copy()), None

    def __repr__(self):
        return (f"TraceDocument({self.title!r}: {len(self.graph.get('nodes', []))} nodes, {len(self.stats)} tensors "
                f"summarized, {len(self.values)} with values, {len(self.curves)} curves)")


def load(path: str | os.PathLike[str]) -> "TraceDocument":
    """Read a .ggtrace file (or the graph JSON older versions of viz.save wrote) as a TraceDocument.
    Nothing in the file is ever executed; a file that is not one says what is wrong with it."""
    name = os.fspath(path)
    with open(name, "rb") as f:
        head = f.read(1)
    if head == b"{":
        return _load_legacy(name)
    try:
        zf = zipfile.ZipFile(name)
    except zipfile.BadZipFile as e:
        raise ValueError(f"graphgrad.viz.load({name!r}): not a graphgrad trace ({e}): a .ggtrace file is a zip "
                         "archive written by graphgrad.viz.save or Trace.save; this one is truncated, corrupted or "
                         "of another format") from None
    with zf:
        reader = _Reader(zf, name)
        if MANIFEST not in zf.namelist():
            reader.fail(f"the archive has no {MANIFEST}: it was not written by graphgrad.viz.save")
        try:
            manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
        except (ValueError, zipfile.BadZipFile, EOFError, OSError) as e:
            reader.fail(f"its manifest cannot be read ({e}): the file is truncated or corrupted")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            reader.fail(f"its manifest is not a graphgrad trace (format {manifest.get('format')!r})"
                        if isinstance(manifest, dict) else "its manifest is not a graphgrad trace")
        if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
            reader.fail(f"it was written in trace format version {manifest.get('version')!r}; this graphgrad reads "
                        f"up to version {VERSION}")
        reader.entries = manifest.get("arrays", [])
        array = reader.array
        curves = [{"name": c["name"], "chart": c["chart"], "steps": array(c["x"]), "values": array(c["y"])}
                  for c in manifest.get("curves", [])]
        stats, values = {}, {}
        for t in manifest.get("tensors", []):
            key = (t["node"], t["what"])
            summary = {k: v for k, v in t.items() if k not in ("node", "what", "stats", "hist", "preview", "values")}
            stats[key] = {**summary, "stats": dict(zip(STATS, array(t["stats"]).tolist())), "hist": array(t["hist"]),
                          "preview": array(t["preview"]).reshape(t.get("preview_shape") or -1)}
            if t.get("values") is not None:
                values[key] = array(t["values"])
        try:
            return TraceDocument(manifest.get("graph") or {}, manifest.get("title", ""), curves, stats, values,
                                 manifest.get("notes", []))
        except ValueError as e:
            reader.fail(str(e))


class _Arrays:
    """Arrays to store, as graphgrad.save stores them: raw little-endian bytes of C-contiguous arrays."""

    def __init__(self):
        self.arrays, self.entries = [], []

    def add(self, array):
        host = np.ascontiguousarray(array)
        host = host.astype(host.dtype.newbyteorder("<"), copy=False)
        self.entries.append({"file": f"graphgrad/data/{len(self.entries)}", "dtype": host.dtype.name,
                             "shape": list(host.shape)})
        self.arrays.append(host)
        return len(self.entries) - 1


class _Reader:
    """Arrays read back with every size checked before anything is allocated."""

    def __init__(self, zf, name):
        self.zf, self.name, self.entries = zf, name, []

    def fail(self, what):
        raise ValueError(f"graphgrad.viz.load({self.name!r}): {what}")

    def array(self, ref):
        if type(ref) is not int or not 0 <= ref < len(self.entries):
            self.fail(f"the manifest refers to array {ref!r}, which it does not list")
        entry = self.entries[ref]
        try:
            dtype = np.dtype(entry["dtype"]).newbyteorder("<")
            shape = tuple(int(n) for n in entry["shape"])
            if dtype.kind not in "biuf" or any(n < 0 for n in shape):
                raise ValueError
            size = self.zf.getinfo(str(entry["file"])).file_size
        except KeyError:
            self.fail(f"array {ref} is not in the archive: the file is incomplete")
        except (TypeError, ValueError):
            self.fail(f"array entry {ref} is malformed: {str(entry)[:120]}")
        expected = math.prod(shape) * dtype.itemsize
        if size != expected:
            self.fail(f"array {ref} ({dtype.name} of shape {list(shape)}) should have {expected} bytes but has "
                      f"{size}: the file is truncated or corrupted")
        try:
            data = self.zf.read(entry["file"])
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            self.fail(f"array {ref} cannot be read ({e}): the file is truncated or corrupted")
        return np.frombuffer(data, dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _load_legacy(name):
    with open(name) as f:
        try:
            data = json.load(f)
        except ValueError as e:
            raise ValueError(f"graphgrad.viz.load({name!r}): not a graphgrad trace (invalid JSON: {e})") from None
    if not isinstance(data, dict) or data.get("format") != LEGACY_FORMAT:
        raise ValueError(f"graphgrad.viz.load({name!r}): not a graphgrad trace or graph file "
                         f"(format {data.get('format') if isinstance(data, dict) else None!r})")
    return TraceDocument(data["graph"])


def _parts(x: Any, title: str | None) -> tuple[dict[str, Any], Any, Any, str]:
    """(graph, tensor(node, what) -> (tensor, why not), curves, title) of whatever save() was given."""
    if hasattr(x, "curves") and callable(x.curves) and hasattr(x, "tensor"):   # a widget
        return x.graph, x.tensor, x.curves(), x.title if title is None else title
    if isinstance(x, TraceDocument):
        curves = [(c["chart"], c["name"], c["steps"], c["values"]) for c in x.curves]
        return x.graph, x.tensor, curves, x.title if title is None else title
    source = source_of(x)
    series = getattr(getattr(x, "monitor", None), "series", None) or {}
    curves = [(chart, name, s.steps, s.values) for (chart, name), s in list(series.items())]
    return source.graph, source.tensor, curves, title or ""


def _host(t):
    return np.ascontiguousarray(to_numpy(t))
