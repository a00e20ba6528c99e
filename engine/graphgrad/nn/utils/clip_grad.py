"""Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_."""
import math

from ... import ops
from ...autograd.grad_mode import no_grad
from ...creation import tensor
from ...tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


@no_grad()
def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return tensor(0.0)
    norms = ops.stack([ops.norm(t, norm_type) for t in tensors])
    total = norms.max() if norm_type == math.inf else ops.norm(norms, norm_type)
    if error_if_nonfinite and not bool(total.isfinite()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
                           "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
                           "anyway, set `error_if_nonfinite=False`")
    return total


@no_grad()
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so their joint norm is at most max_norm; returns the norm
    before clipping."""
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    coef = (float(max_norm) / (total + 1e-6)).clamp_max(1.0)  # a tensor: no device-to-host sync
    for g in grads:
        g._data *= coef._data.astype(g._data.dtype)
        g._vbox[0] += 1
    return total


@no_grad()
def clip_grad_value_(parameters, clip_value, foreach=None):
    for g in _grads(parameters):
        g._data[...] = g._xp().clip(g._data, -clip_value, clip_value)
        g._vbox[0] += 1
