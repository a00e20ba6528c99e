"""Indexing: `x[key]` (views for ints and slices, copies for masks and integer tensors),
`x[key] = v`, gather, scatter, index_select, masked_fill, nonzero."""
import numpy as np

from ..tensor import Tensor
from .dispatch import Op, apply, op
from .util import sum_to, wrap_dim, xp_of


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


def _has_int(key):
    parts = key if isinstance(key, tuple) else (key,)
    return any(type(p) is int for p in parts)


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


@op("select", "SelectBackward0")
class Select(Slice):
    pass


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
        return apply(Select if _has_int(key) else Slice, input, key=key)
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
    from .inplace import write_inplace
    write_inplace(target, lambda t: apply(IndexPut, t, v, key=key))


@op("gather", "GatherBackward0")
class Gather(Op):
    saved = ("index",)

    def forward(self, x, index, dim):
        self.in_shape, self.dim, self.index = x.shape, dim, index
        return xp_of(x).take_along_axis(x, index, axis=dim)

    def backward(self, grad):
        xp = xp_of(grad)
        out = xp.zeros(self.in_shape, grad.dtype)
        idx = [xp.arange(s).reshape([-1 if i == k else 1 for k in range(grad.ndim)])
               for i, s in enumerate(self.index.shape)]
        idx[self.dim] = self.index
        xp.add.at(out, tuple(idx), grad)
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


def scatter(input, dim, index, src=None, value=None, reduce=None):
    src = value if src is None else src
    return apply(Scatter, input, index, src, dim=wrap_dim(dim, input.ndim), reduce=reduce)


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


def masked_select(input, mask):
    return getitem(input.expand(mask.shape) if input.shape != mask.shape else input, mask)


def take(input, index):
    return getitem(input.reshape(-1), index)

