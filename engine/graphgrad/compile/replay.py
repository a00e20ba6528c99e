"""Replay: run a Plan on new arguments. One loop over the instructions, on arrays only.

Forward ops call their captured node's forward on the buffers they read (the node's saved
values for backward are its own, as in eager mode); a backward pass runs the nodes in the
order the scheduler ran them at capture, summing the gradients that arrive at each node in that
same order (so the sums round as eager's do); a leaf's gradient goes through its AccumulateGrad,
which sets or adds to `.grad` as eager mode does; calls (optimizer.step, zero_grad) are made
again, so optimizer state, learning-rate changes and hooks behave as they do eagerly.

On a GPU (`cuda`), the same instructions are what CuPy's CUDA graph capture records:
`CudaGraphs` captures each run of kernel instructions (forward ops, backward nodes, the sums of
gradients, writes) into one CUDA graph on a stream, and later replays copy the arguments into
the captured input buffers and launch the graphs; the leaves' accumulations and the calls
(optimizer.step, zero_grad) stay Python, between the launches, since they decide on Python
state (whether a .grad exists, the learning rate)."""
import weakref
from typing import Any

import numpy as np

from ..node import Node, _sequence
from ..tensor import Tensor
from .plan import (
    BACKWARD,
    CALL,
    LEAF,
    NODE,
    OP,
    SET_GRAD,
    WRITE,
    Slot,
    as_array,
    tensors_of,
)


def run(plan, arg_arrays, arg_tensors=None):
    """The step's result, replayed with these arrays as its tensor arguments (arg_tensors: the
    tensors themselves, which a result that goes on to a backward pass outside links to)."""
    values = _load(plan, arg_arrays)
    execute(plan.instructions, values, {}, arg_tensors)
    result = _build(plan.result, values, {}, arg_tensors)
    if plan.outside is not None:
        link(plan, result, arg_tensors)
    return result


class CompiledBackward(Node):
    """The one graph node of a replayed step's result (plan.BackwardOutside): its backward runs the
    step's backward nodes, and what it sends on goes to the arguments' and parameters' nodes."""
    op_name = "compiled"
    saved = ("outside",)
    outside: Any   # the plan's BackwardOutside, set by link()

    def backward(self, grads):
        outside = self.outside
        grads = (grads,) if self.n_outputs == 1 else grads
        buffers = {}
        for (_, node, nr), grad in zip(outside.roots, grads):
            if grad is not None:
                buf = buffers.setdefault(node, [None] * node.n_outputs)
                buf[nr] = grad if buf[nr] is None else buf[nr] + grad
        execute(outside.instructions, None, buffers)
        sent = []
        for node, nr, _ in outside.exits:
            buf = buffers.get(node)
            sent.append(None if buf is None else buf[nr])
        return tuple(sent)


def link(plan, result, arg_tensors):
    """Give a result of the step its graph: one CompiledBackward node over the step's nodes (for
    the capture's own result too, so that its backward is the replays' one)."""
    outside = plan.outside
    node = CompiledBackward()
    node.outside = outside
    node.n_outputs = len(outside.roots)
    tensor_at = lambda i: arg_tensors[i] if i < plan.args else plan.externals[i - plan.args]
    edges, checks = [], []
    for _, _, i in outside.exits:
        t = tensor_at(i)
        edges.append((t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._accum or t._accumulator(), 0))
    for t in (*arg_tensors, *plan.externals):  # changed in place before the backward: eager's error
        checks.append((t, t._vbox, t._vbox[0]))
    node.next_functions, node._seq, node._checks = tuple(edges), next(_sequence), checks
    node._out_meta = []
    tensors = tensors_of(result)
    for k, (i, _, _) in enumerate(outside.roots):
        t = tensors[i]
        t.requires_grad, t.grad_fn, t._output_nr = True, node, k
        node._out_meta.append((t._data.shape, t._data.dtype, np if type(t._data) is np.ndarray else t._xp()))
    outside.pending = weakref.ref(node)


def pending_backward(plan):
    """Whether the latest replay's result still waits for its backward pass (whose nodes hold that
    replay's saved values: another replay now would overwrite them)."""
    ref = plan.outside.pending if plan.outside is not None else None
    node = ref() if ref is not None else None
    return node is not None and not node._freed


def _load(plan, arg_arrays):
    values = plan.values
    values[:plan.args] = arg_arrays
    base = plan.args
    for i, t in enumerate(plan.externals):  # read afresh: p.data = ... and optimizer updates are seen
        values[base + i] = t._data
    return values


