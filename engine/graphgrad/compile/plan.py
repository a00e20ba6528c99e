"""Plan: a Recording (capture.py) turned into instructions over one flat list of arrays.

Every array the step touches has a place (a *buffer*) in that list: the step's tensor arguments
first, then the tensors it read from outside (parameters: read afresh from the tensor on every
replay, so `p.data = ...` and optimizer updates are seen), then constants, then one buffer per
op output. An instruction names the buffers it reads and writes; no Tensor or graph node is made
per op. The replay reuses each op's node from the capture (its forward and backward are the
op's own code, so the numbers are the eager ones bit for bit) and keeps the values of the last
replay in the buffers.

The instructions come in *groups*: the forward ops between two calls or backward passes, each
backward pass, each call (optimizer.step, zero_grad). A group is what a CUDA graph would capture
as one unit on the GPU (replay.py)."""
import hashlib
from typing import Any

import numpy as np

from ..node import AccumulateGrad
from ..tensor import Tensor

# instruction kinds: the first field of each instruction tuple
OP, WRITE, BACKWARD, NODE, LEAF, CALL, SET_GRAD = range(7)


class Plan:
    """What replay.run executes; built once per capture."""
    # set by Compiled once the plan is built: what the step read from outside its arguments, the
    # buffers a run fills, the CUDA graphs that replay it (None off the GPU)
    outside_objects: list[Any]
    values: list[Any]
    graphs: Any

    def __init__(self, recording, arg_tensors, result):
        self.reasons = list(recording.reasons)
        self.modules = list(recording.modules.items())   # (module, .training) the step ran with
        self.args = len(arg_tensors)
        self.externals = []      # tensors read from outside the step's arguments
        self.constants = []      # arrays and numbers given to ops as they are
        self.instructions = []
        self.groups = []         # (kind, first instruction, end): "forward", "backward" or "call"
        self.records = []        # (instruction index, what the widget shows of it)
        self._where = {}         # id(tensor) -> its buffer
        self._held = []          # the recording's tensors, alive while the plan is built (ids stay unique)
        self._array_at = {}      # id(array) -> the place of the tensor holding it (an op may get the array)
        for i, t in enumerate(arg_tensors):
            self._where[id(t)] = i
            self._array_at.setdefault(id(t._data), i)
        self._buffers = 0        # op outputs so far
        self._build(recording.events, recording.made)
        # the leaves' gradients after the step: (which argument, or the tensor) for each .grad tensor
        grads = {id(t._grad): (i if isinstance(i, int) else t)
                 for t, i in ((t, self._where.get(id(t))) for t in (*arg_tensors, *self.externals))
                 if t._grad is not None}
        self.result = self._result_spec(result, recording.made, grads)
        self.outside = None      # the backward pass a caller runs outside the step (BackwardOutside)
        # a result with a graph, from a step that ran no backward itself: the caller will run one
        if _needs_backward(result) and not any(e[0] == "backward" for e in recording.events):
            self.outside = BackwardOutside(self, recording.events, result, arg_tensors)
        self.size = self.args + len(self.externals) + len(self.constants) + self._buffers
        self.external_specs = [(t._data.shape, t._data.dtype, t.requires_grad) for t in self.externals]
        self.structure_hash = self._hash(arg_tensors)

    # ---- building --------------------------------------------------------------------------------
    def _ref(self, x):
        """The buffer index of an op's input (an argument, an external tensor, a constant, an output)."""
        if isinstance(x, Tensor):
            where = self._where.get(id(x))
            if where is None:
                where = self._where[id(x)] = ("external", len(self.externals))
                self.externals.append(x)
                self._held.append(x)
                self._array_at.setdefault(id(x._data), where)
            return where
        where = self._array_at.get(id(x))  # a tensor's own array, given as is
        if where is not None:
            return where
        self.constants.append(x)
        return ("constant", len(self.constants) - 1)

    def _output(self, t):
        self._held.append(t)
        where = self._where[id(t)] = ("buffer", self._buffers)
        self._array_at.setdefault(id(t._data), where)
        self._buffers += 1
        return where

    def _attrs(self, attrs):
        """attrs with each tensor or tensor's array in them (an index's arrays, `x[idx]`) replaced by a
        Slot naming its place, so the replay gives this call's; None where there is none."""
        found = []

        def walk(v):
            if isinstance(v, Tensor):  # (an outside tensor, batch norm's running mean, stays itself)
                where = self._where.get(id(v))
                if isinstance(where, int) or (where is not None and where[0] == "buffer"):
                    found.append(v)
                    return Slot("tensor", where)
                return v
            if type(v) in (tuple, list):
                return type(v)(walk(x) for x in v)
            where = self._array_at.get(id(v)) if hasattr(v, "shape") else None
            if where is not None:
                found.append(v)
                return Slot("array", where)
            return v
        template = {k: walk(v) for k, v in attrs.items()}
        return template if found else None

    def _group(self, kind):
        if not self.groups or self.groups[-1][0] != kind or kind == "call":
            self.groups.append([kind, len(self.instructions), len(self.instructions)])

    def _emit(self, kind, instruction, record=None):
        self._group(kind)
        self.instructions.append(instruction)
        self.groups[-1][2] = len(self.instructions)
        if record is not None:
            self.records.append((len(self.instructions) - 1, record))

    def _build(self, events, made):
        made_here = {e[1] for e in events if e[0] == "op"}
        for event in events:
            kind = event[0]
            if kind == "op":
                _, node, inputs, outputs, attrs = event
                refs = [self._ref(x) for x in inputs]
                outs = [self._output(t) for t in (outputs if type(outputs) is tuple else (outputs,))]
                self._emit("forward", [OP, node.forward, refs, outs, attrs, type(outputs) is tuple,
                                       self._attrs(attrs)], (node, refs, outs))
            elif kind == "write":
                _, target, result = event
                ref = self._ref(target)
                external = target if ref[0] == "external" else None
                if external is not None and id(target) in made:
                    self.reasons.append("an in-place op writes into a tensor the step made itself")
                self._emit("forward", [WRITE, ref, self._ref(result), external])
            elif kind == "backward":
                _, roots, seeds = event
                self._emit("backward", [BACKWARD, roots, seeds])
            elif kind == "node":
                _, node, owned = event
                if type(node) is AccumulateGrad:
                    # an argument's leaf is another tensor on every call: its gradient goes to that one's
                    arg = self._where.get(id(node.variable))
                    self._emit("backward", [LEAF, node, owned, arg if isinstance(arg, int) else None],
                               (node, [self._ref(node.variable)], []))
                else:
                    if node not in made_here:
                        self.reasons.append("its backward pass reaches nodes made before the step (an argument's "
                                            "or a tensor's history): a replay would run those old nodes")
                    self._emit("backward", [NODE, node, node.next_functions, node.n_outputs], (node, [], []))
            elif kind == "call":
                _, owner, method, args, kwargs = event
                self._emit("call", [CALL, getattr(owner, method), args, kwargs], ((owner, method), [], []))
            elif kind == "set_grad":
                self._emit("call", [SET_GRAD, event[1]])

    def _buffer_arrays(self):
        """id(array) -> the buffer of the op output that holds it."""
        if not hasattr(self, "_arrays"):
            self._arrays = {id(t._data): self._where[id(t)] for t in self._held if id(t) in self._where
                            and self._where[id(t)][0] == "buffer"}
        return self._arrays

    def _result_spec(self, result, made, grads):
        """How to build the step's return value: a tensor an op made, over its buffer; an argument,
        this call's; a gradient (`x.grad`), the tensor's .grad after the replay; a tensor from
        before the step, itself; anything else as it was. A tensor the step made otherwise cannot
        be made again."""
        if isinstance(result, Tensor):
            where = self._where.get(id(result))
            if isinstance(where, int):
                return ("arg", where)
            if where is not None and where[0] == "buffer":
                return ("tensor", where)
            if id(result) in grads:
                return ("grad", grads[id(result)])
            shares = self._buffer_arrays().get(id(result._data))
            if shares is not None:  # loss.detach(): a new tensor over a buffer's array
                return ("tensor", shares)
            if id(result) in made:
                self.reasons.append("it returns a tensor it made other than by an op")
            return ("same", result)
        if isinstance(result, (tuple, list)):
            return ("seq", type(result), [self._result_spec(r, made, grads) for r in result])
        if isinstance(result, dict):
            return ("dict", [(k, self._result_spec(v, made, grads)) for k, v in result.items()])
        return ("same", result)

    def finish(self):
        """Resolve every reference to an index into the flat list of arrays (args, externals,
        constants, buffers), once all are known."""
        base = {"external": self.args, "constant": self.args + len(self.externals),
                "buffer": self.args + len(self.externals) + len(self.constants)}
        index = lambda ref: ref if isinstance(ref, int) else base[ref[0]] + ref[1]
        for ins in self.instructions:
            if ins[0] == OP:
                ins[2] = [index(r) for r in ins[2]]
                ins[3] = [index(r) for r in ins[3]]
                if ins[6] is not None:
                    for v in _slots(ins[6]):
                        v.index = index(v.index)
            elif ins[0] == WRITE:
                ins[1], ins[2] = index(ins[1]), index(ins[2])
        self.records = [(i, (node, [index(r) for r in ins], [index(r) for r in outs]))
                        for i, (node, ins, outs) in self.records]
        self.result = _resolve(self.result, index)
        self.constant_base = base["constant"]
        self.buffer_base = base["buffer"]
        del self._where, self._held, self._array_at
        self.__dict__.pop("_arrays", None)
        return self

    def _hash(self, arg_tensors):
        """Equal for captures that run the same ops on the same shapes in the same order."""
        key = []
        for ins in self.instructions:
            if ins[0] == OP:
                key.append((ins[1].__self__.op_name, tuple(map(str, ins[2])), len(ins[3])))
            elif ins[0] in (NODE, LEAF):
                key.append((type(ins[1]).__name__,))
            elif ins[0] == CALL:
                key.append((type(ins[1].__self__).__name__, ins[1].__name__))
            else:
                key.append((ins[0],))
        shapes = [(tuple(t._data.shape), str(t._data.dtype)) for t in (*arg_tensors, *self.externals)]
        return hashlib.sha1(repr((key, shapes)).encode()).hexdigest()[:16]

    # ---- what it holds ---------------------------------------------------------------------------
    @property
    def replayable(self):
        return not self.reasons

    def __repr__(self):
        counts = ", ".join(f"{kind} {end - start}" for kind, start, end in self.groups)
        return (f"Plan({len(self.instructions)} instructions in {len(self.groups)} groups ({counts}); "
                f"{self._buffers} buffers, {len(self.externals)} external tensors; hash {self.structure_hash})")


