"""graphgrad.autocast / graphgrad.amp.autocast: mixed precision as torch 2.13 defines it.

Inside `with autocast("cpu"):` (bfloat16 by default; float16 allowed) the ops on torch's CPU
lower-precision list (matrix products, linear, convolutions, prelu, attention) cast their float
inputs to the autocast dtype, the ops on its float32 list (losses, prod, trace, inverse and
solve, reflection and replication padding) cast low-precision inputs up to float32, and cat
and stack take the widest input dtype; float64 is never cast; every other op runs in the
dtype it is given. Casts are ordinary differentiable `.to()` copies (ToCopyBackward0, as in
torch), and the cast of a leaf that requires grad (a weight) is made once per autocast region.
While a listed op runs, autocast is off for the ops it calls, as torch's dispatcher excludes it.

The casting wrappers are put on the functions (graphgrad.matmul, Tensor.__matmul__,
nn.functional.linear, ...) the first time an autocast region is entered, and from then on cost
one check when no region is active. `autocast("cuda")` casts tensors on a GPU (float16 by
default) and, without one, warns and stays off, as torch does."""
import functools
import warnings
from typing import Any

from .. import cuda, dtypes, linalg
from ..nn import functional
from ..nn.modules import attention
from ..tensor import Tensor

_DEFAULT_DTYPE = {"cpu": dtypes.bfloat16, "cuda": dtypes.float16}
_enabled = {"cpu": False, "cuda": False}
_dtype = dict(_DEFAULT_DTYPE)
_cache = {}          # id(leaf) -> (leaf, its cast): weights cast once per region
_state = {"depth": 0, "suspended": False, "installed": False, "cache": True}

_TORCH_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
                       "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


def is_autocast_available(device_type):
    return device_type in ("cpu", "cuda")


def is_autocast_enabled(device_type=None):
    return _enabled["cuda" if device_type is None else device_type]


def set_autocast_enabled(device_type, enabled=None):
    if enabled is None:  # torch's old one-argument form: the GPU's
        device_type, enabled = "cuda", device_type
    _enabled[device_type] = bool(enabled)
    if enabled:
        _install()


def get_autocast_dtype(device_type):
    return _dtype[device_type]


def set_autocast_dtype(device_type, dtype):
    _dtype[device_type] = dtype


def get_autocast_cpu_dtype():
    return _dtype["cpu"]


def get_autocast_gpu_dtype():
    return _dtype["cuda"]


def is_autocast_cache_enabled():
    return _state["cache"]


def set_autocast_cache_enabled(enabled):
    _state["cache"] = bool(enabled)


def clear_autocast_cache():
    _cache.clear()


