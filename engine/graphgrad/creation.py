"""Creating tensors: from data (tensor, as_tensor, from_numpy), filled (zeros, ones, full,
empty, eye, arange, linspace) and random (rand, randn, randint, randperm, normal)."""
import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from . import cuda, defaults, dtypes
from .device import CPU, DeviceLike, as_device
from .ops.convert import _move
from .ops.util import shape_arg
from .random import Generator, get_generator
from .tensor import Tensor


def _finish(array, device, requires_grad):
    """Put a host array on its device and set requires_grad, checking it is allowed."""
    device = as_device(device if device is not None else defaults.device)
    if device is not CPU:
        cuda._require()
        array = _move(array, device)
    t = Tensor._wrap(array)
    if requires_grad:
        if array.dtype.kind not in "fV":  # (bfloat16's kind is "V")
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t.requires_grad = True
    return t


def _infer_dtype(array):
    kind = array.dtype.kind
    if kind == "f":
        return dtypes.get_default_dtype().np
    if kind in "iu":
        return np.int64
    if kind == "b":
        return np.bool_
    raise TypeError(f"Could not infer dtype of {array.dtype}")


_INT64 = np.iinfo(np.int64)


def _from_data(data, target=None):
    """Python data -> (a NumPy array, the dtype PyTorch would give it). Python numbers are checked
    against the dtype they end up in (`target`, else the inferred one): PyTorch refuses what does
    not fit rather than wrapping around."""
    if isinstance(data, Tensor):
        array = data._data if type(data._data) is np.ndarray else data._data.get()
        return array, array.dtype
    if isinstance(data, np.ndarray):  # arrays convert as .to() does: wrapping, as torch
        return data, dtypes.from_numpy(data.dtype).np
    if isinstance(data, np.generic):
        array = np.asarray(data)
        inferred = dtypes.from_numpy(array.dtype).np
        _check_fits(array, np.dtype(target or inferred))
        return array, inferred
    data = _unwrap(data)
    try:
        array = np.array(data)
    except ValueError:
        _check_lengths(data, _first_shape(data))
        raise
    if array.dtype == object:
        array = _from_objects(array, target)
    if array.dtype.kind in "US":  # torch reads a leading string as a sequence of characters
        leading = data[0] if isinstance(data, (list, tuple)) and data else data
        raise ValueError("too many dimensions 'str'") if isinstance(leading, str) and leading is not data \
            else TypeError("new(): invalid data type 'str'")
    inferred = _infer_dtype(array)
    _check_fits(array, np.dtype(target or inferred))
    return array, inferred


def _from_objects(array, target):
    """NumPy keeps what it cannot type as objects: None, strings mixed in, ints beyond 64 bits.
    PyTorch names the first one it cannot read; ints beyond int64 are read as floats only
    into a floating dtype."""
    items = array.ravel().tolist()
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise RuntimeError(f"Could not infer dtype of {type(item).__name__}")
    if target is not None and np.dtype(target).kind == "f":
        return np.array(items, dtype=np.float64).reshape(array.shape)
    raise ValueError("Overflow when unpacking long long")


def _check_fits(array, target, type_name=None):
    """PyTorch's refusal of Python numbers an integer dtype cannot hold (c10::overflows: a float
    must lie within the type's range; an int may also be a negative down to -max of an unsigned
    type, which wraps as two's complement)."""
    if target.kind not in "iu" or array.dtype == target or array.size == 0 or array.dtype.kind not in "iufO" \
            or np.can_cast(array.dtype, target):
        return  # (an int64 list into int64: nothing to look at)
    overflow = RuntimeError(f"value cannot be converted to type {type_name or target.name} without overflow")
    info = np.iinfo(target)
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or float(array.min()) < info.min or float(array.max()) > info.max:
            raise overflow
        return
    low, high = int(array.min()), int(array.max())
    if array.dtype.kind == "O":  # beyond both int64 and uint64 (what torch's full and tensor say)
        if type_name is None:
            raise ValueError("Overflow when unpacking long long")
        raise OverflowError("can't convert negative int to unsigned" if low < 0 else "int too big to convert")
    if high > _INT64.max and type_name is None:  # Python ints are read as C long long first
        raise ValueError("Overflow when unpacking long long")
    if low < (-info.max if target.kind == "u" else info.min) or high > info.max:
        raise overflow


