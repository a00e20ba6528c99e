"""Pieces the optimizers share: torch's gradient preamble (maximize, L2 weight decay), its
lerp formula, and the 0-d scalar state some algorithms keep (eta, mu, mu_product)."""
import numpy as np

from .. import dtypes
from ..ops.util import xp_of
from ..tensor import Tensor
from .optimizer import new_step


def effective_grad(g, w, maximize, weight_decay):
    """The gradient the update uses: negated to maximize, plus weight_decay * w (new arrays;
    the parameter's .grad is never written)."""
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * w
    return g


def lerp_(a, b, weight, tmp):
    """a <- a + weight (b - a), computed as torch's lerp does (from the nearer end)."""
    if weight < 0.5:
        tmp[...] = b
        tmp -= a
        tmp *= weight
        a += tmp
    else:
        tmp[...] = b
        tmp -= a
        tmp *= tmp.dtype.type(1) - tmp.dtype.type(weight)  # 1 - weight in the array's precision, as torch
        a[...] = b
        a -= tmp


def scalar_state(value, param):
    """A 0-d tensor of torch's scalar dtype for optimizer state (float64 when that is the
    default dtype, else float32), on the parameter's device, as torch keeps eta, mu, mu_product."""
    dtype = np.float64 if dtypes.get_default_dtype() is dtypes.float64 else np.float32
    return Tensor._wrap(xp_of(param._data).asarray(value, dtype=dtype))


def start_state(state, p, zeros=(), **scalars):
    """A parameter's state at its first step, in torch's key order: the step count, then 0-d
    scalars (scalar_state), then arrays of zeros shaped like the parameter."""
    state["step"] = new_step(p)
    for name, value in scalars.items():
        state[name] = scalar_state(value, p)
    for name in zeros:
        state[name] = Tensor._wrap(xp_of(p._data).zeros_like(p._data))


def update_moments(exp_avg, exp_avg_sq, g, beta1, beta2, tmp):
    """The Adam family's running moments, in torch's order: m <- lerp(m, g, 1 - beta1),
    v <- beta2 v + ((1 - beta2) g) g."""
    lerp_(exp_avg, g, 1 - beta1, tmp)
    exp_avg_sq *= beta2
    xp_of(g).multiply(g, 1 - beta2, out=tmp)
    tmp *= g
    exp_avg_sq += tmp
