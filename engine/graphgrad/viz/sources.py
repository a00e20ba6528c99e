"""Where a widget's graph and tensors come from: a recorded trace, a tensor's autograd graph
(walked through grad_fn.next_functions, like torchviz's make_dot, but live), or a saved graph dict.

Every source offers `graph` (schema v1, see tests/viz_protocol.json), `tensor(node_id, what)` and
`backward_ids(node)` (which graph node a backward Node is, for the stepper)."""
import os

from ..nn import Module
from ..node import Node
from ..ops.activation import LogSoftmax, Softmax
from ..ops.arithmetic import PowScalar
from ..ops.unary import Clamp, Unary
from ..tensor import Tensor
from ..tracing.graph import SCHEMA as GRAPH_SCHEMA, node_record, structure_hash
from ..tracing.source import user_frame


def wiring(edges):
    """(source, target, input) of edge records: what structure_hash reads of them."""
    return [(e["source"], e["target"], e["input"]) for e in edges]


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
    """A graph dict (a saved trace or a fixture): structure only, no tensors. Checked whole when
    made (check_graph), so a malformed or cyclic file is refused here, not midway through drawing."""

    def __init__(self, graph):
        check_graph(graph)
        self.graph = graph

    def tensor(self, node_id, what):
        return None, "this graph was saved without tensors"

    def backward_id(self, node):
        return None


_TEXT = (str, type(None))
# node fields a drawing reads, and the JSON types each may have (node_record writes them all)
_NODE_FIELDS = {"kind": (str,), "op": _TEXT, "grad_fn": _TEXT, "label": _TEXT, "name": _TEXT, "module": _TEXT,
                "phase": _TEXT, "dtype": _TEXT, "device": _TEXT, "shape": (list, type(None)), "attrs": (dict,),
                "flags": (dict,), "seconds": (int, float, type(None))}


def check_graph(graph):
    """A graph dict (schema v1) as a saved file or a caller gives it: ValueError naming what is
    wrong (a missing list, a node or edge of the wrong form, an edge to no node, a cycle)."""
    if not isinstance(graph, dict) or graph.get("schema") != GRAPH_SCHEMA:
        raise ValueError(f"graph schema {graph.get('schema') if isinstance(graph, dict) else graph!r} is not "
                         f"{GRAPH_SCHEMA}")
    for key in ("nodes", "edges"):
        if not isinstance(graph.get(key), list):
            raise ValueError(f"the graph has no list of {key}")
    if not isinstance(graph.get("modules", []), list) or \
            not all(isinstance(m, dict) and isinstance(m.get("path"), str) for m in graph.get("modules", [])):
        raise ValueError("the graph's modules are not a list of {path, type, parent}")
    ids = set()
    for n in graph["nodes"]:
        if not isinstance(n, dict) or type(n.get("id")) is not int or n["id"] in ids:
            raise ValueError(f"graph node {str(n)[:80]} has no integer id of its own")
        ids.add(n["id"])
        for key, types in _NODE_FIELDS.items():
            if key in n and not isinstance(n[key], types):
                raise ValueError(f"graph node {n['id']} has a {key} of type {type(n[key]).__name__}")
        if "kind" not in n or not all(isinstance(v, bool) for v in n.get("flags", {}).values()):
            raise ValueError(f"graph node {n['id']} has no kind, or flags that are not true/false")
    succs = {i: [] for i in ids}
    for e in graph["edges"]:
        ends = (e.get("source"), e.get("target")) if isinstance(e, dict) else (None, None)
        if not all(type(end) is int and end in ids for end in ends):
            raise ValueError(f"graph edge {str(e)[:80]} does not join two of the graph's nodes")
        succs[e["source"]].append(e["target"])
    _check_acyclic(succs)


def _check_acyclic(succs):
    """Kahn's algorithm: a graph of computations has no cycle, and every drawing assumes none."""
    waiting = dict.fromkeys(succs, 0)
    for targets in succs.values():
        for t in targets:
            waiting[t] += 1
    ready = [i for i, k in waiting.items() if k == 0]
    for i in ready:  # grows while it is walked
        for t in succs[i]:
            waiting[t] -= 1
            if waiting[t] == 0:
                ready.append(t)
    if len(ready) < len(succs):
        cycle = sorted(i for i, k in waiting.items() if k > 0)
        raise ValueError(f"the graph has a cycle through nodes {cycle[:10]}: a graph of computations cannot")


