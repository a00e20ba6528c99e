"""graphgrad.accelerator: torch.accelerator's device-agnostic queries, answered by CuPy.

The accelerator "built in" is CUDA when CuPy can be imported (as a CUDA build of torch reports
cuda even on a machine without a GPU); `is_available()` then says whether a GPU can actually be
used. Without one, the calls that need a device raise torch's RuntimeError."""
import functools
import importlib.util

from . import cuda
from .device import device as _device

__all__ = ["current_accelerator", "current_device_idx", "current_device_index", "current_stream", "device_count",
           "device_index", "empty_cache", "get_memory_info", "is_available", "memory_allocated",
           "max_memory_allocated", "set_device_idx", "set_device_index", "synchronize"]


@functools.cache
def _built():
    return importlib.util.find_spec("cupy") is not None


def current_accelerator(check_available=False):
    """device(type='cuda') when CuPy is installed (and, with check_available, a GPU is usable);
    None otherwise."""
    if _built() and (not check_available or is_available()):
        return _device("cuda")
    return None


def is_available():
    return _built() and cuda.is_available()


def device_count():
    return cuda.device_count() if _built() else 0


def _require():
    if not is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")


def _index(device, optional):
    if device is None:
        if not optional:
            raise TypeError("set_device_index() missing 1 required positional argument: 'device'")
        return current_device_index()
    if isinstance(device, int):
        return device
    d = _device(device) if isinstance(device, str) else device
    if d.type != "cuda":
        raise ValueError(f"{d.type} doesn't match the current accelerator cuda.")
    return current_device_index() if d.index is None else d.index


def current_device_index():
    _require()
    return cuda.current_device()


def set_device_index(device, /):
    """Make `device` current (a no-op for a negative index, as torch)."""
    _require()
    index = _index(device, optional=False)
    if index >= 0:
        cuda.set_device(index)


def synchronize(device=None, /):
    """Wait for the device's queued kernels (CuPy's Device.synchronize)."""
    _require()
    cuda._cupy().cuda.Device(_index(device, optional=True)).synchronize()


def current_stream(device=None, /):
    _require()
    with cuda._cupy().cuda.Device(_index(device, optional=True)):
        return cuda._cupy().cuda.get_current_stream()


def empty_cache():
    cuda.empty_cache()


def memory_allocated(device=None, /):
    _require()
    return cuda.memory_allocated(device)


def max_memory_allocated(device=None, /):
    """CuPy's pool keeps no peak, so this is the pool's total (what it holds, used or cached)."""
    _require()
    return cuda._cupy().get_default_memory_pool().total_bytes()


def get_memory_info(device=None, /):
    """(free, total) bytes on the device."""
    _require()
    with cuda._cupy().cuda.Device(_index(device, optional=True)):
        return cuda._cupy().cuda.runtime.memGetInfo()


class device_index:
    """Make a device index current inside a `with` block (None: change nothing)."""

    def __init__(self, device, /):
        self.idx, self.prev_idx = device, -1

    def __enter__(self):
        if self.idx is not None:
            self.prev_idx = current_device_index()
            set_device_index(self.idx)

    def __exit__(self, *exc_info):
        if self.idx is not None:
            set_device_index(self.prev_idx)


current_device_idx, set_device_idx = current_device_index, set_device_index  # the names torch deprecated
