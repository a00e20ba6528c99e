"""graphgrad.nn.functional: the functions behind the layers, with PyTorch's signatures, checks
and error messages. The differentiable work happens in ops (ops/activation.py, convolution.py,
pooling.py, normalization.py, loss.py and the core ops); what PyTorch itself composes from
smaller ops (l1_loss, label smoothing, dropout's mask) is composed here the same way, so the
graph shows the same nodes."""
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes, ops
from ..ops.activation import (Celu, Elu, Gelu, Hardsigmoid, Hardswish, Hardtanh, LeakyRelu, log_softmax, LogSigmoid,
                              Mish, Prelu, Silu, softmax, Softplus)
from ..ops.convert import _move
from ..ops.convolution import _blocks, ConstantPad, Convolution, ConvTranspose, Fold, index_pads, Unfold
from ..ops.dispatch import apply
from ..ops.index import Embedding
from ..ops.inplace import write_inplace
from ..ops.linalg import linear
from ..ops.loss import (BinaryCrossEntropy, BinaryCrossEntropyWithLogits, HuberLoss, MseLoss, NllLoss, NllLoss2d,
                        SmoothL1Loss)
from ..ops.normalization import BatchNorm, GroupNorm, LayerNorm
from ..ops.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, pool_output_size
from ..random import get_generator
from ..tensor import Tensor
from .common_types import _shape_t, _size_any_opt_t, _size_any_t

__all__ = []  # filled at the bottom: every public function here


def _pair(v, n=2):
    if isinstance(v, (tuple, list)):
        return tuple(int(x) for x in v) if len(v) != 1 else (int(v[0]),) * n
    return (int(v),) * n


def _size_str(shape):
    return f"graphgrad.Size([{', '.join(map(str, shape))}])"


# ---- activations ------------------------------------------------------------------------------

def _maybe_inplace(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    """f(x, inplace=True) writes the result into x, as PyTorch's in-place activations do. An
    activation's node keeps x's array for its derivative; the write replaces those values, so
    the node keeps a copy of them instead (torch's original_self), and x's write is no error."""
    if not inplace:
        return out
    node = out.grad_fn
    if node is not None and getattr(node, "x", None) is input._data:
        node.x = input._data.copy()
        node._checks = [check for check in getattr(node, "_checks", ()) if check[0] is not input]
    return write_inplace(input, lambda t: out)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, ops.relu(input), inplace)


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, apply(LeakyRelu, input, negative_slope=negative_slope), inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return apply(Gelu, input, approximate=approximate)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, apply(Elu, input, alpha=alpha, scale=1.0, input_scale=1.0), inplace)


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, apply(Elu, input, alpha=_SELU_ALPHA, scale=_SELU_SCALE, input_scale=1.0), inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, apply(Celu, input, alpha=alpha, scale=1.0, input_scale=1.0 / alpha), inplace)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, apply(Silu, input), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, apply(Mish, input), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return apply(Softplus, input, beta=beta, threshold=threshold)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, apply(Hardtanh, input, min_val=min_val, max_val=max_val), inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, apply(Hardswish, input), inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, apply(Hardsigmoid, input), inplace)


def logsigmoid(input: Tensor) -> Tensor:
    return apply(LogSigmoid, input)


def sigmoid(input: Tensor) -> Tensor:
    return ops.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return ops.tanh(input)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    return apply(Prelu, input, weight)


