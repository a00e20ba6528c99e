"""Where in the model an op runs: Module.__call__ pushes the module it enters, so recorders can
name ops by module path. Kept only while a recorder is active (dispatch.recorders)."""
import contextlib

from ..ops.dispatch import recorders

module_stack = []  # the modules being called, outermost first


@contextlib.contextmanager
def module_scope(module):
    module_stack.append(module)
    for recorder in recorders:
        recorder.enter_module(module)
    try:
        yield
    finally:
        module_stack.pop()
        for recorder in recorders:
            recorder.exit_module(module)
