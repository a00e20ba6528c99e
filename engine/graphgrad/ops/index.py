"""Indexing: `x[key]` (views for ints and slices, copies for masks and integer tensors),
`x[key] = v`, gather, scatter, index_select, masked_fill, nonzero."""
import math
from typing import Any

import numpy as np

from .._hooks import state
from ..tensor import Tensor
from .dispatch import Op, apply, op
from .inplace import write_inplace
from .public import public
from .util import as_tensor_arg, c10_name, check_broadcast, legacy_name, sum_to, variant, wrap_dim, xp_of


def _key_arrays(key):
    """Tensors inside an index become their arrays."""
    if type(key) is list and len(key) < 32 and any(isinstance(k, (list, tuple, Tensor, slice)) or k is None
                                                    or k is Ellipsis for k in key):
        key = tuple(key)  # x[[[0, 1], [2, 2]]] means x[[0, 1], [2, 2]], as in PyTorch (and old NumPy)
    if isinstance(key, tuple):
        return tuple(_key_part(k) for k in key)
    return _key_part(key)


def _key_part(k):
    if isinstance(k, Tensor):
        if k._data.dtype.kind in "fV":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return k._data.item() if k._data.ndim == 0 and k._data.dtype.kind in "iu" else k._data
    return k


def _is_basic(key):
    parts = key if isinstance(key, tuple) else (key,)
    return all(p is None or p is Ellipsis or type(p) is slice or (type(p) is int) for p in parts)


def _basic_op(key, shape):
    """The node PyTorch records for a basic index: its last view op (select for an int, slice
    for a slice that is not the whole dim, unsqueeze for None), or alias when nothing changed."""
    if not isinstance(key, tuple):
        return {int: Select, slice: Slice, type(None): IndexUnsqueeze}.get(type(key), Alias)
    last, dim = Alias, 0
    for p in key:
        if p is None:
            last = IndexUnsqueeze
        elif p is Ellipsis:
            dim += len(shape) - sum(q is not None and q is not Ellipsis for q in key)
        else:
            if type(p) is int:
                last = Select
            elif dim < len(shape) and p.indices(shape[dim]) != (0, shape[dim], 1):
                last = Slice
            dim += 1
    return last


def _index(x, key):
    try:
        return x[key]
    except IndexError as e:
        raise IndexError(_index_error(x, key, str(e))) from None


def _index_error(x, key, message):
    """NumPy's indexing complaint in PyTorch's words."""
    if message.startswith("too many indices"):
        return f"too many indices for tensor of dimension {x.ndim}"
    if message.startswith("boolean index did not match"):
        parts, dim = (key if isinstance(key, tuple) else (key,)), 0
        for p in parts:
            if p is Ellipsis:
                dim += x.ndim - sum(1 if q is None or q is Ellipsis or getattr(q, "dtype", None) != np.bool_
                                    else q.ndim for q in parts if q is not None and q is not Ellipsis)
            elif getattr(p, "dtype", None) == np.bool_:
                for j, size in enumerate(p.shape):
                    if size != x.shape[dim + j]:
                        return (f"The shape of the mask {list(p.shape)} at index {j} does not match the shape of "
                                f"the indexed tensor {list(x.shape)} at index {dim + j}")
                dim += p.ndim
            elif p is not None:
                dim += 1
    if message.startswith("shape mismatch: indexing arrays could not be broadcast"):
        shapes = [list(p.shape) for p in (key if isinstance(key, tuple) else (key,)) if hasattr(p, "shape")]
        return ("shape mismatch: indexing tensors could not be broadcast together with shapes "
                + ", ".join(map(str, shapes)))
    return message.replace("axis", "dimension")


def check_bounds(index, n, dim):
    """gather and scatter: every index in [0, n); the error names the first one that is not."""
    bad = (index < 0) | (index >= n)
    if bool(bad.any()):
        first = int(index.reshape(-1)[bad.reshape(-1)][0])
        raise RuntimeError(f"index {first} is out of bounds for dimension {dim} with size {n}")


@op("slice", "SliceBackward0", category="indexing")
class Slice(Op):
    is_view = True

    def forward(self, x, key):
        self.in_shape, self.key = x.shape, key
        if any(type(p) is slice and p.step is not None and p.step <= 0 for p in  # pyright: ignore[reportOperatorIssue]
               (key if isinstance(key, tuple) else (key,))):
            raise ValueError("step must be greater than zero")
        return _index(x, key)

    def backward(self, grad):
        out = xp_of(grad).zeros(self.in_shape, grad.dtype)
        out[self.key] = grad
        return (out,)