def softsign(input: Tensor) -> Tensor:
    return input / (input.abs() + 1)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    return softmax(-input, dim, dtype)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    return input / ops.norm(input, p, dim, keepdim=True).clamp_min(eps).expand_as(input)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    n1 = ops.norm(x1, 2, dim, keepdim=True).clamp_min(eps)
    n2 = ops.norm(x2, 2, dim, keepdim=True).clamp_min(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    if tensor.dtype is not dtypes.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(tensor.max().item()) + 1 if tensor.numel() else 0
    xp = tensor._xp()
    out = (tensor._data[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor._wrap(out)


# ---- linear, convolution, pooling -------------------------------------------------------------

def _check_same_dtype(input, weight, bias):
    if weight.dtype is not input.dtype:
        raise RuntimeError(f"expected scalar type {_scalar_name(input)} but found {_scalar_name(weight)}")
    if bias is not None and bias.dtype is not input.dtype:
        raise RuntimeError(f"Input type ({_c_name(input)}) and bias type ({_c_name(bias)}) should be the same")


def _c_name(t):
    """The C type name PyTorch's convolution errors use."""
    return {"float32": "float", "float64": "double", "float16": "c10::Half"}.get(t.dtype.name, t.dtype.name)


def _scalar_name(t):
    return t.dtype._legacy[:-6]


def _same_padding(kernel, dilation):
    """padding='same': total d*(k-1) per dim; PyTorch puts the odd one on the right."""
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return [t // 2 for t in total], [t - t // 2 for t in total]


def _conv(input, weight, bias, stride, padding, dilation, groups, dims):
    name = f"conv{dims}d"
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to {name}, but got "
                           f"input of size: [{', '.join(map(str, input.shape))}]")
    if input.ndim == dims + 1:
        return _conv(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups, dims).squeeze(0)
    stride, dilation = _pair(stride, dims), _pair(dilation, dims)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string '{padding}', should be one of ['valid', 'same']")
        if padding == "same" and any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        before, after = _same_padding(weight.shape[2:], dilation) if padding == "same" else ([0] * dims, [0] * dims)
        if before != after:
            pads = []
            for b, a in zip(reversed(before), reversed(after)):
                pads += [b, a]
            input, before = pad(input, pads), [0] * dims
        padding = before
    padding = _pair(padding, dims)
    c = input.shape[1]
    if weight.shape[1] * groups != c:
        raise RuntimeError(f"Given groups={groups}, weight of size [{', '.join(map(str, weight.shape))}], expected "
                           f"input[{', '.join(map(str, input.shape))}] to have {weight.shape[1] * groups} channels, "
                           f"but got {c} channels instead")
    _check_same_dtype(input, weight, bias)
    spatial = input.shape[2:]
    padded = [s + 2 * p for s, p in zip(spatial, padding)]
    effective = [d * (k - 1) + 1 for k, d in zip(weight.shape[2:], dilation)]
    if any(p < k for p, k in zip(padded, effective)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, effective))}). Kernel size can't be greater than actual input size")
    if dims == 1:
        stride, padding, dilation = (1,) + stride, (0,) + padding, (1,) + dilation
    return apply(Convolution, input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _size_any_t = 1,
           padding: _size_any_t | str = 0, dilation: _size_any_t = 1, groups: int = 1) -> Tensor:
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _size_any_t = 1,
           padding: _size_any_t | str = 0, dilation: _size_any_t = 1, groups: int = 1) -> Tensor:
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, dims):
    name = f"conv_transpose{dims}d"
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to {name}, but got "
                           f"input of size: [{', '.join(map(str, input.shape))}]")
    if input.ndim == dims + 1:
        return _conv_transpose(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation,
                               dims).squeeze(0)
    stride, padding, dilation = _pair(stride, dims), _pair(padding, dims), _pair(dilation, dims)
    output_padding = _pair(output_padding, dims)
    if weight.shape[0] != input.shape[1] or weight.shape[0] % groups:
        raise RuntimeError(f"Given transposed=1, weight of size [{', '.join(map(str, weight.shape))}], expected "
                           f"input[{', '.join(map(str, input.shape))}] to have {weight.shape[0]} channels, "
                           f"but got {input.shape[1]} channels instead")
    _check_same_dtype(input, weight, bias)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        axes = ("height", "width")[-dims:]
        facts = [f"{what}_{axis}: {v}" for what, values in (("output_padding", output_padding), ("stride", stride),
                                                          ("dilation", dilation)) for axis, v in zip(axes, values)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got " + " ".join(facts))
    spatial = input.shape[2:]
    out = [(h - 1) * s - 2 * p + d * (k - 1) + op + 1
           for h, s, p, d, k, op in zip(spatial, stride, padding, dilation, weight.shape[2:], output_padding)]
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, spatial))}). Calculated output size "
                           f"per channel: ({' x '.join(map(str, out))}). Output size is too small")
    if dims == 1:
        stride, padding, dilation = (1,) + stride, (0,) + padding, (1,) + dilation
        output_padding = (0,) + output_padding
    return apply(ConvTranspose, input, weight, bias, stride=stride, padding=padding, output_padding=output_padding,
                 dilation=dilation, groups=groups)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _size_any_t = 1,
                     padding: _size_any_t | str = 0, output_padding: _size_any_t = 0, groups: int = 1,
                     dilation: _size_any_t = 1) -> Tensor:
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _size_any_t = 1,
                     padding: _size_any_t | str = 0, output_padding: _size_any_t = 0, groups: int = 1,
                     dilation: _size_any_t = 1) -> Tensor:
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1)


