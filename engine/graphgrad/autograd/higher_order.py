"""create_graph=True: gradients that have a graph of their own, so they can be differentiated
again (second derivatives, Hessian-vector products, gradient penalties).

The ops' backward formulas are written once, for arrays. Here they run on `GraphArray`s
(ops/graph_array.py): tensors behind the part of NumPy's array interface those formulas use,
where every operation is a graphgrad op. So the same formula that computes a gradient from
arrays records, from tensors, the graph of that computation. The saved arrays a formula reads
are handed to it as tensors in the forward graph again (what PyTorch calls unpacking a
SavedVariable): the leaf itself, or a tensor whose grad_fn is the node that made the array.

An op whose backward needs more of NumPy than is here, or saves a float array that is neither an
input nor its output, raises NotImplementedError naming it rather than give a wrong derivative."""
import copy

from ..ops.graph_array import GraphArray, saved_input
from ..tensor import Tensor
from .grad_mode import enable_grad


def backward_with_graph(node, grads):
    """node.backward on GraphArrays: (GraphArray or None) per input, with a graph of their own."""
    try:
        twin = _with_saved_tensors(node)
        with enable_grad():
            if node.n_outputs == 1:
                return twin.backward(grads[0])
            return twin.backward(tuple(_zeros_if_none(node, i, g) for i, g in enumerate(grads)))
    except (AttributeError, TypeError, NotImplementedError) as e:
        raise NotImplementedError(
            f"create_graph=True: the backward of {node.name()} cannot be differentiated in graphgrad yet: {e}"
        ) from None


def _with_saved_tensors(node):
    """A copy of the node whose saved arrays are tensors in the forward graph again. Which input a
    saved array was is told by the op: `saved` names its saved inputs in the order of
    `saved_inputs`, then "out"; `saved_as_given` says they are those arrays unchanged. A float
    array the node keeps otherwise would be taken for a constant: that raises."""
    twin = copy.copy(node)
    names = [name for name in node.saved if name != "out" and name not in node.saved_constants
             and name not in node.saved_derived]
    inputs = dict(zip(names, node.saved_inputs)) if len(names) == len(node.saved_inputs) else {}
    for name, array in vars(node).items():
        if name in node.saved_derived:
            continue  # regraph() makes it again, below
        if isinstance(array, (tuple, list)) and any(_is_float_array(a) for a in array):
            raise NotImplementedError(f"it keeps {name!r}, computed from its inputs, outside the graph")
        if not _is_float_array(array) or name in node.saved_constants:
            continue  # numbers, shapes, masks and indices: constants for any derivative
        if name == "out" and node.saved_output and node.saved_as_given:
            setattr(twin, name, _output_tensor(node, array))
        elif name in inputs and node.saved_as_given:
            setattr(twin, name, saved_input(node, inputs[name], array))
        else:
            raise NotImplementedError(f"it keeps {name!r}, computed from its inputs, outside the graph")
    if node.saved_derived:
        twin.regraph()
    return twin


def _is_float_array(x):
    """A NumPy or CuPy float array or scalar (tensors a node keeps are in the graph already)."""
    if type(x) in (int, float, bool) or isinstance(x, Tensor):
        return False
    return getattr(x, "dtype", None) is not None and x.dtype.kind in "fc"


def _output_tensor(node, array):
    t = Tensor._wrap(array, requires_grad=True)
    t.grad_fn = node
    return GraphArray(t)


def _zeros_if_none(node, i, grad):
    if grad is not None:
        return grad
    shape, dtype, xp = node._out_meta[i]
    return GraphArray(Tensor._wrap(xp.zeros(shape, dtype)))  # xp: the node's output's array module


def as_graph_array(grad):
    """A gradient arriving from outside (a seed, a hook's result) as a GraphArray."""
    if grad is None or isinstance(grad, GraphArray):
        return grad
    return GraphArray(grad if isinstance(grad, Tensor) else Tensor._wrap(grad))


def accumulate(node, grad):
    """AccumulateGrad with create_graph: .grad keeps the gradient's graph; a second one is added
    out of place, as PyTorch does."""
    leaf = node.variable
    grad = grad.tensor
    for hook in leaf._hooks or ():
        result = hook(grad)
        if result is not None:
            grad = result
    if grad.dtype != leaf.dtype:
        grad = grad.to(leaf.dtype)
    with enable_grad():  # a first gradient is copied into a new tensor (CopyBackwards), as PyTorch does
        leaf._grad = (Tensor._wrap(leaf._xp().empty_like(leaf._data)).copy_(grad) if leaf._grad is None
                      else leaf._grad + grad)
    for hook in leaf._post_accumulate_hooks or ():
        hook(leaf)
