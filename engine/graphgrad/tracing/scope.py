"""Where in the model and in the training step an op runs, told to active recorders:

- `enter_module(module)` / `exit_module(module)`: around Module.__call__'s forward, so ops are
  named by module path;
- `phase_scope("optimizer")`: an optimizer's step runs in it, so its ops are not forward ops.

Both run only while a recorder is active (`if recorders:` at the call site), so they cost
nothing otherwise. Plain functions and classes rather than contextlib generators: no extra
frames, and recorders that look for the user's frame need not skip contextlib's."""
import weakref
from typing import Any

from .._hooks import recorders
from .source import boundaries, enter_module as enter_source_module

module_stack = []  # the modules being called, outermost first
open_debuggers = weakref.WeakSet()  # backward debuggers (graphgrad.debug) not run to the end yet


def enter_module(module: Any) -> None:
    """Module.__call__ begins (while a recorder is active). Also remembers where the module was
    called from, so finding the user's line for each op inside stops there (source.location).
    Two functions, not a context manager: Module.__call__ calls them around forward in a
    try/finally, which costs a trace's step less than a `with` object per module call."""
    module_stack.append(module)
    enter_source_module(module)
    for recorder in recorders:
        if getattr(recorder, "follows_modules", True):  # (one that is not a Recorder: told)
            recorder.enter_module(module)


def exit_module(module: Any) -> None:
    """The module call ended (for code pairing enter_module and exit_module itself; Module.__call__
    cuts the stacks back to their depth before the call, then calls exit_module_called)."""
    del module_stack[-1:], boundaries[-1:]  # one statement: no interrupt lands between the two
    exit_module_called(module)


def exit_module_called(module: Any) -> None:
    """Tell the recorders that the module call ended (the stacks are cut back already)."""
    for recorder in recorders:
        if getattr(recorder, "follows_modules", True):
            recorder.exit_module(module)


class phase_scope:
    """`owner` is what runs the phase (the optimizer), for recorders that describe it."""
    __slots__ = ("phase", "owner")

    def __init__(self, phase: str, owner: Any = None) -> None:
        self.phase, self.owner = phase, owner

    def __enter__(self) -> None:
        for recorder in recorders:
            recorder.enter_phase(self.phase, self.owner)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:   # (exceptions go on)
        for recorder in recorders:
            recorder.exit_phase(self.phase, self.owner)
