"""The recorded graph of one iteration: its nodes, edges and module tree, as JSON (schema v1,
shared with the widget: js/protocol.ts), as networkx, or folded to a module depth.

Every graph the widget draws is written here, whatever it came from (a trace, a tensor's autograd
graph, a compiled plan, a synthetic one): `node_record` writes a node, `structure_hash` tells
graphs of one structure from the rest."""
import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..ops.dispatch import REGISTRY
from . import source as _source
from ..ops.util import has_nonfinite, xp_of

SCHEMA = 1
_OPERATIONS = ("op", "backward", "optimizer")   # the kinds of node an op ran in (the rest are leaves)


def op_category(op: str | None) -> str | None:
    """What kind of op it is (ops.dispatch.CATEGORIES: the viewer colours by it), as the op class
    registered under that name declares; None for a name no op class is registered under."""
    return getattr(REGISTRY.get(op), "category", None)


def node_record(id: int, kind: str, op: str | None, *, grad_fn: str | None = None, label: str | None = None,
                name: str | None = None, module: str = "", phase: str = "forward", shape: list[int] | None = None,
                dtype: str | None = None, device: str | None = None, source: dict[str, Any] | None = None,
                attrs: dict[str, Any] | None = None, seconds: float | None = None, forward_id: int | None = None,
                nan: bool = False, inf: bool = False, caller: dict[str, Any] | None = None) -> dict[str, Any]:
    """One node of a graph (schema v1), as every graph source writes it."""
    return {"id": id, "kind": kind, "op": op, "category": op_category(op) if kind in _OPERATIONS else None,
            "grad_fn": grad_fn, "label": label or op, "name": name, "module": module, "phase": phase,
            "shape": shape, "dtype": dtype, "device": device, "source": source, "attrs": attrs or {},
            "seconds": seconds, "forward_id": forward_id, "flags": {"nan": nan, "inf": inf}, "caller": caller}


def structure_hash(nodes: list[dict[str, Any]], wiring: Iterable[tuple[int, int, int]]) -> str:
    """16 hex digits, equal for graphs of the same structure (ops, kinds, names, modules, phases,
    shapes, dtypes, attributes and wiring) whatever their ids, values, times and source lines: a
    trace tells repeated iterations by it, the browser reuses a layout. `nodes`: node records
    (node_record's); `wiring`: (source id, target id, input position) for every edge."""
    position = {n["id"]: i for i, n in enumerate(nodes)}
    key = [[(n["kind"], n["op"], n["name"], n["module"], n["phase"], n["shape"], n["dtype"], n["attrs"],
             position.get(n["forward_id"], -1)) for n in nodes],
           [(position.get(source, -1), position.get(target, -1), i) for source, target, i in wiring]]
    return hashlib.blake2b(json.dumps(key, default=repr).encode(), digest_size=8).hexdigest()


