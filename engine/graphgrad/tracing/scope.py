"""Where in the model and in the training step an op runs, told to active recorders:

- `module_scope(module)`: Module.__call__ enters it, so ops are named by module path;
- `phase_scope("optimizer")`: an optimizer's step runs in it, so its ops are not forward ops.

Both are entered only while a recorder is active (`if recorders:` at the call site), so they
cost nothing otherwise. Plain classes rather than contextlib generators: no extra frames, and
recorders that look for the user's frame need not skip contextlib's."""
import sys
import weakref

from ..ops.dispatch import recorders
from .source import boundaries, enter_module as enter_source_module

module_stack = []  # the modules being called, outermost first
open_debuggers = weakref.WeakSet()  # backward debuggers (graphgrad.debug) not run to the end yet


def call_in_module_scope(module, forward, args, kwargs):
    """Module.__call__ while a recorder listens: forward(*args, **kwargs) inside the module's
    scope. A function rather than `with module_scope(...)`: two Python frames fewer per call."""
    enter_module(module, sys._getframe(1))
    try:
        return forward(*args, **kwargs)
    finally:
        exit_module(module)


def enter_module(module, caller):
    """Push module (called from frame `caller`) onto the scope stacks and tell the recorders."""
    module_stack.append(module)
    enter_source_module(module, caller)
    for recorder in recorders:
        recorder.enter_module(module)


def exit_module(module):
    module_stack.pop()
    boundaries.pop()
    for recorder in recorders:
        recorder.exit_module(module)


class module_scope:
    """`with module_scope(module):` what Module.__call__ does (call_in_module_scope), for code
    that runs a module's ops outside its __call__. Also remembers where the module was called
    from, so finding the user's line for each op inside stops there (tracing.source.location)."""
    __slots__ = ("module",)

    def __init__(self, module):
        self.module = module

    def __enter__(self):
        enter_module(self.module, sys._getframe(1))

    def __exit__(self, exc_type, exc, tb):  # named: *exc would build a tuple per module call
        exit_module(self.module)
        return False


class phase_scope:
    """`owner` is what runs the phase (the optimizer), for recorders that describe it."""
    __slots__ = ("phase", "owner")

    def __init__(self, phase, owner=None):
        self.phase, self.owner = phase, owner

    def __enter__(self):
        for recorder in recorders:
            recorder.enter_phase(self.phase, self.owner)

    def __exit__(self, exc_type, exc, tb):
        for recorder in recorders:
            recorder.exit_phase(self.phase, self.owner)
        return False