class TensorSource:
    """The autograd graph behind a tensor (or an autograd node): one node per grad_fn, leaves as
    params or inputs."""

    def __init__(self, root, params=None):
        self.root = root if isinstance(root, Tensor) else None
        start = root.grad_fn if self.root is not None else root
        named = dict(params) if params is not None else _parameters_in_scope()
        names = {id(p): n for n, p in named.items()}
        found = _walk(start) if start is not None else []
        found.sort(key=lambda node: node._seq)  # creation order = forward order
        self.ids = {node: i for i, node in enumerate(found)}
        self.nodes = found
        nodes, edges, data = [], [], {}
        self.data = {}   # input node id -> the tensor
        tensors = _tensors_in_scope()
        for node, i in self.ids.items():
            nodes.append(self._record(node, i, names))
        for node, i in self.ids.items():
            for k, (nxt, _) in enumerate(node.next_functions):
                if nxt is not None and nxt in self.ids:
                    shape = list(nxt.variable.shape) if hasattr(nxt, "variable") else None
                    edges.append({"source": self.ids[nxt], "target": i, "input": k, "shape": shape, "dtype": None})
            for k, tensor in self._data_inputs(node):
                # a tensor that needs no gradient (the data): drawn as an input, as a trace draws it
                if id(tensor) not in data:
                    data[id(tensor)] = len(nodes)
                    self.data[len(nodes)] = tensor
                    nodes.append(node_record(len(nodes), "input", "input", label=tensors.get(id(tensor), "input"),
                                             name=tensors.get(id(tensor)), shape=list(tensor.shape),
                                             dtype=_dtype_name(tensor), device=str(tensor.device)))
                edges.append({"source": data[id(tensor)], "target": i, "input": k, "shape": list(tensor.shape),
                              "dtype": None})
        _place_ops_in_modules(nodes, edges)
        # an op's output shape, where some op saved that output (for its backward) and so holds it
        for node in found:
            for t, *_ in node._checks:
                made_by = getattr(t, "grad_fn", None)
                if made_by in self.ids and nodes[self.ids[made_by]]["shape"] is None:
                    nodes[self.ids[made_by]].update(shape=list(t.shape), dtype=_dtype_name(t), device=str(t.device))
        _same_shape_through_elementwise(found, self.ids, nodes)
        for e in edges:
            if e["shape"] is None:
                e["shape"] = nodes[e["source"]]["shape"]
        first_reader = {}
        for e in edges:
            first_reader[e["source"]] = min(first_reader.get(e["source"], e["target"]), e["target"])
        # execution order: an op by its creation, a leaf or an input just before its first reader
        nodes.sort(key=lambda n: (n["id"] if n["kind"] == "op" else first_reader.get(n["id"], 0) - 0.5, n["id"]))
        if self.root is not None and root.grad_fn is not None:
            top = next(n for n in nodes if n["id"] == self.ids[root.grad_fn])
            top.update(shape=list(root.shape), dtype=_dtype_name(root), device=str(root.device))
        module_paths = {n["module"] for n in nodes if n["module"]}
        self.graph = {"schema": GRAPH_SCHEMA, "structure_hash": structure_hash(nodes, wiring(edges)), "iteration": 0,
                      "nodes": nodes, "edges": edges, "modules": modules_of(module_paths, _module_types(named))}

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

    @staticmethod
    def _data_inputs(node):
        """(input slot, tensor) for the tensors an op saved that need no gradient: the data a
        model was run on, which autograd's graph has no node for."""
        free = [k for k, (nxt, _) in enumerate(node.next_functions) if nxt is None]
        saved = [t for t, *_ in node._checks if hasattr(t, "requires_grad") and not t.requires_grad]
        return list(zip(free, saved))

    def _order(self, record, edges):
        """Where a node goes in execution order: an op by its creation; a leaf or input just
        before the first op that reads it."""
        if record["kind"] == "op":
            return record["id"]
        readers = [e["target"] for e in edges if e["source"] == record["id"]]
        return min(readers) - 0.5 if readers else -1

    def tensor(self, node_id, what):
        if node_id in self.data:
            return (self.data[node_id], None) if what == "value" else (None, "an input that needs no gradient has none")
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