def execute(instructions, values, buffers, arg_tensors=None):
    """Run instructions over `values` (the plan's arrays); `buffers` holds the gradients arriving at
    each backward node during a pass, as the scheduler's do; arg_tensors: the call's tensor
    arguments (an argument that requires grad gets its gradient)."""
    for ins in instructions:
        kind = ins[0]
        if kind == OP:
            _, forward, reads, writes, attrs, several, template = ins
            if template is not None:
                attrs = {k: _given(v, values, arg_tensors) for k, v in template.items()}
            out = forward(*[values[i] for i in reads], **attrs)
            if several:
                for i, o in zip(writes, out):
                    values[i] = as_array(o)
            else:
                values[writes[0]] = as_array(out)
        elif kind == NODE:
            _, node, next_functions, n_outputs = ins
            grads = buffers.pop(node, None)
            if grads is None or (grads[0] is None and (n_outputs == 1 or all(g is None for g in grads))):
                continue
            if n_outputs == 1:
                grad_inputs = node.backward(grads[0])
            else:
                grad_inputs = node.backward(tuple(g if g is not None else _zeros(node, i) for i, g in enumerate(grads)))
            # summed as autograd.engine.BackwardPass.steps sums them (the same order, out of place), so
            # the sums round as eager's do; kept inline there, as it is here, for speed
            for (nxt, nr), grad in zip(next_functions, grad_inputs):
                if grad is not None and nxt is not None:
                    buf = buffers.get(nxt)
                    if buf is None:
                        buffers[nxt] = buf = [None] * nxt.n_outputs
                        buf[nr] = grad
                    else:
                        old = buf[nr]
                        buf[nr] = grad if old is None else old + grad
        elif kind == LEAF:
            grads = buffers.pop(ins[1], None)
            if grads is not None and grads[0] is not None:
                _leaf(ins, arg_tensors).accumulate(grads[0], ins[2])
        elif kind == BACKWARD:
            buffers.clear()
            for (node, nr), seed in zip(ins[1], ins[2]):
                buf = buffers.setdefault(node, [None] * node.n_outputs)
                seed = seed.copy()
                buf[nr] = seed if buf[nr] is None else buf[nr] + seed
        elif kind == WRITE:
            _, target, result, external = ins
            if values[target] is not values[result]:
                values[target][...] = values[result]
            if external is not None:
                external._vbox[0] += 1
        elif kind == CALL:
            ins[1](*ins[2], **ins[3])
        elif kind == SET_GRAD:
            ins[1]._grad = None


def _given(v, values, arg_tensors):
    """An attribute with this call's tensors and arrays in its Slots."""
    if type(v) is Slot:
        if v.kind == "array":
            return values[v.index]
        if v.index < len(arg_tensors or ()):
            return arg_tensors[v.index]
        return Tensor._wrap(values[v.index])
    if type(v) in (tuple, list):
        return type(v)(_given(x, values, arg_tensors) for x in v)
    return v


def _leaf(ins, arg_tensors):
    """The AccumulateGrad a LEAF instruction accumulates through: the captured one, or for an
    argument, this call's argument's."""
    if ins[3] is None:
        return ins[1]
    t = arg_tensors[ins[3]]
    return t._accum or t._accumulator()


def _zeros(node, i):
    shape, dtype, xp = node._out_meta[i]
    return xp.zeros(shape, dtype)


def _build(spec, values, made: dict[int, Tensor] | None = None, arg_tensors: Any = None) -> Any:
    """The step's return value over the buffers; `made` collects the tensors by buffer."""
    kind = spec[0]
    if kind == "tensor":
        if made is None:
            return Tensor._wrap(values[spec[1]])
        t = made.get(spec[1])
        if t is None:
            t = made[spec[1]] = Tensor._wrap(values[spec[1]])
        return t
    if kind == "same":
        return spec[1]
    if kind == "arg":
        return arg_tensors[spec[1]]
    if kind == "grad":
        owner = spec[1] if isinstance(spec[1], Tensor) else arg_tensors[spec[1]]
        return owner._grad
    if kind == "seq":
        items = [_build(s, values, made, arg_tensors) for s in spec[2]]
        return spec[1](*items) if hasattr(spec[1], "_fields") else spec[1](items)  # (a named tuple: max's)
    return {k: _build(s, values, made, arg_tensors) for k, s in spec[1]}


# ---- cuda: the kernel instructions as CUDA graphs ------------------------------------------------

