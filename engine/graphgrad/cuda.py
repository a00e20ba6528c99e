"""graphgrad.cuda: GPUs through CuPy. Every query answers (False, 0) without a GPU or CuPy."""
import functools
import sys


@functools.lru_cache(maxsize=None)
def _cupy():
    try:
        import cupy
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
    import importlib.util
    return importlib.util.find_spec("cupy") is not None


def current_device():
    _require()
    return _cupy().cuda.runtime.getDevice()


def set_device(device):
    from .device import as_device
    _require()
    _cupy().cuda.runtime.setDevice(as_device(device).index or 0)


def get_device_name(device=None):
    _require()
    from .device import as_device
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
    cupy = _cupy()
    return 0 if cupy is None else cupy.get_default_memory_pool().used_bytes()


def manual_seed(seed):
    cupy = _cupy()
    if cupy is not None:
        cupy.random.seed(seed)


manual_seed_all = manual_seed


from .amp import cuda as amp  # noqa: E402  torch.cuda.amp: autocast and GradScaler (disabled without a GPU)

sys.modules[__name__ + ".amp"] = amp  # `import torch.cuda.amp`, `from torch.cuda.amp import GradScaler`
