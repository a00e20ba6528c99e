"""Math functions of one tensor: exp, log, the trigonometric ones, abs, rounding, clamp.

Most are one line each through `elementwise(...)`: the forward formula and its derivative side
by side, as in PyTorch's derivatives.yaml. The activations (ops/activation.py) are made by the
same helper."""
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from .dispatch import Op, apply, op
from .public import public, unary_function
from .util import as_tensor_arg, check_broadcast, meta_of, reduced, variant, xp_of

_LN2 = math.log(2)  # Python floats: NumPy scalars would promote float32 arrays to float64
_LN10 = math.log(10)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


class Unary(Op):
    """f(x) on floats; integer inputs are promoted to the default float dtype, like torch."""
    compute: Callable[..., Any]  # (xp, x) -> the result: each op defines it
    promote_int = True

    def forward(self, x):
        if self.promote_int and x.dtype.kind != "f":
            x = x.astype(dtypes.get_default_dtype().np)
        return self.compute(np if type(x) is np.ndarray else xp_of(x), x)


class Elementwise(Unary):
    """y = f(xp, x, **params), its derivative df(xp, saved, **params) beside it, where `saved` is
    the input x (FromInput) or the result (FromOutput): what the derivative is written in. With
    no df the function is piecewise constant (floor, sign): its gradient is zero, nothing saved."""
    f: Callable[..., Any]
    df: Any  # (None where the function is piecewise constant: then backward never calls it)
    params = {}

    def forward(self, x, **params):
        if params:
            self.params = params
        return Unary.forward(self, x)

    def compute(self, xp, x):
        params = self.params
        out = self.f(xp, x, **params) if params else self.f(xp, x)
        # a formula may widen (a float64 constant, a bool mask): the result keeps x's dtype
        return out if out.dtype is x.dtype else out.astype(x.dtype)

    def backward(self, grad):
        return (xp_of(grad).zeros_like(grad),)

    def _grad(self, grad, saved):
        g = grad * self.df(xp_of(grad), saved, **self.params)
        return (g if g.dtype is grad.dtype else g.astype(grad.dtype),)


class FromInput(Elementwise):
    saves = {"x": "input 0"}

    def compute(self, xp, x):
        self.x = x
        return Elementwise.compute(self, xp, x)

    def backward(self, grad):
        return self._grad(grad, self.x)


class FromOutput(Elementwise):
    saves = {"out": "output"}

    def compute(self, xp, x):
        self.out = Elementwise.compute(self, xp, x)
        return self.out

    def backward(self, grad):
        return self._grad(grad, self.out)


def elementwise(name, grad_fn, f, df=None, *, category, save="x", promote_int=True, **variants):
    """Register an elementwise op from its formula and its derivative (see Elementwise); `save`
    says what df is written in: "x" (the input) or "out" (the result). promote_int=False keeps
    integer inputs' dtype (neg, floor; the activations of nn). Variants, when given, declare its
    public function `name(input)` (ops/public.py)."""
    base = Elementwise if df is None else FromInput if save == "x" else FromOutput
    attrs = {"f": staticmethod(f), "df": None if df is None else staticmethod(df), "promote_int": promote_int}
    cls = op(name, grad_fn, category=category)(type(name.title().replace("_", ""), (base,), attrs))
    if variants:
        unary_function(cls, name, **variants)
    return cls


def _math(name, grad_fn, f, df, save="x", **variants):
    """A math function: graphgrad.name(x), x.name() and x.name_()."""
    return elementwise(name, grad_fn, f, df, category="unary", save=save, method=True, inplace=True, **variants)