def _first_shape(data):
    """The shape nested lists claim along their first elements (how PyTorch reads them)."""
    shape = []
    while isinstance(data, (list, tuple)):
        shape.append(len(data))
        if not data:
            break
        data = data[0]
    return shape


def _check_lengths(data, shape, dim=0):
    """PyTorch's error for ragged nested lists: the first sequence whose length is off."""
    if len(data) != shape[dim]:
        raise ValueError(f"expected sequence of length {shape[dim]} at dim {dim} (got {len(data)})")
    for item in data:
        if dim + 1 < len(shape):
            if not isinstance(item, (list, tuple)):
                raise TypeError("not a sequence")
            _check_lengths(item, shape, dim + 1)
        elif isinstance(item, (list, tuple)):
            raise TypeError(f"'{type(item).__name__}' object cannot be interpreted as an integer")


def _unwrap(x):
    if isinstance(x, Tensor):
        return x.tolist()
    if isinstance(x, (list, tuple)):
        return [_unwrap(v) for v in x]
    return x


def tensor(data: Any, dtype: dtypes.dtype | None = None, device: DeviceLike | None = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    array, inferred = _from_data(data, dtype.np if dtype is not None else None)
    target = dtype.np if dtype is not None else inferred
    return _finish(np.array(array, dtype=target, copy=True), device, requires_grad)


def as_tensor(data: Any, dtype: dtypes.dtype | None = None, device: DeviceLike | None = None) -> Tensor:
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    if isinstance(data, np.ndarray) and (dtype is None or dtype.np == data.dtype) and as_device(device) is CPU:
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    dtypes.from_numpy(ndarray.dtype)
    if type(ndarray) is not np.ndarray:  # a subclass (np.memmap, np.matrix): a plain view of the same memory
        ndarray = ndarray.view(np.ndarray)
    return Tensor._wrap(ndarray)


def _filled(size, fill, dtype, device, requires_grad, name):
    d = dtype or dtypes.get_default_dtype()
    shape = _new_shape(size, d.np, name)
    try:
        array = np.zeros(shape, d.np) if fill == 0 else np.full(shape, fill, d.np)
    except MemoryError:
        raise _out_of_memory(shape, d.np) from None
    return _finish(array, device, requires_grad)


def _new_shape(size, np_dtype, name):
    """shape_arg, and the byte count must fit int64 too (NumPy would say "array is too big")."""
    shape = shape_arg(size, name)
    if math.prod(shape) * np_dtype.itemsize > 2 ** 63 - 1:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(shape)}")
    return shape


def _out_of_memory(shape, np_dtype):
    """PyTorch's error for a host allocation that fails (NumPy raises MemoryError)."""
    nbytes = math.prod(shape) * np.dtype(np_dtype).itemsize
    return RuntimeError(f"DefaultCPUAllocator: can't allocate memory: you tried to allocate {nbytes} bytes. "
                        "Error code 12 (Cannot allocate memory)")


def zeros(*size: int | Sequence[int], dtype: dtypes.dtype | None = None, device: DeviceLike | None = None,
          requires_grad: bool = False, out: Tensor | None = None, layout: Any = None) -> Tensor:
    if any(isinstance(n, int) and n < 0 for n in (size[0] if len(size) == 1 and isinstance(size[0], (tuple, list))
                                                  else size)):
        raise RuntimeError("zeros: Dimension size must be non-negative.")  # zeros words it its own way
    return _filled(size, 0, dtype, device, requires_grad, "zeros")


def ones(*size: int | Sequence[int], dtype: dtypes.dtype | None = None, device: DeviceLike | None = None,
         requires_grad: bool = False, out: Tensor | None = None, layout: Any = None) -> Tensor:
    return _filled(size, 1, dtype, device, requires_grad, "ones")


def empty(*size: int | Sequence[int], dtype: dtypes.dtype | None = None, device: DeviceLike | None = None,
          requires_grad: bool = False, out: Tensor | None = None, layout: Any = None,
          memory_format: Any = None) -> Tensor:
    return _filled(size, 0, dtype, device, requires_grad, "empty")


