"""Indexing: `x[key]` (views for ints and slices, copies for masks and integer tensors),
`x[key] = v`, gather, scatter, index_select, masked_fill, nonzero."""
import math

import numpy as np

from ..autograd.grad_mode import state
from ..tensor import Tensor
from .dispatch import Op, apply, op
from .util import check_broadcast, sum_to, variant, wrap_dim, xp_of


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
        if k._data.dtype.kind == "f":
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
        raise IndexError(str(e).replace("axis", "dimension")) from None


@op("slice", "SliceBackward0")
class Slice(Op):
    is_view = True

    def forward(self, x, key):
        self.in_shape, self.key = x.shape, key
        if any(type(p) is slice and p.step is not None and p.step <= 0 for p in
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


@op("index", "IndexBackward0")
class Index(Op):
    def forward(self, x, key):
        self.in_shape, self.key = x.shape, key
        return _index(x, key)

    def backward(self, grad):
        xp = xp_of(grad)
        out = xp.zeros(self.in_shape, grad.dtype)
        xp.add.at(out, self.key, grad)
        return (out,)


def getitem(input, key):
    key = _key_arrays(key)
    if _is_basic(key):
        return apply(_basic_op(key, input._data.shape), input, key=key)
    return apply(Index, input, key=key)


@op("index_put", "IndexPutBackward0")
class IndexPut(Op):
    """x with x[key] = value: the out-of-place form that `x[key] = value` writes back."""

    def forward(self, x, value, key):
        self.key = key
        self.v_meta = (getattr(value, "shape", ()), getattr(value, "dtype", None))
        out = x.copy()
        try:
            out[key] = value
        except ValueError:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(self.v_meta[0])} cannot be broadcast "
                               f"to indexing result of shape {list(out[key].shape)}") from None
        return out

    def backward(self, grad):
        gx = grad.copy()
        gx[self.key] = 0
        gv = None
        if self.next_functions[1][0] is not None:
            shape, dtype = self.v_meta
            gv = sum_to(grad[self.key], shape).astype(dtype, copy=False)
        return (gx, gv)


@op("copy_slices", "CopySlices")
class CopySlices(IndexPut):
    """x[basic key] = v: PyTorch writes through a view of x and names the node CopySlices."""


CopyAll = variant(IndexPut, "copy_all", "CopyBackwards")  # x[:] = v, x[...] = v: a copy_ into x itself


def _setitem_op(key, shape):
    if not _is_basic(key):
        return IndexPut
    return CopyAll if _basic_op(key if isinstance(key, tuple) else (key,), shape) is Alias else CopySlices


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
    from .inplace import write_inplace
    write_inplace(target, lambda t: apply(_setitem_op(key, t._data.shape), t, v, key=key))


@op("gather", "GatherBackward0")
class Gather(Op):
    saved = ("index",)

    def forward(self, x, index, dim):
        self.in_shape, self.dim, self.index = x.shape, dim, index
        return x[_scatter_index(xp_of(x), index, dim)]   # the index may be smaller than x in other dims

    def backward(self, grad):
        xp = xp_of(grad)
        out = xp.zeros(self.in_shape, grad.dtype)
        xp.add.at(out, _scatter_index(xp, self.index, self.dim), grad)
        return (out, None)


def gather(input, dim, index):
    if index._data.dtype != np.int64:
        raise RuntimeError("gather(): Expected dtype int64 for index")
    dim = wrap_dim(dim, input.ndim)
    if index.ndim != input.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for k in range(input.ndim):
        if k != dim and index.shape[k] > input.shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index {list(index.shape)} to be "
                               f"smaller than self {list(input.shape)} apart from dimension {dim}")
    n = input.shape[dim]
    if index._data.size and (int(index._data.max()) >= n or int(index._data.min()) < -n):
        raise RuntimeError(f"index {int(index._data.max())} is out of bounds for dimension {dim} with size {n}")
    return apply(Gather, input, index, dim=dim)


