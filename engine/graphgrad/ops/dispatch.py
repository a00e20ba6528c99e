"""The one way every op runs: `apply(Op, *inputs, **attrs)`.

It runs the op's forward on arrays, wraps the result, links the backward node when a gradient
is needed, and offers the op to active recorders (one check when there are none)."""
import weakref
from time import perf_counter
from typing import Any

import numpy as np

from .._hooks import recorders, state
from ..node import Node, _sequence
from .bfloat16 import BF16 as _BF16, in_float32
from ..tensor import Tensor, _generic, _ndarray, _new

REGISTRY = {}      # op name -> op class: the op table that the tests are generated from
# recorders: the active tracers; each has .record(node, inputs, outputs, attrs, seconds) (the list
# lives in graphgrad._hooks, where the backward scheduler and the tracers read it too)

# What the viewer colours an op by (`type(node).category`): the topic of the ops/ file it lives in.
CATEGORIES = ("arithmetic", "unary", "comparison", "activation", "reduction", "shape", "indexing", "linalg",
              "convolution", "pooling", "normalization", "loss", "attention", "conversion", "hook")


def op(name, grad_fn=None, *, category, differentiable=True):
    """Register an op class under its name; its class name becomes PyTorch's grad_fn name, and
    `category` (one of CATEGORIES) what the graph viewer groups it under."""
    if category not in CATEGORIES:
        raise ValueError(f"op {name!r}: category {category!r} is not one of {CATEGORIES}")

    def register(cls):
        if grad_fn:
            cls.__name__ = cls.__qualname__ = grad_fn
        cls.op_name = name
        cls.category = category
        cls.differentiable = differentiable
        REGISTRY[name] = cls
        return cls
    return register


class Op(Node):
    """Base of all ops: forward(*arrays, **attrs) -> array(s); backward(grad) -> grads per input."""
    is_view = False      # the output shares memory (and version counter) with input 0
    category = None      # set by @op: an unregistered op has none (tests/test_ops.py checks every registered one)


def apply(cls, *inputs, **attrs) -> Any:  # (a Tensor, or a tuple of them for ops with several outputs)
    """inputs are Tensors, or arrays taken as constants (a Python number promoted already).

    This runs for every op, so it is written for speed: one pass over the inputs collects their
    arrays and, when a gradient will be needed, the graph edges, with no helper calls on that path
    (a call costs what a dozen of these lines do; NumPy adds two 4x4 arrays in 0.3 us). The
    operators' two-tensor case has a shorter path still: apply_binary."""
    arrays = []
    edges = []
    needs_grad = False
    constants = False  # some input takes no gradient
    record = state.grad_enabled and cls.differentiable
    first = None
    for x in inputs:
        if isinstance(x, Tensor):
            data = x._data
            if first is None:
                first, kind = x, type(data)
            elif type(data) is not kind:
                return apply(cls, *_on_one_device(first, x, inputs), **attrs)
            arrays.append(data)
            if record and x.requires_grad:
                needs_grad = True
                fn = x.grad_fn
                edges.append((fn, x._output_nr) if fn is not None else (x._accum or x._accumulator(), 0))
                continue
        else:
            arrays.append(x)
        edges.append(_NO_EDGE)
        constants = True
    if first is not None and first._data.dtype is _BF16 and not cls.is_view:
        cls = in_float32(cls)  # bfloat16 computes in float32, rounded once (ops/bfloat16.py)
    node = cls()
    if recorders:
        start = perf_counter()
        out = node.forward(*arrays, **attrs)
        seconds = perf_counter() - start
    else:
        out = node.forward(*arrays, **attrs)
    if type(out) is not _ndarray and isinstance(out, _generic):
        out = np.asarray(out)  # NumPy's 0-d results are scalars (x.sum()): made the array they stand for
    if type(out) is _ndarray and not cls.is_view:  # Tensor._wrap spelled out: the one output of most ops
        outputs = _new(Tensor)
        outputs._data = out
        outputs._vbox = [0]
        if needs_grad and out.dtype.kind in "fV":  # integer results never require grad (bfloat16: "V")
            outputs.requires_grad = True
            outputs.grad_fn = node
        else:
            outputs.requires_grad = False
            outputs.grad_fn = None
    elif type(out) is tuple:
        outputs = tuple(_wrap_output(cls, node, o, i, needs_grad, first) for i, o in enumerate(out))
        if needs_grad:
            node._out_meta = [(o.shape, o.dtype, _xp(o)) for o in out]
    else:
        outputs = _wrap_output(cls, node, out, 0, needs_grad, first)
    if needs_grad:
        node.next_functions = edges = tuple(edges)
        node._seq = next(_sequence)
        if cls.saved_inputs or cls.saved_output:
            node._checks = _version_checks(cls, inputs, edges if constants else None, outputs)
    if recorders:
        for recorder in recorders:
            recorder.record(node, inputs, outputs, attrs, seconds)
    return outputs


