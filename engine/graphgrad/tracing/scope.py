"""Where in the model and in the training step an op runs, told to active recorders:

- `module_scope(module)`: Module.__call__ enters it, so ops are named by module path;
- `phase_scope("optimizer")`: an optimizer's step runs in it, so its ops are not forward ops.

Both are entered only while a recorder is active (`if recorders:` at the call site), so they
cost nothing otherwise. Plain classes rather than contextlib generators: no extra frames, and
recorders that look for the user's frame need not skip contextlib's."""
import weakref

from ..ops.dispatch import recorders
from .source import boundaries, enter_module as enter_source_module

module_stack = []  # the modules being called, outermost first
open_debuggers = weakref.WeakSet()  # backward debuggers (graphgrad.debug) not run to the end yet


class module_scope:
    """Also remembers where the module was called from, so finding the user's line for each op
    inside stops there (tracing.source.location)."""
    __slots__ = ("module",)

    def __init__(self, module):
        self.module = module

    def __enter__(self):
        module = self.module
        module_stack.append(module)
        enter_source_module(module)
        for recorder in recorders:
            if getattr(recorder, "follows_modules", True):  # (one that is not a Recorder: told)
                recorder.enter_module(module)

    def __exit__(self, exc_type, exc, tb):  # named: *exc would build a tuple per module call
        module_stack.pop()
        boundaries.pop()
        for recorder in recorders:
            if getattr(recorder, "follows_modules", True):
                recorder.exit_module(self.module)
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