Exp = _math("exp", "ExpBackward0", lambda xp, x: xp.exp(x), lambda xp, out: out, save="out")
Log = _math("log", "LogBackward0", lambda xp, x: xp.log(x), lambda xp, x: 1 / x)
Log2 = _math("log2", "Log2Backward0", lambda xp, x: xp.log2(x), lambda xp, x: 1 / (x * _LN2))
Log10 = _math("log10", "Log10Backward0", lambda xp, x: xp.log10(x), lambda xp, x: 1 / (x * _LN10))
Log1p = _math("log1p", "Log1PBackward0", lambda xp, x: xp.log1p(x), lambda xp, x: 1 / (1 + x))
Expm1 = _math("expm1", "Expm1Backward0", lambda xp, x: xp.expm1(x), lambda xp, out: out + 1, save="out")
Exp2 = _math("exp2", "Exp2Backward0", lambda xp, x: xp.exp2(x), lambda xp, out: out * _LN2, save="out")
Sqrt = _math("sqrt", "SqrtBackward0", lambda xp, x: xp.sqrt(x), lambda xp, out: 0.5 / out, save="out")
Rsqrt = _math("rsqrt", "RsqrtBackward0", lambda xp, x: 1 / xp.sqrt(x), lambda xp, out: -0.5 * out ** 3, save="out")
Reciprocal = _math("reciprocal", "ReciprocalBackward0", lambda xp, x: 1 / x, lambda xp, out: -out * out, save="out")
Sin = _math("sin", "SinBackward0", lambda xp, x: xp.sin(x), lambda xp, x: xp.cos(x))
Cos = _math("cos", "CosBackward0", lambda xp, x: xp.cos(x), lambda xp, x: -xp.sin(x))
Tan = _math("tan", "TanBackward0", lambda xp, x: xp.tan(x), lambda xp, out: 1 + out * out, save="out")
Atan = _math("atan", "AtanBackward0", lambda xp, x: xp.arctan(x), lambda xp, x: 1 / (1 + x * x), aliases=("arctan",))
Asin = _math("asin", "AsinBackward0", lambda xp, x: xp.arcsin(x), lambda xp, x: 1 / xp.sqrt(1 - x * x))
Acos = _math("acos", "AcosBackward0", lambda xp, x: xp.arccos(x), lambda xp, x: -1 / xp.sqrt(1 - x * x))
Sinh = _math("sinh", "SinhBackward0", lambda xp, x: xp.sinh(x), lambda xp, x: xp.cosh(x))
Cosh = _math("cosh", "CoshBackward0", lambda xp, x: xp.cosh(x), lambda xp, x: xp.sinh(x))
Erf = _math("erf", "ErfBackward0", lambda xp, x: erf_array(xp, x), lambda xp, x: _TWO_OVER_SQRT_PI * xp.exp(-x * x))
Frac = _math("frac", "FracBackward0", lambda xp, x: x - xp.trunc(x), lambda xp, x: 1)


def erf_array(xp, x):
    """erf, which NumPy lacks: SciPy's where installed, else math.erf element by element (exact,
    slow); cupyx on a GPU."""
    if xp is not np:
        erf = getattr(xp, "erf", None)  # graphgrad's own namespace (create_graph) has it; CuPy keeps it in cupyx
        if erf is None:
            from cupyx.scipy.special import erf  # (optional: only on a GPU)
        return erf(x)
    try:
        from scipy.special import erf  # (optional dependency)
    except ImportError:
        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    return erf(x).astype(x.dtype, copy=False)


def _rounding(name, grad_fn, f):
    """Piecewise-constant functions keep integer inputs as they are (their gradient is zero)."""
    return elementwise(name, grad_fn, lambda xp, x: f(xp, x) if x.dtype.kind == "f" else x.copy(), category="unary",
                       promote_int=False, method=True, inplace=True)


Floor = _rounding("floor", "FloorBackward0", lambda xp, x: xp.floor(x))
Ceil = _rounding("ceil", "CeilBackward0", lambda xp, x: xp.ceil(x))
Trunc = _rounding("trunc", "TruncBackward0", lambda xp, x: xp.trunc(x))
Round = elementwise("round", "RoundBackward0", lambda xp, x: xp.round(x) if x.dtype.kind == "f" else x.copy(),
                   category="unary", promote_int=False)  # its public function takes decimals: below
Sign = elementwise("sign", "SignBackward0", lambda xp, x: xp.sign(x) if x.dtype.kind != "b" else x.copy(),
                   category="unary", promote_int=False, method=True, inplace=True)
Sgn = elementwise("sgn", "SgnBackward0", lambda xp, x: xp.sign(x) if x.dtype.kind != "b" else x.copy(),
                  category="unary", promote_int=False, method=True, inplace=True)


@public(method=True, inplace=True)
def round(input: Tensor, decimals=0) -> Tensor:
    if decimals:
        scale = 10 ** decimals
        return apply(Round, input * scale) / scale
    return apply(Round, input)


class _SameDtype(Unary):
    promote_int = False


@op("neg", "NegBackward0", category="unary")
class Neg(_SameDtype):
    def compute(self, xp, x):
        if x.dtype.kind == "b":
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                               "to invert a mask, use the `~` or `logical_not()` operator instead.")
        return -x

    def backward(self, grad):
        return (-grad,)


@op("abs", "AbsBackward0", category="unary")
class Abs(_SameDtype):
    saves = {"x": "input 0"}

    def compute(self, xp, x):
        self.x = x
        return xp.abs(x)

    def backward(self, grad):
        return (grad * xp_of(grad).sign(self.x),)


unary_function(Neg, "neg", method=True, inplace=True, aliases=("negative",), operators=("__neg__",))
unary_function(Abs, "abs", method=True, inplace=True, aliases=("absolute",), operators=("__abs__",))


