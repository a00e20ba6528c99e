"""Creating tensors: from data (tensor, as_tensor, from_numpy), filled (zeros, ones, full,
empty, eye, arange, linspace) and random (rand, randn, randint, randperm, normal)."""
import math

import numpy as np

from . import defaults, dtypes
from .device import CPU, as_device
from .ops.util import shape_arg
from .random import get_generator
from .tensor import Tensor


def _finish(array, device, requires_grad):
    """Put a host array on its device and set requires_grad, checking it is allowed."""
    device = as_device(device if device is not None else defaults.device)
    if device is not CPU:
        from .ops.convert import _move
        from . import cuda
        cuda._require()
        array = _move(array, device)
    t = Tensor._wrap(array)
    if requires_grad:
        if array.dtype.kind != "f":
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


def _from_data(data):
    """Python data -> (a NumPy array, the dtype PyTorch would give it)."""
    if isinstance(data, Tensor):
        array = data._data if type(data._data) is np.ndarray else data._data.get()
        return array, array.dtype
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
        return array, dtypes.from_numpy(array.dtype).np
    data = _unwrap(data)
    try:
        array = np.array(data)
    except ValueError:
        _check_lengths(data, _first_shape(data))
        raise

    if array.dtype == object:
        raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    return array, _infer_dtype(array)


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


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    array, inferred = _from_data(data)
    target = dtype.np if dtype is not None else inferred
    return _finish(np.array(array, dtype=target, copy=True), device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    if isinstance(data, np.ndarray) and (dtype is None or dtype.np == data.dtype) and as_device(device) is CPU:
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray):
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    dtypes.from_numpy(ndarray.dtype)
    if type(ndarray) is not np.ndarray:  # a subclass (np.memmap, np.matrix): a plain view of the same memory
        ndarray = ndarray.view(np.ndarray)
    return Tensor._wrap(ndarray)


def _filled(size, fill, dtype, device, requires_grad):
    d = dtype or dtypes.get_default_dtype()
    shape = shape_arg(size)
    array = np.zeros(shape, d.np) if fill == 0 else np.full(shape, fill, d.np)
    return _finish(array, device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    if any(isinstance(n, int) and n < 0 for n in (size[0] if len(size) == 1 and isinstance(size[0], (tuple, list))
                                                  else size)):
        raise RuntimeError("zeros: Dimension size must be non-negative.")  # zeros words it its own way
    return _filled(size, 0, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    return _filled(size, 1, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None, memory_format=None):
    return _filled(size, 0, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False, layout=None):
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not {type(size).__name__}")
    if dtype is None:
        dtype = dtypes.scalar_dtype(fill_value) if not isinstance(fill_value, Tensor) else fill_value.dtype
    return _filled(size, _value(fill_value), dtype, device, requires_grad)


def _value(x):
    return x.item() if isinstance(x, Tensor) else x


def _like(input, dtype, device):
    return dict(dtype=dtype or input.dtype, device=device or input.device)


def zeros_like(input, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    return zeros(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def ones_like(input, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    return ones(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def empty_like(input, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    return empty(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    return full(input.shape, fill_value, requires_grad=requires_grad, **_like(input, dtype, device))


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    m = n if m is None else m
    for name, value in (("n", n), ("m", m)):
        if value < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {value}")
    d = dtype or dtypes.get_default_dtype()
    return _finish(np.eye(n, m, dtype=d.np), device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    start, end, step = (_value(v) for v in (start, end, step))
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dtype = dtypes.get_default_dtype() if any(isinstance(v, float) for v in (start, end, step)) else dtypes.int64
    n = max(math.ceil((end - start) / step), 0)
    array = (start + step * np.arange(n, dtype=np.float64)).astype(dtype.np) if dtype.is_floating_point \
        else np.arange(start, end, step, dtype=dtype.np)
    return _finish(array, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = dtype or dtypes.get_default_dtype()
    return _finish(np.linspace(_value(start), _value(end), steps).astype(d.np), device, requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    d = dtype or dtypes.get_default_dtype()
    return _finish(np.logspace(start, end, steps, base=base).astype(d.np), device, requires_grad)


# ---- random --------------------------------------------------------------------------------

def _floating(size, dtype, kernel):
    """The shape and NumPy dtype of a floating random tensor (the default dtype unless given)."""
    d = dtype or dtypes.get_default_dtype()
    if not d.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{d._legacy[:-6]}'")
    return shape_arg(size), d.np


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    shape, np_dtype = _floating(size, dtype, "check_uniform_bounds")
    draw = get_generator(generator).uniform(math.prod(shape), np_dtype)
    return _finish(draw.reshape(shape), device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    return _normal(size, 0.0, 1.0, generator, dtype, device, requires_grad)


def _normal(size, mean, std, generator, dtype, device, requires_grad=False):
    shape, np_dtype = _floating(size, dtype, "normal_kernel_cpu")
    draw = get_generator(generator).normal(math.prod(shape), np_dtype, mean, std)
    return _finish(draw.reshape(shape), device, requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing 1 required positional arguments: \"size\"")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    shape = shape_arg((size,) if isinstance(size, int) else size)
    draw = get_generator(generator).integers(math.prod(shape), low, high, (dtype or dtypes.int64).np)
    return _finish(draw.reshape(shape), device, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    return _finish(get_generator(generator).permutation(n).astype((dtype or dtypes.int64).np), device, requires_grad)


def rand_like(input, dtype=None, device=None, requires_grad=False, generator=None):
    return rand(input.shape, generator=generator, requires_grad=requires_grad, **_like(input, dtype, device))


def randn_like(input, dtype=None, device=None, requires_grad=False, generator=None):
    return randn(input.shape, generator=generator, requires_grad=requires_grad, **_like(input, dtype, device))


def randint_like(input, low=0, high=None, dtype=None, device=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, **_like(input, dtype, device))


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None):
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        # as torch: standard normals (times std when only the mean is a tensor), then scaled and shifted
        like = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(*(tuple(t.shape) for t in (mean, std) if isinstance(t, Tensor)))
        if isinstance(std, Tensor):
            return _normal(shape, 0.0, 1.0, generator, like.dtype, like.device) * std + mean
        return _normal(shape, 0.0, std, generator, like.dtype, like.device) + mean
    return _normal(size, mean, std, generator, dtype, device)


def bernoulli(input, p=None, *, generator=None):
    """1 with probability p for each element (p: the input's values, or one number for all)."""
    gen, dtype = get_generator(generator), input._data.dtype
    if p is None:
        draw = gen.bernoulli(input.detach().cpu().numpy(), dtype)
    else:
        draw = gen.bernoulli(p, dtype, n=input.numel()).reshape(tuple(input.shape))
    return _finish(draw, input.device, False)


def multinomial(input, num_samples, replacement=False, *, generator=None):
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