Select = variant(Slice, "select", "SelectBackward0")
IndexUnsqueeze = variant(Slice, "index_none", "UnsqueezeBackward0")
Alias = variant(Slice, "alias", "AliasBackward0")


@op("index", "IndexBackward0", category="indexing")
class Index(Op):
    def forward(self, x, key):
        self.in_shape, self.key = x.shape, key
        return _index(x, key)

    def backward(self, grad):
        xp = xp_of(grad)
        out = xp.zeros(self.in_shape, grad.dtype)
        xp.add.at(out, self.key, grad)
        return (out,)


@public(function=False, operators=("__getitem__",))
def getitem(input: Tensor, key) -> Tensor:
    key = _key_arrays(key)
    if _is_basic(key):
        return apply(_basic_op(key, input._data.shape), input, key=key)
    return apply(Index, input, key=key)


@op("index_put", "IndexPutBackward0", category="indexing")
class IndexPut(Op):
    """x with x[key] = value: the out-of-place form that `x[key] = value` writes back."""

    def forward(self, x, value, key):
        self.key = key
        self.v_meta = (getattr(value, "shape", ()), getattr(value, "dtype", None))
        out = x.copy()
        try:
            out[key] = value
        except ValueError:
            target = _index(out, key).shape
            if _is_basic(key):  # PyTorch copies into the view x[key]: expand's error
                from .shape import expanded_shape  # (shape.py's select builds on this module's getitem)
                expanded_shape(self.v_meta[0], target, "torch." + legacy_name(self.v_meta[1]) + "Tensor")
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(self.v_meta[0])} cannot be broadcast "
                               f"to indexing result of shape {list(target)}") from None
        return out

    def backward(self, grad):
        gx = grad.copy()
        gx[self.key] = 0
        gv = None
        if self.next_functions[1][0] is not None:
            shape, dtype = self.v_meta
            gv = sum_to(grad[self.key], shape).astype(dtype, copy=False)
        return (gx, gv)


@op("copy_slices", "CopySlices", category="indexing")
class CopySlices(IndexPut):
    """x[basic key] = v: PyTorch writes through a view of x and names the node CopySlices."""


CopyAll = variant(IndexPut, "copy_all", "CopyBackwards")  # x[:] = v, x[...] = v: a copy_ into x itself


def _setitem_op(key, shape):
    if not _is_basic(key):
        return IndexPut
    return CopyAll if _basic_op(key if isinstance(key, tuple) else (key,), shape) is Alias else CopySlices


@public(function=False, operators=("__setitem__",))
def setitem(target, key, value):
    key = _key_arrays(key)
    if isinstance(value, Tensor):
        if type(value._data) is not type(target._data):
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{value.device} and {target.device}!")
        v = value if value._data.dtype == target._data.dtype else value.to(target.dtype)
    else:
        v = value if isinstance(value, (int, float, bool)) else xp_of(target._data).asarray(value,
                                                                                            target._data.dtype)
    if _is_basic(key) and target.requires_grad and target.grad_fn is None and state.grad_enabled:
        # x[0] = v writes through the view x[0] in PyTorch, so its error names a view
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
    write_inplace(target, lambda t: apply(_setitem_op(key, t._data.shape), t, v, key=key))


@op("gather", "GatherBackward0", category="indexing")
class Gather(Op):
    saves = {"index": "other"}

    def forward(self, x, index, dim):
        check_bounds(index, x.shape[dim], dim)
        self.in_shape, self.dim, self.index = x.shape, dim, index
        return x[_scatter_index(xp_of(x), index, dim)]   # the index may be smaller than x in other dims

    def backward(self, grad):
        xp = xp_of(grad)
        out = xp.zeros(self.in_shape, grad.dtype)
        xp.add.at(out, _scatter_index(xp, self.index, self.dim), grad)
        return (out, None)


@public(method=True)
def gather(input: Tensor, dim, index) -> Tensor:
    _check_index_dtype("gather(): Expected dtype int32/int64 for index", index)
    dim = wrap_dim(dim, input.ndim)
    if index.ndim != input.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for k in range(input.ndim):
        if k != dim and index.shape[k] > input.shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index {list(index.shape)} to be "
                               f"no larger than self {list(input.shape)} apart from dimension {dim}")
    return apply(Gather, input, index, dim=dim)


