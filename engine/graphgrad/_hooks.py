"""The hook points at the bottom of graphgrad's layers: state that the op dispatcher reads on every
call, and the places where a higher layer plugs in what a lower one calls. This module imports
nothing from graphgrad, so every layer can import it (the layers are listed in pyproject.toml's
import-linter contract and in README's "Layers").

- `state`: grad mode and anomaly mode, read by dispatch and the backward scheduler.
- `recorders` and `Recorder`: the active tracers (graphgrad.tracing, jit, compile, debug) that
  every dispatched op, in-place write, backward step and module call is offered to.
- `backward`: what `Tensor.backward` runs; graphgrad.autograd sets it.
- `anomaly_source`: where a backward node's forward op ran, for anomaly mode's errors;
  graphgrad.debug sets it (from a trace or from the user's stack).
"""


class state:
    """Read by every op dispatch, so it is one class attribute, not a lookup chain."""
    grad_enabled = True
    anomaly = False


recorders = []  # the active Recorders, offered every op and backward step (one `if recorders:` when none)


class Recorder:
    """What active recorders are told. Subclass and override what you need: every hook is a no-op
    here, so a recorder that only wants ops only writes `record`."""
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


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Tensor.backward's runner until graphgrad.autograd, which builds on Tensor, replaces it."""
    raise RuntimeError("graphgrad.autograd is not imported (import graphgrad)")


class AnomalySource:
    """Where the forward op of a backward node ran, for anomaly mode's errors. This default knows
    nothing; graphgrad.debug installs one that asks traces and keeps each op's line of user code
    (its `recorder` is active while anomaly mode is on)."""
    recorder = None  # a Recorder that notes where each op ran, or None

    def describe(self, node):
        """(text naming the forward op and where it ran, the recorded forward op or None)."""
        return f"the forward op '{node.op_name}' ({node.name()})", None


anomaly_source = AnomalySource()