_KERNELS = (OP, NODE, BACKWARD, WRITE)  # instructions whose work is device kernels (captured)


def segments(instructions):
    """The instructions in runs to capture as one graph each (kernel instructions) and runs to run
    as Python between them (leaf accumulations, calls). A leaf's accumulation moves to the end of
    its backward pass's kernel run: it reads its gradient once the pass has summed it, which the
    graph does; the leaves are independent, so their order does not change any value."""
    runs, kernels, leaves = [], [], []
    for ins in instructions:
        if ins[0] in _KERNELS:
            kernels.append(ins)
        elif ins[0] == LEAF:
            leaves.append(ins)
        else:
            _flush(runs, kernels, leaves)
            kernels, leaves = [], []
            runs.append((False, [ins]))
    _flush(runs, kernels, leaves)
    return runs


def _flush(runs, kernels, leaves):
    if kernels:
        runs.append((True, kernels))
    if leaves:
        runs.append((False, leaves))


class CudaGraphs:
    """cuda: a plan replayed as CUDA graphs (CuPy's stream capture). The first run captures each
    kernel run into a graph (and launches it, since a capture records without running); the
    arrays made during the capture become the plan's fixed buffers. Later runs copy the arguments
    into the captured argument arrays and launch the graphs. A parameter array replaced since
    (`p.data = ...`: another address) captures again; a kernel run that cannot be captured (one
    that waits for the host) makes the plan replay without graphs. As with torch's CUDA graphs,
    results and gradients live in the captured arrays: the next launch overwrites them."""

    def __init__(self, plan):
        self.plan = plan
        self.runs = None          # [(graph or None, instructions)]
        self.failed = False
        self.addresses = None     # the external arrays' device addresses at capture

    def __call__(self, arg_arrays, arg_tensors=None):
        plan = self.plan
        if self.failed:
            return run(plan, arg_arrays)
        addresses = [t._data.data.ptr for t in plan.externals]
        if self.runs is None or addresses != self.addresses:
            return self._capture(arg_arrays, addresses, arg_tensors)
        values, buffers = _load(plan, self.static_args), self.buffers
        with self.stream:  # the Python runs' kernels (an optimizer's) queue on the same stream
            for static, new in zip(self.static_args, arg_arrays):
                static[...] = new
            for graph, instructions in self.runs:
                if graph is not None:
                    graph.launch(self.stream)
                    self._bump(instructions)
                    continue
                for ins in instructions:
                    if ins[0] == LEAF:  # the gradient the pass summed into the array captured for it
                        grad = self.leaf_grads[id(ins)]
                        if grad is not None:
                            _leaf(ins, arg_tensors).accumulate(grad, ins[2])
                    else:
                        execute((ins,), values, buffers, arg_tensors)
        self.stream.synchronize()
        return _build(plan.result, values, None, arg_tensors)

    def _capture(self, arg_arrays, addresses, arg_tensors):
        import cupy  # (optional: only on a GPU)
        plan = self.plan
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self.static_args = [a.copy() for a in arg_arrays]
        values, buffers = _load(plan, self.static_args), {}
        self.buffers, self.leaf_grads, runs = buffers, {}, []
        try:
            with self.stream:
                for is_kernels, instructions in segments(plan.instructions):
                    if not is_kernels:
                        for ins in instructions:
                            if ins[0] == LEAF:
                                grads = buffers.pop(ins[1], None)
                                grad = grads[0] if grads is not None else None
                                self.leaf_grads[id(ins)] = grad
                                if grad is not None:
                                    _leaf(ins, arg_tensors).accumulate(grad, ins[2])
                            else:
                                execute((ins,), values, buffers, arg_tensors)
                        runs.append((None, instructions))
                        continue
                    self.stream.begin_capture()
                    try:
                        execute(instructions, values, buffers)
                    finally:
                        graph = self.stream.end_capture()
                    graph.launch(self.stream)  # (the writes' versions moved on in execute)
                    runs.append((graph, instructions))
            self.stream.synchronize()
        except cupy.cuda.runtime.CUDARuntimeError:
            self.failed = True  # (the step's effects so far were made: finish it without graphs)
            raise
        self.runs, self.addresses = runs, addresses
        return _build(plan.result, values, None, arg_tensors)

    @staticmethod
    def _bump(instructions):
        """Writes into outside tensors move their versions on, as the write itself does eagerly."""
        for ins in instructions:
            if ins[0] == WRITE and ins[3] is not None:
                ins[3]._vbox[0] += 1
