"""One training iteration as recorded: a list of Records (plain tuples, cheap to make while the
model runs) and, for backward steps, what the scheduler's Step held; both turned into GNodes —
with the backward wiring worked out — when someone reads them.

What a backward step keeps: the gradients the node received and those it sent on, except those
sent to a leaf's AccumulateGrad (parameter-sized: the leaf's .grad holds them). Keeping every
parameter gradient of an iteration alive until the next one would make each backward pass write
its weight gradients to fresh, cold memory instead of reusing the last one's."""
import collections
import functools
import itertools
import types

from ..autograd.node import AccumulateGrad
from .graph import GNode, structure_signature

Record = collections.namedtuple("Record", GNode.__slots__)
record = functools.partial(tuple.__new__, Record)  # Record((...)) without a Python-level __new__
ids = itertools.count(1)  # node ids, unique across traces: a Node.forward_id names one node
NOTHING = types.MappingProxyType({})  # what an iteration reads until it writes its own (most never do)


def is_step(entry):
    """A backward step as recorded: (autograd node, received, sent, seconds), not yet a Record."""
    return type(entry) is tuple


def without_leaf_grads(node, sent):
    """The gradients a backward node sent, less those to leaves (their .grad keeps them)."""
    for nxt, _ in node.next_functions:
        if type(nxt) is AccumulateGrad:
            return tuple([None if type(f) is AccumulateGrad else g for (f, _), g in zip(node.next_functions, sent)])
    return sent


class Iteration:
    """One iteration of a Trace: its records, the lookups recording needs, the nodes made of them."""
    measure_seconds = 0.0  # time the monitor spent while this iteration ran
    first_step = None      # where in `records` the first backward step is
    loss = None            # what the first backward pass started from, when it is one number
    # scalars, made a dict when the first is written: Trace.log(...) values; and, while measuring,
    # name -> |Δw|/|w| at the optimizer step, name -> norm of the gradient a named leaf received
    metrics = update_ratios = grad_norms = NOTHING
    backward_of = NOTHING  # forward node id -> the backward GNode that ran for it (made when read)
    _hash = (None, None)

    def __init__(self, number, module_types):
        self.number = number
        self.measuring = False  # whether the monitor measures it (its budget says when); read per backward step
        self.module_types = module_types  # the trace's: path -> (type name, parent path)
        self.records = []      # per node, in the order they ran: a Record, or a backward step (is_step)
        self.inputs_read = {}  # (file, line) -> inputs read there so far (to name them)
        # what recording looks up; these hold the objects they map (tensors, autograd nodes), so
        # an id() stays unique while it is a key here
        self.op_of = {}        # autograd node -> (id of the op that made it, 0): its outputs' source
        self.tensors = {}      # id(tensor) -> (tensor, (node id, output nr), leaf name, leaf Record): leaves,
                               # and outputs that op_of cannot find (no grad_fn)
        # made from the records when read
        self._nodes = []
        self.index = {}        # node id -> GNode

    @property
    def nodes(self):
        """The GNodes, in run order."""
        if len(self._nodes) < len(self.records):
            self._materialize()
        return self._nodes

    def _materialize(self):
        """GNodes for the records not read yet. A backward node learns here which backward nodes
        sent it gradients and, from its forward op, its name, module and source line."""
        if self.backward_of is NOTHING:  # the first read
            self.backward_of = {}
            self._pending = {}  # autograd node -> [(backward node id, slot)]: gradients on their way
        index, pending, records = self.index, self._pending, self.records
        for i in range(len(self._nodes), len(records)):
            r = records[i]
            if is_step(r):
                r = records[i] = self._backward_record(*r)
            n = GNode(*r)
            n.iteration = self.number  # a parameter's record is shared by the iterations
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
                if grad is not None or type(nxt) is AccumulateGrad:
                    pending.setdefault(nxt, []).append((n.id, slot))

    def _backward_record(self, node, received, sent, seconds):
        if type(node) is AccumulateGrad:  # what it received is in the leaf's .grad (now)
            grad = node.variable.grad
            received, sent = (None if grad is None else grad._data,), ()
        return record((next(ids), "backward", node.op_name, node.name(), None, "", "backward", self.number, None,
                       None, seconds, self.forward_id(node), None, received, sent, node))

    def forward_id(self, node):
        """The id of the node that made an autograd node (its op, or the leaf of an AccumulateGrad)."""
        if type(node) is AccumulateGrad:  # this iteration's node of the leaf (a parameter's may be shared)
            entry = self.tensors.get(id(node.variable))
            return entry[1][0] if entry is not None else node.forward_id
        source = self.op_of.get(node)
        return source[0] if source is not None else node.forward_id

    def steps(self):
        """The autograd nodes of the backward steps recorded, in the order they ran."""
        for r in self.records:
            if is_step(r):
                yield r[0]
            elif r.kind == "backward":
                yield r.fn

    def node(self, id):
        """The GNode with this id, or None."""
        if len(self._nodes) < len(self.records):
            self._materialize()
        return self.index.get(id)

    @property
    def has_backward(self):
        return self.first_step is not None

    def backward_began(self, root):
        """The first backward pass starts at autograd node `root`: its loss is kept now, while the
        op that made it is the latest record (a scan back otherwise)."""
        self.first_step = len(self.records)
        fid = self.forward_id(root)
        made = next((r for r in reversed(self.records) if not is_step(r) and r.id == fid), None)
        out = made.outputs[0] if made is not None and made.kind == "op" and made.outputs else None
        self.loss = out if getattr(out, "size", 0) == 1 else None

    def structure_hash(self):
        n, h = self._hash
        if n != len(self.records):
            h = structure_signature(self.nodes)
            self._hash = (len(self.records), h)
        return h
