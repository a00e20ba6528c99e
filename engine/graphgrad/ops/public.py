"""The public face of an op: `graphgrad.<name>`, `Tensor.<name>`, `x.<name>_()` and operators.

Each public function is declared once, with its variants, by `@public(...)` where it is written
(beside its op class); ops/__init__.py then exports every declared function and attaches the
variants to Tensor (`attach_to_tensor`). Nothing else lists op names."""
from ..tensor import Tensor
from .dispatch import apply, apply_binary
from .inplace import write_inplace

PUBLIC = {}   # public name (aliases too) -> function: what `graphgrad.<name>` is

# binary operators: `__add__` calls the function, `__radd__` swaps its operands, `__iadd__` writes in place
_BINARY_OPERATORS = {"add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor"}


class Variants:
    """Where one public function shows up besides `graphgrad.<name>`.

    method: True for `Tensor.<name>` (the tensor is the first argument), or a function of its own
        where the method's arguments differ (`x.where(condition, other)`).
    inplace: True for `x.<name>_(...)`: computed out of place, then written into x (ops/inplace.py).
    aliases: other names for the same function; each gets the same variants (`clip`, `clip_`).
    operators: Tensor's dunder methods for it: `__add__` (called as is), `__radd__` (operands
        swapped), `__iadd__` (in place).
    same_dtype_op: the op class an operator applies straight away when both operands are
        tensors of one float dtype (the common case), skipping promotion: through
        dispatch.apply_binary, which calls its forward(a, b, dtype) by position.
    function: False for a method that is not also `graphgrad.<name>`."""

    def __init__(self, name, method=False, inplace=False, aliases=(), operators=(), same_dtype_op=None,
                 function=True):
        self.name, self.method, self.inplace, self.aliases = name, method, inplace, tuple(aliases)
        self.operators, self.same_dtype_op, self.function = tuple(operators), same_dtype_op, function

    def names(self):
        return (self.name,) + self.aliases

    def tensor_attributes(self):
        """Every Tensor attribute these variants define."""
        out = []
        for name in self.names():
            if self.method:
                out.append(name)
            if self.inplace:
                out.append(name + "_")
        return out + list(self.operators)


def public(fn=None, **variants):
    """Declare a public op function and its variants (see Variants); `@public` alone: a function only."""
    def declare(fn):
        fn.variants = Variants(fn.__name__, **variants)
        if fn.variants.function:
            for name in fn.variants.names():
                PUBLIC[name] = fn
        _DECLARED.append(fn)
        return fn
    return declare(fn) if fn is not None else declare


_DECLARED = []   # every declared function, functions and method-only ones alike


def unary_function(cls, name, **variants):
    """The public function of an op that takes one tensor and no arguments: apply(cls, input)."""
    def fn(input: Tensor) -> Tensor:
        return apply(cls, input)
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = cls.__module__
    return public(fn, **variants)


def declared():
    return list(_DECLARED)


def attach_to_tensor():
    """Every declared method, in-place form and operator, set on Tensor."""
    for fn in _DECLARED:
        v = fn.variants
        method = fn if v.method is True else v.method
        for name in v.names():
            if method:
                setattr(Tensor, name, method)
            if v.inplace:
                setattr(Tensor, name + "_", _inplace(fn, name + "_"))
        for name in v.operators:
            setattr(Tensor, name, _operator(fn, name, v.same_dtype_op))


def _inplace(fn, name):
    def method(self, *args, **kwargs):
        return write_inplace(self, fn, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place form of `{fn.__name__}`: the result is written into the tensor."
    return method


def _operator(fn, name, same_dtype_op):
    kind = name[2:-2]
    if kind[0] == "i" and kind[1:] in _BINARY_OPERATORS:
        return _inplace(fn, name)
    if kind[0] == "r" and kind[1:] in _BINARY_OPERATORS:
        return lambda self, other: fn(other, self)
    if same_dtype_op is not None:
        return _same_dtype_operator(same_dtype_op, fn)
    return fn


def _same_dtype_operator(cls, full):
    """`a + b` and co.: two tensors of one float dtype (the common case) go straight to dispatch;
    anything else (numbers, promotion, bool and integer rules) through the full function."""
    def operator(self, other):
        if isinstance(other, Tensor):
            dt = self._data.dtype
            if dt == other._data.dtype and dt.kind == "f":
                return apply_binary(cls, self, other, dt)
        return full(self, other)
    return operator