class GNode:
    """One node of a traced graph: an op that ran ("op", or "optimizer" inside an optimizer
    step), a leaf it read ("param", "input", "const"), or a backward step ("backward").

    inputs   ((source node id, output slot) or None for an input not given, ...) in input
             order; for a backward node, the nodes whose gradients it received (slot = position
             in the sender's grad_inputs)
    outputs  forward: the output arrays; leaf: its array (or Python number); backward: the
             gradients it received, one per output of its forward op (None where none came)
    grad_inputs  backward only: the gradients it sent on, one per input of its forward op
    """
    __slots__ = ("id", "kind", "op", "grad_fn", "name", "module", "phase", "iteration", "source", "attrs",
                 "seconds", "forward_id", "inputs", "outputs", "grad_inputs", "fn")

    def __init__(self, id, kind, op, grad_fn, name, module, phase, iteration, source, attrs, seconds,
                 forward_id, inputs, outputs, grad_inputs=None, fn=None):
        self.id, self.kind, self.op, self.grad_fn, self.name = id, kind, op, grad_fn, name
        self.module, self.phase, self.iteration, self.source, self.attrs = module, phase, iteration, source, attrs
        self.seconds, self.forward_id, self.inputs, self.outputs = seconds, forward_id, inputs, outputs
        self.grad_inputs, self.fn = grad_inputs, fn  # fn: a backward step's autograd node

    @property
    def array(self) -> Any:
        """What the node shows: its (first) output, the value of a leaf, the gradient received."""
        return self.outputs[0] if self.outputs else None

    def output(self, slot: int) -> Any:
        """The array that flows out of this node at `slot` (an edge's source slot)."""
        arrays = self.grad_inputs if self.kind == "backward" else self.outputs
        return arrays[slot] if arrays is not None and slot < len(arrays) else None

    @property
    def shape(self) -> list[int] | None:
        a = self.array
        return list(a.shape) if hasattr(a, "shape") else ([] if a is not None else None)

    @property
    def dtype(self) -> str | None:
        a = self.array
        return str(a.dtype) if hasattr(a, "dtype") else (type(a).__name__ if a is not None else None)

    @property
    def device(self) -> str:
        a = self.array
        # NumPy 2's arrays have a .device too: "cpu"
        if a is None or isinstance(a, (np.ndarray, np.generic)) or not hasattr(a, "device"):
            return "cpu"
        return f"cuda:{a.device.id}"

    @property
    def label(self) -> str:
        if self.kind == "backward":
            return self.grad_fn
        if self.kind in ("param", "input"):
            return self.name.rpartition(".")[2] if self.name else self.kind
        if self.kind == "optimizer" and self.op == "step":
            return f"{self.attrs.get('optimizer', 'optimizer')}.step"
        if self.kind == "const":
            a = self.array
            return repr(a) if not hasattr(a, "shape") else "const"
        return self.op

    @property
    def code(self) -> str:
        """The line of user code that ran this node ('' if unknown)."""
        return _source.code_line(self.source)

    def describe(self) -> str:
        """"'sqrt' (SqrtBackward0) in module model.fc1 at train.py:14: `y = x.sqrt()`", or
        "param 'model.fc1.weight'" for a leaf: the words messages use for a node."""
        if self.kind in ("op", "optimizer", "backward"):
            what = f"'{self.op}'" + (f" ({self.grad_fn})" if self.grad_fn else "")
        else:
            what = f"{self.kind} '{self.name or self.label}'"
        module = f" in module {self.module}" if self.module else ""
        where = f" at {_source.describe(self.source)}" if self.source is not None else ""
        return what + module + where

    def produced(self) -> Any:
        """The arrays this node made: outputs (forward, leaves), the gradients it sent (backward;
        for a leaf's AccumulateGrad, the gradient it holds)."""
        return self.grad_inputs if self.kind == "backward" and self.grad_inputs else self.outputs

    def flags(self) -> dict[str, bool]:
        nan = inf = False
        xp = None
        for a in self.produced() or ():
            if has_nonfinite(a):
                xp = xp_of(a)
                nan = nan or bool(xp.isnan(a).any())
                inf = inf or bool(xp.isinf(a).any())
        return {"nan": nan, "inf": inf}

    def to_json(self, scan: bool = True) -> dict[str, Any]:
        """The node's record; scan=False leaves its arrays unread (no NaN or inf flagged): the
        structure hash needs no pass over the values."""
        return node_record(self.id, self.kind, self.op, grad_fn=self.grad_fn, label=self.label, name=self.name,
                           module=self.module, phase=self.phase, shape=self.shape, dtype=self.dtype,
                           device=self.device, source=_source.as_json(self.source), attrs=jsonable(self.attrs or {}),
                           seconds=self.seconds, forward_id=self.forward_id, caller=_source.caller_json(self.source),
                           **(self.flags() if scan else {}))

    def __repr__(self) -> str:
        where = f" {self.module}" if self.module else ""
        grad_fn = f" ({self.grad_fn})" if self.grad_fn and self.kind != "backward" else ""
        return f"<{self.kind} {self.id}: {self.label}{grad_fn}{where} {self.shape}>"


