"""One training iteration as recorded: a list of raw entries (plain tuples, cheap to make while
the model runs), turned into GNodes — with the wiring worked out — only when someone reads them.
Most iterations are never read: a trace keeps the last few and drops the rest unread.

Three kinds of entry:
- an op that ran: (id, autograd node or None, inputs, outputs, output arrays, attrs, seconds,
  module path, phase, (file, line), whether the node is its outputs' grad_fn). Which node made
  each input is found when read, by going through the entries in order, so a tensor written in
  place is found as the op that wrote it last; the leaves the ops read become nodes then.
- an in-place write (a Write): the op just recorded wrote its output into a tensor (an in-place
  op runs out of place, then writes). Written through a view, it also made the view's base a
  CopySlices, which gets a node of its own.
- a backward step: (autograd node, gradients received, gradients sent, seconds). It keeps the
  gradients the node received and those it sent on, except those sent to a leaf's
  AccumulateGrad (parameter-sized: the leaf's .grad holds them, and the AccumulateGrad step
  keeps the .grad tensor it left, in place of what it received). Keeping every parameter
  gradient of an iteration alive until the next one would make each backward pass write its
  weight gradients to fresh, cold memory instead of reusing the last one's."""
import collections
import functools
import itertools
import types
from typing import Any

from ..node import AccumulateGrad
from ..tensor import Tensor
from .graph import GNode, nodes_hash

Record = collections.namedtuple("Record", GNode.__slots__)
record = functools.partial(tuple.__new__, Record)  # Record((...)) without a Python-level __new__
ids = itertools.count(1)  # node ids, unique across traces: a Node.forward_id names one node
# what an iteration reads until it writes its own (most never do); typed Any: the attributes that
# start as it become dicts when first written
NOTHING: Any = types.MappingProxyType({})
# base, copy_slices, id, where (module, phase, (file, line)): set when the write was through a view
Write = collections.namedtuple("Write", "target result base copy_slices id where")
STEP_LENGTH = 4  # (node, received, sent, seconds); an op's entry is longer


def is_step(entry):
    """A backward step as recorded (not yet read)."""
    return type(entry) is tuple and len(entry) == STEP_LENGTH


def is_op(entry):
    """An op as recorded (read or not: the entry stays as it was)."""
    return type(entry) is tuple and len(entry) > STEP_LENGTH


def without_leaf_grads(node, sent):
    """The gradients a backward node sent, less those to leaves (their .grad keeps them)."""
    for nxt, _ in node.next_functions:
        if type(nxt) is AccumulateGrad:
            return tuple([None if type(f) is AccumulateGrad else g for (f, _), g in zip(node.next_functions, sent)])
    return sent


