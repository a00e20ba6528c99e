"""Reductions: sum, mean, prod, max/min (whole or along a dim), var/std, logsumexp, norms,
argmax/argmin, all/any, cumsum."""
import warnings
from collections import namedtuple
from collections.abc import Callable

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from .arithmetic import Maximum, Minimum, binary
from .dispatch import Op, apply, op
from .public import public
from .util import expand_to, quiet_math, variant, wrap_dim, wrap_dims, xp_of


def _expand_back(grad, shape, axes, keepdim):
    """A reduced gradient, reshaped so it broadcasts against the input again."""
    if not keepdim and axes and grad.ndim:  # a reshape puts the size-1 dims back (cheaper than expand_dims)
        grad = xp_of(grad).reshape(grad, tuple(1 if i in axes else s for i, s in enumerate(shape)))
    return grad


class Reduction(Op):
    compute: Callable  # (xp, x, axes, keepdim, dtype) -> the result
    def forward(self, x, dim=None, keepdim=False, dtype=None):
        self.shape, self.in_dtype = x.shape, x.dtype
        self.axes = wrap_dims(dim, x.ndim)   # checked even for a 0-d tensor, which takes dim 0 or -1
        if not x.ndim:
            self.axes = ()
        self.keepdim = keepdim
        return self.compute(xp_of(x), x, self.axes if dim is not None else None, keepdim, dtype)


@op("sum", "SumBackward0", category="reduction")
class Sum(Reduction):
    def compute(self, xp, x, axes, keepdim, dtype):
        if dtype is None and x.dtype.kind in "biu":
            dtype = np.int64
        return x.sum(axis=axes, keepdims=keepdim, dtype=dtype)  # the method: np.sum adds Python layers

    def backward(self, grad):
        grad = _expand_back(grad, self.shape, self.axes, self.keepdim).astype(self.in_dtype, copy=False)
        return (expand_to(grad, self.shape),)


@op("sum_dim", "SumBackward1", category="reduction")
class SumDim(Sum):
    pass


@op("mean", "MeanBackward0", category="reduction")
class Mean(Reduction):
    def compute(self, xp, x, axes, keepdim, dtype):
        if x.dtype.kind != "f" and dtype is None:
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point "
                               f"or complex dtype. Got: {dtypes.from_numpy(x.dtype)._legacy[:-6]}")
        return _mean(xp, x, self.axes, axes, keepdim, dtype)

    def backward(self, grad):
        n = _count(self.shape, self.axes)
        grad = _expand_back(grad, self.shape, self.axes, self.keepdim).astype(self.in_dtype, copy=False) / (n or 1)
        return (expand_to(grad, self.shape),)


@op("mean_dim", "MeanBackward1", category="reduction")
class MeanDim(Mean):
    pass


def _mean(xp, x, dims, axes, keepdim, dtype):
    """xp.mean, but a mean of nothing is NaN without NumPy's "Mean of empty slice" warning
    (torch is silent)."""
    if not _count(x.shape, dims):
        return xp.full(x.sum(axis=axes, keepdims=keepdim).shape, np.nan, dtype or x.dtype)
    with quiet_math(xp):
        return xp.mean(x, axis=axes, keepdims=keepdim, dtype=dtype)


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


