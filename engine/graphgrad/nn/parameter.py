"""nn.Parameter: a Tensor that a Module registers as a parameter (a leaf that requires grad by
default), and nn.Buffer: a marked Tensor a Module registers as a buffer when assigned."""
from ..creation import empty
from ..tensor import Tensor


class Parameter(Tensor):
    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = empty(0)
        if requires_grad and data._data.dtype.kind not in "fV":  # (bfloat16's kind is "V")
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t = object.__new__(cls)
        t._init_from(data._data, bool(requires_grad))
        t._vbox = data._vbox  # same memory as data, as torch's Parameter(t) shares t's storage
        return t

    def __init__(self, data=None, requires_grad=True):
        pass  # everything happened in __new__

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __str__(self) -> str:
        return self.__repr__()


class _BufferMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and getattr(obj, "_is_buffer", False)


class Buffer(metaclass=_BufferMeta):
    """`module.name = nn.Buffer(t)` registers t as a buffer; like torch's, it is a plain Tensor
    (detached from t's history, sharing its memory) marked to be taken as one."""

    def __new__(cls, data=None, *, persistent=True):
        t = (data if data is not None else empty(0)).detach()
        t._is_buffer, t._buffer_persistent = True, persistent
        return t