class Iteration:
    """One iteration of a Trace: its entries as recorded, the nodes made of them when read."""
    measure_seconds = 0.0  # time the monitor spent while this iteration ran
    first_step = None      # where in `records` the first backward step is
    loss = None            # what the first backward pass started from, when it is one number
    # scalars, made a dict when the first is written: Trace.log(...) values; and, while measuring,
    # name -> |Δw|/|w| at the optimizer step, name -> norm of the gradient a named leaf received
    metrics = update_ratios = grad_norms = NOTHING
    backward_of = NOTHING  # forward node id -> the backward GNode that ran for it (made when read)
    _hash = (-1, "")        # (records hashed, their structure_hash)
    # made from the records when read; these hold the objects they map (tensors, autograd
    # nodes), so an id() stays unique while it is a key here
    op_of = NOTHING         # autograd node -> (id of the op that made it, 0)
    tensors = NOTHING       # id(tensor) -> (tensor, (node id, output nr)): what made it, as of the entry read last
    leaf_sources = NOTHING  # id(tensor) -> (its leaf node's id, 0)
    index = NOTHING         # node id -> GNode
    _nodes: Any = ()        # a list once read
    _read = 0               # records made into nodes so far
    steps_left_out = 0      # backward steps past the trace's max_nodes: counted, not kept
    leaf_steps_left_out = ()  # the AccumulateGrad nodes among them: which leaves got gradients stays known

    def __init__(self, number, leaves, module_types, first_id):  # one per training step: only what recording needs
        self.number = number
        self.measuring = False  # whether the monitor measures it (its budget says when); read per backward step
        self.leaves = leaves    # the trace's (leaves.Leaves): parameters and their records, input names
        self.module_types = module_types  # the trace's: path -> (type name, parent path)
        self.first_id = first_id  # node ids from here on are this iteration's
        self.records = []       # per op, write or backward step, in the order they ran (see the module's doc)
        # what recording needs to tell the inputs no recorded op made (named while their frame runs)
        self.inputs = {}        # id(tensor) -> (tensor, the user's name or None, its array when first read)
        self.plain = {}         # id(tensor) -> tensor: outputs of recorded ops without a grad_fn
        self.inputs_read = {}   # (file, line) -> inputs named there so far

    @property
    def nodes(self):
        """The GNodes, in run order (the leaves an op read first, before it)."""
        if self._read < len(self.records):
            self._materialize()
        return self._nodes

    def _materialize(self):
        """GNodes for the records not read yet. An op's inputs are found among the ops before it
        (or become leaves); a backward node learns which backward nodes sent it gradients and,
        from its forward op, its name, module and source line."""
        if self.backward_of is NOTHING:  # the first read
            self.backward_of, self.op_of, self.tensors, self.leaf_sources, self.index = {}, {}, {}, {}, {}
            self._nodes = []
            self._pending = {}  # autograd node -> [(backward node id, slot)]: gradients on their way
        index, pending, records = self.index, self._pending, self.records
        for i in range(self._read, len(records)):
            r = records[i]
            if is_op(r):
                self._add(self._op_node(i, *r))
                continue
            if type(r) is Write:
                self._write(r, i)
                continue
            if is_step(r):
                r = records[i] = self._backward_record(*r)
            n = self._add(GNode(*r))
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
        self._read = len(records)

    def _add(self, n):
        n.iteration = self.number  # a parameter's record is shared by the iterations
        self._nodes.append(n)
        self.index[n.id] = n
        return n

    def _op_node(self, position, nid, node, inputs, outputs, arrays, attrs, seconds, module, phase, loc, made):
        if node is None:  # an optimizer step: fed by the parameters it updated, as leaves
            sources = tuple([self._leaf_source(p, "forward", loc, position) for p in inputs])
        else:
            sources = tuple([self._source(x, module, phase, loc, position) for x in inputs])
        # after the inputs: an in-place op's output is one of them, now written by this op
        for nr, o in enumerate(outputs if type(outputs) is tuple else (outputs,)):
            self.tensors[id(o)] = (o, (nid, nr))
        if made:
            self.op_of[node] = (nid, 0)
        return GNode(nid, "op" if phase != "optimizer" else "optimizer", node.op_name if node else "step",
                     type(node).__name__ if made else None, None, module, phase, self.number, loc, attrs, seconds,
                     None, sources, arrays)

    def _source(self, x, module, phase, loc, position):
        """(node id, output slot) of what made an op's input: an op read before, else a leaf
        (which gets its node now); None for an input not given."""
        if not isinstance(x, Tensor):
            return None if x is None else self._leaf(self.leaves.const_record(x, module, phase, self.number))
        found = self.tensors.get(id(x))
        if found is not None:
            return found[1]
        fn = x.grad_fn  # another tensor object on a recorded op's output
        made = self.op_of.get(fn) if fn is not None else None
        if made is not None:
            return made[0], x._output_nr
        return self._leaf_source(x, phase, loc, position)

    def _leaf_source(self, x, phase, loc, position):
        """The leaf node of a tensor no recorded op made (made the first time it is read)."""
        source = self.leaf_sources.get(id(x))
        if source is None:
            leaves = self.leaves
            if id(x) in leaves.params:
                rec = leaves.param_record(x, leaves.array_at(x, self.number, position), phase, self.number)
            else:
                _, name, array = self.inputs.get(id(x), (x, None, x._data))
                rec = leaves.input_record(name, array, phase, self.number, loc)
            source = self.leaf_sources[id(x)] = self._leaf(rec)
            if x._accum is not None:  # the leaf's gradient sink: its backward step links to this node
                x._accum.forward_id = rec.id
        self.tensors.setdefault(id(x), (x, source))
        return source

    def _write(self, w, position):
        made = self.tensors.get(id(w.result))
        target = w.target
        # later readers of target read the write, unless target is a leaf of the graph (a parameter
        # clamped or updated under no_grad): its AccumulateGrad links to its leaf node
        if made is not None and id(target) not in self.leaves.params and not (
                target.requires_grad and target.grad_fn is None):
            self.tensors[id(target)] = (target, made[1])
        if w.base is None:
            return
        # the base holds the written region now: a CopySlices of its old value and the result
        module, phase, loc = w.where  # the op that wrote's
        old = self._source(w.base, module, phase, loc, position)
        self._add(GNode(w.id, "op", "copy_slices", "CopySlices", None, module, phase, self.number, loc, None, None,
                        None, (old, made[1] if made else None), (w.base._data,)))
        self.op_of[w.copy_slices] = (w.id, 0)
        self.tensors[id(w.base)] = (w.base, (w.id, 0))

    def _leaf(self, rec):
        self._add(GNode(*rec))
        return rec.id, 0

    def _backward_record(self, node, received, sent, seconds):
        if type(node) is AccumulateGrad:  # received: the leaf's .grad tensor as the step left it
            received, sent = (None if received is None else received._data,), ()
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
        """The autograd nodes of the backward steps recorded, in the order they ran (then the
        leaves' AccumulateGrad steps past the trace's bound, which were not recorded)."""
        for r in self.records:
            if is_step(r):
                yield r[0]
            elif type(r) is Record and r.kind == "backward":
                yield r.fn
        yield from self.leaf_steps_left_out

    def leave_out(self, node, leaf):
        """A backward step past the trace's max_nodes: counted; an AccumulateGrad's node kept
        (one per leaf, alive anyway) so that the leaves a pass reached are still known."""
        self.steps_left_out += 1
        if leaf:
            if not self.leaf_steps_left_out:
                self.leaf_steps_left_out = []
            self.leaf_steps_left_out.append(node)

    def node(self, id):
        """The GNode with this id, or None."""
        if self._read < len(self.records):
            self._materialize()
        return self.index.get(id)

    def leaf_node(self, tensor):
        """The GNode of a leaf this iteration read, or None."""
        if self._read < len(self.records):
            self._materialize()
        source = self.leaf_sources.get(id(tensor))
        return self.index[source[0]] if source else None

    def find(self, tensor):
        """(GNode, output slot) of the op or leaf that made a tensor (as of the last op read), or None."""
        if self._read < len(self.records):
            self._materialize()
        found = self.tensors.get(id(tensor))
        source = found[1] if found is not None else None
        if source is None and tensor.grad_fn is not None:
            made = self.op_of.get(tensor.grad_fn)
            source = made and (made[0], tensor._output_nr)
        return (self.index[source[0]], source[1]) if source else None

    @property
    def has_backward(self):
        return self.first_step is not None

    def backward_began(self, root):
        """The first backward pass starts at autograd node `root`: its loss is kept now, while the
        op that made it is the latest record (a scan back otherwise)."""
        self.first_step = len(self.records)
        made = next((r for r in reversed(self.records) if is_op(r) and r[1] is root), None)
        out = made[4][0] if made is not None and made[4] and made[8] != "optimizer" else None
        self.loss = out if getattr(out, "size", 0) == 1 else None

    def structure_hash(self) -> str:
        n, h = self._hash
        if n != len(self.records):
            h = nodes_hash(self.nodes)
            self._hash = (len(self.records), h)
        return h