def unfold(input: Tensor, kernel_size: _size_any_t, dilation: _size_any_t = 1, padding: _size_any_t = 0,
           stride: _size_any_t = 1) -> Tensor:
    """Sliding blocks of a (N, C, H, W) or (C, H, W) input as columns: (N, C*kh*kw, L)."""
    if input.ndim < 3:  # torch reads the size of dim ndim first
        raise IndexError(f"Dimension out of range (expected to be in range of [{-input.ndim}, {input.ndim - 1}], but "
                         f"got {input.ndim})")
    if input.ndim > 4:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    return apply(Unfold, input, kernel_size=_pair(kernel_size), dilation=_pair(dilation), padding=_pair(padding),
                 stride=_pair(stride))


def fold(input: Tensor, output_size: _size_any_t, kernel_size: _size_any_t, dilation: _size_any_t = 1,
         padding: _size_any_t = 0, stride: _size_any_t = 1) -> Tensor:
    """Columns (N, C*kh*kw, L) or (C*kh*kw, L) summed back into (N, C, H, W): unfold's adjoint."""
    kernel, dilation, padding, stride, output_size = (_pair(v) for v in (kernel_size, dilation, padding, stride,
                                                                           output_size))
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    rows, length = input.shape[-2:]
    if rows % (kernel[0] * kernel[1]):
        raise RuntimeError(f"Expected size of input's dimension {input.ndim - 2} to be divisible by the product of "
                           f"kernel_size, but got input.size({input.ndim - 2})={rows} and kernel_size="
                           f"({kernel[0]}, {kernel[1]}).")
    blocks = _blocks(tuple(output_size[d] + 2 * padding[d] for d in (0, 1)), kernel, dilation, stride)
    if blocks[0] * blocks[1] != length:
        raise RuntimeError(f"Given output_size=({output_size[0]}, {output_size[1]}), kernel_size=({kernel[0]}, "
                           f"{kernel[1]}), dilation=({dilation[0]}, {dilation[1]}), padding=({padding[0]}, "
                           f"{padding[1]}), stride=({stride[0]}, {stride[1]}), expected size of input's dimension "
                           f"{input.ndim - 1} to match the calculated number of sliding blocks {blocks[0]} * "
                           f"{blocks[1]} = {blocks[0] * blocks[1]}, but got input.size({input.ndim - 1})={length}.")
    return apply(Fold, input, output_size=output_size, kernel_size=kernel, dilation=dilation, padding=padding,
                 stride=stride)


def _pool_args(input, kernel_size, stride, padding, dilation):
    if input.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    kernel = _pair(kernel_size)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _pair(stride)
    padding, dilation = _pair(padding), _pair(dilation)
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k}"
                               f" and dilation={d}")
    return kernel, stride, padding, dilation


def _check_pool_output(input, kernel, stride, padding, dilation, ceil_mode):
    out = [pool_output_size(input.shape[-2 + d], kernel[d], padding[d], stride[d], dilation[d], ceil_mode)
           for d in (0, 1)]
    if min(out) < 1:
        c = input.shape[-3]
        raise RuntimeError(f"Given input size: ({c}x{input.shape[-2]}x{input.shape[-1]}). Calculated output size: "
                           f"({c}x{out[0]}x{out[1]}). Output size is too small")


