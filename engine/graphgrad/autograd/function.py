"""Custom autograd functions, as torch.autograd.Function:

    class Cube(graphgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return 3 * x ** 2 * grad

    y = Cube.apply(x)      # y.grad_fn is a CubeBackward node: the ctx forward was given

The ctx is the graph node itself (as in PyTorch), so the scheduler, the debugger and the tracer
treat a custom function like any op: its backward runs on tensors the user's code receives, and
the arrays it returns go on through the graph."""
import time
from typing import Any

from .._hooks import recorders, state
from ..node import Node, new_sequence_number
from ..ops.graph_array import GraphArray
from ..ops.util import sum_to
from ..tensor import Tensor
from .grad_mode import enable_grad, no_grad


class FunctionCtx(Node):
    """What forward's ctx is, and the node in the graph: save_for_backward, saved_tensors,
    needs_input_grad, mark_non_differentiable, mark_dirty, set_materialize_grads, and any
    attribute the function sets."""
    saved = ("_saved",)
    saved_as_given = True   # (the saved are tensors in the graph already: create_graph uses them)
    function: Any = None    # the Function subclass
    needs_input_grad: tuple[bool, ...]   # set by Function.apply: per argument, whether it needs a gradient
    _input_meta: dict[int, tuple[tuple[int, ...], Any]]   # tensor argument -> (shape, dtype), set by _connect
    _tensor_args: tuple[int, ...]        # the positions of the tensor arguments, set by _connect
    _saved = ()
    _non_differentiable = ()
    _dirty = ()
    materialize_grads = True

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        self.check_saved()  # freed by an earlier backward, or changed in place since: PyTorch's errors
        return self._saved

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def __repr__(self):
        return f"<graphgrad.autograd.function.{self.name()} object at {id(self):#x}>"

    def backward(self, grads):
        """The scheduler's call: arrays in (GraphArrays with create_graph), the same out."""
        grads = (grads,) if self.n_outputs == 1 else grads
        graph = any(type(g) is GraphArray for g in grads)
        tensors = tuple(None if g is None else g.tensor if graph else Tensor._wrap(g) for g in grads)
        with enable_grad() if graph else no_grad():  # PyTorch runs it with grad mode = create_graph
            result = self.function.backward(self, *tensors)
        result = result if isinstance(result, tuple) else (result,)
        expected = len(self.needs_input_grad)
        if len(result) < expected or any(g is not None for g in result[expected:]):
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients (expected "
                               f"{expected}, got {len(result)})")
        for i, g in enumerate(result[:expected]):
            if g is not None and not isinstance(g, Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(g).__name__})")
            if g is not None and i not in self._input_meta:
                raise RuntimeError(f"function {self.name()} returned a gradient different than None at position "
                                   f"{i + 1}, but the corresponding forward input was not a Variable")
        return tuple(None if result[i] is None else _as_gradient(self, i, result[i], graph) for i in self._tensor_args)


def _as_gradient(ctx, index, grad, graph):
    """A gradient the function returned, checked against its input, as the graph carries it."""
    shape, dtype = ctx._input_meta[index]
    if tuple(grad.shape) != shape:
        if not _sums_to(tuple(grad.shape), shape):
            raise RuntimeError(f"Function {ctx.name()} returned an invalid gradient at index {index} - got "
                               f"{list(grad.shape)} but expected shape compatible with {list(shape)}")
        grad = GraphArray(grad).sum(tuple(range(grad.ndim - len(shape)))).tensor if graph else \
            Tensor._wrap(sum_to(grad._data, shape))
        grad = grad.reshape(shape) if graph else grad
    if grad.dtype is not dtype:
        grad = grad.to(dtype)
    return GraphArray(grad) if graph else grad._data


def _sums_to(got, shape):
    """Whether a gradient of shape `got` is one broadcast from `shape` (PyTorch sums it back)."""
    lead = len(got) - len(shape)
    return lead >= 0 and all(s == 1 or s == g for s, g in zip(shape, got[lead:]))


class Function:
    """Subclass with static forward(ctx, *args) and backward(ctx, *grads), then call apply()."""
    _backward_cls: type[FunctionCtx]   # made per subclass: its graph node's class

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        node = type(f"{cls.__name__}Backward", (FunctionCtx,), {"function": cls, "op_name": cls.__name__})
        node.__qualname__ = node.__name__
        cls._backward_cls = node

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use new-"
                           "style autograd function with static forward method. (Example: https://pytorch.org/"
                           "docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    setup_context = None  # the newer style: forward(*args) without ctx, then setup_context(ctx, inputs, output)

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = cls._backward_cls()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        start = time.perf_counter()
        with no_grad():  # what forward computes is one node: its own ops record no graph
            if cls.setup_context is None:
                out = cls.forward(ctx, *args, **kwargs)
            else:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
        seconds = time.perf_counter() - start
        outputs = out if isinstance(out, tuple) else (out,)
        if state.grad_enabled and any(ctx.needs_input_grad):
            outputs = _connect(ctx, args, outputs)
            out = outputs if isinstance(out, tuple) else outputs[0]
        for recorder in recorders:
            recorder.record(ctx, args, out, kwargs, seconds)
        return out


def _connect(ctx, args, outputs):
    """Make the outputs ctx's: edges to the tensor inputs, the checks on what was saved."""
    ctx._tensor_args = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
    ctx._input_meta = {i: (tuple(args[i].shape), args[i].dtype) for i in ctx._tensor_args}
    edges = []
    for i in ctx._tensor_args:
        x = args[i]
        if not x.requires_grad:
            edges.append((None, 0))
        else:
            edges.append((x.grad_fn, x._output_nr) if x.grad_fn is not None else (x._accumulator(), 0))
    ctx.next_functions = tuple(edges)
    ctx._seq = new_sequence_number()
    ctx.n_outputs = len(outputs)
    ctx._out_meta = [(o._data.shape, o._data.dtype, o._xp()) for o in outputs]
    inputs = {id(args[i]) for i in ctx._tensor_args}
    dirty = {id(t) for t in ctx._dirty}
    connected = []
    for nr, o in enumerate(outputs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{ctx.function.__name__}.forward must return tensors, not {type(o).__name__}")
        if id(o) in inputs and id(o) not in dirty:  # an input returned as it is: a new tensor on the same memory
            o = o.detach()
        if id(o) in dirty:
            o._vbox[0] += 1
        if o._data.dtype.kind in "fV" and not any(o is t for t in ctx._non_differentiable):
            o.requires_grad, o.grad_fn, o._output_nr = True, ctx, nr
        connected.append(o)
    ctx._checks = [(t, t._vbox, t._vbox[0]) for t in ctx._saved if isinstance(t, Tensor)]
    return tuple(connected)


def once_differentiable(backward):
    """As torch.autograd.function.once_differentiable: the backward runs without recording a graph
    (so create_graph=True through it gives gradients that cannot be differentiated again)."""
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)
    wrapper.__name__, wrapper.__doc__ = backward.__name__, backward.__doc__
    return wrapper
