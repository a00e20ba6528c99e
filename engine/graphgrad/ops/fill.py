"""Writing values into a tensor in place: zero_, fill_, copy_ and the random fills (uniform_,
normal_, bernoulli_, random_) that nn.init uses."""
import numpy as np

from ..random import get_generator, in_memory_order
from ..tensor import Tensor
from .convert import _move
from .dispatch import apply
from .index import CopyAll
from .inplace import shape_mismatch, write_inplace
from .public import public
from .util import broadcast_shapes


@public(method=True)
def zero_(self: Tensor) -> Tensor:
    return fill_(self, 0)


@public(method=True)
def fill_(self: Tensor, value) -> Tensor:
    value = value.item() if isinstance(value, Tensor) else value
    return write_inplace(self, lambda t: _filled_like(t, value))


def _filled_like(t, value):
    out = Tensor._wrap(t._xp().full(t._data.shape, value, t._data.dtype))
    if t.requires_grad and t.grad_fn is not None:
        return t * 0 + out  # still a node, so history stays connected as PyTorch's FillBackward
    return out


@public(method=True)
def copy_(self: Tensor, src, non_blocking=False) -> Tensor:
    """src written into self: broadcast to self's shape, cast to its dtype, moved to its device.
    Recorded as PyTorch's CopyBackwards: src gets the gradient, self's old values none."""
    src = src.to(self.device)
    shape = broadcast_shapes(self._data.shape, src._data.shape)
    if shape != self._data.shape:
        raise shape_mismatch(self._data.shape, shape)
    # (the cast happens inside the copy, as in PyTorch: src's node is the next function)
    return write_inplace(self, lambda t: apply(CopyAll, t, src, key=Ellipsis))


@public(method=True)
def uniform_(self: Tensor, a=0.0, b=1.0, *, generator=None) -> Tensor:
    return _write_random(self, lambda gen, n, dtype, out=None: gen.uniform(n, dtype, a, b, out), generator, True)


@public(method=True)
def normal_(self: Tensor, mean=0.0, std=1.0, *, generator=None) -> Tensor:
    contiguous = self._data.flags.c_contiguous  # torch draws one element at a time into other layouts
    return _write_random(self, lambda gen, n, dtype, out=None: gen.normal(n, dtype, mean, std, contiguous, out),
                         generator, True)


@public(method=True)
def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    if isinstance(p, Tensor):
        probs = p.detach().cpu().expand(self.shape).numpy()
        return _write_random(self, lambda gen, n, dtype: gen.bernoulli(probs, dtype).ravel(), generator)
    return _write_random(self, lambda gen, n, dtype: gen.bernoulli(p, dtype, n=n), generator)


@public(method=True)
def random_(self: Tensor, low=None, high=None, *, generator=None) -> Tensor:
    """random_() covers the dtype's whole range, random_(high) is [0, high), random_(low, high) [low, high)."""
    if low is None:
        return _write_random(self, lambda gen, n, dtype: gen.random(n, dtype), generator)
    if high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return _write_random(self, lambda gen, n, dtype: gen.integers(n, low, high, dtype), generator)


def _write_random(self, draw, generator, takes_out=False):
    """Fill in place without history (init functions run under no_grad, as in PyTorch): `draw`
    gives the values in the order torch writes them, along the tensor's memory; one that takes_out
    writes them into an `out` array it is given instead."""
    data = self._data
    if takes_out and type(data) is np.ndarray and data.flags.c_contiguous:
        # straight into the tensor's memory: no array of its size made, faulted in and copied
        draw(get_generator(generator), data.size, data.dtype, data.reshape(-1))
    else:
        values = draw(get_generator(generator), data.size, data.dtype)
        data[...] = _move(in_memory_order(values, data), self.device)
    self._vbox[0] += 1
    return self