class autocast:
    """with autocast("cpu"): ... ; also a decorator. dtype: bfloat16 (the CPU's default) or
    float16; enabled=False runs everything in the dtypes it is given."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _TORCH_DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_TORCH_DEVICE_TYPES)} device type at start of device "
                               f"string: {device_type}")
        self.device = device_type
        self.fast_dtype = _dtype.get(device_type, dtypes.float16) if dtype is None else dtype
        self._cache_enabled = _state["cache"] if cache_enabled is None else cache_enabled
        if enabled and device_type == "cuda":
            if not cuda.is_available():
                warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.", stacklevel=2)
                enabled = False
        elif enabled and device_type == "cpu" and self.fast_dtype not in (dtypes.bfloat16, dtypes.float16):
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                          "CPU Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.",
                          stacklevel=2)
            enabled = False
        elif enabled and device_type not in ("cpu", "cuda"):
            raise RuntimeError(f"graphgrad: autocast on device type {device_type!r} needs a backend graphgrad does "
                               "not have (it runs on the CPU, and on CUDA GPUs through CuPy)")
        self._enabled = bool(enabled)

    def __enter__(self):
        self.prev: tuple[Any, ...] = (_enabled.get(self.device, False), _dtype.get(self.device), _state["cache"],
                                      _state["suspended"])
        if self.device in _enabled:
            _enabled[self.device] = self._enabled
            _dtype[self.device] = self.fast_dtype
        _state["cache"] = self._cache_enabled
        _state["suspended"] = False
        _state["depth"] += 1
        if self._enabled:
            _install()
        return self

    def __exit__(self, *exc):
        _state["depth"] -= 1
        if _state["depth"] == 0:
            _cache.clear()  # a weight updated after the region must be cast again
        if self.device in _enabled:
            _enabled[self.device], _dtype[self.device] = self.prev[0], self.prev[1]
        _state["cache"], _state["suspended"] = self.prev[2], self.prev[3]
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def decorated(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return decorated


# ---- casting ------------------------------------------------------------------------------------------

def _active():
    return (_enabled["cpu"] or _enabled["cuda"]) and not _state["suspended"]


def _eligible(t):
    """A float tensor, not float64, on a device type whose autocast is on."""
    return (isinstance(t, Tensor) and t.dtype.is_floating_point and t.dtype is not dtypes.float64
            and _enabled.get(t.device.type, False))


def _cast(t, dtype):
    if t.dtype is dtype:
        return t
    leaf_weight = _state["cache"] and t.requires_grad and t.grad_fn is None
    if leaf_weight:
        hit = _cache.get(id(t))
        if hit is not None and hit[0] is t and hit[1].dtype is dtype:
            return hit[1]
    out = t.to(dtype)
    if leaf_weight:
        _cache[id(t)] = (t, out)
    return out


def _map(values, fn):
    """fn applied to every eligible tensor in args (lists and tuples looked into)."""
    if isinstance(values, (list, tuple)):
        return type(values)(_map(v, fn) for v in values)
    return fn(values) if _eligible(values) else values


def _tensors(values):
    if isinstance(values, (list, tuple)):
        for v in values:
            yield from _tensors(v)
    elif _eligible(values):
        yield values


def _lower(args, kwargs):
    return lambda t: _cast(t, _dtype[t.device.type])


def _float32(args, kwargs):
    return lambda t: _cast(t, dtypes.float32)


def _widest(args, kwargs):
    """torch's promote policy: the autocast dtype promoted with every eligible input's."""
    widest = None
    for t in _tensors(list(args) + list(kwargs.values())):
        widest = dtypes.promote_types(_dtype[t.device.type] if widest is None else widest, t.dtype)
    return lambda t: _cast(t, widest)


def _float32_padding(args, kwargs):
    mode = kwargs.get("mode", args[2] if len(args) > 2 else "constant")
    return _float32(args, kwargs) if mode in ("reflect", "replicate") else None


def _wrap(fn, policy):
    if getattr(fn, "_autocast_policy", None) is not None:
        return fn

    @functools.wraps(fn)
    def autocasting(*args, **kwargs):
        if not _active():
            return fn(*args, **kwargs)
        cast = policy(args, kwargs)
        if cast is None:
            return fn(*args, **kwargs)
        args, kwargs = _map(args, cast), {k: _map(v, cast) for k, v in kwargs.items()}
        _state["suspended"] = True
        try:
            return fn(*args, **kwargs)
        finally:
            _state["suspended"] = False
    autocasting._autocast_policy = policy  # pyright: ignore[reportAttributeAccessIssue]  (a mark on the function)
    return autocasting


_LOWER = ("matmul", "mm", "bmm", "addmm", "einsum", "linear", "conv1d", "conv2d", "conv_transpose1d",
          "conv_transpose2d", "prelu", "scaled_dot_product_attention")
_FLOAT32 = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
            "binary_cross_entropy_with_logits", "kl_div", "prod", "trace", "inverse", "inv", "solve")
_PROMOTE = ("cat", "concat", "concatenate", "stack")


def _policy(name):
    if name in _LOWER:
        return _lower
    if name in _FLOAT32:
        return _float32
    if name in _PROMOTE:
        return _widest
    if name == "pad":
        return _float32_padding
    return None


def _install():
    """Put the casting wrappers on the listed functions wherever users and modules reach them."""
    if _state["installed"]:
        return
    _state["installed"] = True
    import graphgrad  # (the package itself: its functions are wrapped where users call them)
    for namespace in (graphgrad, linalg, functional, attention):
        for name in _LOWER + _FLOAT32 + _PROMOTE + ("pad",):
            fn = namespace.__dict__.get(name)
            if callable(fn) and not isinstance(fn, type):
                setattr(namespace, name, _wrap(fn, _policy(name)))
    for name, policy_name in (("matmul", "matmul"), ("mm", "mm"), ("bmm", "bmm"), ("addmm", "addmm"),
                              ("__matmul__", "matmul"), ("__rmatmul__", "matmul"), ("prod", "prod"),
                              ("trace", "trace")):
        fn = Tensor.__dict__.get(name)
        if fn is not None:
            setattr(Tensor, name, _wrap(fn, _policy(policy_name)))


# ---- custom autograd functions ---------------------------------------------------------------------

def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """torch.amp.custom_fwd for an autograd.Function's forward: inside an autocast region,
    cast_inputs (a dtype) casts its float inputs and turns autocast off while it runs."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        ctx = args[0]
        ctx._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None:
            ctx._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        ctx._fwd_used_autocast = False
        if not is_autocast_enabled(device_type):
            return fwd(*args, **kwargs)
        cast = lambda t: t.to(cast_inputs) if t.device.type == device_type else t
        with autocast(device_type, enabled=False):
            return fwd(*_map(args, cast), **{k: _map(v, cast) for k, v in kwargs.items()})
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """torch.amp.custom_bwd: the backward runs under the autocast state its forward had."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type, enabled=ctx._fwd_used_autocast, dtype=ctx._dtype):
            return bwd(*args, **kwargs)
    return decorate_bwd
