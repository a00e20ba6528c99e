"""The public op functions, and the Tensor methods and operators that reach them.

Every function here ends in `dispatch.apply`; the tables at the bottom bind the same functions
as Tensor methods, so `graphgrad.exp(x)`, `x.exp()` and `x.exp_()` are one definition."""
import builtins

import numpy as np

from ..tensor import Tensor
from . import activation, convert, index, linalg, pointwise, reduce, shape
from .activation import log_softmax, softmax
from .dispatch import REGISTRY, apply
from .index import (argwhere, gather, index_add, index_fill, index_select, isin, masked_fill, masked_select, nonzero,
                    repeat_interleave, scatter, scatter_add, take, take_along_dim, unique)
from .inplace import shape_mismatch, write_inplace
from .util import broadcast_shapes
from .linalg import addmm, bmm, dot, einsum, linear, matmul, mm, mv, outer
from .pointwise import (addcdiv, addcmul, atan2, binary, clamp, clamp_max, clamp_min, lerp, logaddexp, logit,
                        nan_to_num, pow, where, xlogy)
from .reduce import (all, amax, amin, any, argmax, argmin, argsort, count_nonzero, cumprod, cumsum, logsumexp, max,
                     mean, median, min, msort, nanmean, nansum, norm, prod, sort, std, std_mean, sum, topk, var,
                     var_mean)
from .shape import (atleast_1d, broadcast_tensors, broadcast_to, cat, chunk, clone, concat, concatenate, contiguous,
                    diag, diagonal, expand, expand_as, flatten, flip, hstack, meshgrid, moveaxis, movedim, narrow,
                    permute, ravel, repeat, reshape, reshape_as, roll, select, split, squeeze, stack, swapaxes,
                    swapdims, t, tile, trace, transpose, tril, triu, unbind, unflatten, unsqueeze, view, view_as,
                    vstack)

P = pointwise


# ---- arithmetic ------------------------------------------------------------------------------

def add(input, other, *, alpha=1):
    return binary(P.Add, input, other if alpha == 1 else other * alpha)


def sub(input, other, *, alpha=1):
    if _is_bool(input) or _is_bool(other):
        if _is_bool(input) and _is_bool(other):
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
                               "or `logical_xor()` operator instead.")
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")
    return binary(P.Sub, input, other if alpha == 1 else other * alpha)


subtract = sub


def _is_bool(x):
    return type(x) is bool or isinstance(x, Tensor) and x._data.dtype.kind == "b"


def mul(input, other):
    return binary(P.Mul, input, other)


multiply = mul


def div(input, other, *, rounding_mode=None):
    if rounding_mode is None:
        return binary(P.Div, input, other, true_divide=True)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")
    return binary(P.DivRounding, input, other, mode=rounding_mode)


divide = true_divide = div


def floor_divide(input, other):
    return binary(P.FloorDivide, input, other)


def remainder(input, other):
    return binary(P.Remainder, input, other)


def fmod(input, other):
    return binary(P.Fmod, input, other)


def maximum(input, other):
    return binary(P.Maximum, input, other)


def minimum(input, other):
    return binary(P.Minimum, input, other)


def square(input):
    return pow(input, 2)


def rsub(input, other, alpha=1):
    return sub(other, input, alpha=alpha)


clip = clamp


def _unary(cls):
    def fn(input):
        return apply(cls, input)
    fn.__name__ = cls.op_name
    return fn


exp, log, log2, log1p, expm1, sqrt, rsqrt, sin, cos, tan, tanh, sigmoid, reciprocal, atan, asin, acos, sinh, cosh = (
    _unary(c) for c in (P.Exp, P.Log, P.Log2, P.Log1p, P.Expm1, P.Sqrt, P.Rsqrt, P.Sin, P.Cos, P.Tan, P.Tanh,
                        P.Sigmoid, P.Reciprocal, P.Atan, P.Asin, P.Acos, P.Sinh, P.Cosh))
neg, abs, relu, sign, floor, ceil, trunc, isnan, isinf, isfinite = (
    _unary(c) for c in (P.Neg, P.Abs, P.Relu, P.Sign, P.Floor, P.Ceil, P.Trunc, P.IsNan, P.IsInf, P.IsFinite))