def _parameters_in_scope():
    """{name: parameter} for the modules the user's code holds in variables (`model` gives
    model.fc1.weight): how viz.show(loss) names parameters and groups ops by module without
    being given model.named_parameters()."""
    frame = user_frame(2)
    if frame is None:
        return {}
    named = {}
    for scope in (frame.f_globals, frame.f_locals):
        for var, value in list(scope.items()):
            if isinstance(value, Module) and not var.startswith("_"):
                for name, p in value.named_parameters():
                    named.setdefault(f"{var}.{name}", p)
                named.setdefault((var, "__module__"), value)
    return named


def _tensors_in_scope():
    """id(tensor) -> variable name, for the tensors the user's code holds (x, y)."""
    frame = user_frame(2)
    if frame is None:
        return {}
    return {id(v): var for scope in (frame.f_globals, frame.f_locals) for var, v in list(scope.items())
            if isinstance(v, Tensor) and not var.startswith("_")}


def _module_types(named):
    """Module path -> class name, for the modules named in scope."""
    types = {}
    for key, value in named.items():
        if isinstance(key, tuple):
            var, module = key[0], value
            for name, sub in module.named_modules():
                types[f"{var}.{name}" if name else var] = type(sub).__name__
    return types


def _place_ops_in_modules(nodes, edges):
    """An op that reads a module's parameter ran in that module (addmm reading fc1.bias ran in
    fc1); an op fed only by ops of one module, and feeding back into it, did too."""
    by_id = {n["id"]: n for n in nodes}
    reads = {}
    for e in edges:
        source = by_id[e["source"]]
        if source["kind"] == "param" and source["module"]:
            reads.setdefault(e["target"], set()).add(source["module"])
    for target, modules in reads.items():
        if by_id[target]["kind"] == "op" and len(modules) == 1:
            by_id[target]["module"] = next(iter(modules))
    # an op between two ops of one module (t() between fc1's weight and its addmm) is in it too
    inputs, outputs = {}, {}
    for e in edges:
        inputs.setdefault(e["target"], []).append(by_id[e["source"]])
        outputs.setdefault(e["source"], []).append(by_id[e["target"]])
    for n in nodes:
        if n["kind"] == "op" and not n["module"]:
            before = {m["module"] for m in inputs.get(n["id"], []) if m["kind"] != "input"}
            after = {m["module"] for m in outputs.get(n["id"], [])}
            if len(after) == 1 and "" not in after and before <= after:
                n["module"] = next(iter(after))
            elif before and after and "" not in before | after:
                # between modules of one parent (a functional relu in a Sequential): in that parent
                # commonprefix over lists of path components compares whole components
                common = os.path.commonprefix([m.split(".") for m in before | after])  # noqa: RUF071
                n["module"] = ".".join(common)


def _same_shape_through_elementwise(found, ids, records):
    """Ops that keep their input's shape (relu, pow, softmax...) pass a known shape on, both ways."""
    pairs = [(records[ids[node]], records[ids[node.next_functions[0][0]]]) for node in found
             if isinstance(node, (Unary, PowScalar, Softmax, LogSoftmax, Clamp))
             and node.next_functions and node.next_functions[0][0] in ids]
    changed = True
    while changed:
        changed = False
        for out, inp in pairs:
            if inp["kind"] != "op":
                continue
            for a, b in ((out, inp), (inp, out)):
                if a["shape"] is None and b["shape"] is not None:
                    a.update(shape=b["shape"], dtype=b["dtype"], device=b["device"])
                    changed = True


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
    if isinstance(x, (Tensor, Node)):
        return TensorSource(x, params)
    if isinstance(x, dict):
        return StaticSource(x)
    if isinstance(x, StaticSource):   # already one: a loaded trace document (viz.load)
        return x
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
