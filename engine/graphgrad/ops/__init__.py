"""The ops: one file per topic, each op's class (forward and backward) with its public function
beside it, declared with `@public(...)` (ops/public.py) and registered with `@op(...)`
(ops/dispatch.py). Importing the topic modules declares them all; this module then exports the
functions (`graphgrad.exp`) and attaches their methods, in-place forms and operators to Tensor
(`x.exp()`, `x.exp_()`, `a + b`). To add an op, see "Adding an op" in the README."""
from . import (activation, arithmetic, comparison, convert, convolution, fill, index, linalg, loss,
               module_hooks, normalization, pooling, reduce, shape, unary)
from .public import PUBLIC, attach_to_tensor
from .util import broadcast_shapes

attach_to_tensor()
globals().update(PUBLIC)

__all__ = sorted(PUBLIC) + ["broadcast_shapes"]
