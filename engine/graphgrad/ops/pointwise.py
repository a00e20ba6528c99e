"""Elementwise ops: arithmetic with broadcasting and PyTorch's type promotion, comparisons,
and the math functions. Each op: forward on arrays, backward beside it."""
import math
import warnings

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from .dispatch import Op, apply, op
from .util import as_tensor_arg, broadcast_shapes, check_broadcast, sum_to, variant, xp_of

_LN2 = math.log(2)  # a Python float: NumPy scalars would promote float32 arrays to float64
# log(0) is -inf, 0/0 is nan, as in PyTorch: no NumPy warnings. One filter silences NumPy's
# floating-point RuntimeWarnings raised from graphgrad's own code (an np.errstate around each op
# cost about a microsecond per op).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"graphgrad\.")


def _errstate(array):
    """A no-op context (ops/nn.py still wraps its math in it; the filter above does the work)."""
    return _QUIET


class _Quiet:
    def __enter__(self):
        pass

    def __exit__(self, *exc):
        return False


_QUIET = _Quiet()



# ---- binary arithmetic --------------------------------------------------------------------

class Binary(Op):
    """Two operands, broadcast and promoted to a common dtype; grads are summed back to each
    operand's shape and cast back to its dtype."""
    saved_as_given = True
    with_scalar = None   # the variant PyTorch records when b is a Python number (then an attribute)
    bool_kernel = None   # PyTorch's kernel name where it has no bool kernel (the error names it)

    def forward(self, a, b=None, dtype=None, other=None):
        if b is None:    # a Python number given as an attribute: the node has one input
            b = other
        if self.bool_kernel and dtype == np.bool_:
            raise NotImplementedError(f"\"{self.bool_kernel}\" not implemented for 'Bool'")
        a_dtype = a.dtype
        self.a_meta = (a.shape, a_dtype)
        if a_dtype != dtype:
            a = a.astype(dtype)
        if type(b) is float or type(b) is int or type(b) is bool:
            self.b_meta = _NUMBER_META
        else:
            b_dtype = b.dtype
            self.b_meta = (b.shape, b_dtype)
            if b_dtype != dtype:
                b = b.astype(dtype)
        try:
            return self.compute(a, b)
        except ValueError:  # NumPy's broadcasting error: raise PyTorch's, which names the sizes
            check_broadcast(a.shape, getattr(b, "shape", ()))
            raise

    def reduce(self, grad, meta):
        return _reduced(grad, meta)

    def needs(self, i):
        """Whether input i takes a gradient (it is a tensor that requires one)."""
        nf = self.next_functions
        return i < len(nf) and nf[i][0] is not None

    def grads(self, ga, gb):
        """Each operand's gradient (None where it takes none), back to its shape and dtype.
        Spelled out without helper calls: it runs for every binary node of every backward."""
        nf = self.next_functions
        ga = None if ga is None or nf[0][0] is None else _reduced(ga, self.a_meta)
        if len(nf) == 1:
            return (ga,)
        return ga, None if gb is None or nf[1][0] is None else _reduced(gb, self.b_meta)


def _reduced(grad, meta):
    """grad summed back to an operand's shape (undoing broadcasting) and cast to its dtype."""
    shape, dtype = meta
    if grad.shape != shape:
        grad = sum_to(grad, shape)
    return grad if grad.dtype == dtype else grad.astype(dtype)


def _unless_number(a, b):
    """a, kept for b's gradient only when b is a tensor: `x * 2` saves no x, as in PyTorch."""
    return None if type(b) in (int, float, bool) else a


def _meta(x):
    return (x.shape, x.dtype) if hasattr(x, "shape") else _NUMBER_META


_NUMBER_META = ((), None)


@op("add", "AddBackward0")
class Add(Binary):
    def compute(self, a, b):
        return a + b

    def backward(self, grad):
        return self.grads(grad, grad)


@op("sub", "SubBackward0")
class Sub(Binary):
    def compute(self, a, b):
        return a - b

    def backward(self, grad):
        return self.grads(grad, -grad)


