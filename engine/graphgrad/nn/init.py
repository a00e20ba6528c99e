"""graphgrad.nn.init: fill parameters in place (without recording history), with PyTorch's
formulas for gains and fans. Random draws come from graphgrad's generator (or `generator=`), in
torch's order, so a seeded model starts from torch's weights."""
import math
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from ..ops.convert import _move
from ..random import get_generator
from .. import creation, ops


def calculate_gain(nonlinearity, param=None):
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, host_array):
    """Write values drawn on the host into the tensor's memory (a new version, no history)."""
    with no_grad():
        tensor._data[...] = _move(np.asarray(host_array, dtype=tensor._data.dtype), tensor.device)
        tensor._vbox[0] += 1
    return tensor


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Normal(mean, std) truncated to [a, b], sampled the way torch samples it (so with its draws)."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    cdf = lambda x: (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0
    sample = _redrawn_normals if cdf((b - mean) / std) - cdf((a - mean) / std) > 0.3 else _accepted_uniforms
    with no_grad():
        result = sample(tensor, mean, std, a, b, generator)
        return tensor if result is tensor else tensor.copy_(result)


def _redrawn_normals(tensor, mean, std, a, b, generator):
    """Most of the mass inside [a, b]: normals, and where they fall outside, the values of a whole
    new tensor of normals, until none do."""
    lo, hi = (creation.tensor(v, dtype=tensor.dtype).item() for v in (a, b))  # the bounds in the dtype
    result = tensor.normal_(mean, std, generator=generator)
    while (outside := (result < lo) | (result > hi)).any():
        result = ops.where(outside, creation.empty_like(result).normal_(mean, std, generator=generator), result)
    return result


def _accepted_uniforms(tensor, mean, std, a, b, generator):
    """Little of the mass inside [a, b]: uniforms on [a, b], each kept with probability
    pdf / pdf(mode) (compared in logs), the rejected ones drawn again."""
    log_peak = -0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2
    log_pdf = lambda x: ((x - mean) / std).pow(2) * -0.5 - log_peak
    accept = creation.empty_like(tensor)
    result = tensor.uniform_(a, b, generator=generator)
    pending = accept.uniform_(generator=generator).log() > log_pdf(result)
    while pending.any():
        candidates = creation.empty_like(tensor).uniform_(a, b, generator=generator)
        result = ops.where(pending, candidates, result)
        pending = ops.where(pending, accept.uniform_(generator=generator).log() > log_pdf(candidates), pending)
    return result


def constant_(tensor, val):
    return _fill(tensor, np.full(tensor.shape, val))


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    out_per_group = tensor.shape[0] // groups
    values = np.zeros(tensor.shape)
    centre = tuple(s // 2 for s in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, tensor.shape[1])):
            values[(g * out_per_group + d, d) + centre] = 1
    return _fill(tensor, values)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor, a: float = 0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain=1, generator=None):
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows, cols = tensor.shape[0], tensor.numel() // tensor.shape[0]
    flat = get_generator(generator).normal(rows * cols, tensor._data.dtype).reshape(rows, cols)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Normal(0, std), then a fraction `sparsity` of each column zeroed (the rows picked by the
    default generator, as in torch, whatever `generator` is)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    zeros = math.ceil(sparsity * rows)
    values = normal_(tensor, 0.0, std, generator).detach().cpu().numpy().copy()
    for c in range(cols):
        values[get_generator().permutation(rows)[:zeros], c] = 0
    return _fill(tensor, values)


# the old names, without the trailing underscore
uniform, normal, constant, xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal, orthogonal = (
    uniform_, normal_, constant_, xavier_uniform_, xavier_normal_, kaiming_uniform_, kaiming_normal_, orthogonal_)