negative, absolute, arctan = neg, abs, atan
log10, exp2, erf, frac, sgn = (_unary(c) for c in (P.Log10, P.Exp2, P.Erf, P.Frac, P.Sgn))
arctan2 = atan2


def round(input, decimals=0):
    if decimals:
        scale = 10 ** decimals
        return apply(P.Round, input * scale) / scale
    return apply(P.Round, input)


def logical_not(input):
    return apply(P.LogicalNot, input)


def bitwise_not(input):
    return apply(P.BitwiseNot, input)


def _logical(cls):
    def fn(input, other):
        return binary(cls, input.bool(), other.bool() if isinstance(other, Tensor) else bool(other))
    return fn


logical_and, logical_or, logical_xor = (_logical(c) for c in (P.BitwiseAnd, P.BitwiseOr, P.BitwiseXor))


def bitwise_and(input, other):
    return binary(P.BitwiseAnd, input, other)


def bitwise_or(input, other):
    return binary(P.BitwiseOr, input, other)


def bitwise_xor(input, other):
    return binary(P.BitwiseXor, input, other)


def _compare(cls):
    def fn(input, other):
        if other is None:
            return False if cls is not P.Ne else True
        return binary(cls, input, other)
    return fn


eq, ne, lt, le, gt, ge = (_compare(c) for c in (P.Eq, P.Ne, P.Lt, P.Le, P.Gt, P.Ge))
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def equal(input, other):
    return input.shape == other.shape and bool((input == other).all())


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = input.detach(), other.detach() if isinstance(other, Tensor) else other
    close = (a - b).abs() <= atol + rtol * (b.abs() if isinstance(b, Tensor) else builtins.abs(b))
    if equal_nan:
        close = close | (a.isnan() & (b.isnan() if isinstance(b, Tensor) else False))
    return close


def numel(input):
    return input.numel()


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input.is_floating_point()


def detach(input):
    return input.detach()


# ---- in-place forms --------------------------------------------------------------------------

def _inplace(fn):
    def method(self, *args, **kwargs):
        return write_inplace(self, fn, *args, **kwargs)
    method.__name__ = fn.__name__ + "_"
    return method


def zero_(self):
    return fill_(self, 0)


def fill_(self, value):
    value = value.item() if isinstance(value, Tensor) else value
    return write_inplace(self, lambda t: _filled_like(t, value))


def _filled_like(t, value):
    out = Tensor._wrap(t._xp().full(t._data.shape, value, t._data.dtype))
    if t.requires_grad and t.grad_fn is not None:
        return t * 0 + out  # still a node, so history stays connected as PyTorch's FillBackward
    return out


def copy_(self, src, non_blocking=False):
    """src written into self: broadcast to self's shape, cast to its dtype, moved to its device.
    Recorded as PyTorch's CopyBackwards: src gets the gradient, self's old values none."""
    src = src.to(self.device)
    shape = broadcast_shapes(self._data.shape, src._data.shape)
    if shape != self._data.shape:
        raise shape_mismatch(self._data.shape, shape)
    # (the cast happens inside the copy, as in PyTorch: src's node is the next function)
    return write_inplace(self, lambda t: apply(index.CopyAll, t, src, key=Ellipsis))


def uniform_(self, a=0.0, b=1.0, *, generator=None):
    return _write_random(self, lambda gen, n, dtype, out=None: gen.uniform(n, dtype, a, b, out), generator, True)


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    contiguous = self._data.flags.c_contiguous  # torch draws one element at a time into other layouts
    return _write_random(self, lambda gen, n, dtype, out=None: gen.normal(n, dtype, mean, std, contiguous, out),
                         generator, True)


def bernoulli_(self, p=0.5, *, generator=None):
    if isinstance(p, Tensor):
        probs = p.detach().cpu().expand(self.shape).numpy()
        return _write_random(self, lambda gen, n, dtype: gen.bernoulli(probs, dtype).ravel(), generator)
    return _write_random(self, lambda gen, n, dtype: gen.bernoulli(p, dtype, n=n), generator)