@op("prod", "ProdBackward0", category="reduction")
class Prod(Reduction):
    saves = {"x": "input 0", "out": "output"}

    def compute(self, xp, x, axes, keepdim, dtype):
        if dtype is None and x.dtype.kind in "biu":
            dtype = np.int64
        self.x = x
        out = xp.prod(x, axis=axes, keepdims=True, dtype=dtype)
        self.out = out if keepdim else out.reshape(_reduced_shape(x.shape, axes if axes is not None
                                                                  else tuple(range(x.ndim))))
        return self.out

    def backward(self, grad):
        xp = xp_of(grad)
        grad = _expand_back(grad, self.shape, self.axes, self.keepdim)
        x, out = self.x, _expand_back(self.out, self.shape, self.axes, self.keepdim)
        # product of all the others, exact where x has zeros (no division by zero)
        if bool((x == 0).any()):
            axes = self.axes or tuple(range(x.ndim))
            moved = xp.moveaxis(x, axes, tuple(range(-len(axes), 0)))
            flat = moved.reshape(moved.shape[:moved.ndim - len(axes)] + (-1,))
            left = xp.cumprod(xp.concatenate([xp.ones_like(flat[..., :1]), flat[..., :-1]], -1), -1)
            right = xp.flip(xp.cumprod(xp.concatenate([xp.ones_like(flat[..., :1]),
                                                       xp.flip(flat, -1)[..., :-1]], -1), -1), -1)
            others = (left * right).reshape(moved.shape)
            others = xp.moveaxis(others, tuple(range(-len(axes), 0)), axes)
        else:
            others = out / x
        return (grad * others,)


@op("prod_dim", "ProdBackward1", category="reduction")
class ProdDim(Prod):
    pass


def _reduced_shape(shape, axes):
    return tuple(s for i, s in enumerate(shape) if i not in axes)


