"""Activation layers: each is its nn.functional function plus the arguments it prints."""
from collections.abc import Callable

from ... import ops
from ...creation import empty
from ...ops.activation import log_softmax, softmax
from .. import functional as F, init
from ..module import Module
from ..parameter import Parameter
from ...tensor import Tensor
from ..common_types import DTypeLike, DeviceLike


class _Inplace(Module):
    """A layer whose only option is `inplace`, printed as PyTorch prints it."""
    fn: Callable[..., Tensor]   # the nn.functional function, set by each subclass

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    fn = F.relu


class SiLU(_Inplace):
    fn = F.silu


class Mish(_Inplace):
    fn = F.mish


class SELU(_Inplace):
    fn = F.selu


class Hardswish(_Inplace):
    fn = F.hardswish

    def extra_repr(self):
        return ""


class Hardsigmoid(Hardswish):
    fn = F.hardsigmoid


class _Stateless(Module):
    fn: Callable[..., Tensor]   # the nn.functional function, set by each subclass

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input)


class Sigmoid(_Stateless):
    fn = ops.sigmoid


class Tanh(_Stateless):
    fn = ops.tanh


class LogSigmoid(_Stateless):
    fn = F.logsigmoid


class Softsign(_Stateless):
    fn = F.softsign


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{', inplace=True' if self.inplace else ''}"


class ELU(Module):
    fn: Callable[..., Tensor] = F.elu   # CELU's is F.celu

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{', inplace=True' if self.inplace else ''}"


class CELU(ELU):
    fn = F.celu


class Hardtanh(Module):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if max_val <= min_val:
            raise ValueError("max_val must be greater than min_val")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}{', inplace=True' if self.inplace else ''}"


class ReLU6(Hardtanh):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class GELU(Module):
    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class _SoftmaxBase(Module):
    fn: Callable[..., Tensor]   # the nn.functional function, set by each subclass

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    fn = softmax


class LogSoftmax(_SoftmaxBase):
    fn = log_softmax


class Softmin(_SoftmaxBase):
    fn = F.softmin


class PReLU(Module):
    """max(0, x) + weight * min(0, x), one learned slope (or one per channel)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"