def apply_binary(cls, a: Tensor, b: Tensor, dtype) -> Tensor:
    """`a + b` and co. for two tensors of one dtype on one device, the operators' common case:
    apply() without its loop over inputs and without passing keyword arguments on to forward,
    which together cost a third of a small op (1 us of 3). cls.forward takes (a, b, dtype) by
    position, as arithmetic's Binary does. Anything else (a recorder listening, bfloat16, two
    devices) goes through apply(), which handles it."""
    x, y = a._data, b._data
    if recorders or x.dtype is _BF16 or type(x) is not type(y):
        return apply(cls, a, b, dtype=dtype)
    node = cls()
    out = node.forward(x, y, dtype)
    if type(out) is _ndarray:
        result = _new(Tensor)
        result._data = out
        result._vbox = [0]
    else:  # a NumPy scalar (from 0-d operands) or a CuPy array
        result = Tensor._wrap(out)
    if (a.requires_grad or b.requires_grad) and state.grad_enabled and cls.differentiable and out.dtype.kind in "fV":
        result.requires_grad = True
        result.grad_fn = node
        edge_a, edge_b = _edge(a), _edge(b)
        node.next_functions = edges = (edge_a, edge_b)
        node._seq = next(_sequence)
        if cls.saved_inputs or cls.saved_output:
            constants = edge_a is _NO_EDGE or edge_b is _NO_EDGE
            node._checks = _version_checks(cls, (a, b), edges if constants else None, result)
    else:
        result.requires_grad = False
        result.grad_fn = None
    return result


def _edge(x):
    """x's entry in next_functions: the node that made it and which output it was, its leaf's
    AccumulateGrad, or none when x takes no gradient."""
    if not x.requires_grad:
        return _NO_EDGE
    fn = x.grad_fn
    return (fn, x._output_nr) if fn is not None else (x._accum or x._accumulator(), 0)


def _version_checks(cls, inputs, edges, outputs):
    """(tensor, its version box, the version now) for each saved tensor, checked before backward.
    An input saved only for another one's gradient needs none when that one takes no gradient
    (edges: next_functions, or None when every input takes one). A saved output is checked by its
    array, not the tensor, which holds the node (no cycle); of several outputs, the first."""
    checks = []
    saved_for = cls.saved_for
    for i in cls.saved_inputs:
        x = inputs[i]
        if edges is None or (isinstance(x, Tensor) and (i not in saved_for or edges[saved_for[i]] is not _NO_EDGE)):
            box = x._vbox
            checks.append((x, box, box[0]))
    if cls.saved_output:
        out = outputs[0] if type(outputs) is tuple else outputs
        checks.append((out._data, out._vbox, out._vbox[0]))
    return checks


_NO_EDGE = (None, 0)  # what PyTorch puts in next_functions for an input that takes no gradient


def _wrap_output(cls, node, array, nr, needs_grad, first):
    t = Tensor._wrap(array)
    if (cls.is_view and nr < 1) or cls.is_view == "all":
        t._vbox = first._vbox
        t._base = base = first._base if first._base is not None else first
        if first.requires_grad and not needs_grad:  # a view made under no_grad, as PyTorch marks it
            t.requires_grad = True
        if needs_grad:  # its history must follow in-place writes to the memory it shares (ops/inplace.py)
            views = base.__dict__.get("_views")
            if views is None:
                views = base.__dict__["_views"] = weakref.WeakSet()
            views.add(t)
    if needs_grad and array.dtype.kind in "fV":  # integer results never require grad (bfloat16: "V")
        t.requires_grad = True
        t.grad_fn = node
        t._output_nr = nr
    return t


def _xp(array):
    if isinstance(array, (np.ndarray, np.generic)):  # (NumPy's 0-d results are scalars)
        return np
    import cupy  # (optional: only on a GPU)
    return cupy


def _on_one_device(a, b, inputs):
    """Tensors a and b live on two devices. As in PyTorch, a CPU tensor with no dimensions may join
    GPU tensors as a scalar (moved there by a differentiable copy, so its gradient comes back to
    the CPU); any other mix is an error."""
    for scalar, other in ((a, b), (b, a)):
        if scalar._data.ndim == 0 and scalar.device.type == "cpu" and other.device.type != "cpu":
            return [scalar.to(other.device) if x is scalar else x for x in inputs]
    raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                       f"{b.device} and {a.device}!")