@op("mul", "MulBackward0")
class Mul(Binary):
    saved = ("a", "b")
    saved_inputs = (0, 1)
    saved_for = {0: 1, 1: 0}

    def compute(self, a, b):
        self.a, self.b = _unless_number(a, b), b
        return a * b

    def backward(self, grad):
        gb = grad * self.a if self.next_functions[1][0] is not None else None
        return self.grads(grad * self.b, gb)


@op("div", "DivBackward0")
class Div(Binary):
    saved = ("a", "b")
    saved_inputs = (0, 1)
    saved_for = {0: 1}

    def compute(self, a, b):
        self.a, self.b = _unless_number(a, b), b
        return a / b

    def backward(self, grad):
        ga = grad / self.b
        gb = -grad * self.a / (self.b * self.b) if self.next_functions[1][0] is not None else None
        return self.grads(ga, gb)


@op("pow", "PowBackward1")
class Pow(Binary):
    """tensor ** tensor"""
    bool_kernel = "pow"
    saved = ("a", "b", "out")
    saved_inputs = (0, 1)
    saved_output = True

    def compute(self, a, b):
        self.a, self.b = a, b
        if a.dtype.kind in "iu" and bool((b < 0).any()):
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        self.out = a ** b
        return self.out

    def backward(self, grad):
        a, b = self.a, self.b
        ga = grad * b * a ** (b - 1)
        gb = None
        if self.next_functions[1][0] is not None:
            xp = xp_of(grad)
            gb = grad * xp.where((a == 0) & (b >= 0), 0, self.out * xp.log(a))
        return self.grads(ga, gb)


@op("maximum", "MaximumBackward0")
class Maximum(Binary):
    saved = ("a", "b")
    saved_inputs = (0, 1)

    def compute(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).maximum(a, b)

    def backward(self, grad):
        return self.grads(*_split_ties(grad, self.a, self.b))


@op("minimum", "MinimumBackward0")
class Minimum(Binary):
    saved = ("a", "b")
    saved_inputs = (0, 1)

    def compute(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).minimum(a, b)

    def backward(self, grad):
        return self.grads(*_split_ties(grad, self.b, self.a))


def _split_ties(grad, winner, loser):
    """The gradient goes to the larger (winner) side, half to each where they tie."""
    xp = xp_of(grad)
    half = xp.where(winner == loser, grad / 2, grad)
    return xp.where(winner < loser, 0, half), xp.where(winner > loser, 0, half)


@op("remainder", "RemainderBackward1")
class Remainder(Binary):
    """a - floor(a / b) * b, the sign of b (Python's %); b's gradient is -floor(a / b)."""
    saved = ("a", "b")
    saved_constants = ("a", "b")  # only through floor(a / b), a step function
    bool_kernel = "remainder_cpu"
    fn = staticmethod(lambda xp, a, b: xp.remainder(a, b))
    quotient = staticmethod(lambda xp, a, b: xp.floor(a / b))

    def compute(self, a, b):
        self.a, self.b = a, b
        _check_int_divisor(a, b)
        return self.fn(xp_of(a), a, b)

    def backward(self, grad):
        gb = None
        if self.needs(1):
            gb = -grad * self.quotient(xp_of(grad), self.a, self.b)
        return self.grads(grad, gb)


@op("fmod", "FmodBackward1")
class Fmod(Remainder):
    """a - trunc(a / b) * b, the sign of a (C's fmod)."""
    bool_kernel = "fmod_cpu"
    fn = staticmethod(lambda xp, a, b: xp.fmod(a, b))
    quotient = staticmethod(lambda xp, a, b: xp.trunc(a / b))


# with a Python number for b, PyTorch records another node (the number is no input)
Remainder.with_scalar = variant(Remainder, "remainder_scalar", "RemainderBackward0")
Fmod.with_scalar = variant(Fmod, "fmod_scalar", "FmodBackward0")


class _FloatBinary(Binary):
    """Binary ops that compute in floating point (integer operands are promoted, as in torch)."""
    saved = ("a", "b")
    saved_inputs = (0, 1)

    def compute(self, a, b):
        self.a, self.b = a, b
        return self.fn(xp_of(a), a, b)

    def backward(self, grad):
        return self.grads(*self.derivatives(xp_of(grad), grad, self.a, self.b))


