"""Whether ops record history: no_grad, enable_grad, set_grad_enabled, inference_mode. Each is a
context manager and a decorator, as PyTorch's are."""
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast, overload

from .._hooks import state  # (at the bottom layer: dispatch reads it for every op)


G = TypeVar("G", bound="_GradMode")
F = TypeVar("F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    return state.grad_enabled


class _GradMode:
    """Sets `state.grad_enabled` to `mode` inside `with`, or around every call of a decorated
    function. `@no_grad` works with or without parentheses, as in PyTorch."""
    mode = True

    @overload
    def __new__(cls, orig_func: F) -> F: ...   # @no_grad on a function: the function, wrapped
    @overload
    def __new__(cls: type[G], orig_func: Any = None) -> G: ...   # a context manager
    def __new__(cls, orig_func=None):
        if callable(orig_func):
            return cls()(orig_func)
        return super().__new__(cls)

    def __init__(self, orig_func=None):
        pass

    def __enter__(self) -> None:
        self._prev = state.grad_enabled
        state.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:   # (exceptions go on)
        state.grad_enabled = self._prev

    def __call__(self, fn: F) -> F:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev, state.grad_enabled = state.grad_enabled, mode
            try:
                return fn(*args, **kwargs)
            finally:
                state.grad_enabled = prev
        return cast(F, wrapper)

    def clone(self):
        return self.__class__()


class no_grad(_GradMode):
    mode = False


class enable_grad(_GradMode):
    mode = True


class inference_mode(_GradMode):
    def __init__(self, mode=True):
        self.mode = not mode

    def clone(self):
        return inference_mode(not self.mode)


class set_grad_enabled(_GradMode):
    """Takes effect when called, not only in `with` (`set_grad_enabled(False)` as a statement)."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self._prev = state.grad_enabled
        state.grad_enabled = self.mode

    def __enter__(self):
        pass  # already set by __init__; __exit__ restores what was there before

    def __call__(self, fn):
        state.grad_enabled = self._prev  # as a decorator it only applies inside the function
        return super().__call__(fn)

    def clone(self):
        return set_grad_enabled(self.mode)
