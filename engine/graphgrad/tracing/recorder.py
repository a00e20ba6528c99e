"""What active recorders (`dispatch.recorders`) are told. Subclass and override what you need:
every hook is a no-op here, so a recorder that only wants ops only writes `record` (module calls
reach only recorders that set `follows_modules`: most need none, and a model makes many)."""


class Recorder:
    follows_modules = False  # True: told of every module call (enter_module, exit_module)

    def record(self, node, inputs, outputs, attrs, seconds):
        """An op ran (called by dispatch.apply): its node, inputs (tensors or constants), output(s)."""

    def record_write(self, target, result):
        """An in-place op (recorded with `result` as its output) wrote its result into `target`."""

    def record_backward(self, step, seconds):
        """The backward scheduler ran one node (an autograd.engine.Step)."""

    def enter_module(self, module):
        """Module.__call__ began (tracing.module_scope); only with follows_modules set."""

    def exit_module(self, module):
        """Module.__call__ ended."""

    def enter_phase(self, phase, owner=None):
        """A phase began: "optimizer" while an optimizer (the owner) steps (tracing.phase_scope)."""

    def exit_phase(self, phase, owner=None):
        """The phase ended."""