def _check_index_dtype(message, index):
    if index._data.dtype not in (np.int64, np.int32):
        raise RuntimeError(message)


@op("scatter", "ScatterBackward0", category="indexing")
class Scatter(Op):
    saves = {"index": "other"}

    def forward(self, x, index, src, dim, reduce=None):
        check_bounds(index, x.shape[dim], dim)
        xp = xp_of(x)
        self.dim, self.index = dim, index
        self.src_meta = (getattr(src, "shape", ()), getattr(src, "dtype", None))
        out = x.copy()
        idx = _scatter_index(xp, index, dim)
        values = src[tuple(slice(0, s) for s in index.shape)] if hasattr(src, "shape") and src.ndim else src
        if reduce == "add":
            xp.add.at(out, idx, values)
        else:
            out[idx] = values
        return out

    def backward(self, grad):
        xp = xp_of(grad)
        idx = _scatter_index(xp, self.index, self.dim)
        gx = grad.copy()
        gx[idx] = 0
        gs = None
        if len(self.next_functions) > 2 and self.next_functions[2][0] is not None:
            gs = xp.zeros(self.src_meta[0], grad.dtype)
            gs[tuple(slice(0, s) for s in self.index.shape)] = grad[idx]
        return (gx, None, gs)


@op("scatter_add", "ScatterAddBackward0", category="indexing")
class ScatterAdd(Scatter):
    def forward(self, x, index, src, dim, reduce="add"):
        return Scatter.forward(self, x, index, src, dim, "add")

    def backward(self, grad):
        xp = xp_of(grad)
        gs = None
        if self.next_functions[2][0] is not None:
            gs = xp.zeros(self.src_meta[0], grad.dtype)
            gs[tuple(slice(0, s) for s in self.index.shape)] = grad[_scatter_index(xp, self.index, self.dim)]
        return (grad, None, gs)


def _scatter_index(xp, index, dim):
    idx = [xp.arange(s).reshape([-1 if i == k else 1 for k in range(index.ndim)]) for i, s in enumerate(index.shape)]
    idx[dim] = index
    return tuple(idx)


ScatterValue = variant(Scatter, "scatter_value", "ScatterBackward1")


def _scatter_checks(input, dim, index, src):
    """PyTorch's checks for scatter and scatter_add; returns the wrapped dim."""
    _check_index_dtype("scatter(): Expected dtype int64 for index", index)
    dim = wrap_dim(dim, input.ndim)
    if index.ndim != input.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    tensor_src = isinstance(src, Tensor)
    if tensor_src and src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if any(k != dim and index.shape[k] > input.shape[k] for k in range(input.ndim)) or (tensor_src and any(
            i > s for i, s in zip(index.shape, src.shape))):
        more = f" and to be no larger size than src {list(src.shape)}" if tensor_src else ""
        raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(input.shape)} "
                           f"apart from dimension {dim}{more}")
    return dim


@public(method=True, inplace=True)
def scatter(input: Tensor, dim, index, src=None, value=None, reduce=None) -> Tensor:
    src = value if src is None else src
    dim = _scatter_checks(input, dim, index, src)
    cls = Scatter if isinstance(src, Tensor) else ScatterValue
    return apply(cls, input, index, src, dim=dim, reduce=reduce)


@public(method=True, inplace=True)
def scatter_add(input: Tensor, dim, index, src) -> Tensor:
    return apply(ScatterAdd, input, index, src, dim=_scatter_checks(input, dim, index, src))


@op("index_select", "IndexSelectBackward0", category="indexing")
class IndexSelect(Op):
    saves = {"index": "other"}

    def forward(self, x, index, dim):
        n = x.shape[dim] if x.ndim else 1
        if bool(((index < 0) | (index >= n)).any()):
            raise IndexError("index out of range in self")
        self.in_shape, self.dim, self.index = x.shape, dim, index
        return xp_of(x).take(x, index, axis=dim)

    def backward(self, grad):
        xp = xp_of(grad)
        out = xp.zeros(self.in_shape, grad.dtype)
        key = [slice(None)] * len(self.in_shape)
        key[self.dim] = self.index
        xp.add.at(out, tuple(key), grad)
        return (out, None)


