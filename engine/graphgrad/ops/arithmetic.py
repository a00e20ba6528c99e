"""Arithmetic on two (or three) operands with broadcasting and PyTorch's type promotion:
add, sub, mul, div, pow, remainder, maximum, atan2, lerp, addcmul... Each op: forward on arrays,
backward beside it, and its public function below it."""
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from .dispatch import Op, apply, op
from .public import public
from .unary import Reciprocal
from .util import NUMBER_META, as_tensor_arg, broadcast_shapes, check_broadcast, meta_of, reduced, variant, xp_of


# ---- binary arithmetic --------------------------------------------------------------------

class Binary(Op):
    """Two operands, broadcast and promoted to a common dtype; grads are summed back to each
    operand's shape and cast back to its dtype."""
    # the variant PyTorch records when b is a Python number (then an attribute)
    with_scalar: "type[Binary] | None" = None
    # the op that computes `number op tensor` as `tensor op' number` (2 * t as t * 2)
    reflected: "type[Binary] | None" = None
    # PyTorch's own op for `number op tensor`, with the number as an attribute (2 - t)
    scalar_first: "type[Op] | None" = None
    bool_kernel = None   # PyTorch's kernel name where it has no bool kernel (the error names it)
    compute: Callable[..., Any]  # (a, b) -> the result: each op defines it

    def forward(self, a, b: Any = None, dtype: Any = None, other: Any = None):
        if b is None:    # a Python number given as an attribute: the node has one input
            b = other
        if self.bool_kernel and dtype == np.bool_:
            raise NotImplementedError(f"\"{self.bool_kernel}\" not implemented for 'Bool'")
        a_dtype = a.dtype
        self.a_meta = (a.shape, a_dtype)
        if a_dtype != dtype:
            a = a.astype(dtype)
        if type(b) is float or type(b) is int or type(b) is bool:
            self.b_meta = NUMBER_META
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

    def needs(self, i):
        """Whether input i takes a gradient (it is a tensor that requires one)."""
        nf = self.next_functions
        return i < len(nf) and nf[i][0] is not None

    def grads(self, ga, gb):
        """Each operand's gradient (None where it takes none), back to its shape and dtype.
        Spelled out without helper calls: it runs for every binary node of every backward."""
        nf = self.next_functions
        ga = None if ga is None or nf[0][0] is None else reduced(ga, self.a_meta)
        if len(nf) == 1:
            return (ga,)
        return ga, None if gb is None or nf[1][0] is None else reduced(gb, self.b_meta)


def _unless_number(a, b):
    """a, kept for b's gradient only when b is a tensor: `x * 2` saves no x, as in PyTorch."""
    return None if type(b) in (int, float, bool) else a


@op("add", "AddBackward0", category="arithmetic")
class Add(Binary):
    def compute(self, a, b):
        return a + b

    def backward(self, grad):
        return self.grads(grad, grad)


@public(method=True, inplace=True, operators=("__add__", "__radd__", "__iadd__"), same_dtype_op=Add)
def add(input: Tensor, other, *, alpha=1) -> Tensor:
    return binary(Add, input, other if alpha == 1 else other * alpha)


@op("sub", "SubBackward0", category="arithmetic")
class Sub(Binary):
    def compute(self, a, b):
        return a - b

    def backward(self, grad):
        return self.grads(grad, -grad)


@public(method=True, inplace=True, aliases=("subtract",), operators=("__sub__", "__rsub__", "__isub__"),
        same_dtype_op=Sub)
def sub(input: Tensor, other, *, alpha=1) -> Tensor:
    if _is_bool(input) or _is_bool(other):
        if _is_bool(input) and _is_bool(other):
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
                               "or `logical_xor()` operator instead.")
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")
    return binary(Sub, input, other if alpha == 1 else other * alpha)


def _is_bool(x):
    return type(x) is bool or (isinstance(x, Tensor) and x._data.dtype.kind == "b")


@public
def rsub(input: Tensor, other, alpha=1) -> Tensor:
    return sub(other, input, alpha=alpha)


