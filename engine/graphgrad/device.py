"""Devices: `cpu` computes with NumPy, `cuda[:n]` with CuPy (imported only when asked for)."""
import numpy as np


class device:
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        elif ":" in type:
            text = type
            type, _, idx = type.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{text}'")
            index = int(idx)
        if type not in ("cpu", "cuda"):
            raise RuntimeError("Expected one of cpu, cuda device type at start of device string: " + type)
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type, self.index = type, index

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):  # never equal to a string, as in PyTorch
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))


CPU = device("cpu")


DeviceLike = str | int | device   # what a device= argument may be: "cuda:0", 0, gg.device("cpu")


def as_device(d):
    if d is None or d is CPU:
        return CPU
    if isinstance(d, int):
        d = device("cuda", d)
    elif not isinstance(d, device):
        d = device(d)
    if d.type == "cpu":
        return CPU
    return device("cuda", 0 if d.index is None else d.index)


def array_module(d):
    """numpy for the CPU, cupy for a GPU."""
    if d.type == "cpu":
        return np
    import cupy  # (optional: only on a GPU)
    return cupy


def device_of(array):
    """The device an array lives on."""
    if isinstance(array, np.ndarray):
        return CPU
    return device("cuda", array.device.id)