@op("atan2", "Atan2Backward0")
class Atan2(_FloatBinary):
    fn = staticmethod(lambda xp, a, b: xp.arctan2(a, b))

    @staticmethod
    def derivatives(xp, g, a, b):
        r = a * a + b * b
        return g * b / r, -g * a / r


@op("logaddexp", "LogaddexpBackward0")
class LogAddExp(_FloatBinary):
    fn = staticmethod(lambda xp, a, b: xp.logaddexp(a, b))

    @staticmethod
    def derivatives(xp, g, a, b):
        return g / (1 + xp.exp(b - a)), g / (1 + xp.exp(a - b))


@op("xlogy", "XlogyBackward0")
class Xlogy(_FloatBinary):
    """a * log(b), and 0 where a is 0 (unless b is nan)."""
    fn = staticmethod(lambda xp, a, b: xp.where((a == 0) & ~xp.isnan(b), 0, a * xp.log(b)))

    @staticmethod
    def derivatives(xp, g, a, b):
        return g * xp.log(b), g * a / b


@op("lerp", "LerpBackward0")
class Lerp(Binary):
    """start + weight * (end - start), computed from the nearer end as PyTorch does."""

    def forward(self, a, b, dtype, weight):
        self.weight = weight
        return Binary.forward(self, a, b, dtype)

    def compute(self, a, b):
        w = self.weight
        return a + w * (b - a) if abs(w) < 0.5 else b - (b - a) * (1 - w)

    def backward(self, grad):
        return self.grads(grad * (1 - self.weight), grad * self.weight)


class Ternary(Op):
    """Three operands broadcast together in one dtype; grads summed back to each one's shape."""
    saved_as_given = True

    def forward(self, a, b, c, dtype, value=1):
        self.metas = [_meta(v) for v in (a, b, c)]
        self.value = value
        return self.compute(*(v.astype(dtype, copy=False) for v in (a, b, c)))

    def grads(self, *grads):
        return tuple(None if g is None or nxt is None else Binary.reduce(self, g, meta)
                     for g, meta, (nxt, _) in zip(grads, self.metas, self.next_functions))


@op("lerp_tensor", "LerpBackward1")
class LerpTensor(Ternary):
    saved = ("a", "b", "w")
    saved_inputs = (0, 1, 2)

    def compute(self, a, b, w):
        self.a, self.b, self.w = a, b, w
        return xp_of(a).where(abs(w) < 0.5, a + w * (b - a), b - (b - a) * (1 - w))

    def backward(self, grad):
        return self.grads(grad * (1 - self.w), grad * self.w, grad * (self.b - self.a))


@op("addcmul", "AddcmulBackward0")
class Addcmul(Ternary):
    """input + value * t1 * t2"""
    saved = ("t1", "t2")
    saved_inputs = (1, 2)

    def compute(self, x, t1, t2):
        self.t1, self.t2 = t1, t2
        return x + self.value * t1 * t2

    def backward(self, grad):
        v = self.value
        return self.grads(grad, grad * v * self.t2, grad * v * self.t1)


@op("addcdiv", "AddcdivBackward0")
class Addcdiv(Ternary):
    """input + value * t1 / t2"""
    saved = ("t1", "t2")
    saved_inputs = (1, 2)

    def compute(self, x, t1, t2):
        self.t1, self.t2 = t1, t2
        return x + self.value * t1 / t2

    def backward(self, grad):
        v, t1, t2 = self.value, self.t1, self.t2
        return self.grads(grad, grad * v / t2, -grad * v * t1 / (t2 * t2))


def _ternary(cls, a, b, c, **attrs):
    broadcast_shapes(a._data.shape, b._data.shape, c._data.shape)
    dt = dtypes.result_type(a, b, c).np
    return apply(cls, a, b, c, dtype=dt, **attrs)


def atan2(input, other):
    return binary(Atan2, input, other, true_divide=True)


def logaddexp(input, other):
    return binary(LogAddExp, input, other, true_divide=True)