class _Extreme(Op):
    """max()/min() over everything: the gradient is shared evenly among ties, as PyTorch does."""
    reduce: Callable
    saves = {"x": "input 0", "out": "output"}

    def forward(self, x):
        if x.size == 0:
            raise RuntimeError(f"{self.op_name}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        self.x = x
        self.out = self.reduce(xp_of(x), x)
        return self.out

    def backward(self, grad):
        mask = self.x == self.out
        return (grad * mask / mask.sum(dtype=grad.dtype),)


@op("max", "MaxBackward1", category="reduction")
class Max(_Extreme):
    def reduce(self, xp, x):
        return xp.max(x)


@op("min", "MinBackward1", category="reduction")
class Min(_Extreme):
    def reduce(self, xp, x):
        return xp.min(x)


class _ExtremeDim(Op):
    """max(dim)/min(dim): (values, indices); the gradient goes to the index picked."""
    arg: Callable
    n_outputs = 2
    saves = {"indices": "other"}

    def forward(self, x, dim, keepdim=False):
        xp = xp_of(x)
        self.shape = x.shape
        self.dim = wrap_dim(dim, x.ndim)
        if x.ndim == 0:
            return x.copy(), xp.zeros((), np.int64)
        if x.shape[self.dim] == 0:
            raise IndexError(f"{self.op_name[:3]}(): Expected reduction dim {self.dim} to have non-zero size.")
        idx = self.arg(xp, x, self.dim)
        values = xp.take_along_axis(x, idx, axis=self.dim)
        self.indices = idx
        if not keepdim:
            values, idx = values.squeeze(self.dim), idx.squeeze(self.dim)
        return values, idx.astype(np.int64, copy=False)

    def backward(self, grads):
        grad = grads[0]
        xp = xp_of(grad)
        if len(self.shape) == 0:
            return (grad,)
        out = xp.zeros(self.shape, grad.dtype)
        xp.put_along_axis(out, self.indices, grad.reshape(self.indices.shape), axis=self.dim)
        return (out,)


def _first_arg(fn):
    def arg(self, xp, x, dim):
        # NaN wins, as in PyTorch
        return xp.expand_dims(fn(xp)(x, axis=dim), dim)
    return arg


@op("max_dim", "MaxBackward0", category="reduction")
class MaxDim(_ExtremeDim):
    arg = _first_arg(lambda xp: xp.argmax)


@op("min_dim", "MinBackward0", category="reduction")
class MinDim(_ExtremeDim):
    arg = _first_arg(lambda xp: xp.argmin)


@op("median", "MedianBackward0", category="reduction")
class Median(_Extreme):
    """The lower of the two middle values, as PyTorch picks; ties share the gradient."""
    def reduce(self, xp, x):
        return xp.sort(x.reshape(-1))[(x.size - 1) // 2]


@op("median_dim", "MedianBackward1", category="reduction")
class MedianDim(_ExtremeDim):
    def arg(self, xp, x, dim):
        k = (x.shape[dim] - 1) // 2
        return xp.argsort(x, axis=dim, kind="stable")[(slice(None),) * dim + (slice(k, k + 1),)]


@op("sort", "SortBackward0", category="reduction")
class Sort(Op):
    """(values, indices) along dim; the gradient of the values goes back to where they came from.
    topk is the first k of the same order."""
    n_outputs = 2
    saves = {"indices": "other"}

    def forward(self, x, dim, descending=False, k=None):
        xp = xp_of(x)
        self.shape, self.dim = x.shape, dim
        if x.ndim == 0:
            self.indices = xp.zeros((), np.int64)
            return x.copy(), self.indices
        key = x if not descending else -x if x.dtype.kind in "fi" else -x.astype(np.int16)
        order = xp.argsort(key, axis=dim, kind="stable")
        if k is not None:
            order = xp.take(order, xp.arange(k), axis=dim)
        self.indices = order.astype(np.int64, copy=False)
        return xp.take_along_axis(x, order, axis=dim), self.indices

    def backward(self, grads):
        grad = grads[0]
        if not self.shape:
            return (grad,)
        out = xp_of(grad).zeros(self.shape, grad.dtype)
        xp_of(grad).put_along_axis(out, self.indices, grad, axis=self.dim)
        return (out,)


Topk = variant(Sort, "topk", "TopkBackward0")


@op("amax", "AmaxBackward0", category="reduction")
class Amax(Reduction):
    # x and out only say which elements were the extreme (a constant choice)
    saves = {"x": "constant", "out": "constant"}

    def compute(self, xp, x, axes, keepdim, dtype):
        self.x = x
        self.out = self.reduce(xp, x, axis=axes, keepdims=True)
        return self.out if keepdim else self.out.reshape(_reduced_shape(x.shape, self.axes))

    reduce = staticmethod(lambda xp, x, **kw: xp.max(x, **kw))

    def backward(self, grad):
        grad = _expand_back(grad, self.shape, self.axes, self.keepdim)
        mask = self.x == self.out
        return (grad * mask / mask.sum(axis=self.axes, keepdims=True, dtype=grad.dtype),)


@op("amin", "AminBackward0", category="reduction")
class Amin(Amax):
    reduce = staticmethod(lambda xp, x, **kw: xp.min(x, **kw))


class _Arg(Op):
    fn: Callable
    differentiable = False

    def forward(self, x, dim=None, keepdim=False):
        xp = xp_of(x)
        if x.size == 0 and (dim is None or (x.ndim and x.shape[wrap_dim(dim, x.ndim)] == 0)):
            what = "to be specified for input.numel() == 0" if dim is None else \
                f"{wrap_dim(dim, x.ndim)} to have non-zero size"
            raise IndexError(f"{self.op_name}(): Expected reduction dim {what}.")
        if dim is None:
            out = self.fn(xp)(x.reshape(-1)) if x.ndim else xp.zeros((), np.int64)
            if keepdim:
                out = xp.asarray(out).reshape((1,) * x.ndim)
            return xp.asarray(out, dtype=np.int64)
        dim = wrap_dim(dim, x.ndim)
        out = self.fn(xp)(x, axis=dim) if x.ndim else xp.zeros((), np.int64)
        if keepdim and x.ndim:
            out = xp.expand_dims(out, dim)
        return out.astype(np.int64, copy=False)


@op("argmax", category="reduction", differentiable=False)
class Argmax(_Arg):
    fn = staticmethod(lambda xp: xp.argmax)


@op("argmin", category="reduction", differentiable=False)
class Argmin(_Arg):
    fn = staticmethod(lambda xp: xp.argmin)


@op("var", "VarBackward0", category="reduction")
class Var(Reduction):
    saves = {"x": "input 0"}

    def forward(self, x, dim=None, correction=1, keepdim=False):
        self.correction = correction
        return Reduction.forward(self, x, dim, keepdim)

    def compute(self, xp, x, axes, keepdim, dtype):
        if x.dtype.kind != "f":
            raise RuntimeError("std and var only support floating point and complex dtypes")
        self.x = x
        n = _count(x.shape, self.axes)
        if n - self.correction <= 0:
            warnings.warn(f"{self.op_name}(): degrees of freedom is <= 0. Correction should be strictly less than "
                          "the reduction factor (input numel divided by output numel).", UserWarning, stacklevel=2)
        with quiet_math(xp):
            return xp.var(x, axis=axes, ddof=self.correction, keepdims=keepdim) if n - self.correction > 0 else \
                xp.full(xp.sum(x, axis=axes, keepdims=keepdim).shape, np.nan, x.dtype)

    def backward(self, grad):
        grad = _expand_back(grad, self.shape, self.axes, self.keepdim)
        n = _count(self.shape, self.axes)
        mean = self.x.mean(axis=self.axes, keepdims=True)
        return (grad * 2 * (self.x - mean) / (n - self.correction),)


@op("std", "StdBackward0", category="reduction")
class Std(Var):
    # (torch's StdBackward0 keeps its result too)
    saves = {"x": "input 0", "out": "output"}

    def compute(self, xp, x, axes, keepdim, dtype):
        self.out = xp.sqrt(Var.compute(self, xp, x, axes, keepdim, dtype))
        return self.out

    def backward(self, grad):
        grad = _expand_back(grad, self.shape, self.axes, self.keepdim)
        out = _expand_back(self.out, self.shape, self.axes, self.keepdim)
        mean = self.x.mean(axis=self.axes, keepdims=True)
        with quiet_math(xp_of(grad)):
            g = grad * (self.x - mean) / ((_count(self.shape, self.axes) - self.correction) * out)
        return (xp_of(g).where(out == 0, 0, g),)  # a constant input: PyTorch's zero, not 0/0


def _mean_backward(self, grad):
    """The gradient of the mean over self.axes, broadcast back to the input."""
    grad = _expand_back(grad, self.shape, self.axes, self.keepdim) / (_count(self.shape, self.axes) or 1)
    return expand_to(grad, self.shape)


def _with_mean(base, name, grad_fn):
    """(statistic, mean) in one node, as torch.var_mean and torch.std_mean record them."""
    class WithMean(base):
        n_outputs = 2

        def compute(self, xp, x, axes, keepdim, dtype):
            return base.compute(self, xp, x, axes, keepdim, dtype), _mean(xp, x, self.axes, axes, keepdim, None)

        def backward(self, grads):
            return (base.backward(self, grads[0])[0] + _mean_backward(self, grads[1]),)
    return op(name, grad_fn, category="reduction")(WithMean)


VarMean = _with_mean(Var, "var_mean", "VarMeanBackward0")
StdMean = _with_mean(Std, "std_mean", "StdMeanBackward0")


@op("nansum", "NansumBackward0", category="reduction")
class NanSum(Reduction):
    # x only says where the NaNs are
    saves = {"x": "constant"}

    def compute(self, xp, x, axes, keepdim, dtype):
        self.x = x
        if dtype is None and x.dtype.kind in "biu":
            dtype = np.int64
        return xp.nansum(x, axis=axes, keepdims=keepdim, dtype=dtype)

    def backward(self, grad):
        grad = _expand_back(grad, self.shape, self.axes, self.keepdim)
        return (grad * ~xp_of(grad).isnan(self.x),)


@op("logsumexp", "LogsumexpBackward0", category="reduction")
class LogSumExp(Reduction):
    saves = {"x": "input 0", "out": "output"}

    def compute(self, xp, x, axes, keepdim, dtype):
        if x.dtype.kind != "f":
            x = x.astype(dtypes.get_default_dtype().np)
        self.x = x
        m = xp.max(x, axis=self.axes, keepdims=True) if x.size else xp.zeros((1,) * x.ndim, x.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        with quiet_math(xp):
            out = xp.log(xp.sum(xp.exp(x - m), axis=self.axes, keepdims=True)) + m
        self.out = out if keepdim else out.reshape(_reduced_shape(x.shape, self.axes))
        return self.out

    def backward(self, grad):
        grad = _expand_back(grad, self.shape, self.axes, self.keepdim)
        out = _expand_back(self.out, self.shape, self.axes, self.keepdim)
        return (grad * xp_of(grad).exp(self.x - out),)


@op("norm", "LinalgVectorNormBackward0", category="reduction")
class Norm(Reduction):
    saves = {"x": "input 0", "out": "output"}

    def forward(self, x, p=2, dim=None, keepdim=False):
        self.p = p
        return Reduction.forward(self, x, dim, keepdim)

    def compute(self, xp, x, axes, keepdim, dtype):
        self.x = x
        p, a = self.p, xp.abs(x)
        if p == float("inf"):
            out = xp.max(a, axis=self.axes, keepdims=True)
        elif p == 0:
            out = xp.sum(a != 0, axis=self.axes, keepdims=True).astype(x.dtype)
        elif p == 1:
            out = xp.sum(a, axis=self.axes, keepdims=True)
        else:
            out = xp.sum(a ** p, axis=self.axes, keepdims=True) ** (1.0 / p)
        out = out.astype(x.dtype, copy=False)
        self.out = out if keepdim else out.reshape(_reduced_shape(x.shape, self.axes))
        return self.out

    def backward(self, grad):
        xp = xp_of(grad)
        grad = _expand_back(grad, self.shape, self.axes, self.keepdim)
        x, out, p = self.x, _expand_back(self.out, self.shape, self.axes, self.keepdim), self.p
        with quiet_math(xp):
            if p == float("inf"):
                mask = xp.abs(x) == out
                g = xp.sign(x) * mask / mask.sum(axis=self.axes, keepdims=True, dtype=x.dtype)
            elif p == 0:
                g = xp.zeros_like(x)
            elif p == 1:
                g = xp.sign(x)
            else:
                g = x * xp.abs(x) ** (p - 2) / out ** (p - 1)
                g = xp.where(out == 0, 0, g)
        return (grad * g,)


@op("cumsum", "CumsumBackward0", category="reduction")
class Cumsum(Op):
    def forward(self, x, dim):
        self.dim = wrap_dim(dim, x.ndim)
        xp = xp_of(x)
        dtype = np.int64 if x.dtype.kind in "biu" else x.dtype
        if x.ndim == 0:
            return x.astype(dtype)
        return xp.cumsum(x, axis=self.dim, dtype=dtype)

    def backward(self, grad):
        if grad.ndim == 0:
            return (grad,)
        xp = xp_of(grad)
        return (xp.flip(xp.cumsum(xp.flip(grad, self.dim), axis=self.dim), self.dim),)


@op("cumprod", "CumprodBackward0", category="reduction")
class Cumprod(Op):
    saves = {"x": "input 0", "out": "output"}

    def forward(self, x, dim):
        self.dim = wrap_dim(dim, x.ndim)
        dtype = np.int64 if x.dtype.kind in "biu" else x.dtype
        self.x = x
        self.out = x.astype(dtype) if x.ndim == 0 else xp_of(x).cumprod(x, axis=self.dim, dtype=dtype)
        return self.out

    def backward(self, grad):
        xp, x = xp_of(grad), self.x
        if grad.ndim == 0:
            return (grad,)
        if not bool((x == 0).any()):  # sum over j >= i of grad_j * out_j / x_i
            rev = xp.flip(xp.cumsum(xp.flip(grad * self.out, self.dim), axis=self.dim), self.dim)
            return (rev / x,)
        # with zeros, no division: products that leave x_i out, for every i and every j >= i
        xm, gm = xp.moveaxis(x, self.dim, -1), xp.moveaxis(grad, self.dim, -1)
        n = xm.shape[-1]
        eye = xp.eye(n, dtype=bool)
        left_out = xp.where(eye, xp.ones((), x.dtype), xm[..., None, :])        # [..., i, k]
        partial = xp.cumprod(left_out, axis=-1) * xp.triu(xp.ones((n, n), x.dtype))  # [..., i, j], j >= i
        return (xp.moveaxis((partial * gm[..., None, :]).sum(-1), -1, self.dim),)


class _Logical(Op):
    fn: Callable
    differentiable = False

    def forward(self, x, dim=None, keepdim=False):
        xp = xp_of(x)
        axes = wrap_dims(dim, x.ndim) if dim is not None else None
        if not x.ndim:
            axes = None
        out = self.fn(xp)(x, axis=axes, keepdims=keepdim)
        return xp.asarray(out, dtype=np.uint8 if x.dtype == np.uint8 else np.bool_)


@op("all", category="reduction", differentiable=False)
class All(_Logical):
    fn = staticmethod(lambda xp: xp.all)


@op("any", category="reduction", differentiable=False)
class Any(_Logical):
    fn = staticmethod(lambda xp: xp.any)


# ---- public functions ------------------------------------------------------------------------

@public(method=True)
def sum(input: Tensor, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    if dim is None and dtype is None and not keepdim:
        return apply(Sum, input)  # x.sum(): the common loss reduction, without keyword plumbing
    dt = dtype.np if dtype is not None else None
    return apply(SumDim if dim is not None else Sum, input, dim=dim, keepdim=keepdim, dtype=dt)


@public(method=True)
def mean(input: Tensor, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    dt = dtype.np if dtype is not None else None
    return apply(MeanDim if dim is not None else Mean, input, dim=dim, keepdim=keepdim, dtype=dt)


@public(method=True)
def prod(input: Tensor, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    dt = dtype.np if dtype is not None else None
    return apply(ProdDim if dim is not None else Prod, input, dim=dim, keepdim=keepdim, dtype=dt)


def _return_type(name):
    base = namedtuple(name, ["values", "indices"])

    def __repr__(self):
        return f"graphgrad.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"
    return type(name, (base,), {"__repr__": __repr__, "__str__": __repr__, "__slots__": ()})


return_types = {name: _return_type(name) for name in ("max", "min", "sort", "topk", "kthvalue", "mode", "median")}


def _extreme(input, dim, keepdim, other, whole, along, binary_op, name):
    if isinstance(dim, Tensor) and other is None:
        dim, other = None, dim
    if other is not None:
        return binary(binary_op, input, other)
    if dim is None:
        return apply(whole, input)
    values, indices = apply(along, input, dim=dim, keepdim=keepdim)
    return return_types[name](values, indices)


@public(method=True)
def max(input, dim=None, keepdim=False, *, other=None):
    return _extreme(input, dim, keepdim, other, Max, MaxDim, Maximum, "max")


@public(method=True)
def min(input, dim=None, keepdim=False, *, other=None):
    return _extreme(input, dim, keepdim, other, Min, MinDim, Minimum, "min")


@public(method=True)
def amax(input: Tensor, dim=(), keepdim=False) -> Tensor:
    return apply(Amax, input, dim=None if dim == () else dim, keepdim=keepdim)


@public(method=True)
def amin(input: Tensor, dim=(), keepdim=False) -> Tensor:
    return apply(Amin, input, dim=None if dim == () else dim, keepdim=keepdim)


@public(method=True)
def argmax(input: Tensor, dim=None, keepdim=False) -> Tensor:
    return apply(Argmax, input, dim=dim, keepdim=keepdim)


@public(method=True)
def argmin(input: Tensor, dim=None, keepdim=False) -> Tensor:
    return apply(Argmin, input, dim=dim, keepdim=keepdim)


@public(method=True)
def logsumexp(input: Tensor, dim, keepdim=False) -> Tensor:
    return apply(LogSumExp, input, dim=dim, keepdim=keepdim)


@public(method=True)
def norm(input: Tensor, p: float | str | None = "fro", dim=None, keepdim=False) -> Tensor:
    p = 2 if p in ("fro", None) else p
    return apply(Norm, input, p=p, dim=dim, keepdim=keepdim)


@public(method=True)
def cumsum(input: Tensor, dim, *, dtype=None) -> Tensor:
    return apply(Cumsum, input if dtype is None else input.to(dtype), dim=dim)


@public(method=True)
def cumprod(input: Tensor, dim, *, dtype=None) -> Tensor:
    return apply(Cumprod, input if dtype is None else input.to(dtype), dim=dim)


def _correction(dim, unbiased, correction):
    """var(x, True), var(x, dim, unbiased=False), var(x, dim, correction=0): the correction."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return dim, correction if correction is not None else (0 if unbiased is False else 1)


def _spread(cls, name, **variants):
    """var, std, var_mean, std_mean: PyTorch's signature, with unbiased or correction."""
    def spread(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
        dim, correction = _correction(dim, unbiased, correction)
        return apply(cls, input, dim=dim, correction=correction, keepdim=keepdim)
    spread.__name__ = spread.__qualname__ = name
    return public(spread, **variants)


var, std = _spread(Var, "var", method=True), _spread(Std, "std", method=True)
var_mean, std_mean = _spread(VarMean, "var_mean"), _spread(StdMean, "std_mean")


@public(method=True)
def median(input, dim=None, keepdim=False):
    if dim is None:
        return apply(Median, input)
    return return_types["median"](*apply(MedianDim, input, dim=dim, keepdim=keepdim))


@public(method=True)
def sort(input, dim=-1, descending=False, stable=False):
    d = wrap_dim(dim, input.ndim)
    return return_types["sort"](*apply(Sort, input, dim=d, descending=descending))


@public(method=True)
def argsort(input: Tensor, dim=-1, descending=False, stable=False) -> Tensor:
    return sort(input, dim, descending, stable).indices


@public(method=True)
def msort(input: Tensor) -> Tensor:
    return sort(input, 0).values


@public(method=True)
def topk(input, k, dim=-1, largest=True, sorted=True):
    d = wrap_dim(dim, input.ndim)
    if not 0 <= k <= (input.shape[d] if input.ndim else 1):
        raise RuntimeError("selected index k out of range")
    return return_types["topk"](*apply(Topk, input, dim=d, descending=largest, k=k))


@public(method=True)
def nansum(input: Tensor, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    return apply(NanSum, input, dim=dim, keepdim=keepdim, dtype=dtype.np if dtype is not None else None)


@public(method=True)
def nanmean(input: Tensor, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """nansum over the count of numbers, as PyTorch computes it (its node is the division)."""
    counted = (input == input).sum(dim, keepdim=keepdim) if dim is not None else (input == input).sum()
    return nansum(input, dim, keepdim, dtype=dtype) / counted


@public(method=True)
def count_nonzero(input: Tensor, dim=None) -> Tensor:
    return (input != 0).sum(dim) if dim is not None else (input != 0).sum()


@public(method=True)
def all(input: Tensor, dim=None, keepdim=False) -> Tensor:
    return apply(All, input, dim=dim, keepdim=keepdim)


@public(method=True)
def any(input: Tensor, dim=None, keepdim=False) -> Tensor:
    return apply(Any, input, dim=dim, keepdim=keepdim)
