"""Conv1d and Conv2d."""
from .. import functional as F
from ..module import Module
from .linear import add_weight_and_bias, reset_uniform

_PADDING_MODES = ["zeros", "reflect", "replicate", "circular"]


class _ConvNd(Module):
    dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
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
        self.transposed, self.output_padding = False, (0,) * n
        self.groups, self.padding_mode = groups, padding_mode
        add_weight_and_bias(self, (out_channels, in_channels // groups) + self.kernel_size, bias, device, dtype)

    def reset_parameters(self):
        reset_uniform(self.weight, self.bias)

    def forward(self, input):
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