def xlogy(input, other):
    return binary(Xlogy, input, other, true_divide=True)


def lerp(input, end, weight):
    if isinstance(weight, Tensor):
        return _ternary(LerpTensor, input, end, weight)
    return binary(Lerp, input, end, weight=weight)


def addcmul(input, tensor1, tensor2, *, value=1):
    return _ternary(Addcmul, input, tensor1, tensor2, value=value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    if not any(t._data.dtype.kind in "fV" for t in (tensor1, tensor2)):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release addcdiv "
                           "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
                           "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
                           "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
                           "addcdiv behavior is just the latter implementation: (input + value * tensor1 / tensor2), "
                           "for all dtypes.")
    return _ternary(Addcdiv, input, tensor1, tensor2, value=value)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    return apply(NanToNum, input, nan=nan, posinf=posinf, neginf=neginf)


def logit(input, eps=None):
    return apply(Logit, input, eps=eps)


@op("floor_divide", differentiable=False)
class FloorDivide(Binary):
    bool_kernel = "div_floor_cpu"

    def compute(self, a, b):
        return _floor_divide(xp_of(a), a, b)


def _floor_divide(xp, a, b):
    _check_int_divisor(a, b)
    return xp.floor_divide(a, b)


def _check_int_divisor(a, b):
    """Integer division by zero: PyTorch's error, where NumPy silently gives 0."""
    if a.dtype.kind in "iu" and (b == 0 if type(b) in (int, bool) else
                                 type(b) is not float and b.dtype.kind in "iub" and bool((b == 0).any())):
        raise RuntimeError("ZeroDivisionError")


@op("div_rounding", "DivBackward2")
class DivRounding(Binary):
    """div(a, b, rounding_mode="trunc" | "floor"): piecewise constant, so its gradients are zero."""

    def forward(self, a, b, dtype, mode):
        self.mode = mode
        return Binary.forward(self, a, b, dtype)

    def compute(self, a, b):
        xp = xp_of(a)
        if self.mode == "floor":
            return _floor_divide(xp, a, b)
        if a.dtype.kind == "f":
            return xp.trunc(a / b)
        q = _floor_divide(xp, a, b)   # exact for integers, then rounded toward zero
        return q + ((q < 0) & (q * b != a))

    def backward(self, grad):
        zero = xp_of(grad).zeros_like(grad)
        return self.grads(zero, zero)


class _Compare(Binary):
    differentiable = False


def _compare(name, ufunc):
    cls = type(name.capitalize(), (_Compare,), {"compute": lambda self, a, b: getattr(xp_of(a), ufunc)(a, b)})
    return op(name, differentiable=False)(cls)