def max_pool2d(input: Tensor, kernel_size: _size_any_t, stride: _size_any_t | None = None,
               padding: _size_any_t = 0, dilation: _size_any_t = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    kernel, stride, padding, dilation = _pool_args(input, kernel_size, stride, padding, dilation)
    _check_pool_output(input, kernel, stride, padding, dilation, ceil_mode)
    return apply(MaxPool2d, input, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                 ceil_mode=ceil_mode, return_indices=return_indices)


max_pool2d_with_indices = max_pool2d


def avg_pool2d(input: Tensor, kernel_size: _size_any_t, stride: _size_any_t | None = None,
               padding: _size_any_t = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    kernel, stride, padding, _ = _pool_args(input, kernel_size, stride, padding, 1)
    _check_pool_output(input, kernel, stride, padding, (1, 1), ceil_mode)
    return apply(AvgPool2d, input, kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
                 count_include_pad=count_include_pad, divisor_override=divisor_override)


def _one_d(fn, input, kernel_size, stride, padding, *rest, **kwargs) -> Any:
    """A 1-d pool is the 2-d pool over a height of 1."""
    k, s, p = _pair(kernel_size, 1), None if stride is None else _pair(stride, 1), _pair(padding, 1)
    out = fn(input.unsqueeze(-2), (1,) + k, None if s is None else (1,) + s, (0,) + p, *rest, **kwargs)
    if isinstance(out, tuple):
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def max_pool1d(input: Tensor, kernel_size: _size_any_t, stride: _size_any_t | None = None,
               padding: _size_any_t = 0, dilation: _size_any_t = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    return _one_d(max_pool2d, input, kernel_size, stride, padding, (1,) + _pair(dilation, 1), ceil_mode,
                  return_indices)


def avg_pool1d(input: Tensor, kernel_size: _size_any_t, stride: _size_any_t | None = None,
               padding: _size_any_t = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    return _one_d(avg_pool2d, input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def adaptive_avg_pool2d(input: Tensor, output_size: _size_any_opt_t) -> Tensor:
    size = _pair(output_size) if not isinstance(output_size, (tuple, list)) else tuple(output_size)
    size = tuple(input.shape[-2 + d] if s is None else int(s) for d, s in enumerate(size))
    if size == (1, 1):  # PyTorch takes a mean here (MeanBackward1)
        return input.mean((-2, -1), keepdim=True)
    return apply(AdaptiveAvgPool2d, input, output_size=size)


def adaptive_avg_pool1d(input: Tensor, output_size: _size_any_opt_t) -> Tensor:
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, _pair(output_size, 1)[0])).squeeze(-2)


# ---- normalisation, dropout, embedding, padding -----------------------------------------------

def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    if training:
        n = input.numel() // input.shape[1] if input.ndim > 1 else 1
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{_size_str(input.shape)}")
    return apply(BatchNorm, input, weight, bias, running_mean=running_mean, running_var=running_var,
                 training=training or running_mean is None, momentum=momentum, eps=eps)


def layer_norm(input: Tensor, normalized_shape: _shape_t, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape or input.ndim < len(shape):
        raise RuntimeError(f"Given normalized_shape=[{', '.join(map(str, shape))}], expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"[{', '.join(map(str, input.shape))}]")
    return apply(LayerNorm, input, weight, bias, ndims=len(shape), eps=eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {_size_str(input.shape)} and num_groups={num_groups}")
    return apply(GroupNorm, input, weight, bias, groups=num_groups, eps=eps)


def _dropout(input, p, training, inplace, noise_shape):
    """torch's dropout: a mask of bernoulli_(1 - p) draws (one double uniform per mask element, from
    the default generator, on the host so a seed gives the same mask on every device) divided by
    1 - p in the input's dtype, times the input."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:  # torch multiplies by zero, without drawing
        mask = 0
    else:
        dtype = input._data.dtype
        order = _memory_order(input._data) if noise_shape == tuple(input.shape) else None
        drawn = noise_shape if order is None else tuple(noise_shape[d] for d in order)
        keep = get_generator().bernoulli(1 - p, dtype, n=math.prod(noise_shape)).reshape(drawn)
        if order is not None:  # back to the logical order
            keep = keep.transpose(sorted(range(len(order)), key=order.__getitem__))
        mask = Tensor._wrap(_move(keep / dtype.type(1 - p), input.device))
    return input.mul_(mask) if inplace else input * mask


def _memory_order(array):
    """The axes from outermost to innermost in memory, where that is not the logical order and
    the array is dense (a transpose): torch's mask (empty_like) then takes the input's strides, so
    its draws fill memory in order. None otherwise (draws in logical order)."""
    if array.flags.c_contiguous or array.ndim < 2:
        return None
    strides, shape = array.strides, array.shape
    order = sorted(range(array.ndim), key=lambda d: -strides[d])
    expected = array.itemsize
    for d in reversed(order):
        if shape[d] != 1 and strides[d] != expected:
            return None  # a slice with gaps, a broadcast or a flip: torch's mask is contiguous then
        expected *= shape[d]
    return order


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    return _dropout(input, p, training, inplace, tuple(input.shape))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels: one draw per (sample, channel)."""
    return _dropout(input, p, training, inplace, tuple(input.shape[:2]) + (1,) * (input.ndim - 2))


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L), or of (C, L) without a batch."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                           f"dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, "
                           f"a channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _dropout(input, p, training, inplace, tuple(input.shape[:-1]) + (1,))


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input._type_name()} instead (while checking arguments for embedding)")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return apply(Embedding, weight, input, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length must be divisible by 2" if len(pad) % 2 else
                           f"Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {input.ndim}")
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)][::-1]  # first padded dim first
    if mode == "constant":
        full = [(0, 0)] * (input.ndim - len(pairs)) + pairs
        return apply(ConstantPad, input, pads=full, value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    return apply(index_pads[mode, len(pairs)], input, pads=pairs)


# ---- losses -----------------------------------------------------------------------------------

def _reduction(reduction, size_average=None, reduce=None):
    if size_average is not None or reduce is not None:  # the legacy arguments still mean something
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else ("sum" if reduce else "none")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction):
    return loss.mean() if reduction == "mean" else (loss.sum() if reduction == "sum" else loss)


def _warn_broadcast(input, target):
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({_size_str(target.shape)}) that is different to the input size "
                      f"({_size_str(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def _as_input_dtype(target, input):
    return target if target.dtype is input.dtype else target.to(input.dtype)


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    _warn_broadcast(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    if weight is not None:
        return _reduce(weight * (input - target) ** 2, reduction)
    return apply(MseLoss, input, _as_input_dtype(target, input), reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    _warn_broadcast(input, target)
    loss = (input - target).abs()
    return _reduce(loss if weight is None else loss * weight, _reduction(reduction, size_average, reduce))


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    _warn_broadcast(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    return apply(SmoothL1Loss, input, _as_input_dtype(target, input), reduction=reduction, delta=beta,
                 scale=1.0 / beta)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    _warn_broadcast(input, target)
    return apply(HuberLoss, input, _as_input_dtype(target, input), reduction=_reduction(reduction), delta=delta,
                 scale=1.0)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    reduction = _reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({_size_str(target.shape)}) that is different to the input size "
                         f"({_size_str(input.shape)}) is deprecated. Please ensure they have the same size.")
    w = None if weight is None else weight.expand(input.shape)
    return apply(BinaryCrossEntropy, input, _as_input_dtype(target, input), w, reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    reduction = _reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({_size_str(target.shape)}) must be the same as input size "
                         f"({_size_str(input.shape)})")
    return apply(BinaryCrossEntropyWithLogits, input, _as_input_dtype(target, input), weight, pos_weight,
                 reduction=reduction)


def _check_target(input, target):
    if target._data.dtype.kind not in "iu" or (target._data.dtype.itemsize < 8 and target._data.dtype != np.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_scalar_name(target)}")
    batched = input.ndim >= 2
    if batched and (target.ndim == 0 or input.shape[0] != target.shape[0]):
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.ndim else 0}).")


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    reduction = _reduction(reduction, size_average, reduce)
    _check_target(input, target)
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if weight is not None and weight.shape != (classes,):
        raise RuntimeError(f"weight tensor should be defined either for all {classes} classes or no classes but got "
                           f"weight tensor of shape: [{', '.join(map(str, weight.shape))}]")
    op_class = NllLoss2d if input.ndim >= 3 else NllLoss
    return apply(op_class, input, target, weight, reduction=reduction, ignore_index=ignore_index)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
                  ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 1 if input.ndim > 1 else 0
    logp = log_softmax(input, class_dim)
    if target.is_floating_point() and target.shape == input.shape:
        return _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, class_dim)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0:
        return loss
    return _smoothed(loss, logp, target, weight, ignore_index, reduction, label_smoothing, class_dim)


