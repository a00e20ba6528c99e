"""Conv1d and Conv2d, ConvTranspose1d and ConvTranspose2d."""
from .. import functional as F
from ..module import Module
from .linear import add_weight_and_bias, reset_uniform
from ...tensor import Tensor
from ..common_types import DTypeLike, DeviceLike, _size_any_opt_t, _size_any_t

_PADDING_MODES = ["zeros", "reflect", "replicate", "circular"]


class _ConvNd(Module):
    dims = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_any_t, stride: _size_any_t = 1,
                 padding: _size_any_t | str = 0, dilation: _size_any_t = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        n = self.dims
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {['valid', 'same']}")
            if padding == "same" and any(s != 1 for s in F._pair(stride, n)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got padding_mode='{padding_mode}'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = F._pair(kernel_size, n), F._pair(stride, n)
        self.padding = padding if isinstance(padding, str) else F._pair(padding, n)
        self.dilation = F._pair(dilation, n)
        self.groups, self.padding_mode = groups, padding_mode
        self.output_padding = F._pair(getattr(self, "output_padding", 0), n)
        # a transposed weight is (in, out/groups, k...); its bias still has one value per output channel
        channels = (in_channels, out_channels // groups) if self.transposed else (out_channels, in_channels // groups)
        add_weight_and_bias(self, channels + self.kernel_size, bias, device, dtype, bias_size=out_channels)

    def reset_parameters(self):
        reset_uniform(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        conv = F.conv2d if self.dims == 2 else F.conv1d
        if self.padding_mode == "zeros":
            return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        pads = []
        if self.padding == "same":
            before, after = F._same_padding(self.kernel_size, self.dilation)
        else:
            before = after = self.padding if self.padding != "valid" else (0,) * self.dims
        for b, a in zip(reversed(before), reversed(after)):
            pads += [b, a]
        return conv(F.pad(input, pads, mode=self.padding_mode), self.weight, self.bias, self.stride, 0,
                    self.dilation, self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    dims = 2


class Conv1d(_ConvNd):
    dims = 1


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_any_t, stride: _size_any_t = 1,
                 padding: _size_any_t | str = 0, output_padding: _size_any_t = 0, groups: int = 1, bias: bool = True,
                 dilation: _size_any_t = 1, padding_mode: str = "zeros", device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self.output_padding = output_padding
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def forward(self, input: Tensor, output_size: _size_any_opt_t | None = None) -> Tensor:
        conv = F.conv_transpose2d if self.dims == 2 else F.conv_transpose1d
        output_padding = self._output_padding(input, output_size)
        return conv(input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups,
                    self.dilation)

    def _output_padding(self, input, output_size):
        """The output_padding that gives the requested output_size (torch's rule: any size from
        the smallest transposed output up to stride - 1 more)."""
        if output_size is None:
            return self.output_padding
        n = self.dims
        output_size = list(output_size)[-n:]
        spatial = input.shape[-n:]
        smallest = [(spatial[d] - 1) * self.stride[d] - 2 * self.padding[d] + self.dilation[d]
                    * (self.kernel_size[d] - 1) + 1 for d in range(n)]
        largest = [smallest[d] + self.stride[d] - 1 for d in range(n)]
        if any(not lo <= size <= hi for size, lo, hi in zip(output_size, smallest, largest)):
            raise ValueError(f"requested an output size of {output_size}, but valid sizes range from {smallest} to "
                             f"{largest} (for an input of {input.shape[-n:]})")
        return tuple(size - lo for size, lo in zip(output_size, smallest))


class ConvTranspose2d(_ConvTransposeNd):
    dims = 2


class ConvTranspose1d(_ConvTransposeNd):
    dims = 1
