"""The one way every op runs: `apply(Op, *inputs, **attrs)`.

It runs the op's forward on arrays, wraps the result, links the backward node when a gradient
is needed, and offers the op to active recorders (one check when there are none)."""
import weakref
from time import perf_counter
from typing import Any

import numpy as np

import numpy as np

from .._hooks import recorders, state
from ..node import Node, _sequence
from .bfloat16 import BF16 as _BF16, in_float32
from ..tensor import Tensor, _ndarray, _new

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
    arrays and, when a gradient will be needed, the graph edges; no helper calls on that path."""
    arrays = []
    edges = []
    needs_grad = False
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
            else:
                edges.append(_NO_EDGE)
        else:
            arrays.append(x)
            edges.append(_NO_EDGE)
    if first is not None and first._data.dtype is _BF16 and not cls.is_view:
        cls = in_float32(cls)  # bfloat16 computes in float32, rounded once (ops/bfloat16.py)
    node = cls()
    if recorders:
        start = perf_counter()
        out = node.forward(*arrays, **attrs)
        seconds = perf_counter() - start
    else:
        out = node.forward(*arrays, **attrs)
    if type(out) is tuple:
        outputs = tuple(_wrap_output(cls, node, o, i, needs_grad, first) for i, o in enumerate(out))
        if needs_grad:
            node._out_meta = [(o.shape, o.dtype, _xp(o)) for o in out]
    elif cls.is_view:
        outputs = _wrap_output(cls, node, out, 0, needs_grad, first)
    elif type(out) is _ndarray:  # Tensor._wrap spelled out: the one output of most ops
        outputs = _new(Tensor)
        outputs._data = out
        outputs.requires_grad = False
        outputs.grad_fn = None
        outputs._vbox = [0]
        if needs_grad and out.dtype.kind in "fV":  # integer results never require grad (bfloat16: "V")
            outputs.requires_grad = True
            outputs.grad_fn = node
    else:
        outputs = Tensor._wrap(out)
        if needs_grad and out.dtype.kind in "fV":
            outputs.requires_grad = True
            outputs.grad_fn = node
    if needs_grad:
        node.next_functions = tuple(edges)
        node._seq = next(_sequence)
        if cls.saved_inputs or cls.saved_output:
            node._checks = _version_checks(cls, inputs, outputs)
    if recorders:
        for recorder in recorders:
            recorder.record(node, inputs, outputs, attrs, seconds)
    return outputs


_NO_EDGE = (None, 0)  # what PyTorch puts in next_functions for an input that takes no gradient


def _wrap_output(cls, node, array, nr, needs_grad, first):
    t = Tensor._wrap(array)
    if cls.is_view and nr < 1 or cls.is_view == "all":
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


def _version_checks(cls, inputs, outputs):
    checks = []
    for i in cls.saved_inputs:
        x = inputs[i]
        if isinstance(x, Tensor):
            other = cls.saved_for.get(i)  # saved only for another input's gradient: a constant needs none
            if other is not None and not (isinstance(inputs[other], Tensor) and inputs[other].requires_grad):
                continue
            checks.append((x, x._vbox, x._vbox[0]))
    if cls.saved_output:  # the array, not the tensor: the tensor holds this node (no cycle)
        out = outputs[0] if type(outputs) is tuple else outputs  # (of several: the first)
        checks.append((out._data, out._vbox, out._vbox[0]))
    return checks


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