def _class_shape(input, class_dim):
    return [-1 if d == class_dim else 1 for d in range(input.ndim)]


def _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, class_dim):
    """Targets that are class probabilities: -sum(target * log p) per sample."""
    classes = logp.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape(_class_shape(logp, class_dim))
    loss = -prod.sum(class_dim)
    if reduction == "mean":
        return loss.sum() / (logp.numel() // classes) if logp.numel() else loss.sum() / 0.0
    return _reduce(loss, reduction)


def _smoothed(loss, logp, target, weight, ignore_index, reduction, label_smoothing, class_dim):
    """(1 - eps) * nll + eps/C * (-sum over classes of log p): PyTorch's label smoothing."""
    classes = logp.shape[class_dim]
    per_class = logp if weight is None else logp * weight.reshape(_class_shape(logp, class_dim))
    ignored = target == ignore_index
    smooth = (-per_class.sum(class_dim)).masked_fill(ignored, 0.0)
    if reduction == "mean":
        if weight is None:
            smooth = smooth.sum() / (~ignored).sum()
        else:
            smooth = smooth.sum() / weight[target.masked_select(~ignored)].sum()
    else:
        smooth = _reduce(smooth, reduction)
    return (1 - label_smoothing) * loss + smooth * (label_smoothing / classes)


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    reduction = "batchmean" if reduction == "batchmean" else _reduction(reduction, size_average, reduce)
    if log_target:
        loss = target.exp() * (target - input)
    else:  # 0 * log 0 counts as 0: log is taken of 1 where the target is 0
        loss = target * (ops.where(target > 0, target, 1.0).log() - input)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


from .modules.attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402
from .modules.attention import _canonical_mask, _none_or_dtype  # noqa: E402,F401  (torch has them here)

__all__ = [name for name, value in dict(globals()).items()
           if callable(value) and not name.startswith("_") and getattr(value, "__module__", None) == __name__]
__all__ += ["softmax", "log_softmax", "linear", "multi_head_attention_forward", "scaled_dot_product_attention"]