@public(method=True)
def index_select(input: Tensor, dim, index) -> Tensor:
    _check_index_dtype("index_select(): Expected dtype int32 or int64 for index", index)
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    dim = wrap_dim(dim, input.ndim)
    return apply(IndexSelect, input, index, dim=dim)


@op("masked_fill", "MaskedFillBackward0", category="indexing")
class MaskedFill(Op):
    saves = {"mask": "other"}

    def forward(self, x, mask, value):
        self.mask, self.in_shape = mask, x.shape
        xp = xp_of(x)
        return xp.where(mask, xp.asarray(value, dtype=x.dtype), x)

    def backward(self, grad):
        return (sum_to(xp_of(grad).where(self.mask, 0, grad), self.in_shape), None)


@public(method=True, inplace=True)
def masked_fill(input: Tensor, mask, value) -> Tensor:
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{c10_name(mask._data.dtype)}")
    if isinstance(value, Tensor):
        value = value.item()
    return apply(MaskedFill, input, mask, value=value)


@op("nonzero", category="indexing", differentiable=False)
class Nonzero(Op):
    def forward(self, x):
        xp = xp_of(x)
        return xp.stack(xp.nonzero(x), axis=1).astype(np.int64) if x.ndim else \
            xp.zeros((int(bool(x)), 0), np.int64)


@public(method=True)
def nonzero(input, *, as_tuple=False) -> Any:  # (a tuple of index tensors with as_tuple)
    out = apply(Nonzero, input)
    if as_tuple:
        return tuple(out[:, i] for i in range(out.shape[1])) if input.ndim else (out.reshape(-1),)
    return out


@op("masked_select", "MaskedSelectBackward0", category="indexing")
class MaskedSelect(Op):
    """The elements of x where mask is True, x and mask broadcast together first."""
    saves = {"mask": "other"}

    def forward(self, x, mask):
        xp = xp_of(x)
        shape = xp.broadcast_shapes(x.shape, mask.shape)
        self.in_shape, self.mask = x.shape, xp.broadcast_to(mask, shape)
        return xp.broadcast_to(x, shape)[self.mask]

    def backward(self, grad):
        out = xp_of(grad).zeros(self.mask.shape, grad.dtype)
        out[self.mask] = grad
        return (sum_to(out, self.in_shape), None)


@public(method=True)
def masked_select(input: Tensor, mask) -> Tensor:
    if mask._data.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    check_broadcast(input._data.shape, mask._data.shape)
    return apply(MaskedSelect, input, mask)


@op("take", "TakeBackward0", category="indexing")
class Take(Op):
    """input.flatten()[index]"""
    saves = {"index": "other"}

    def forward(self, x, index):
        n = x.size
        if index.size and (int(index.max()) >= n or int(index.min()) < -n):
            bad = int(index.max()) if int(index.max()) >= n else int(index.min())
            raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
        self.in_shape, self.index = x.shape, index
        return x.reshape(-1)[index]

    def backward(self, grad):
        xp = xp_of(grad)
        out = xp.zeros(math.prod(self.in_shape), grad.dtype)
        xp.add.at(out, self.index, grad)
        return (out.reshape(self.in_shape), None)


@public(method=True)
def take(input: Tensor, index) -> Tensor:
    return apply(Take, input, index)



@public(method=True)
def take_along_dim(input: Tensor, indices, dim=None) -> Tensor:
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    return gather(input, dim, indices)


@public(method=True)
def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


@op("index_add", "IndexAddBackward0", category="indexing")
class IndexAdd(Op):
    """x with alpha * source added at `index` along dim (repeated indices add up)."""
    saves = {"index": "other"}

    def forward(self, x, index, source, dim, alpha=1):
        xp = xp_of(x)
        self.dim, self.index, self.alpha = dim, index, alpha
        out = x.copy()
        xp.add.at(xp.moveaxis(out, dim, 0), index, xp.moveaxis(source, dim, 0) * alpha)
        return out

    def backward(self, grad):
        gs = None
        if self.next_functions[2][0] is not None:
            gs = xp_of(grad).take(grad, self.index, axis=self.dim) * self.alpha
        return (grad, None, gs)


@public(method=True, inplace=True)
def index_add(input: Tensor, dim, index, source, *, alpha=1) -> Tensor:
    dim = wrap_dim(dim, input.ndim)
    _check_index_dtype("index_add_(): Expected dtype int32/int64 for index", index)
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_add_(): self ({input.dtype._legacy[:-6]}) and source "
                           f"({source.dtype._legacy[:-6]}) must have the same scalar type")
    return apply(IndexAdd, input, index, source, dim=dim, alpha=alpha)


