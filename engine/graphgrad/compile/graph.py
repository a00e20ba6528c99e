"""A plan as the widget draws graphs (schema v1, tests/viz_protocol.json): `compiled.graph`.

One node per instruction (a forward op, a backward node, an optimizer call), phase "forward",
"backward" or "optimizer", with the plan group it belongs to and the buffer it writes in its
attributes; one node per tensor the plan reads (the step's arguments, parameters); edges from the
instruction that writes a buffer to those that read it, and along the backward pass's edges."""
from ..node import AccumulateGrad
from ..tracing.graph import SCHEMA, node_record
from .plan import CALL, LEAF, NODE, OP, SET_GRAD, WRITE


class PlanGraph:
    def __init__(self, plan):
        self.plan = plan
        self._json = None

    def node(self, node_id):
        return self.to_json()["nodes"][node_id]

    def to_json(self):
        if self._json is None:
            self._json = _graph(self.plan)
        return self._json


def _names(plan):
    """Parameter names (module path and attribute) of the tensors the plan reads, where known."""
    names = {}
    for module, _ in plan.modules:
        for name, t in module.named_parameters():
            names.setdefault(id(t), name)
    return names


def _shape(array):
    return (list(array.shape), str(array.dtype)) if hasattr(array, "shape") else (None, None)


def _graph(plan):
    nodes, edges = [], []
    writer = {}        # buffer index -> graph node id of what wrote it last
    backward_ids = {}  # backward node -> graph node id
    names = _names(plan)
    values = plan.values

    def add(kind, op, phase, group, buffer=None, **fields):
        shape, dtype = _shape(values[buffer]) if buffer is not None else (None, None)
        nodes.append(node_record(len(nodes), kind, op, phase=phase, shape=shape, dtype=dtype,
                                 attrs={"group": group, "buffer": buffer}, **fields))
        return len(nodes) - 1

    for i in range(plan.args):
        writer[i] = add("input", "input", "forward", None, i, label=f"argument {i}")
    for i, t in enumerate(plan.externals):
        name = names.get(id(t))
        buffer = plan.args + i
        writer[buffer] = add("param" if name else "input", "leaf" if name else "input", "forward", None, buffer,
                             label=name.rsplit(".", 1)[-1] if name else f"tensor {i}", name=name)
    group_of = {}
    for g, (_, start, end) in enumerate(plan.groups):
        for i in range(start, end):
            group_of[i] = g
    records = dict(plan.records)
    for i, ins in enumerate(plan.instructions):
        kind, group = ins[0], group_of[i]
        if kind == OP:
            node, reads, writes = records[i]
            me = add("op", node.op_name, "forward", group, writes[0], grad_fn=type(node).__name__)
            for k, buffer in enumerate(reads):
                if buffer in writer:
                    edges.append(_edge(writer[buffer], me, k, values[buffer]))
            for buffer in writes:
                writer[buffer] = me
            backward_ids[node] = me
        elif kind == WRITE:
            target, result = ins[1], ins[2]
            me = add("op", "write", "forward", group, target)
            if result in writer:
                edges.append(_edge(writer[result], me, 0, values[result]))
            writer[target] = me
        elif kind in (NODE, LEAF):
            node = ins[1]
            op = "AccumulateGrad" if kind == LEAF else node.name()
            me = add("op", op, "backward", group, grad_fn=op)
            backward_ids[("backward", node)] = me
        elif kind == CALL:
            owner = ins[1].__self__
            add("op", f"{type(owner).__name__}.{ins[1].__name__}", "optimizer", group)
        elif kind == SET_GRAD:
            add("op", "grad = None", "optimizer", group)
    # the backward pass's edges: from each node to those it sends gradients to
    for ins in plan.instructions:
        if ins[0] == NODE:
            me = backward_ids[("backward", ins[1])]
            for k, (nxt, _) in enumerate(ins[2]):
                target = backward_ids.get(("backward", nxt))
                if target is not None:
                    edges.append(_edge(me, target, k, None))
        elif ins[0] == LEAF and type(ins[1]) is AccumulateGrad:
            buffer = plan.args + next((j for j, t in enumerate(plan.externals) if t is ins[1].variable), -1)
            if buffer in writer and buffer >= plan.args:
                edges.append(_edge(backward_ids[("backward", ins[1])], writer[buffer], 0, None))
    return {"schema": SCHEMA, "structure_hash": plan.structure_hash, "iteration": 0,
            "nodes": nodes, "edges": edges, "modules": []}


def _edge(source, target, i, array):
    shape, dtype = _shape(array)
    return {"source": source, "target": target, "input": i, "shape": shape, "dtype": dtype}