@op("mul", "MulBackward0", category="arithmetic")
class Mul(Binary):
    saves = {"a": "input 0, for input 1", "b": "input 1, for input 0"}

    def compute(self, a, b):
        self.a, self.b = _unless_number(a, b), b
        return a * b

    def backward(self, grad):
        gb = grad * self.a if self.next_functions[1][0] is not None else None
        return self.grads(grad * self.b, gb)


@public(method=True, inplace=True, aliases=("multiply",), operators=("__mul__", "__rmul__", "__imul__"),
        same_dtype_op=Mul)
def mul(input: Tensor, other) -> Tensor:
    return binary(Mul, input, other)


@op("div", "DivBackward0", category="arithmetic")
class Div(Binary):
    saves = {"a": "input 0, for input 1", "b": "input 1"}

    def compute(self, a, b):
        self.a, self.b = _unless_number(a, b), b
        return a / b

    def backward(self, grad):
        ga = grad / self.b
        gb = -grad * self.a / (self.b * self.b) if self.next_functions[1][0] is not None else None
        return self.grads(ga, gb)


@public(method=True, inplace=True, aliases=("divide", "true_divide"),
        operators=("__truediv__", "__rtruediv__", "__itruediv__"), same_dtype_op=Div)
def div(input: Tensor, other, *, rounding_mode=None) -> Tensor:
    if rounding_mode is None:
        return binary(Div, input, other, true_divide=True)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")
    return binary(DivRounding, input, other, mode=rounding_mode)


@op("pow", "PowBackward1", category="arithmetic")
class Pow(Binary):
    """tensor ** tensor"""
    bool_kernel = "pow"
    saves = {"a": "input 0", "b": "input 1", "out": "output"}

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


@op("maximum", "MaximumBackward0", category="arithmetic")
class Maximum(Binary):
    saves = {"a": "input 0", "b": "input 1"}

    def compute(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).maximum(a, b)

    def backward(self, grad):
        return self.grads(*_split_ties(grad, self.a, self.b))


@public(method=True)
def maximum(input: Tensor, other) -> Tensor:
    return binary(Maximum, input, other)


@op("minimum", "MinimumBackward0", category="arithmetic")
class Minimum(Binary):
    saves = {"a": "input 0", "b": "input 1"}

    def compute(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).minimum(a, b)

    def backward(self, grad):
        return self.grads(*_split_ties(grad, self.b, self.a))


@public(method=True)
def minimum(input: Tensor, other) -> Tensor:
    return binary(Minimum, input, other)


def _split_ties(grad, winner, loser):
    """The gradient goes to the larger (winner) side, half to each where they tie."""
    xp = xp_of(grad)
    half = xp.where(winner == loser, grad / 2, grad)
    return xp.where(winner < loser, 0, half), xp.where(winner > loser, 0, half)


@op("remainder", "RemainderBackward1", category="arithmetic")
class Remainder(Binary):
    """a - floor(a / b) * b, the sign of b (Python's %); b's gradient is -floor(a / b)."""
    # a and b reach the gradient only through floor(a / b), a step function
    saves = {"a": "constant", "b": "constant"}
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


@op("fmod", "FmodBackward1", category="arithmetic")
class Fmod(Remainder):
    """a - trunc(a / b) * b, the sign of a (C's fmod)."""
    bool_kernel = "fmod_cpu"
    fn = staticmethod(lambda xp, a, b: xp.fmod(a, b))
    quotient = staticmethod(lambda xp, a, b: xp.trunc(a / b))


# with a Python number for b, PyTorch records another node (the number is no input)
Remainder.with_scalar = variant(Remainder, "remainder_scalar", "RemainderBackward0")
Fmod.with_scalar = variant(Fmod, "fmod_scalar", "FmodBackward0")


@public(method=True, inplace=True, operators=("__mod__", "__rmod__", "__imod__"))
def remainder(input: Tensor, other) -> Tensor:
    return binary(Remainder, input, other)


@public(method=True, inplace=True)
def fmod(input: Tensor, other) -> Tensor:
    return binary(Fmod, input, other)