def full(size: int | Sequence[int], fill_value: float | Tensor, dtype: dtypes.dtype | None = None,
         device: DeviceLike | None = None, requires_grad: bool = False, layout: Any = None) -> Tensor:
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not {type(size).__name__}")
    if dtype is None:
        dtype = (cast(dtypes.dtype, fill_value.dtype) if isinstance(fill_value, Tensor)
                 else dtypes.scalar_dtype(fill_value))
    value: Any = _value(fill_value)
    if isinstance(value, (int, float)):
        fill = np.array(value)
        _check_fits(fill, dtype.np, _c_type(dtype))
        value = fill.astype(dtype.np)  # negatives into unsigned types wrap, as in torch
    return _filled((size,), value, dtype, device, requires_grad, "full")


def _c_type(dtype):
    """The C name torch's fill and range kernels give a dtype in their overflow errors."""
    return {"int32": "int"}.get(dtype.np.name, dtype.np.name + "_t")


def _value(x: float | Tensor) -> float:
    return x.item() if isinstance(x, Tensor) else x


def _like(input, dtype, device):
    return dict(dtype=dtype or input.dtype, device=device or input.device)


def zeros_like(input: Tensor, dtype: dtypes.dtype | None = None, device: DeviceLike | None = None,
               requires_grad: bool = False, memory_format: Any = None, layout: Any = None) -> Tensor:
    return zeros(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def ones_like(input: Tensor, dtype: dtypes.dtype | None = None, device: DeviceLike | None = None,
              requires_grad: bool = False, memory_format: Any = None, layout: Any = None) -> Tensor:
    return ones(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def empty_like(input: Tensor, dtype: dtypes.dtype | None = None, device: DeviceLike | None = None,
               requires_grad: bool = False, memory_format: Any = None, layout: Any = None) -> Tensor:
    return empty(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def full_like(input: Tensor, fill_value: float, dtype: dtypes.dtype | None = None, device: DeviceLike | None = None,
              requires_grad: bool = False, memory_format: Any = None, layout: Any = None) -> Tensor:
    return full(input.shape, fill_value, requires_grad=requires_grad, **_like(input, dtype, device))


def eye(n: int, m: int | None = None, dtype: dtypes.dtype | None = None, device: DeviceLike | None = None,
        requires_grad: bool = False) -> Tensor:
    m = n if m is None else m
    for name, value in (("n", n), ("m", m)):
        if value < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {value}")
    d = dtype or dtypes.get_default_dtype()
    return _finish(np.eye(n, m, dtype=d.np), device, requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: dtypes.dtype | None = None,
           device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    start, end, step = (_value(v) for v in (start, end, step))
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dtype = dtypes.get_default_dtype() if any(isinstance(v, float) for v in (start, end, step)) else dtypes.int64
    if not dtype.is_floating_point:  # NumPy would wrap (arange(2**63) gave an empty tensor)
        _check_fits(np.array([start, end, step]), dtype.np, _c_type(dtype))
    n = max(math.ceil((end - start) / step), 0)
    shape = _new_shape((n,), dtype.np, "arange")
    try:
        array = (start + step * np.arange(n, dtype=np.float64)).astype(dtype.np) if dtype.is_floating_point \
            else np.arange(start, end, step, dtype=dtype.np)
    except MemoryError:
        raise _out_of_memory(shape, dtype.np) from None
    return _finish(array, device, requires_grad)


def linspace(start: float, end: float, steps: int, dtype: dtypes.dtype | None = None, device: DeviceLike | None = None,
             requires_grad: bool = False) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = dtype or dtypes.get_default_dtype()
    return _finish(np.linspace(_value(start), _value(end), steps).astype(d.np), device, requires_grad)


def logspace(start: float, end: float, steps: int, base: float = 10.0, dtype: dtypes.dtype | None = None,
             device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    d = dtype or dtypes.get_default_dtype()
    return _finish(np.logspace(start, end, steps, base=base).astype(d.np), device, requires_grad)


# ---- random --------------------------------------------------------------------------------

def _floating(size, dtype, kernel, name):
    """The shape and NumPy dtype of a floating random tensor (the default dtype unless given)."""
    d = dtype or dtypes.get_default_dtype()
    if not d.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{d._legacy[:-6]}'")
    return _new_shape(size, d.np, name), d.np


def _drawn(shape, np_dtype, draw, device, requires_grad):
    """draw(n) -> n random values, shaped; an allocation that fails is torch's RuntimeError."""
    try:
        values = draw(math.prod(shape))
    except MemoryError:
        raise _out_of_memory(shape, np_dtype) from None
    return _finish(values.reshape(shape), device, requires_grad)


def rand(*size: int | Sequence[int], generator: Generator | None = None, dtype: dtypes.dtype | None = None,
         device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    shape, np_dtype = _floating(size, dtype, "check_uniform_bounds", "rand")
    gen = get_generator(generator)
    return _drawn(shape, np_dtype, lambda n: gen.uniform(n, np_dtype), device, requires_grad)


def randn(*size: int | Sequence[int], generator: Generator | None = None, dtype: dtypes.dtype | None = None,
          device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    return _normal(size, 0.0, 1.0, generator, dtype, device, requires_grad, "randn")


def _normal(size, mean, std, generator, dtype, device, requires_grad=False, name="normal"):
    shape, np_dtype = _floating(size, dtype, "normal_kernel_cpu", name)
    gen = get_generator(generator)
    return _drawn(shape, np_dtype, lambda n: gen.normal(n, np_dtype, mean, std), device, requires_grad)


def randint(low: int, high: int | None = None, size: int | Sequence[int] | None = None, *,
            generator: Generator | None = None, dtype: dtypes.dtype | None = None, device: DeviceLike | None = None,
            requires_grad: bool = False) -> Tensor:
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing 1 required positional arguments: \"size\"")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    np_dtype = (dtype or dtypes.int64).np
    shape = _new_shape((size,) if isinstance(size, int) else size, np_dtype, "randint")
    gen = get_generator(generator)
    return _drawn(shape, np_dtype, lambda n: gen.integers(n, low, high, np_dtype), device, requires_grad)


def randperm(n: int, *, generator: Generator | None = None, dtype: dtypes.dtype | None = None,
             device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    perm = get_generator(generator).permutation(n)
    return _finish(perm.astype((dtype or dtypes.int64).np, copy=False), device, requires_grad)


def rand_like(input: Tensor, dtype: dtypes.dtype | None = None, device: DeviceLike | None = None,
              requires_grad: bool = False, generator: Generator | None = None) -> Tensor:
    return rand(input.shape, generator=generator, requires_grad=requires_grad, **_like(input, dtype, device))


def randn_like(input: Tensor, dtype: dtypes.dtype | None = None, device: DeviceLike | None = None,
               requires_grad: bool = False, generator: Generator | None = None) -> Tensor:
    return randn(input.shape, generator=generator, requires_grad=requires_grad, **_like(input, dtype, device))


def randint_like(input: Tensor, low: int = 0, high: int | None = None, dtype: dtypes.dtype | None = None,
                 device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, **_like(input, dtype, device))


def normal(mean: float | Tensor = 0.0, std: float | Tensor = 1.0, size: int | Sequence[int] | None = None, *,
           generator: Generator | None = None, dtype: dtypes.dtype | None = None,
           device: DeviceLike | None = None) -> Tensor:
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        # as torch: standard normals (times std when only the mean is a tensor), then scaled and shifted
        like = next(t for t in (mean, std) if isinstance(t, Tensor))
        shape = np.broadcast_shapes(*(tuple(t.shape) for t in (mean, std) if isinstance(t, Tensor)))
        if isinstance(std, Tensor):
            return _normal(shape, 0.0, 1.0, generator, like.dtype, like.device) * std + mean
        return _normal(shape, 0.0, std, generator, like.dtype, like.device) + mean
    return _normal(size, mean, std, generator, dtype, device)


def bernoulli(input: Tensor, p: float | None = None, *, generator: Generator | None = None) -> Tensor:
    """1 with probability p for each element (p: the input's values, or one number for all)."""
    gen, data = get_generator(generator), input._data
    dtype = data.dtype
    if p is None:
        draw = gen.bernoulli(data if type(data) is np.ndarray else input.detach().cpu().numpy(), dtype)
    else:
        draw = gen.bernoulli(p, dtype, n=input.numel()).reshape(tuple(input.shape))
    return _finish(draw, input.device, False)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    probs = input.detach().cpu().numpy()
    if probs.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if probs.dtype.kind != "f":
        raise RuntimeError("multinomial only supports floating-point dtypes for input")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > probs.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    rows = probs.reshape(-1, probs.shape[-1])
    if not np.isfinite(rows).all() or (rows < 0).any() or (rows.sum(1) <= 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    out = get_generator(generator).multinomial(rows, num_samples, replacement)
    return _finish(out.reshape(probs.shape[:-1] + (num_samples,)), input.device, False)
