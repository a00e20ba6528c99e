"""Small helpers shared by the op definitions."""
import contextlib
import math
import operator
import warnings
from typing import Any

import numpy as np

from .. import dtypes
from ..tensor import Tensor, wrap_dim as wrap_dim  # (wrap_dim lives beside Tensor, which needs it below ops)
from .dispatch import op

# log(0) is -inf, 0/0 is nan, as in PyTorch: no NumPy warnings. One filter silences NumPy's
# floating-point RuntimeWarnings raised from graphgrad's own code (an np.errstate around each op
# cost about a microsecond per op).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"graphgrad\.")


def quiet_math(xp):
    """NumPy's floating-point warnings off around a call into NumPy's own Python code (np.mean,
    np.var), which the filter above does not reach (the warning is NumPy's); CuPy warns of none."""
    return np.errstate(all="ignore") if xp is np else contextlib.nullcontext()


def xp_of(array) -> Any:  # (the module: numpy, cupy, or a graph array's namespace)
    """numpy or cupy, whichever owns the array (NumPy's 0-d results are NumPy scalars)."""
    if type(array) is np.ndarray or isinstance(array, np.generic):
        return np
    if hasattr(array, "tensor"):  # a GraphArray: a backward formula running with create_graph=True
        return array.__array_namespace__()
    import cupy  # (optional: only on a GPU)
    return cupy


def has_nonfinite(array):
    """Whether a float array holds a NaN or an Inf: one cheap dot product first (finite for
    almost every array), the exact elementwise check only when it is not."""
    if array is None or getattr(array, "dtype", None) is None or array.dtype.kind != "f" or array.size == 0:
        return False
    flat = array.reshape(-1)
    if math.isfinite(float(flat @ flat)):  # NaN and Inf survive squaring and summing
        return False
    return not bool(xp_of(array).isfinite(array).all())  # or the squares only overflowed


def nonfinite_kind(array):
    """"nan", "inf" or None for one array (cheap when finite: one dot product)."""
    if not has_nonfinite(array):
        return None
    return "nan" if bool(xp_of(array).isnan(array).any()) else "inf"


def sum_to(grad, shape):
    """Undo broadcasting: sum grad down to `shape`."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead == 1 and grad.shape[1:] == shape:  # one leading dim added (a bias over a batch): one sum
        return grad.sum(axis=0)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and grad.shape[i + lead] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def reduced(grad, meta):
    """grad summed back to an operand's (shape, dtype) `meta` (undoing broadcasting) and cast to its dtype."""
    shape, dtype = meta
    if grad.shape != shape:
        grad = sum_to(grad, shape)
    return grad if grad.dtype == dtype else grad.astype(dtype)


NUMBER_META = ((), None)  # a Python number's (shape, dtype): its gradient is never asked for


def meta_of(x):
    """(shape, dtype) of an array operand, for `reduced`."""
    return (x.shape, x.dtype) if hasattr(x, "shape") else NUMBER_META


def expand_to(grad, shape):
    """A reduced gradient spread back over `shape`. Small CPU ones are filled in (NumPy's
    broadcast_to spends microseconds in Python, more than filling 4096 numbers); others are a
    view, as torch's expand is."""
    xp = xp_of(grad)
    if xp is np and math.prod(shape) <= 4096:
        out = xp.empty(shape, grad.dtype)
        out[...] = grad
        return out
    return xp.broadcast_to(grad, shape)


def wrap_dims(dim, ndim):
    """dim as int, tuple, list or None -> sorted tuple of non-negative axes (None -> all)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        return (wrap_dim(int(dim), ndim),)
    dims = tuple(wrap_dim(int(d), ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    return tuple(sorted(dims))


def as_tensor_arg(x, like=None):
    """Python numbers and lists given where a tensor is expected become tensors."""
    if isinstance(x, Tensor):
        return x
    from ..creation import tensor  # (creation builds on ops: shape_arg here, the device move in convert)
    return tensor(x, device=like.device if like is not None else None)


def check_broadcast(a_shape, b_shape):
    """PyTorch's error for shapes that do not broadcast."""
    for i in range(1, min(len(a_shape), len(b_shape)) + 1):
        x, y = a_shape[-i], b_shape[-i]
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                               f"non-singleton dimension {max(len(a_shape), len(b_shape)) - i}")


def broadcast_shapes(*shapes):
    """The shape shapes broadcast to, with PyTorch's error for the first pair that does not."""
    out = shapes[0]
    for s in shapes[1:]:
        check_broadcast(out, s)
        out = np.broadcast_shapes(out, s)   # shapes are host tuples, whatever the device
    return out


def int_sizes(size, name, arg="size"):
    """zeros(2, 3), zeros((2, 3)), zeros([2, 3]) and zeros(Size) all mean (2, 3). Only integers
    count (NumPy's and one-element integer tensors too): a float or bool size is refused with
    PyTorch's TypeError rather than truncated."""
    listed = len(size) == 1 and isinstance(size[0], (tuple, list))
    if listed:
        size = size[0]
    if all(type(s) is int for s in size):
        return tuple(size)
    return tuple(s if type(s) is int else _size_int(s, pos, listed or len(size) > 1, name, arg)
                 for pos, s in enumerate(size))


def _size_int(s, pos, in_sequence, name, arg):
    if not isinstance(s, (bool, np.bool_)):
        try:
            return operator.index(s)
        except TypeError:
            pass
    kind = type(s).__name__ if type(s).__module__ != "numpy" else "numpy." + type(s).__name__
    if pos:
        raise TypeError(f"{name}(): argument '{arg}' failed to unpack the object at pos {pos + 1} with error "
                        f"\"type must be tuple of ints,but got {kind}\"")
    found = f"but found element of type {kind} at pos 0" if in_sequence else f"not {kind}"
    raise TypeError(f"{name}(): argument '{arg}' (position 1) must be tuple of ints, {found}")


def shape_arg(size, name="empty", arg="size"):
    """The shape of a new tensor: int_sizes, none negative."""
    shape = int_sizes(size, name, arg)
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")
    return shape


def variant(cls, name, grad_fn):
    """The same op registered again under another grad_fn name: PyTorch records one computation
    as different nodes depending on its arguments (x[0] SelectBackward0, x[1:] SliceBackward0)."""
    return op(name, grad_fn, category=cls.category)(type(grad_fn, (cls,), {}))


def legacy_name(np_dtype):
    return {"f": "Float", "d": "Double", "e": "Half", "q": "Long", "l": "Long", "i": "Int", "h": "Short",
            "b": "Char", "B": "Byte", "?": "Bool"}.get(np.dtype(np_dtype).char, str(np_dtype))


def c10_name(np_dtype):
    """The C++ type name PyTorch's kernels print ("long int" for int64)."""
    return {"?": "bool", "B": "unsigned char", "b": "signed char", "h": "short int", "i": "int", "l": "long int",
            "q": "long int", "e": "c10::Half", "f": "float", "d": "double"}.get(np.dtype(np_dtype).char, str(np_dtype))


def dtype_of(x):
    return x.dtype if isinstance(x, Tensor) else dtypes.scalar_dtype(x)