class _FloatBinary(Binary):
    """Binary ops that compute in floating point (integer operands are promoted, as in torch)."""
    saves = {"a": "input 0", "b": "input 1"}
    fn: Callable[..., Any]           # (xp, a, b) -> the result
    derivatives: Callable[..., Any]  # (xp, grad, a, b) -> (grad of a, grad of b)

    def compute(self, a, b):
        self.a, self.b = a, b
        return self.fn(xp_of(a), a, b)

    def backward(self, grad):
        return self.grads(*self.derivatives(xp_of(grad), grad, self.a, self.b))


@op("atan2", "Atan2Backward0", category="arithmetic")
class Atan2(_FloatBinary):
    fn = staticmethod(lambda xp, a, b: xp.arctan2(a, b))

    @staticmethod
    def derivatives(xp, g, a, b):
        r = a * a + b * b
        return g * b / r, -g * a / r


@op("logaddexp", "LogaddexpBackward0", category="arithmetic")
class LogAddExp(_FloatBinary):
    fn = staticmethod(lambda xp, a, b: xp.logaddexp(a, b))

    @staticmethod
    def derivatives(xp, g, a, b):
        return g / (1 + xp.exp(b - a)), g / (1 + xp.exp(a - b))


@op("xlogy", "XlogyBackward0", category="arithmetic")
class Xlogy(_FloatBinary):
    """a * log(b), and 0 where a is 0 (unless b is nan)."""
    fn = staticmethod(lambda xp, a, b: xp.where((a == 0) & ~xp.isnan(b), 0, a * xp.log(b)))

    @staticmethod
    def derivatives(xp, g, a, b):
        return g * xp.log(b), g * a / b


@op("lerp", "LerpBackward0", category="arithmetic")
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
    compute: Callable[..., Any]  # (a, b, c) -> the result: each op defines it

    def forward(self, a, b, c, dtype, value=1):
        self.metas = [meta_of(v) for v in (a, b, c)]
        self.value = value
        return self.compute(*(v.astype(dtype, copy=False) for v in (a, b, c)))

    def grads(self, *grads):
        return tuple(None if g is None or nxt is None else reduced(g, meta)
                     for g, meta, (nxt, _) in zip(grads, self.metas, self.next_functions))


@op("lerp_tensor", "LerpBackward1", category="arithmetic")
class LerpTensor(Ternary):
    saves = {"a": "input 0", "b": "input 1", "w": "input 2"}

    def compute(self, a, b, w):
        self.a, self.b, self.w = a, b, w
        return xp_of(a).where(abs(w) < 0.5, a + w * (b - a), b - (b - a) * (1 - w))

    def backward(self, grad):
        return self.grads(grad * (1 - self.w), grad * self.w, grad * (self.b - self.a))


@op("addcmul", "AddcmulBackward0", category="arithmetic")
class Addcmul(Ternary):
    """input + value * t1 * t2"""
    saves = {"t1": "input 1", "t2": "input 2"}

    def compute(self, x, t1, t2):
        self.t1, self.t2 = t1, t2
        return x + self.value * t1 * t2

    def backward(self, grad):
        v = self.value
        return self.grads(grad, grad * v * self.t2, grad * v * self.t1)


@op("addcdiv", "AddcdivBackward0", category="arithmetic")
class Addcdiv(Ternary):
    """input + value * t1 / t2"""
    saves = {"t1": "input 1", "t2": "input 2"}

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


@public(method=True, inplace=True, aliases=("arctan2",))
def atan2(input: Tensor, other) -> Tensor:
    return binary(Atan2, input, other, true_divide=True)


@public(method=True, inplace=True)
def logaddexp(input: Tensor, other) -> Tensor:
    return binary(LogAddExp, input, other, true_divide=True)


@public(method=True, inplace=True)
def xlogy(input: Tensor, other) -> Tensor:
    return binary(Xlogy, input, other, true_divide=True)


@public(method=True, inplace=True)
def lerp(input: Tensor, end, weight) -> Tensor:
    if isinstance(weight, Tensor):
        return _ternary(LerpTensor, input, end, weight)
    return binary(Lerp, input, end, weight=weight)


@public(method=True, inplace=True)
def addcmul(input: Tensor, tensor1, tensor2, *, value=1) -> Tensor:
    return _ternary(Addcmul, input, tensor1, tensor2, value=value)


