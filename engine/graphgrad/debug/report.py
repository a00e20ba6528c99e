"""What a debugger reports when it stops: why, where, and the value that made it stop."""
from collections.abc import Callable
from typing import Any, TypeVar

S = TypeVar("S", bound="BreakpointStepper")


class Break:
    """A breakpoint hit. reason: "node" (the node asked for), "nan" / "inf" (the first
    non-finite value or gradient), "grad_norm" (a gradient above the threshold).
    `step` is the debugger's step (DebugStep or ReplayStep); `message` says it in words."""

    def __init__(self, reason: str, message: str, step: Any = None, value: Any = None) -> None:
        self.reason, self.message, self.step, self.value = reason, message, step, value

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"Break({self.reason!r}: {self.message})"


def gradient_break(kind, grad_fn, i, origin, step, value):
    """The Break for the first NaN/Inf in a gradient: computed by `grad_fn` (its i-th output),
    the backward of `origin` (words for the forward op, with its source line)."""
    return Break(kind, f"{kind} first appeared in a gradient at {grad_fn} (its {i}th output), the backward of "
                       f"{origin}", step, value)


class BreakpointStepper:
    """What the backward stepper and the forward replay share: breakpoints, each a check that
    returns a Break or None, and `cont()` to run until one hits. Subclasses give `_advance()`
    (run one step; None at the end) and set `hit = None`, `_breakpoints = []`."""
    hit: Break | None
    _breakpoints: list[Callable[[Any], Break | None]]

    def _advance(self) -> Any:
        raise NotImplementedError

    def cont(self) -> Break | None:
        """Run until a breakpoint hits (returns the Break) or to the end (returns None)."""
        while True:
            s = self._advance()
            if s is None:
                return None
            for check in self._breakpoints:
                hit = check(s)
                if hit is not None:
                    self.hit = hit
                    return hit

    def clear_breakpoints(self: S) -> S:
        self._breakpoints.clear()
        return self
