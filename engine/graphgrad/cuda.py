"""graphgrad.cuda: GPUs through CuPy. Every query answers (False, 0) without a GPU or CuPy."""
import functools

import importlib.util
from typing import Any

from .device import as_device

amp: Any   # torch.cuda.amp: attached by graphgrad/__init__ (amp builds on nn, far above cuda)


@functools.cache
def _cupy() -> Any:   # the cupy module, or None without a usable GPU
    try:
        import cupy  # (optional: only on a GPU)
        cupy.cuda.runtime.getDeviceCount()
        return cupy
    except Exception:
        return None


def is_available():
    return device_count() > 0


def device_count():
    cupy = _cupy()
    if cupy is None:
        return 0
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


def _require():
    if not is_available():
        if _cupy.__wrapped__() is None and not _has_cupy_module():
            raise AssertionError("Torch not compiled with CUDA enabled (graphgrad: install the [cuda] extra, "
                                 "CuPy, to use a GPU)")
        raise RuntimeError("Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and "
                           "installed a driver")


def _has_cupy_module():
    return importlib.util.find_spec("cupy") is not None


def current_device():
    _require()
    return _cupy().cuda.runtime.getDevice()


def set_device(device):
    _require()
    _cupy().cuda.runtime.setDevice(as_device(device).index or 0)


def get_device_name(device=None):
    _require()
    index = as_device(device if device is not None else "cuda").index or 0
    return _cupy().cuda.runtime.getDeviceProperties(index)["name"].decode()


def synchronize(device=None):
    if is_available():
        _cupy().cuda.Device().synchronize()


def empty_cache():
    """Give cached blocks back to the driver (CuPy's memory pools); a no-op without a GPU."""
    cupy = _cupy()
    if cupy is not None:
        cupy.get_default_memory_pool().free_all_blocks()
        cupy.get_default_pinned_memory_pool().free_all_blocks()


def memory_allocated(device=None):
    """Bytes held by tensors (CuPy's default pool, cached free blocks not counted); 0 without a
    GPU, as torch's CPU build answers."""
    cupy = _cupy()
    return 0 if cupy is None else cupy.get_default_memory_pool().used_bytes()


_peak = None   # a CuPy memory hook keeping the high-water mark, made on the first ask


def _peak_hook():
    global _peak
    if _peak is None:
        from cupy.cuda import memory_hook  # (optional: only on a GPU)

        class Peak(memory_hook.MemoryHook):  # pyright: ignore[reportAttributeAccessIssue]  (CuPy's stubs)
            name = "graphgrad_peak"

            def __init__(self, pool):
                self.pool, self.bytes = pool, pool.used_bytes()

            def malloc_postprocess(self, **kwargs):   # CuPy passes device_id, size, mem_size, ... by name
                self.bytes = max(self.bytes, self.pool.used_bytes())
        # Peak is counted from the first call of max_memory_allocated / reset_peak_memory_stats
        # (torch counts from start-up): a hook costs a Python call per allocation, paid only
        # by those who ask. Hooks are per thread: allocations on other threads are not seen.
        _peak = Peak(_cupy().get_default_memory_pool())
        _peak.__enter__()
    return _peak


def max_memory_allocated(device=None):
    """The most bytes memory_allocated() has been since reset_peak_memory_stats() (or since the
    first call of either); 0 without a GPU."""
    if _cupy() is None:
        return 0
    peak = _peak_hook()
    peak.bytes = max(peak.bytes, memory_allocated())
    return peak.bytes


def reset_peak_memory_stats(device=None):
    """Start the high-water mark again at the present memory_allocated(); a no-op without a GPU
    (torch's CPU build raises an AttributeError from its internals here)."""
    if _cupy() is not None:
        _peak_hook().bytes = memory_allocated()


def manual_seed(seed):
    cupy = _cupy()
    if cupy is not None:
        cupy.random.seed(seed)


manual_seed_all = manual_seed