@op("index_fill", "IndexFillBackward0", category="indexing")
class IndexFill(Op):
    saves = {"index": "other"}

    def forward(self, x, index, dim, value):
        self.key = (slice(None),) * dim + (index,)
        out = x.copy()
        out[self.key] = value
        return out

    def backward(self, grad):
        gx = grad.copy()
        gx[self.key] = 0
        return (gx, None)


@public(method=True, inplace=True)
def index_fill(input: Tensor, dim, index, value) -> Tensor:
    value = value.item() if isinstance(value, Tensor) else value
    return apply(IndexFill, input, index, dim=wrap_dim(dim, input.ndim), value=value)


# repeat_interleave is an index_select with each index repeated; PyTorch records the int form
# as a view of an expanded tensor
RepeatInterleave = variant(IndexSelect, "repeat_interleave", "ViewBackward0")
RepeatByTensor = variant(IndexSelect, "repeat_interleave_by_tensor", "IndexSelectBackward0")  # a count per slice


@public(method=True)
def repeat_interleave(input: Tensor, repeats, dim=None, *, output_size=None) -> Tensor:
    xp = xp_of(input._data)
    if dim is None:
        input, dim = input.reshape(-1), 0
    dim = wrap_dim(dim, input.ndim)
    n = input._data.shape[dim]
    counts = repeats._data if isinstance(repeats, Tensor) else repeats
    if isinstance(repeats, Tensor) and repeats.numel() not in (1, n):
        raise RuntimeError("repeats must have the same size as input along dim, but got repeats.size(0) = "
                           f"{repeats.numel()} and input.size({dim}) = {n}")
    index = xp.repeat(xp.arange(n), counts.reshape(-1) if isinstance(repeats, Tensor) else counts)
    cls = RepeatByTensor if isinstance(repeats, Tensor) and repeats.numel() > 1 else RepeatInterleave
    return apply(cls, input, index, dim=dim)


@op("unique", category="indexing", differentiable=False)
class Unique(Op):
    def forward(self, x, return_inverse, return_counts, dim):
        xp = xp_of(x)
        out = xp.unique(x, return_inverse=return_inverse, return_counts=return_counts, axis=dim)
        if not isinstance(out, tuple):
            return out
        values, *rest = out
        rest = [r.astype(np.int64) for r in rest]
        if return_inverse:  # one index per input element, in the input's shape
            rest[0] = rest[0].reshape(x.shape if dim is None else -1)
        return (values, *rest)


@public(method=True)
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    d = None if dim is None else wrap_dim(dim, input.ndim)
    return apply(Unique, input, return_inverse=return_inverse, return_counts=return_counts, dim=d)


@public
def isin(elements, test_elements, *, assume_unique=False, invert=False) -> Tensor:
    if not isinstance(elements, Tensor):
        elements = as_tensor_arg(elements, test_elements)
    test = test_elements.reshape(-1) if isinstance(test_elements, Tensor) else as_tensor_arg(
        test_elements, elements).reshape(-1)
    found = (elements.unsqueeze(-1) == test).any(-1)
    return ~found if invert else found


@op("embedding", "EmbeddingBackward0", category="indexing")
class Embedding(Op):
    saves = {"indices": "other"}

    def forward(self, weight, indices, padding_idx=None, max_norm=None, norm_type=2.0):
        # (checked and renormalised here, not in F.embedding, so that a replayed step does it too)
        num = weight.shape[0]
        if indices.size and (int(indices.max()) >= num or int(indices.min()) < 0):
            raise IndexError("index out of range in self")
        if max_norm is not None:  # the rows looked up are renormalised in place, as PyTorch does
            xp, flat = xp_of(weight), indices.reshape(-1)
            rows = weight[flat]
            norms = xp.linalg.norm(rows, ord=norm_type, axis=1, keepdims=True)
            weight[flat] = rows * xp.minimum(1, max_norm / (norms + 1e-7))
        self.indices, self.num, self.padding_idx = indices, num, padding_idx
        return weight[indices]

    def backward(self, grad):
        xp = xp_of(grad)
        gw = xp.zeros((self.num, grad.shape[-1]), grad.dtype)
        xp.add.at(gw, self.indices.reshape(-1), grad.reshape(-1, grad.shape[-1]))
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw, None