class BackwardOutside:
    """For a step whose result goes on to a backward pass outside it (a compiled module in a
    training loop): the result's tensors get one graph node (replay.CompiledBackward) whose
    backward runs the step's backward nodes in the order the scheduler runs them (latest made
    first) and hands the gradients that leave the step to the arguments' and parameters' nodes."""

    def __init__(self, plan, events, result, arg_tensors):
        inner = [e[1] for e in events if e[0] == "op" and getattr(e[1], "_seq", None) is not None
                 and e[1].next_functions]
        inner_set = set(inner)
        inner.sort(key=lambda n: n._seq, reverse=True)  # the scheduler's order (autograd.engine._schedule)
        self.instructions = [[NODE, n, n.next_functions, n.n_outputs] for n in inner]
        # the tensors whose gradients leave the step, and the node each one's gradient reaches at capture
        read = [t for t in (*arg_tensors, *plan.externals) if t.requires_grad]
        edge_of = {}
        for t in read:
            node = t.grad_fn if t.grad_fn is not None else t._accum
            if node is not None:
                edge_of.setdefault((node, t._output_nr if t.grad_fn is not None else 0), t)
        self.exits = []          # (capture-time node, output nr, buffer index of the tensor)
        where = {id(t): i for i, t in enumerate(arg_tensors)}
        where.update({id(t): plan.args + i for i, t in enumerate(plan.externals)})
        for n in inner:
            for nxt, nr in n.next_functions:
                if nxt is not None and nxt not in inner_set and (nxt, nr) in edge_of:
                    exit = (nxt, nr, where[id(edge_of[nxt, nr])])
                    if exit not in self.exits:
                        self.exits.append(exit)
        # the result's tensors that need a gradient: (their place among the result's tensors, node, nr)
        self.roots = [(k, t.grad_fn, t._output_nr) for k, t in enumerate(_tensors(result)) if t.grad_fn is not None]
        self.pending = None      # a weak reference to the node of the latest replay, until its backward ran