@public(method=True, inplace=True)
def addcdiv(input: Tensor, tensor1, tensor2, *, value=1) -> Tensor:
    if not any(t._data.dtype.kind in "fV" for t in (tensor1, tensor2)):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release addcdiv "
                           "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
                           "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
                           "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
                           "addcdiv behavior is just the latter implementation: (input + value * tensor1 / tensor2), "
                           "for all dtypes.")
    return _ternary(Addcdiv, input, tensor1, tensor2, value=value)


@op("floor_divide", category="arithmetic", differentiable=False)
class FloorDivide(Binary):
    bool_kernel = "div_floor_cpu"

    def compute(self, a, b):
        return _floor_divide(xp_of(a), a, b)


@public(method=True, inplace=True, operators=("__floordiv__", "__rfloordiv__", "__ifloordiv__"))
def floor_divide(input: Tensor, other) -> Tensor:
    return binary(FloorDivide, input, other)


def _floor_divide(xp, a, b):
    _check_int_divisor(a, b)
    return xp.floor_divide(a, b)


def _check_int_divisor(a, b):
    """Integer division by zero: PyTorch's error, where NumPy silently gives 0."""
    if a.dtype.kind in "iu" and (b == 0 if type(b) in (int, bool) else
                                 type(b) is not float and b.dtype.kind in "iub" and bool((b == 0).any())):
        raise RuntimeError("ZeroDivisionError")


@op("div_rounding", "DivBackward2", category="arithmetic")
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
        if cls.reflected is not None:
            return binary(cls.reflected, b, a, true_divide, **attrs)
        return _scalar_first(cls, a, b, true_divide)
    else:
        raise TypeError(f"{cls.op_name}(): expected at least one Tensor argument")
    if true_divide and dt.kind not in "fV":  # (bfloat16's kind is "V")
        dt = dtypes.get_default_dtype().np
    if attrs:
        return apply(cls, a, b, dtype=dt, **attrs)
    return apply(cls, a, b, dtype=dt)


# ops whose operands commute, so `2 * t` runs as `t * 2` (comparison.py adds its own)
Add.reflected, Mul.reflected, Maximum.reflected, Minimum.reflected = Add, Mul, Maximum, Minimum


def _operand(x, like):
    """Something other than a tensor or a Python number: numpy scalars and arrays, lists."""
    if isinstance(x, (np.generic,)):
        return x.item()
    if x is None:
        raise TypeError("unsupported operand type: 'NoneType'")
    return as_tensor_arg(x, like)


def _scalar_first(cls, a, b, true_divide):
    """number - tensor, number / tensor, number ** tensor: the number as a 0-d constant."""
    dt = dtypes.result_type(a, b)
    if true_divide and not dt.is_floating_point:
        dt = dtypes.get_default_dtype()
    if cls is Div:  # as PyTorch computes it (and records it): reciprocal, then a product
        return binary(Mul, apply(Reciprocal, b), a)
    if cls.scalar_first is not None:  # ops of their own in PyTorch, with the number as an attribute
        return apply(cls.scalar_first, b, dtype=dt.np, other=a)
    constant = xp_of(b._data).asarray(a, dtype=dt.np)
    return apply(cls, constant, b, dtype=dt.np)


@op("rsub", "RsubBackward1", category="arithmetic")
class Rsub(Binary):
    """number - tensor"""

    def compute(self, a, b):
        return b - a

    def backward(self, grad):
        return self.grads(-grad, None)


@op("rpow", "PowBackward2", category="arithmetic")
class RPow(Binary):
    """number ** tensor"""
    bool_kernel = "pow"
    saves = {"out": "output"}

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


Sub.scalar_first, Pow.scalar_first = Rsub, RPow


@op("pow_scalar", "PowBackward0", category="arithmetic")
class PowScalar(Op):
    """tensor ** number"""
    saves = {"x": "input 0"}

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


@public(method=True, inplace=True, operators=("__pow__", "__rpow__", "__ipow__"))
def pow(x, exponent) -> Tensor:
    if isinstance(x, Tensor) and type(exponent) in (int, float, bool):
        return apply(PowScalar, x, exponent=exponent)
    return binary(Pow, x, exponent)


@public(method=True, inplace=True)
def square(input: Tensor) -> Tensor:
    return pow(input, 2)
