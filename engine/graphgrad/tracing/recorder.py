"""What active recorders (`dispatch.recorders`) are told. Subclass and override what you need:
every hook is a no-op here, so a recorder that only wants ops only writes `record`."""


class Recorder:
    # told of every module call (enter_module, exit_module): a model makes many, and most
    # recorders need none; a subclass that overrides either hook is told
    follows_modules = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "follows_modules" not in cls.__dict__ and ("enter_module" in cls.__dict__ or "exit_module" in cls.__dict__):
            cls.follows_modules = True

    def record(self, node, inputs, outputs, attrs, seconds):
        """An op ran (called by dispatch.apply): its node, inputs (tensors or constants), output(s)."""

    def record_write(self, target, result, base=None):
        """An in-place op (recorded with `result` as its output) wrote its result into `target`;
        `base`: the base of the view `target`, which became a CopySlices (None if not a view)."""

    def record_backward(self, step, seconds):
        """The backward scheduler ran one node (an autograd.engine.Step)."""

    def enter_module(self, module):
        """Module.__call__ began (tracing.scope.enter_module)."""

    def exit_module(self, module):
        """Module.__call__ ended."""

    def enter_phase(self, phase, owner=None):
        """A phase began: "optimizer" while an optimizer (the owner) steps (tracing.phase_scope)."""

    def exit_phase(self, phase, owner=None):
        """The phase ended."""
