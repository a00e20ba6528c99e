"""Moving a tensor between dtypes and devices: `to`, with the ToCopyBackward0 node; and the
questions about a tensor that torch asks as functions (numel, is_tensor, is_floating_point)."""
from typing import Any

from .. import cuda, dtypes
from ..device import array_module, as_device, device_of
from ..tensor import Tensor
from .dispatch import Op, apply, op
from .public import public


@op("to", "ToCopyBackward0", category="conversion")
class ToCopy(Op):
    def forward(self, x, dtype, device):
        self.in_dtype, self.in_device = x.dtype, device_of(x)
        return _move(x, device).astype(dtype, copy=False) if device != self.in_device else x.astype(dtype)

    def backward(self, grad):
        return (_move(grad, self.in_device).astype(self.in_dtype, copy=False),)


def _move(array, device):
    if device.type == "cpu":
        return array.get() if hasattr(array, "get") else array  # a CuPy array comes to the host
    cupy: Any = array_module(device)
    with cupy.cuda.Device(device.index or 0):
        return cupy.asarray(array)


def to(input, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
    for a in args:
        if isinstance(a, dtypes.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif a is not None:
            device = a
    target_dtype = dtype if dtype is not None else input.dtype
    target_device = as_device(device) if device is not None else input.device
    if target_device.type == "cuda":
        cuda._require()
        if target_dtype is dtypes.bfloat16:
            raise TypeError("graphgrad: bfloat16 tensors live on the CPU only (CuPy has no bfloat16); use float16 "
                            "or float32 on the GPU")
    if target_dtype is input.dtype and target_device == input.device and not copy:
        return input
    return apply(ToCopy, input, dtype=target_dtype.np, device=target_device)


@public
def numel(input: Tensor) -> int:
    return input.numel()


@public
def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


@public
def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


@public
def detach(input: Tensor) -> Tensor:
    return input.detach()