@op("scatter", "ScatterBackward0")
class Scatter(Op):
    saved = ("index",)

    def forward(self, x, index, src, dim, reduce=None):
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


@op("scatter_add", "ScatterAddBackward0")
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


def scatter(input, dim, index, src=None, value=None, reduce=None):
    src = value if src is None else src
    cls = Scatter if isinstance(src, Tensor) else ScatterValue
    return apply(cls, input, index, src, dim=wrap_dim(dim, input.ndim), reduce=reduce)


def scatter_add(input, dim, index, src):
    return apply(ScatterAdd, input, index, src, dim=wrap_dim(dim, input.ndim))


@op("index_select", "IndexSelectBackward0")
class IndexSelect(Op):
    saved = ("index",)

    def forward(self, x, index, dim):
        self.in_shape, self.dim, self.index = x.shape, dim, index
        return xp_of(x).take(x, index, axis=dim)

    def backward(self, grad):
        xp = xp_of(grad)
        out = xp.zeros(self.in_shape, grad.dtype)
        key = [slice(None)] * len(self.in_shape)
        key[self.dim] = self.index
        xp.add.at(out, tuple(key), grad)
        return (out, None)


def index_select(input, dim, index):
    return apply(IndexSelect, input, index, dim=wrap_dim(dim, input.ndim))


@op("masked_fill", "MaskedFillBackward0")
class MaskedFill(Op):
    saved = ("mask",)

    def forward(self, x, mask, value):
        self.mask, self.in_shape = mask, x.shape
        xp = xp_of(x)
        return xp.where(mask, xp.asarray(value, dtype=x.dtype), x)

    def backward(self, grad):
        return (sum_to(xp_of(grad).where(self.mask, 0, grad), self.in_shape), None)


def masked_fill(input, mask, value):
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    if isinstance(value, Tensor):
        value = value.item()
    return apply(MaskedFill, input, mask, value=value)


@op("nonzero", differentiable=False)
class Nonzero(Op):
    def forward(self, x):
        xp = xp_of(x)
        return xp.stack(xp.nonzero(x), axis=1).astype(np.int64) if x.ndim else \
            xp.zeros((int(bool(x)), 0), np.int64)


def nonzero(input, *, as_tuple=False):
    out = apply(Nonzero, input)
    if as_tuple:
        return tuple(out[:, i] for i in range(out.shape[1])) if input.ndim else (out.reshape(-1),)
    return out


@op("masked_select", "MaskedSelectBackward0")
class MaskedSelect(Op):
    """The elements of x where mask is True, x and mask broadcast together first."""
    saved = ("mask",)

    def forward(self, x, mask):
        xp = xp_of(x)
        shape = xp.broadcast_shapes(x.shape, mask.shape)
        self.in_shape, self.mask = x.shape, xp.broadcast_to(mask, shape)
        return xp.broadcast_to(x, shape)[self.mask]

    def backward(self, grad):
        out = xp_of(grad).zeros(self.mask.shape, grad.dtype)
        out[self.mask] = grad
        return (sum_to(out, self.in_shape), None)


def masked_select(input, mask):
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_select: expected BoolTensor for mask")
    check_broadcast(input._data.shape, mask._data.shape)
    return apply(MaskedSelect, input, mask)


@op("take", "TakeBackward0")
class Take(Op):
    """input.flatten()[index]"""
    saved = ("index",)

    def forward(self, x, index):
        self.in_shape, self.index = x.shape, index
        return x.reshape(-1)[index]

    def backward(self, grad):
        xp = xp_of(grad)
        out = xp.zeros(math.prod(self.in_shape), grad.dtype)
        xp.add.at(out, self.index, grad)
        return (out.reshape(self.in_shape), None)


def take(input, index):
    n, i = input._data.size, index._data
    if i.size and (int(i.max()) >= n or int(i.min()) < -n):
        bad = int(i.max()) if int(i.max()) >= n else int(i.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return apply(Take, input, index)