@op("logit", "LogitBackward0", category="unary")
class Logit(Unary):
    """log(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps is given."""
    saves = {"x": "input 0"}

    def forward(self, x, eps=None):
        self.eps = eps
        return Unary.forward(self, x)

    def compute(self, xp, x):
        self.x = x
        if self.eps is not None:
            x = xp.clip(x, self.eps, 1 - self.eps)
        return xp.log(x / (1 - x))

    def backward(self, grad):
        x, eps = self.x, self.eps
        g = grad / (x * (1 - x))
        if eps is not None:  # flat where clamped
            g = xp_of(g).where((x < eps) | (x > 1 - eps), 0, g)
        return (g,)


@public(method=True, inplace=True)
def logit(input: Tensor, eps=None) -> Tensor:
    return apply(Logit, input, eps=eps)


@op("nan_to_num", "NanToNumBackward0", category="unary")
class NanToNum(Op):
    # x only says where it is finite
    saves = {"x": "constant"}

    def forward(self, x, nan=0.0, posinf=None, neginf=None):
        self.x = x
        return xp_of(x).nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, grad):
        return (grad * xp_of(grad).isfinite(self.x),)


@public(method=True, inplace=True)
def nan_to_num(input: Tensor, nan=0.0, posinf=None, neginf=None) -> Tensor:
    return apply(NanToNum, input, nan=nan, posinf=posinf, neginf=neginf)


# ---- clamp ---------------------------------------------------------------------------------------

@op("clamp", "ClampBackward1", category="unary")
class Clamp(Op):
    saves = {"x": "input 0"}

    def forward(self, x, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if x.dtype.kind != "f" and (type(min) is float or type(max) is float):
            x = x.astype(dtypes.get_default_dtype().np)
        self.x, self.min, self.max = x, min, max
        xp = xp_of(x)
        out = x
        if min is not None:
            out = xp.maximum(out, min)
        if max is not None:
            out = xp.minimum(out, max)
        return out.astype(x.dtype, copy=False) if out is not x else out.copy()

    def backward(self, grad):
        keep = True
        if self.min is not None:
            keep = self.x >= self.min
        if self.max is not None:
            keep = keep & (self.x <= self.max)
        return (grad * keep,)


ClampMin = variant(Clamp, "clamp_min", "ClampMinBackward0")
ClampMax = variant(Clamp, "clamp_max", "ClampMaxBackward0")


@op("clamp_tensor", "ClampBackward0", category="unary")
class ClampTensor(Op):
    """clamp with tensor bounds (either may be None): min(max(x, lo), hi), all broadcast."""
    saves = {"x": "input 0", "lo": "input 1", "hi": "input 2"}
    x: Any
    lo: Any
    hi: Any

    def forward(self, x, lo, hi, dtype):
        self.x, self.lo, self.hi = (None if v is None else v.astype(dtype, copy=False) for v in (x, lo, hi))
        self.metas = [None if v is None else meta_of(v) for v in (x, lo, hi)]
        xp, out = xp_of(x), self.x
        if lo is not None:
            out = xp.maximum(out, self.lo)
        if hi is not None:
            out = xp.minimum(out, self.hi)
        return out

    def backward(self, grad):
        # PyTorch's clamp_backward_min_max: where the bounds cross, max wins
        xp, x, lo, hi = xp_of(grad), self.x, self.lo, self.hi
        zero = xp.zeros((), grad.dtype)
        keep = xp.ones(x.shape, bool)
        g_lo = g_hi = None
        if lo is not None:
            keep = keep & (x >= lo)
            g_lo = xp.where((x < lo) & (lo < hi) if hi is not None else x < lo, grad, zero)
        if hi is not None:
            keep = keep & (x <= hi)
            g_hi = xp.where((x > hi) | (hi < lo) if lo is not None else x > hi, grad, zero)
        grads = (xp.where(keep, grad, zero), g_lo, g_hi)
        return tuple(None if g is None or nxt is None else reduced(g, meta)
                     for g, meta, (nxt, _) in zip(grads, self.metas, self.next_functions))


@public(method=True, inplace=True, aliases=("clip",))
def clamp(input: Tensor, min=None, max=None) -> Tensor:
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        min, max = (b if b is None or isinstance(b, Tensor) else as_tensor_arg(b, input) for b in (min, max))
        bounds = [b for b in (min, max) if b is not None]
        for b in bounds:
            check_broadcast(input._data.shape, b.shape)
        return apply(ClampTensor, input, min, max, dtype=dtypes.result_type(input, *bounds).np)
    return apply(Clamp, input, min=min, max=max)


@public(method=True, inplace=True)
def clamp_min(input: Tensor, min) -> Tensor:
    return apply(ClampMin, input, min=min) if not isinstance(min, Tensor) else clamp(input, min=min)


@public(method=True, inplace=True)
def clamp_max(input: Tensor, max) -> Tensor:
    return apply(ClampMax, input, max=max) if not isinstance(max, Tensor) else clamp(input, max=max)