def jsonable(value: Any) -> Any:
    """Op attributes as JSON: numbers, strings, lists and dicts as they are, dtypes by name,
    anything else as its repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    return repr(value)


class Graph:
    """A view of one recorded iteration: `nodes`, `edges`, `modules`; `to_json()`,
    `to_networkx()`, `fold(depth)`; `node(id)` and `find(...)` to look nodes up."""

    def __init__(self, iteration: Any) -> None:
        self._it = iteration

    @property
    def iteration(self) -> int:
        return self._it.number

    @property
    def nodes(self) -> list[GNode]:
        return list(self._it.nodes)

    def __len__(self) -> int:
        return len(self._it.nodes)

    def __iter__(self) -> Iterator[GNode]:
        return iter(self.nodes)

    def node(self, id: int) -> GNode:
        node = self._it.node(id)
        if node is None:
            raise KeyError(f"no node {id} in iteration {self.iteration}")
        return node

    def find(self, op: str | None = None, kind: str | None = None, name: str | None = None, module: str | None = None,
             phase: str | None = None) -> list[GNode]:
        """The nodes matching every criterion given (module matches the path and below)."""
        return [n for n in self.nodes
                if (op is None or n.op == op) and (kind is None or n.kind == kind)
                and (name is None or n.name == name) and (phase is None or n.phase == phase)
                and (module is None or n.module == module or n.module.startswith(module + "."))]

    @property
    def edges(self) -> list[tuple[int, int, int, int]]:
        """(source id, target id, input position, source slot) for every edge."""
        return [(edge[0], n.id, i, edge[1]) for n in self.nodes for i, edge in enumerate(n.inputs) if edge]

    @property
    def modules(self) -> list[dict[str, Any]]:
        """The module tree of the modules whose ops ran, parents first (in the order they ran)."""
        types, seen = self._it.module_types, {}
        for n in self.nodes:
            path, missing = n.module, []
            while path and path not in seen:
                missing.append(path)
                path = path.rpartition(".")[0]
            for path in reversed(missing):
                type_name, parent = types.get(path, (None, path.rpartition(".")[0] or None))
                seen[path] = {"path": path, "type": type_name, "parent": parent}
        return list(seen.values())

    @property
    def structure_hash(self) -> str:
        return self._it.structure_hash()

    def to_json(self) -> dict[str, Any]:
        nodes = self.nodes
        index = self._it.index
        edges = []
        for src, dst, i, slot in self.edges:
            a = index[src].output(slot) if src in index else None
            if a is None:  # a gradient to a leaf: its .grad has the shape
                a = index[dst].array
            edges.append({"source": src, "target": dst, "input": i,
                          "shape": list(a.shape) if hasattr(a, "shape") else None,
                          "dtype": str(a.dtype) if hasattr(a, "dtype") else None})
        records = [n.to_json() for n in nodes]
        for n, record in zip(nodes, records):
            flags = record["flags"]
            if flags["nan"] or flags["inf"]:
                flags["born"] = self.born_here(n)
        return {"schema": SCHEMA, "structure_hash": self.structure_hash, "iteration": self.iteration,
                "nodes": records, "edges": edges, "modules": self.modules}

    def born_here(self, node: GNode) -> bool:
        """Whether a node's NaN/Inf was made where it shows, not carried in: nothing it was computed
        from was non-finite. A forward node is computed from its inputs. A backward node shows the
        gradient it received, which its senders computed from the gradients they received and from
        their forward op's values: the gradient of a NaN input is carried in, the infinite gradient
        of sqrt at 0 is born (shown at the node that received it)."""
        if node.kind != "backward":
            return not any(has_nonfinite(a) for a in self._inputs_of(node))
        index = self._it.index
        senders = [index[edge[0]] for edge in node.inputs if edge and edge[0] in index]
        made_from = itertools.chain.from_iterable(self._computed_from(s) for s in senders)
        return not any(has_nonfinite(a) for a in made_from)

    def _computed_from(self, step):
        """What a backward step computed its gradients from: those it received, and its forward op's
        inputs and outputs (what it saved)."""
        yield from step.outputs or ()
        forward = self._it.index.get(step.forward_id)
        if forward is not None:
            yield from self._inputs_of(forward)
            yield from forward.outputs or ()

    def _inputs_of(self, node):
        """The arrays that flowed into a node: its inputs' outputs (backward: the gradients it
        received), so a NaN that came in is told from one born here."""
        index = self._it.index
        for edge in node.inputs:
            if edge and edge[0] in index:
                yield index[edge[0]].output(edge[1])

    def to_networkx(self) -> Any:
        """A networkx.DiGraph: node attributes as in to_json (less the id), edge attributes
        input/shape/dtype; graph attributes iteration and structure_hash."""
        import networkx as nx  # (0.2 s to import: only when asked for a networkx graph)
        data = self.to_json()
        g = nx.DiGraph(iteration=data["iteration"], structure_hash=data["structure_hash"], modules=data["modules"])
        for n in data["nodes"]:
            g.add_node(n["id"], **{k: v for k, v in n.items() if k != "id"})
        for e in data["edges"]:
            g.add_edge(e["source"], e["target"], input=e["input"], shape=e["shape"], dtype=e["dtype"])
        return g

    def fold(self, depth: int, phase: str | None = "forward") -> Any:
        """A networkx.DiGraph of the `phase` nodes with every module `depth` path components deep
        (`model` is 1, `model.fc1` 2) collapsed into one node named by its path, attributes
        kind="module", type, ops (how many ops it holds); nodes outside such modules stay."""
        import networkx as nx  # (0.2 s to import: only when asked for a networkx graph)
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        types = {m["path"]: m["type"] for m in self.modules}
        full = self.to_networkx()
        g = nx.DiGraph(iteration=self.iteration, depth=depth)
        group = {}
        for id, attrs in full.nodes(data=True):
            if phase is not None and attrs["phase"] != phase:
                continue
            parts = attrs["module"].split(".") if attrs["module"] else []
            if len(parts) < depth:
                group[id] = id
                g.add_node(id, **attrs)
                continue
            path = group[id] = ".".join(parts[:depth])
            if path not in g:
                g.add_node(path, kind="module", type=types.get(path), module=path, label=path, ops=0)
            g.nodes[path]["ops"] += attrs["kind"] in ("op", "optimizer")
        for src, dst, attrs in full.edges(data=True):
            a, b = group.get(src), group.get(dst)
            if a is None or b is None or a == b:
                continue
            if g.has_edge(a, b):
                g.edges[a, b]["count"] += 1
            else:
                g.add_edge(a, b, count=1, **attrs)
        return g


def nodes_hash(nodes: list[GNode]) -> str:
    """structure_hash of GNodes (their arrays unread)."""
    return structure_hash([n.to_json(scan=False) for n in nodes],
                          [(edge[0], n.id, i) for n in nodes for i, edge in enumerate(n.inputs) if edge])
