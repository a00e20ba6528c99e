"""graphgrad.cpu: torch.cpu's device queries (the CPU is always there) and its amp namespace."""
import sys

from .amp import cpu as amp


def is_available():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def set_device(device):
    """A no-op, as torch.cpu.set_device."""


def synchronize(device=None):
    """Nothing to wait for: CPU work is done when its call returns."""


sys.modules[__name__ + ".amp"] = amp  # `import torch.cpu.amp`, `from torch.cpu.amp import autocast`