class Slot:
    """In an op's attributes: a tensor (kind "tensor") or a tensor's array ("array") that the replay
    takes from this call (`index`: its place among the plan's arrays)."""
    __slots__ = ("index", "kind")

    def __init__(self, kind, index):
        self.kind, self.index = kind, index


def _slots(template):
    for v in template.values() if isinstance(template, dict) else template:
        if isinstance(v, Slot):
            yield v
        elif type(v) in (tuple, list):
            yield from _slots(v)


def tensors_of(result):
    """The tensors in a step's result, in order (as it nests them)."""
    return _tensors(result)


def _tensors(result):
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in _tensors(r)]
    if isinstance(result, dict):
        return [t for r in result.values() for t in _tensors(r)]
    return []


def _needs_backward(result):
    if isinstance(result, Tensor):
        return result.grad_fn is not None
    if isinstance(result, (tuple, list)):
        return any(_needs_backward(r) for r in result)
    if isinstance(result, dict):
        return any(_needs_backward(r) for r in result.values())
    return False


def _resolve(spec, index):
    kind = spec[0]
    if kind == "tensor":
        return ("tensor", index(spec[1]))
    if kind == "seq":
        return ("seq", spec[1], [_resolve(s, index) for s in spec[2]])
    if kind == "dict":
        return ("dict", [(k, _resolve(s, index)) for k, s in spec[1]])
    return spec


def as_array(out):
    """NumPy gives 0-d results as scalars; tensors hold arrays (as Tensor._wrap makes them)."""
    return np.asarray(out) if isinstance(out, np.generic) else out