def random_(self, low=None, high=None, *, generator=None):
    """random_() covers the dtype's whole range, random_(high) is [0, high), random_(low, high) [low, high)."""
    if low is None:
        return _write_random(self, lambda gen, n, dtype: gen.random(n, dtype), generator)
    if high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return _write_random(self, lambda gen, n, dtype: gen.integers(n, low, high, dtype), generator)


def _write_random(self, draw, generator, takes_out=False):
    """Fill in place without history (init functions run under no_grad, as in PyTorch): `draw`
    gives the values in the order torch writes them, along the tensor's memory; one that takes_out
    writes them into an `out` array it is given instead."""
    from ..random import get_generator, in_memory_order
    data = self._data
    if takes_out and type(data) is np.ndarray and data.flags.c_contiguous:
        # straight into the tensor's memory: no array of its size made, faulted in and copied
        draw(get_generator(generator), data.size, data.dtype, data.reshape(-1))
    else:
        values = draw(get_generator(generator), data.size, data.dtype)
        data[...] = convert._move(in_memory_order(values, data), self.device)
    self._vbox[0] += 1
    return self


# ---- Tensor methods and operators ----------------------------------------------------------------

def _reflected(fn):
    return lambda self, other: fn(other, self)


def _operator(cls, full):
    """`a + b` and co.: two tensors of one float dtype (the common case) go straight to dispatch;
    anything else (numbers, promotion, bool and integer rules) through the full function."""
    def operator(self, other):
        if isinstance(other, Tensor):
            dt = self._data.dtype
            if dt == other._data.dtype and dt.kind == "f":
                return apply(cls, self, other, dtype=dt)
        return full(self, other)
    return operator


_METHODS = dict(
    add=add, sub=sub, subtract=sub, mul=mul, multiply=mul, div=div, divide=div, true_divide=div,
    floor_divide=floor_divide, remainder=remainder, fmod=fmod, pow=pow, neg=neg, negative=neg, abs=abs,
    absolute=abs, exp=exp, log=log, log2=log2, log1p=log1p, expm1=expm1, sqrt=sqrt, rsqrt=rsqrt, sin=sin, cos=cos,
    tan=tan, tanh=tanh, sigmoid=sigmoid, relu=relu, reciprocal=reciprocal, atan=atan, asin=asin, acos=acos,
    sinh=sinh, cosh=cosh, sign=sign, floor=floor, ceil=ceil, round=round, trunc=trunc, clamp=clamp, clip=clamp,
    clamp_min=clamp_min, clamp_max=clamp_max, maximum=maximum, minimum=minimum, square=square,
    eq=eq, ne=ne, lt=lt, le=le, gt=gt, ge=ge, greater=gt, less=lt, not_equal=ne, equal=equal, allclose=allclose,
    isclose=isclose, logical_not=logical_not, logical_and=logical_and, logical_or=logical_or,
    logical_xor=logical_xor, bitwise_not=bitwise_not, bitwise_and=bitwise_and, bitwise_or=bitwise_or,
    bitwise_xor=bitwise_xor, isnan=isnan, isinf=isinf, isfinite=isfinite,
    where=lambda self, condition, other: where(condition, self, other),
    masked_fill=masked_fill, gather=gather, scatter=scatter, scatter_add=scatter_add, index_select=index_select,
    nonzero=nonzero, masked_select=masked_select, take=take,
    sum=sum, mean=mean, prod=prod, max=max, min=min, amax=amax, amin=amin, argmax=argmax, argmin=argmin,
    var=var, std=std, logsumexp=logsumexp, norm=norm, cumsum=cumsum, all=all, any=any,
    view=view, view_as=view_as, reshape=reshape, reshape_as=reshape_as, flatten=flatten, unflatten=unflatten,
    squeeze=squeeze, unsqueeze=unsqueeze, transpose=transpose, swapaxes=swapaxes, swapdims=swapdims, t=t,
    permute=permute, movedim=movedim, expand=expand, expand_as=expand_as, broadcast_to=broadcast_to,
    contiguous=contiguous, clone=clone, split=split, chunk=chunk, unbind=unbind, narrow=narrow, repeat=repeat,
    flip=flip, tril=tril, triu=triu,
    matmul=matmul, mm=mm, bmm=bmm, mv=mv, dot=dot, outer=outer, softmax=softmax, log_softmax=log_softmax,
    addmm=addmm, addcmul=addcmul, addcdiv=addcdiv, lerp=lerp, atan2=atan2, arctan2=atan2, logaddexp=logaddexp,
    xlogy=xlogy, logit=logit, nan_to_num=nan_to_num, log10=log10, exp2=exp2, erf=erf, frac=frac, sgn=sgn,
    sort=sort, argsort=argsort, msort=msort, topk=topk, cumprod=cumprod, median=median, nansum=nansum, nanmean=nanmean, count_nonzero=count_nonzero, roll=roll, diag=diag,
    diagonal=diagonal, trace=trace, tile=tile, ravel=ravel, moveaxis=moveaxis, select=select,
    repeat_interleave=repeat_interleave, take_along_dim=take_along_dim, index_add=index_add,
    index_fill=index_fill, argwhere=argwhere, unique=unique,
    zero_=zero_, fill_=fill_, copy_=copy_, uniform_=uniform_, normal_=normal_, bernoulli_=bernoulli_,
    random_=random_,
    __getitem__=index.getitem, __setitem__=index.setitem,
    __add__=_operator(P.Add, add), __radd__=_reflected(add), __sub__=_operator(P.Sub, sub), __rsub__=_reflected(sub),
    __mul__=_operator(P.Mul, mul), __rmul__=_reflected(mul), __truediv__=_operator(P.Div, div),
    __rtruediv__=_reflected(div), __floordiv__=floor_divide,
    __rfloordiv__=_reflected(floor_divide), __mod__=remainder, __rmod__=_reflected(remainder), __pow__=pow,
    __rpow__=_reflected(pow), __matmul__=matmul, __rmatmul__=_reflected(matmul), __neg__=neg,
    __pos__=lambda self: self, __abs__=abs, __invert__=lambda self: bitwise_not(self),
    __and__=bitwise_and, __rand__=_reflected(bitwise_and), __or__=bitwise_or, __ror__=_reflected(bitwise_or),
    __xor__=bitwise_xor, __rxor__=_reflected(bitwise_xor),
    __eq__=eq, __ne__=ne, __lt__=lt, __le__=le, __gt__=gt, __ge__=ge,
)

