"""One training iteration as recorded: a list of Records (plain tuples, cheap to make while the
model runs), turned into GNodes — with the backward wiring worked out — when someone reads them."""
import collections
import functools

from .graph import GNode, structure_signature

Record = collections.namedtuple("Record", GNode.__slots__)
record = functools.partial(tuple.__new__, Record)  # Record((...)) without a Python-level __new__


class Iteration:
    def __init__(self, number):
        self.number = number
        self.records = []      # one Record per node, in the order they ran (what recording appends)
        self.modules = {}      # module path -> (type name, parent path)
        self.metrics = {}      # Trace.log(...) values
        self.update_ratios = {}
        self.measure_seconds = 0.0  # time the monitor spent while this iteration ran
        self.inputs_read = {}       # (file, line) -> inputs read there so far (to name them)
        # what recording looks up; these hold the objects they map (tensors, autograd nodes), so
        # an id() stays unique while it is a key here
        self.op_of = {}        # autograd node -> id of the node that made it (an op, or a leaf's sink)
        self.produced = {}     # id(tensor) -> (tensor, node id, output nr)
        self.leaves = {}       # id(tensor) -> (tensor, node id, 0, name)
        # made from the records when read
        self._nodes = []
        self.index = {}        # node id -> GNode
        self.backward_of = {}  # forward node id -> the backward GNode that ran for it
        self._pending = {}     # autograd node -> [(backward node id, slot)]: gradients on their way
        self._hash = (None, None)

    @property
    def nodes(self):
        """The GNodes, in run order."""
        if len(self._nodes) < len(self.records):
            self._materialize()
        return self._nodes

    def _materialize(self):
        """GNodes for the records not read yet. A backward node learns here which backward nodes
        sent it gradients and, from its forward op, its name, module and source line."""
        index, pending = self.index, self._pending
        for r in self.records[len(self._nodes):]:
            n = GNode(*r)
            self._nodes.append(n)
            index[n.id] = n
            if n.kind != "backward":
                continue
            n.inputs = tuple(pending.pop(n.fn, ()))
            forward = index.get(n.forward_id)
            if forward is not None:
                self.backward_of[n.forward_id] = n
                n.module, n.source = forward.module, forward.source
                if forward.kind in ("param", "input"):
                    n.name = forward.name
            for slot, ((nxt, _), grad) in enumerate(zip(n.fn.next_functions, n.grad_inputs)):
                if nxt is not None and grad is not None:
                    pending.setdefault(nxt, []).append((n.id, slot))

    def node(self, id):
        """The GNode with this id, or None."""
        if len(self._nodes) < len(self.records):
            self._materialize()
        return self.index.get(id)

    @property
    def has_backward(self):
        return any(r.kind == "backward" for r in self.records)

    @property
    def loss(self):
        """What the first backward pass started from, when it is one number (else None)."""
        first = next((r for r in self.records if r.kind == "backward"), None)
        if first is None or first.forward_id is None:
            return None
        made = next((r for r in self.records if r.id == first.forward_id), None)
        out = made.outputs[0] if made is not None and made.kind == "op" and made.outputs else None
        return out if getattr(out, "size", 0) == 1 else None

    def structure_hash(self):
        n, h = self._hash
        if n != len(self.records):
            h = structure_signature(self.nodes)
            self._hash = (len(self.records), h)
        return h
