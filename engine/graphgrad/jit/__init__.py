"""graphgrad.jit: `trace(model, example_inputs)` runs the model once and records every op it
dispatches into a program; `save`/`load` write and read that program with its weights; a
loaded program replays the ops on new inputs (torch.jit.trace / torch.jit.load)."""
from collections.abc import Callable
from typing import Any, NoReturn

from .trace import ScriptModule, TracedModule, load, save, trace


def script(obj: Any, *args: Any, **kwargs: Any) -> NoReturn:
    raise NotImplementedError("graphgrad.jit.script is not supported: graphgrad records what runs, so use "
                              "graphgrad.jit.trace(model, example_inputs) instead")


def ignore(fn: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    return fn if fn is not None else (lambda f: f)


unused = ignore

__all__ = ["ScriptModule", "TracedModule", "ignore", "load", "save", "script", "trace", "unused"]
