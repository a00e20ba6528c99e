"""graphgrad.jit: `trace(model, example_inputs)` runs the model once and records every op it
dispatches into a program; `save`/`load` write and read that program with its weights; a
loaded program replays the ops on new inputs (torch.jit.trace / torch.jit.load)."""
from .trace import ScriptModule, TracedModule, load, save, trace


def script(obj, *args, **kwargs):
    raise NotImplementedError("graphgrad.jit.script is not supported: graphgrad records what runs, so use "
                              "graphgrad.jit.trace(model, example_inputs) instead")


def ignore(fn=None, **kwargs):
    return fn if fn is not None else (lambda f: f)


unused = ignore

__all__ = ["ScriptModule", "TracedModule", "ignore", "load", "save", "script", "trace", "unused"]
