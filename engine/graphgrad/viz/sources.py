"""Where a widget's graph and tensors come from: a recorded trace, a tensor's autograd graph
(walked through grad_fn.next_functions, like torchviz's make_dot, but live), or a saved graph dict.

Every source offers `graph` (schema v1, see tests/viz_protocol.json), `tensor(node_id, what)` and
`backward_ids(node)` (which graph node a backward Node is, for the stepper)."""
import hashlib
import json

from .protocol import GRAPH_SCHEMA


def structure_hash(nodes, edges):
    """Equal for iterations whose graphs have the same shape, so the browser reuses its layout."""
    key = [[(n["kind"], n["op"], n["module"], n["shape"]) for n in nodes],
           [(e["source"], e["target"], e["input"]) for e in edges]]
    return hashlib.sha1(json.dumps(key).encode()).hexdigest()[:16]


def node_record(id, kind, op, grad_fn=None, label=None, name=None, module="", shape=None, dtype=None,
                device=None, phase="forward", source=None, attrs=None, seconds=None, forward_id=None,
                nan=False, inf=False):
    return {"id": id, "kind": kind, "op": op, "grad_fn": grad_fn, "label": label or op, "name": name,
            "module": module, "phase": phase, "shape": shape, "dtype": dtype, "device": device, "source": source,
            "attrs": attrs or {}, "seconds": seconds, "forward_id": forward_id, "flags": {"nan": nan, "inf": inf}}


def modules_of(paths, types=None):
    """The module tree (every ancestor included) for a set of dotted module paths."""
    types = types or {}
    seen = {}
    for path in sorted(paths):
        parts = path.split(".") if path else []
        for i in range(1, len(parts) + 1):
            p = ".".join(parts[:i])
            seen.setdefault(p, {"path": p, "type": types.get(p, ""), "parent": ".".join(parts[:i - 1])})
    return list(seen.values())


class StaticSource:
    """A graph dict (a saved trace or a fixture): structure only, no tensors."""

    def __init__(self, graph):
        if graph.get("schema") != GRAPH_SCHEMA:
            raise ValueError(f"graph schema {graph.get('schema')!r} is not {GRAPH_SCHEMA}")
        self.graph = graph

    def tensor(self, node_id, what):
        return None, "this graph was saved without tensors"

    def backward_id(self, node):
        return None


class TensorSource:
    """The autograd graph behind a tensor (or an autograd node): one node per grad_fn, leaves as
    params or inputs."""

    def __init__(self, root, params=None):
        from ..tensor import Tensor
        self.root = root if isinstance(root, Tensor) else None
        start = root.grad_fn if self.root is not None else root
        names = {id(p): n for n, p in (dict(params) if params is not None else {}).items()}
        found = _walk(start) if start is not None else []
        found.sort(key=lambda node: node._seq)  # creation order = forward order
        self.ids = {node: i for i, node in enumerate(found)}
        self.nodes = found
        nodes, edges = [], []
        for node, i in self.ids.items():
            nodes.append(self._record(node, i, names))
            for k, (nxt, nr) in enumerate(node.next_functions):
                if nxt is not None and nxt in self.ids:
                    shape = list(nxt.variable.shape) if hasattr(nxt, "variable") else None
                    edges.append({"source": self.ids[nxt], "target": i, "input": k, "shape": shape, "dtype": None})
        if self.root is not None and root.grad_fn is not None:
            top = nodes[self.ids[root.grad_fn]]
            top.update(shape=list(root.shape), dtype=_dtype_name(root), device=str(root.device))
        module_paths = {n["module"] for n in nodes if n["module"]}
        self.graph = {"schema": GRAPH_SCHEMA, "structure_hash": structure_hash(nodes, edges), "iteration": 0,
                      "nodes": nodes, "edges": edges, "modules": modules_of(module_paths)}

    def _record(self, node, i, names):
        variable = getattr(node, "variable", None)
        if variable is None:
            op = getattr(type(node), "op_name", node.name())
            return node_record(i, "op", op, grad_fn=node.name(), label=op)
        name = names.get(id(variable))
        module = name.rsplit(".", 1)[0] if name and "." in name else ""
        return node_record(i, "param" if name else "input", "leaf", grad_fn=node.name(),
                           label=(name.rsplit(".", 1)[-1] if name else "leaf"), name=name, module=module,
                           shape=list(variable.shape), dtype=_dtype_name(variable), device=str(variable.device))

    def tensor(self, node_id, what):
        node = self.nodes[node_id] if 0 <= node_id < len(self.nodes) else None
        if node is None:
            return None, f"no node {node_id}"
        variable = getattr(node, "variable", None)
        if what == "value":
            if variable is not None:
                return variable, None
            if self.root is not None and node is self.root.grad_fn:
                return self.root, None
            return None, "intermediate values are kept only while tracing (graphgrad.tracing)"
        if variable is not None and variable.grad is not None:
            return variable.grad, None
        return None, "no gradient yet: run backward, or step it with the controls above"

    def backward_id(self, node):
        return self.ids.get(node)


def _walk(start):
    seen, stack = {start}, [start]
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is not None and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return list(seen)


def _dtype_name(t):
    return str(t.dtype).replace("graphgrad.", "")


def source_of(x, params=None):
    """The source for whatever viz.show was given."""
    from ..autograd.node import Node
    from ..tensor import Tensor
    if isinstance(x, (Tensor, Node)):
        return TensorSource(x, params)
    if isinstance(x, dict):
        return StaticSource(x)
    graph = getattr(x, "graph", None)
    if graph is not None and hasattr(graph, "to_json"):
        return TraceSource(x)
    raise TypeError(f"viz.show needs a Tensor, a trace or a graph dict, not {type(x).__name__}")


class TraceSource:
    """A graphgrad.tracing Trace: structure from trace.graph.to_json() (its latest iteration),
    values and gradients as the trace keeps them (by reference): the iteration shown stays, since
    this holds its Graph."""

    def __init__(self, trace):
        self.trace = trace
        self.refresh()

    def refresh(self):
        self.shown = self.trace.graph
        self.graph = self.shown.to_json()
        return self.graph

    def tensor(self, node_id, what):
        try:  # the node as in the iteration shown: a parameter's id is shared by iterations
            node = self.shown.node(node_id)
        except KeyError:  # not in it: in any iteration the trace keeps
            node = node_id
        try:
            t = self.trace.grad(node) if what == "grad" else self.trace.value(node)
        except LookupError as e:
            return None, str(e).strip("'\"")
        if t is not None:
            return t, None
        return None, ("no gradient reached this node (yet)" if what == "grad" else
                      "this value is no longer kept (only the last iterations are)")

    def backward_id(self, node):
        return getattr(node, "forward_id", None)
