"""Activations: relu, sigmoid, tanh, gelu, elu, silu, softplus... and softmax, log-softmax.

The elementwise ones are formulas through `elementwise` (ops/unary.py): the function and its
derivative side by side. Their nn.functional forms (argument checks, `inplace=True`) live in
nn/functional.py and apply these ops."""
import math

from ..tensor import Tensor
from .dispatch import Op, apply, op
from .unary import elementwise, erf_array
from .util import wrap_dim, xp_of
from .public import public


def _sigmoid(xp, x):
    return xp.exp(-xp.logaddexp(0, -x)).astype(x.dtype, copy=False)


def _softplus(xp, x, beta=1.0, threshold=20.0):
    return xp.where(x * beta > threshold, x, xp.logaddexp(0, x * beta) / beta)


def _gelu(xp, x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1 + xp.tanh(_GELU_K * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + erf_array(xp, x * (1 / math.sqrt(2))))


def _gelu_grad(xp, x, approximate):
    if approximate == "tanh":
        t = xp.tanh(_GELU_K * (x + 0.044715 * x ** 3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_K * (1 + 3 * 0.044715 * x * x)
    return 0.5 * (1 + erf_array(xp, x * (1 / math.sqrt(2)))) + x * xp.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))


_GELU_K = math.sqrt(2 / math.pi)


def _activation(name, grad_fn, f, df, save="x", promote_int=False, **variants):
    return elementwise(name, grad_fn, f, df, category="activation", save=save, promote_int=promote_int, **variants)


# graphgrad.relu, sigmoid and tanh are Tensor methods too; the others are nn.functional's
Relu = _activation("relu", "ReluBackward0", lambda xp, x: xp.maximum(x, 0), lambda xp, out: out > 0, save="out",
                   method=True, inplace=True)
Sigmoid = _activation("sigmoid", "SigmoidBackward0", _sigmoid, lambda xp, out: out * (1 - out), save="out",
                      promote_int=True, method=True, inplace=True)
Tanh = _activation("tanh", "TanhBackward0", lambda xp, x: xp.tanh(x), lambda xp, out: 1 - out * out, save="out",
                   promote_int=True, method=True, inplace=True)
LeakyRelu = _activation("leaky_relu", "LeakyReluBackward0",
                        lambda xp, x, negative_slope: xp.where(x > 0, x, x * negative_slope),
                        lambda xp, x, negative_slope: xp.where(x > 0, 1.0, negative_slope))
Gelu = _activation("gelu", "GeluBackward0", _gelu, _gelu_grad)
Elu = _activation("elu", "EluBackward0",
                  lambda xp, x, alpha, scale, input_scale:
                  scale * xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0) * input_scale)),
                  lambda xp, x, alpha, scale, input_scale:
                  scale * xp.where(x > 0, 1.0, alpha * input_scale * xp.exp(xp.minimum(x, 0) * input_scale)))
Celu = op("celu", "CeluBackward0", category="activation")(type("Celu", (Elu,), {}))
Silu = _activation("silu", "SiluBackward0",
                   lambda xp, x: x * _sigmoid(xp, x),
                   lambda xp, x: _sigmoid(xp, x) * (1 + x * (1 - _sigmoid(xp, x))))
Softplus = _activation("softplus", "SoftplusBackward0", _softplus,
                       lambda xp, x, beta, threshold: xp.where(x * beta > threshold, 1.0, _sigmoid(xp, x * beta)))
Hardtanh = _activation("hardtanh", "HardtanhBackward0",
                       lambda xp, x, min_val, max_val: xp.clip(x, min_val, max_val),
                       lambda xp, x, min_val, max_val: (x > min_val) & (x < max_val))
Mish = _activation("mish", "MishBackward0",
                   lambda xp, x: x * xp.tanh(_softplus(xp, x)),
                   lambda xp, x: xp.tanh(_softplus(xp, x)) + x * _sigmoid(xp, x) * (1 - xp.tanh(_softplus(xp, x)) ** 2))
LogSigmoid = _activation("log_sigmoid", "LogSigmoidBackward0",
                         lambda xp, x: -xp.logaddexp(0, -x),
                         lambda xp, x: _sigmoid(xp, -x))
Hardswish = _activation("hardswish", "HardswishBackward0",
                        lambda xp, x: x * xp.clip(x + 3, 0, 6) / 6,
                        lambda xp, x: xp.where(x < -3, 0.0, xp.where(x <= 3, x / 3 + 0.5, 1.0)))
Hardsigmoid = _activation("hardsigmoid", "HardsigmoidBackward0",
                          lambda xp, x: xp.clip(x + 3, 0, 6) / 6,
                          lambda xp, x: ((x > -3) & (x < 3)) / 6)


@op("prelu", "PreluKernelBackward0", category="activation")
class Prelu(Op):
    """max(0, x) + w * min(0, x): one slope, or one per channel (dim 1)."""
    # w: w_in shaped to broadcast over x
    saves = {"x": "input 0", "w_in": "input 1", "w": "derived"}

    def forward(self, x, w):
        self.x, self.w_in, self.w_shape = x, w, w.shape
        self.per_channel = w.size > 1
        self.regraph()
        return xp_of(x).where(x > 0, x, self.w * x)

    def regraph(self):
        w = self.w_in
        self.w = w.reshape((1, -1) + (1,) * (self.x.ndim - 2)) if self.per_channel else w.reshape(())

    def backward(self, grad):
        xp = xp_of(grad)
        positive = self.x > 0
        gw = xp.where(positive, 0, grad * self.x)
        gw = gw.sum(axis=(0,) + tuple(range(2, gw.ndim))) if self.per_channel else gw.sum()
        return xp.where(positive, grad, self.w * grad), gw.reshape(self.w_shape)


# ---- softmax ---------------------------------------------------------------------------------------
# numerically stable: the max is subtracted first

@op("softmax", "SoftmaxBackward0", category="activation")
class Softmax(Op):
    saves = {"out": "output"}

    def forward(self, x, dim):
        xp = xp_of(x)
        self.dim = dim
        e = xp.exp(x - x.max(axis=dim, keepdims=True)) if x.size else x.copy()
        self.out = e / e.sum(axis=dim, keepdims=True)
        return self.out

    def backward(self, grad):
        out = self.out
        return (out * (grad - (grad * out).sum(axis=self.dim, keepdims=True)),)


@op("log_softmax", "LogSoftmaxBackward0", category="activation")
class LogSoftmax(Op):
    saves = {"out": "output"}

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


@public(method=True)
def softmax(input: Tensor, dim=None, dtype=None) -> Tensor:
    input, dim = _softmax_args(input, dim, dtype, "softmax")
    return apply(Softmax, input, dim=dim)


@public(method=True)
def log_softmax(input: Tensor, dim=None, dtype=None) -> Tensor:
    input, dim = _softmax_args(input, dim, dtype, "log_softmax")
    return apply(LogSoftmax, input, dim=dim)
