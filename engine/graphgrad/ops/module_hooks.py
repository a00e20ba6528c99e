"""The node through which Module's full backward hooks see (and may replace) gradients."""
from typing import Any

from .dispatch import Op, op


@op("backward_hook", "BackwardHookFunctionBackward", category="hook")
class BackwardHookFunction(Op):
    """Identity on a module's input or output tensors, whose backward hands the gradients to
    `callback` (arrays in, arrays out): how Module's full backward hooks see and replace them."""

    def forward(self, *arrays: Any, callback):
        self.callback, self.n_outputs = callback, len(arrays)
        return arrays if len(arrays) > 1 else arrays[0]  # pyright: ignore[reportGeneralTypeIssues]

    def backward(self, grads):
        return tuple(self.callback(grads if type(grads) is tuple else (grads,)))