# x.op_(...) for these: out of place, then written back (ops/inplace.py)
_INPLACE = dict(
    add_=add, sub_=sub, mul_=mul, div_=div, pow_=pow, neg_=neg, abs_=abs, exp_=exp, log_=log, sqrt_=sqrt,
    sin_=sin, cos_=cos, tanh_=tanh, sigmoid_=sigmoid, relu_=relu, clamp_=clamp, clip_=clamp, clamp_min_=clamp_min,
    clamp_max_=clamp_max, floor_=floor, ceil_=ceil, round_=round, trunc_=trunc, reciprocal_=reciprocal,
    masked_fill_=masked_fill, scatter_=scatter, scatter_add_=scatter_add, square_=square,
    remainder_=remainder, fmod_=fmod, floor_divide_=floor_divide, addcmul_=addcmul, addcdiv_=addcdiv, lerp_=lerp,
    index_add_=index_add, index_fill_=index_fill, addmm_=addmm, nan_to_num_=nan_to_num, sign_=sign, sgn_=sgn,
    expm1_=expm1, log1p_=log1p, log2_=log2, log10_=log10, exp2_=exp2, erf_=erf, frac_=frac, rsqrt_=rsqrt,
    tan_=tan, atan_=atan, sinh_=sinh, cosh_=cosh, asin_=asin, acos_=acos, logit_=logit, atan2_=atan2,
    logaddexp_=logaddexp, xlogy_=xlogy,
    __iadd__=add, __isub__=sub, __imul__=mul, __itruediv__=div, __ipow__=pow, __imod__=remainder,
    __ifloordiv__=floor_divide, __iand__=bitwise_and, __ior__=bitwise_or, __ixor__=bitwise_xor,
)

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
for _name, _fn in _INPLACE.items():
    setattr(Tensor, _name, _inplace(_fn))
Tensor.__hash__ = object.__hash__

__all__ = [name for name, value in dict(globals()).items() if callable(value) and not name.startswith("_")
           and name not in ("Tensor", "apply", "binary", "write_inplace")]
