"""Comparisons, logical and bitwise ops, NaN tests and `where`: results that are masks (or
select by one). Not differentiable, except `where` through the values it selects."""
import builtins
from typing import Any

from .. import dtypes
from ..tensor import Tensor
from .arithmetic import Binary, binary
from .dispatch import Op, apply, op
from .index import nonzero
from .public import public, unary_function
from .unary import Unary
from .util import broadcast_shapes, meta_of, reduced, xp_of


class _Compare(Binary):
    differentiable = False


def _compare(name, ufunc, **variants):
    cls = type(name.capitalize(), (_Compare,), {"compute": lambda self, a, b: getattr(xp_of(a), ufunc)(a, b)})
    cls = op(name, category="comparison", differentiable=False)(cls)

    def compare(input: Tensor, other) -> Tensor:
        if other is None:  # `x == None` is False, as for any Python object
            return cls is Ne  # type: ignore[return-value]
        return binary(cls, input, other)
    compare.__name__ = compare.__qualname__ = name
    public(compare, method=True, operators=(f"__{name}__",), **variants)
    return cls


Eq = _compare("eq", "equal")
Ne = _compare("ne", "not_equal", aliases=("not_equal",))
Lt = _compare("lt", "less", aliases=("less",))
Le = _compare("le", "less_equal", aliases=("less_equal",))
Gt = _compare("gt", "greater", aliases=("greater",))
Ge = _compare("ge", "greater_equal", aliases=("greater_equal",))
# `number < tensor` runs as `tensor > number`
Eq.reflected, Ne.reflected, Lt.reflected, Gt.reflected, Le.reflected, Ge.reflected = Eq, Ne, Gt, Lt, Ge, Le


@public(method=True)
def equal(input: Tensor, other: Tensor) -> bool:
    return input.shape == other.shape and bool((input == other).all())


@public(method=True)
def allclose(input: Tensor, other: Tensor, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


@public(method=True)
def isclose(input: Tensor, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    a, b = input.detach(), other.detach() if isinstance(other, Tensor) else other
    close = (a - b).abs() <= atol + rtol * (b.abs() if isinstance(b, Tensor) else builtins.abs(b))
    if equal_nan:
        close = close | (a.isnan() & (b.isnan() if isinstance(b, Tensor) else False))
    return close


# ---- bitwise and logical ----------------------------------------------------------------------

def _bitwise(name, operator):
    def compute(self, a, b):
        if a.dtype.kind == "f":
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{dtypes.from_numpy(a.dtype)._legacy[:-6]}'")
        return getattr(xp_of(a), name)(a, b)
    cls = op(name, category="comparison", differentiable=False)(type(name, (_Compare,), {"compute": compute}))
    cls.reflected = cls

    def bitwise(input: Tensor, other) -> Tensor:
        return binary(cls, input, other)
    bitwise.__name__ = bitwise.__qualname__ = name
    public(bitwise, method=True, operators=(f"__{operator}__", f"__r{operator}__", f"__i{operator}__"))
    return cls


BitwiseAnd = _bitwise("bitwise_and", "and")
BitwiseOr = _bitwise("bitwise_or", "or")
BitwiseXor = _bitwise("bitwise_xor", "xor")


def _logical(name, cls):
    """logical_and and co.: the bitwise op on the operands as bools."""
    def logical(input: Tensor, other) -> Tensor:
        return binary(cls, input.bool(), other.bool() if isinstance(other, Tensor) else bool(other))
    logical.__name__ = logical.__qualname__ = name
    return public(logical, method=True)


_logical("logical_and", BitwiseAnd)
_logical("logical_or", BitwiseOr)
_logical("logical_xor", BitwiseXor)


class _Test(Unary):
    """An elementwise test or mask op of one tensor, in its own dtype."""
    promote_int = False


@op("logical_not", category="comparison", differentiable=False)
class LogicalNot(_Test):
    def compute(self, xp, x):
        return xp.logical_not(x)


@op("bitwise_not", category="comparison", differentiable=False)
class BitwiseNot(_Test):
    def compute(self, xp, x):
        if x.dtype.kind == "f":
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        return xp.invert(x)


@op("isnan", category="comparison", differentiable=False)
class IsNan(_Test):
    def compute(self, xp, x):
        return xp.isnan(x)


@op("isinf", category="comparison", differentiable=False)
class IsInf(_Test):
    def compute(self, xp, x):
        return xp.isinf(x)


@op("isfinite", category="comparison", differentiable=False)
class IsFinite(_Test):
    def compute(self, xp, x):
        return xp.isfinite(x)


unary_function(LogicalNot, "logical_not", method=True)
unary_function(BitwiseNot, "bitwise_not", method=True, operators=("__invert__",))
unary_function(IsNan, "isnan", method=True)
unary_function(IsInf, "isinf", method=True)
unary_function(IsFinite, "isfinite", method=True)


@op("where", "WhereBackward0", category="comparison")
class Where(Op):
    saves = {"condition": "other"}

    def forward(self, condition, a, b, dtype):
        xp = xp_of(condition)
        self.condition = condition
        self.a_meta, self.b_meta = meta_of(a), meta_of(b)
        return xp.where(condition, a, b).astype(dtype, copy=False)

    def backward(self, grad):
        xp = xp_of(grad)
        zero = xp.zeros((), grad.dtype)
        ga = gb = None
        if self.next_functions[1][0] is not None:
            ga = reduced(xp.where(self.condition, grad, zero), self.a_meta)
        if self.next_functions[2][0] is not None:
            gb = reduced(xp.where(self.condition, zero, grad), self.b_meta)
        return (None, ga, gb)


@public(method=lambda self, condition, other: where(condition, self, other))  # pyright: ignore[reportGeneralTypeIssues]
def where(condition, input=None, other=None) -> Any:  # (where(condition) is a tuple, as nonzero)
    if input is None and other is None:
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
