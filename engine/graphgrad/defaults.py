"""The device factory functions use when none is given (torch.set_default_device)."""
from . import cuda
from .device import CPU, as_device

device = None  # None: the CPU, without the cost of a lookup on every factory call


def set_default_device(new_device):
    """Where graphgrad.zeros, randn, tensor, ... put a tensor made without device=; None resets
    to the CPU. A CUDA device needs a GPU (checked here, not at the first factory call)."""
    global device
    if new_device is None:
        device = None
        return
    d = as_device(new_device)
    if d is not CPU:
        cuda._require()
    device = None if d is CPU else d


def get_default_device():
    return CPU if device is None else device