Eq, Ne, Lt, Le, Gt, Ge = (_compare(n, u) for n, u in [("eq", "equal"), ("ne", "not_equal"), ("lt", "less"),
                                                        ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal")])


def _bitwise(name, ufunc):
    def compute(self, a, b):
        if a.dtype.kind == "f":
            raise NotImplementedError(f"\"{ufunc}_cpu\" not implemented for '{dtypes.from_numpy(a.dtype)._legacy[:-6]}'")
        return getattr(xp_of(a), ufunc)(a, b)
    return op(name, differentiable=False)(type(name, (_Compare,), {"compute": compute}))


BitwiseAnd, BitwiseOr, BitwiseXor = (_bitwise(n, u) for n, u in [("bitwise_and", "bitwise_and"),
                                                                   ("bitwise_or", "bitwise_or"),
                                                                   ("bitwise_xor", "bitwise_xor")])


def binary(cls, a, b, true_divide=False, **attrs):
    """Promote two operands as PyTorch does and apply the op.

    The fast path (two tensors of one dtype, the common case) skips the promotion table."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a._data.dtype == b._data.dtype:
                dt = a._data.dtype
            else:
                dt = dtypes.result_type(a, b).np
        elif type(b) in (float, int, bool):
            dt = a._data.dtype
            kind = dt.kind
            if (type(b) is float and kind not in "fV") or (type(b) is int and kind == "b"):
                dt = dtypes.result_type(a, b).np
            if cls.with_scalar is not None:
                return apply(cls.with_scalar, a, dtype=dt, other=b)
        else:
            return binary(cls, a, _operand(b, a), true_divide, **attrs)
    elif isinstance(b, Tensor):
        if type(a) not in (float, int, bool):
            a = _operand(a, b)
            if isinstance(a, Tensor):
                return binary(cls, a, b, true_divide, **attrs)
        if cls in _REFLECTED:
            return binary(_REFLECTED[cls], b, a, true_divide, **attrs)
        return _scalar_first(cls, a, b, true_divide)
    else:
        raise TypeError(f"{cls.op_name}(): expected at least one Tensor argument")
    if true_divide and dt.kind not in "fV":  # (bfloat16's kind is "V")
        dt = dtypes.get_default_dtype().np
    if attrs:
        return apply(cls, a, b, dtype=dt, **attrs)
    return apply(cls, a, b, dtype=dt)


def _operand(x, like):
    """Something other than a tensor or a Python number: numpy scalars and arrays, lists."""
    if isinstance(x, (np.generic,)):
        return x.item()
    if x is None:
        raise TypeError("unsupported operand type: 'NoneType'")
    from ..creation import tensor
    return tensor(x, device=like.device)


# ops whose operands commute, so `2 * t` runs as `t * 2`
_REFLECTED = {Add: Add, Mul: Mul, Maximum: Maximum, Minimum: Minimum, Eq: Eq, Ne: Ne, Lt: Gt, Gt: Lt,
              Le: Ge, Ge: Le, BitwiseAnd: BitwiseAnd, BitwiseOr: BitwiseOr, BitwiseXor: BitwiseXor}


def _scalar_first(cls, a, b, true_divide):
    """number - tensor, number / tensor, number ** tensor: the number as a 0-d constant."""
    dt = dtypes.result_type(a, b)
    if true_divide and not dt.is_floating_point:
        dt = dtypes.get_default_dtype()
    if cls is Div:  # as PyTorch computes it (and records it): reciprocal, then a product
        return binary(Mul, apply(Reciprocal, b), a)
    if cls in _SCALAR_FIRST:  # ops of their own in PyTorch, with the number as an attribute
        return apply(_SCALAR_FIRST[cls], b, dtype=dt.np, other=a)
    constant = xp_of(b._data).asarray(a, dtype=dt.np)
    return apply(cls, constant, b, dtype=dt.np)


@op("rsub", "RsubBackward1")
class Rsub(Binary):
    """number - tensor"""

    def compute(self, a, b):
        return b - a

    def backward(self, grad):
        return self.grads(-grad, None)


@op("rpow", "PowBackward2")
class RPow(Binary):
    """number ** tensor"""
    bool_kernel = "pow"
    saved = ("out",)
    saved_output = True

    def compute(self, a, b):
        if a.dtype.kind in "iu" and bool((a < 0).any()):
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        self.out = b ** a
        self.base = b
        return self.out

    def backward(self, grad):
        b = self.base
        log_b = math.log(b) if b > 0 else 0.0 if b == 0 else math.nan  # 0 ** x: PyTorch's zero gradient
        return self.grads(grad * self.out * log_b, None)


_SCALAR_FIRST = {Sub: Rsub, Pow: RPow}


@op("pow_scalar", "PowBackward0")
class PowScalar(Op):
    """tensor ** number"""
    saved_as_given = True
    saved = ("x",)
    saved_inputs = (0,)

    def forward(self, x, exponent):
        if type(exponent) is bool:  # x ** True is x, x ** False is ones, in x's own dtype
            exponent = int(exponent)
            if x.dtype.kind == "b":
                return x.copy() if exponent else xp_of(x).ones_like(x)
        self.x, self.exponent = x, exponent
        if x.dtype.kind in "iub" and type(exponent) is int and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if x.dtype.kind in "iub" and type(exponent) is float:
            x = x.astype(dtypes.get_default_dtype().np)
        elif x.dtype.kind == "b":  # bool ** int counts in int64, as PyTorch promotes
            x = x.astype(np.int64)
        if exponent == 2:
            return x * x
        return x ** exponent

    def backward(self, grad):
        c = self.exponent
        if c == 0:
            return (grad * 0,)
        return ((grad * (c * self.x ** (c - 1))).astype(grad.dtype, copy=False),)


def pow(x, exponent):
    if isinstance(x, Tensor) and type(exponent) in (int, float, bool):
        return apply(PowScalar, x, exponent=exponent)
    return binary(Pow, x, exponent)


# ---- unary math ----------------------------------------------------------------------------

class Unary(Op):
    """f(x) on floats; integer inputs are promoted to the default float dtype, like torch."""
    saved_as_given = True
    promote_int = True

    def forward(self, x):
        if self.promote_int and x.dtype.kind != "f":
            x = x.astype(dtypes.get_default_dtype().np)
        return self.compute(np if type(x) is np.ndarray else xp_of(x), x)


def _unary_class(name, grad_fn, compute, grad, save="x"):
    """Define a unary op from its forward formula and its derivative formula.
    `save` is "x" (derivative needs the input) or "out" (it needs the result)."""

    def forward(self, xp, x):
        out = compute(xp, x)
        setattr(self, save, x if save == "x" else out)
        return out

    def backward(self, g):
        return (g * grad(xp_of(g), getattr(self, save)),)

    attrs = {"compute": forward, "backward": backward, "saved": (save,)}
    attrs["saved_inputs" if save == "x" else "saved_output"] = (0,) if save == "x" else True
    return op(name, grad_fn)(type(name.capitalize(), (Unary,), attrs))


def _sigmoid(xp, x):
    return xp.exp(-xp.logaddexp(0, -x)).astype(x.dtype, copy=False)


Exp = _unary_class("exp", "ExpBackward0", lambda xp, x: xp.exp(x), lambda xp, out: out, save="out")
Log = _unary_class("log", "LogBackward0", lambda xp, x: xp.log(x), lambda xp, x: 1 / x)
Log2 = _unary_class("log2", "Log2Backward0", lambda xp, x: xp.log2(x), lambda xp, x: 1 / (x * _LN2))
Log1p = _unary_class("log1p", "Log1PBackward0", lambda xp, x: xp.log1p(x), lambda xp, x: 1 / (1 + x))
Expm1 = _unary_class("expm1", "Expm1Backward0", lambda xp, x: xp.expm1(x), lambda xp, out: out + 1, save="out")
Sqrt = _unary_class("sqrt", "SqrtBackward0", lambda xp, x: xp.sqrt(x), lambda xp, out: 0.5 / out, save="out")
Rsqrt = _unary_class("rsqrt", "RsqrtBackward0", lambda xp, x: 1 / xp.sqrt(x),
                     lambda xp, out: -0.5 * out ** 3, save="out")
Sin = _unary_class("sin", "SinBackward0", lambda xp, x: xp.sin(x), lambda xp, x: xp.cos(x))
Cos = _unary_class("cos", "CosBackward0", lambda xp, x: xp.cos(x), lambda xp, x: -xp.sin(x))
Tan = _unary_class("tan", "TanBackward0", lambda xp, x: xp.tan(x), lambda xp, out: 1 + out * out, save="out")
Tanh = _unary_class("tanh", "TanhBackward0", lambda xp, x: xp.tanh(x), lambda xp, out: 1 - out * out, save="out")
Sigmoid = _unary_class("sigmoid", "SigmoidBackward0", _sigmoid, lambda xp, out: out * (1 - out), save="out")
Reciprocal = _unary_class("reciprocal", "ReciprocalBackward0", lambda xp, x: 1 / x,
                          lambda xp, out: -out * out, save="out")
Atan = _unary_class("atan", "AtanBackward0", lambda xp, x: xp.arctan(x), lambda xp, x: 1 / (1 + x * x))
Asin = _unary_class("asin", "AsinBackward0", lambda xp, x: xp.arcsin(x), lambda xp, x: 1 / xp.sqrt(1 - x * x))
Acos = _unary_class("acos", "AcosBackward0", lambda xp, x: xp.arccos(x), lambda xp, x: -1 / xp.sqrt(1 - x * x))
Sinh = _unary_class("sinh", "SinhBackward0", lambda xp, x: xp.sinh(x), lambda xp, x: xp.cosh(x))
Cosh = _unary_class("cosh", "CoshBackward0", lambda xp, x: xp.cosh(x), lambda xp, x: xp.sinh(x))
Log10 = _unary_class("log10", "Log10Backward0", lambda xp, x: xp.log10(x), lambda xp, x: 1 / (x * _LN10))
Exp2 = _unary_class("exp2", "Exp2Backward0", lambda xp, x: xp.exp2(x), lambda xp, out: out * _LN2, save="out")
Erf = _unary_class("erf", "ErfBackward0", lambda xp, x: erf_array(xp, x),
                   lambda xp, x: _TWO_OVER_SQRT_PI * xp.exp(-x * x))
Frac = _unary_class("frac", "FracBackward0", lambda xp, x: x - xp.trunc(x), lambda xp, x: 1)
_LN10 = math.log(10)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def erf_array(xp, x):
    """erf, which NumPy lacks: SciPy's where installed, else math.erf element by element (exact,
    slow); cupyx on a GPU."""
    if xp is not np:
        erf = getattr(xp, "erf", None)  # graphgrad's own namespace (create_graph) has it; CuPy keeps it in cupyx
        if erf is None:
            from cupyx.scipy.special import erf
        return erf(x)
    try:
        from scipy.special import erf
    except ImportError:
        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    return erf(x).astype(x.dtype, copy=False)


@op("logit", "LogitBackward0")
class Logit(Unary):
    """log(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps is given."""
    saved = ("x",)
    saved_inputs = (0,)

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


@op("nan_to_num", "NanToNumBackward0")
class NanToNum(Op):
    saved = ("x",)
    saved_constants = ("x",)  # it only says where x is finite

    def forward(self, x, nan=0.0, posinf=None, neginf=None):
        self.x = x
        return xp_of(x).nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, grad):
        return (grad * xp_of(grad).isfinite(self.x),)


class _SameDtype(Unary):
    promote_int = False


@op("neg", "NegBackward0")
class Neg(_SameDtype):
    def compute(self, xp, x):
        if x.dtype.kind == "b":
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                               "to invert a mask, use the `~` or `logical_not()` operator instead.")
        return -x

    def backward(self, grad):
        return (-grad,)


@op("abs", "AbsBackward0")
class Abs(_SameDtype):
    saved = ("x",)
    saved_inputs = (0,)

    def compute(self, xp, x):
        self.x = x
        return xp.abs(x)

    def backward(self, grad):
        return (grad * xp_of(grad).sign(self.x),)


@op("relu", "ReluBackward0")
class Relu(_SameDtype):
    saved = ("out",)
    saved_output = True

    def compute(self, xp, x):
        self.out = xp.maximum(x, 0).astype(x.dtype, copy=False)
        return self.out

    def backward(self, grad):
        return (grad * (self.out > 0),)


class _ZeroGrad(_SameDtype):
    """Piecewise-constant functions: their gradient is zero almost everywhere."""

    def backward(self, grad):
        return (xp_of(grad).zeros_like(grad),)


def _zero_grad_op(name, grad_fn, fn):
    return op(name, grad_fn)(type(name.capitalize(), (_ZeroGrad,), {"compute": lambda self, xp, x: fn(xp, x)}))


Sign = _zero_grad_op("sign", "SignBackward0", lambda xp, x: xp.sign(x) if x.dtype.kind != "b" else x.copy())
Floor = _zero_grad_op("floor", "FloorBackward0", lambda xp, x: xp.floor(x) if x.dtype.kind == "f" else x.copy())
Ceil = _zero_grad_op("ceil", "CeilBackward0", lambda xp, x: xp.ceil(x) if x.dtype.kind == "f" else x.copy())
Round = _zero_grad_op("round", "RoundBackward0", lambda xp, x: xp.round(x) if x.dtype.kind == "f" else x.copy())
Trunc = _zero_grad_op("trunc", "TruncBackward0", lambda xp, x: xp.trunc(x) if x.dtype.kind == "f" else x.copy())
Sgn = _zero_grad_op("sgn", "SgnBackward0", lambda xp, x: xp.sign(x) if x.dtype.kind != "b" else x.copy())


@op("logical_not", differentiable=False)
class LogicalNot(_SameDtype):
    def compute(self, xp, x):
        return xp.logical_not(x)


@op("bitwise_not", differentiable=False)
class BitwiseNot(_SameDtype):
    def compute(self, xp, x):
        if x.dtype.kind == "f":
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        return xp.invert(x)


@op("isnan", differentiable=False)
class IsNan(_SameDtype):
    def compute(self, xp, x):
        return xp.isnan(x)


@op("isinf", differentiable=False)
class IsInf(_SameDtype):
    def compute(self, xp, x):
        return xp.isinf(x)


@op("isfinite", differentiable=False)
class IsFinite(_SameDtype):
    def compute(self, xp, x):
        return xp.isfinite(x)


@op("clamp", "ClampBackward1")
class Clamp(Op):
    saved_as_given = True
    saved = ("x",)
    saved_inputs = (0,)

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


@op("clamp_tensor", "ClampBackward0")
class ClampTensor(Op):
    """clamp with tensor bounds (either may be None): min(max(x, lo), hi), all broadcast."""
    saved_as_given = True
    saved = ("x", "lo", "hi")
    saved_inputs = (0, 1, 2)

    def forward(self, x, lo, hi, dtype):
        self.x, self.lo, self.hi = (None if v is None else v.astype(dtype, copy=False) for v in (x, lo, hi))
        self.metas = [None if v is None else _meta(v) for v in (x, lo, hi)]
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
        return tuple(None if g is None or nxt is None else Binary.reduce(self, g, meta)
                     for g, meta, (nxt, _) in zip(grads, self.metas, self.next_functions))


def clamp(input, min=None, max=None):
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        min, max = (b if b is None or isinstance(b, Tensor) else as_tensor_arg(b, input) for b in (min, max))
        bounds = [b for b in (min, max) if b is not None]
        for b in bounds:
            check_broadcast(input._data.shape, b.shape)
        return apply(ClampTensor, input, min, max, dtype=dtypes.result_type(input, *bounds).np)
    return apply(Clamp, input, min=min, max=max)


def clamp_min(input, min):
    return apply(ClampMin, input, min=min) if not isinstance(min, Tensor) else clamp(input, min=min)


def clamp_max(input, max):
    return apply(ClampMax, input, max=max) if not isinstance(max, Tensor) else clamp(input, max=max)


@op("where", "WhereBackward0")
class Where(Op):
    saved = ("condition",)

    def forward(self, condition, a, b, dtype):
        xp = xp_of(condition)
        self.condition = condition
        self.a_meta, self.b_meta = _meta(a), _meta(b)
        return xp.where(condition, a, b).astype(dtype, copy=False)

    def backward(self, grad):
        xp = xp_of(grad)
        zero = xp.zeros((), grad.dtype)
        ga = gb = None
        if self.next_functions[1][0] is not None:
            ga = Binary.reduce(self, xp.where(self.condition, grad, zero), self.a_meta)
        if self.next_functions[2][0] is not None:
            gb = Binary.reduce(self, xp.where(self.condition, zero, grad), self.b_meta)
        return (None, ga, gb)


def where(condition, input=None, other=None):
    if input is None and other is None:
        from .index import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        raise TypeError("where(): argument 'condition' must be Tensor")
    if condition._data.dtype.kind != "b":
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{condition.dtype._legacy[:-6]}")
    dt = dtypes.result_type(input, other).np
    args = []
    for x in (input, other):
        if isinstance(x, Tensor):
            if x._data.dtype != dt:
                x = x.to(dtypes.from_numpy(dt))
            args.append(x)
        else:
            args.append(x)
    broadcast_shapes(*(x._data.shape for x in (condition, input, other) if isinstance(x, Tensor)))
    return apply(Where, condition, args[0], args[1], dtype=dt)
