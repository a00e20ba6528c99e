"""Normalisation: batch, layer and group norm, each one node that standardises (mean 0, variance
1 over its axes) and then scales by a weight and shifts by a bias."""
from collections.abc import Callable
from typing import Any

from .dispatch import Op, op
from .util import xp_of


def _standardize(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over axes (biased variance); also the statistics (kept dims)."""
    xp = xp_of(x)
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    invstd = (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
    return (x - mean) * invstd, invstd, mean, var


def _standardize_grad(g, xhat, invstd, axes):
    """The gradient through _standardize (statistics included) from g, the gradient at xhat."""
    return invstd * (g - g.mean(axis=axes, keepdims=True) - xhat * (g * xhat).mean(axis=axes, keepdims=True))


class _Norm(Op):
    """Normalise, then scale by weight and shift by bias (each optional, shaped to broadcast).
    Subclasses say how in standardized(x) -> (xhat, invstd)."""
    standardized: Callable[..., Any]
    saves = {"x": "input 0", "w_in": "input 1", "w": "derived", "xhat": "derived", "invstd": "derived"}

    def forward_affine(self, x, w, b, shape, standardized=None):
        self.x, self.w_in, self.shape = x, w, shape
        self.xhat, self.invstd = standardized or self.standardized(x)
        self.w = None if w is None else w.reshape(shape)
        if w is None and b is None:
            return self.xhat.copy()  # not the array backward reads: an in-place op on the output may follow
        out = self.xhat if w is None else self.xhat * self.w
        return out if b is None else out + b.reshape(shape)

    def regraph(self):
        """create_graph=True: the derived arrays again, from x and w as graph arrays."""
        self.xhat, self.invstd = self.standardized(self.x)
        self.w = None if self.w_in is None else self.w_in.reshape(self.shape)

    def _param_grads(self, grad, axes):
        """(grad at xhat, weight grad, bias grad); the parameter grads sum over `axes`."""
        gw = gb = None
        if len(self.next_functions) > 1 and self.next_functions[1][0] is not None:
            gw = (grad * self.xhat).sum(axis=axes)
        if len(self.next_functions) > 2 and self.next_functions[2][0] is not None:
            gb = grad.sum(axis=axes)
        return (grad if self.w is None else grad * self.w), gw, gb


@op("batch_norm", "NativeBatchNormBackward0", category="normalization")
class BatchNorm(_Norm):
    """Over every dim but the channels (dim 1). Training uses the batch statistics and moves the
    running ones (Tensors, updated in place) towards them; eval uses the running ones."""
    saves = _Norm.saves | {"running_mean": "constant, kept", "running_var": "constant, kept"}

    def forward(self, x, w, b, running_mean: Any, running_var: Any, training, momentum, eps):
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.training, self.eps = training, eps
        standardized = None
        if training and running_mean is not None:
            xhat, invstd, mean, var = _standardize(x, self.axes, eps)
            n = x.size // x.shape[1]
            _update_running(running_mean, mean.reshape(-1), momentum)
            _update_running(running_var, var.reshape(-1) * (n / max(n - 1, 1)), momentum)
            standardized = xhat, invstd
        elif not training:
            self.running_mean, self.running_var = running_mean._data, running_var._data  # pyright: ignore[reportOptionalMemberAccess]
        return self.forward_affine(x, w, b, (1, -1) + (1,) * (x.ndim - 2), standardized)

    def standardized(self, x):
        if self.training:
            return _standardize(x, self.axes, self.eps)[:2]
        xp, shape = xp_of(x), (1, -1) + (1,) * (x.ndim - 2)
        invstd = (1 / xp.sqrt(self.running_var + self.eps)).astype(x.dtype, copy=False).reshape(shape)
        return (x - self.running_mean.reshape(shape)) * invstd, invstd

    def backward(self, grad):
        g, gw, gb = self._param_grads(grad, self.axes)
        if self.training:
            return _standardize_grad(g, self.xhat, self.invstd, self.axes), gw, gb
        return g * self.invstd, gw, gb


def _update_running(stat, value, momentum):
    stat._data *= 1 - momentum
    stat._data += momentum * value.astype(stat._data.dtype, copy=False)
    stat._vbox[0] += 1


@op("layer_norm", "NativeLayerNormBackward0", category="normalization")
class LayerNorm(_Norm):
    """Over the last `ndims` dims; weight and bias have those dims' shape."""

    def forward(self, x, w, b, ndims, eps):
        self.axes, self.eps = tuple(range(x.ndim - ndims, x.ndim)), eps
        return self.forward_affine(x, w, b, x.shape[x.ndim - ndims:])

    def standardized(self, x):
        return _standardize(x, self.axes, self.eps)[:2]

    def backward(self, grad):
        g, gw, gb = self._param_grads(grad, tuple(range(grad.ndim - len(self.axes))))
        return _standardize_grad(g, self.xhat, self.invstd, self.axes), gw, gb


@op("group_norm", "NativeGroupNormBackward0", category="normalization")
class GroupNorm(_Norm):
    """Over each group of channels (and all positions) of each sample; a weight per channel."""

    def forward(self, x, w, b, groups, eps):
        self.groups, self.eps = groups, eps
        return self.forward_affine(x, w, b, (1, -1) + (1,) * (x.ndim - 2))

    def standardized(self, x):
        xhat, invstd, _, _ = _standardize(x.reshape(x.shape[0], self.groups, -1), (2,), self.eps)
        return xhat.reshape(x.shape), invstd

    def backward(self, grad):
        g, gw, gb = self._param_grads(grad, (0,) + tuple(range(2, grad.ndim)))
        grouped = (grad.shape[0], self.groups, -1)
        gx = _standardize_grad(g.reshape(grouped), self.xhat.reshape(grouped), self.invstd, (2,))
        return gx.reshape(grad.shape), gw, gb
