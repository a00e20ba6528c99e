"""Softmax and log-softmax, numerically stable (the max is subtracted first)."""

from .dispatch import Op, apply, op
from .util import wrap_dim, xp_of


@op("softmax", "SoftmaxBackward0")
class Softmax(Op):
    saved_as_given = True
    saved = ("out",)
    saved_output = True

    def forward(self, x, dim):
        xp = xp_of(x)
        self.dim = dim
        e = xp.exp(x - x.max(axis=dim, keepdims=True)) if x.size else x.copy()
        self.out = e / e.sum(axis=dim, keepdims=True)
        return self.out

    def backward(self, grad):
        out = self.out
        return (out * (grad - (grad * out).sum(axis=self.dim, keepdims=True)),)


@op("log_softmax", "LogSoftmaxBackward0")
class LogSoftmax(Op):
    saved_as_given = True
    saved = ("out",)
    saved_output = True

    def forward(self, x, dim):
        xp = xp_of(x)
        self.dim = dim
        if not x.size:
            self.out = x.copy()
            return self.out
        shifted = x - x.max(axis=dim, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        return self.out

    def backward(self, grad):
        xp = xp_of(grad)
        return (grad - xp.exp(self.out) * grad.sum(axis=self.dim, keepdims=True),)


def _softmax_args(input, dim, dtype, name):
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    dim = wrap_dim(dim, input.ndim) if input.ndim else None  # a 0-d tensor: axis None
    if input._data.dtype.kind not in "fV":  # (bfloat16's kind is "V")
        kernel = f"{name}_lastdim_kernel_impl" if dim is None or dim == input.ndim - 1 else f"{name}_kernel_impl"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{input.dtype._legacy[:-6]}'")
    return input, dim


def softmax(input, dim=None, dtype=None):
    input, dim = _softmax_args(input, dim, dtype, "softmax")
    return apply(Softmax, input, dim=dim)


def log_softmax(input, dim=None, dtype=None):
    input, dim = _softmax_args(input, dim, dtype, "log_softmax")
    return apply(LogSoftmax, input, dim=dim)



