"""The backward stepper: drives the real backward scheduler (autograd.engine.BackwardPass)
one node at a time, so what it shows is the computation itself, and stepping to the end gives
exactly what `loss.backward()` gives.

    dbg = gg.debug.backward(loss)     # nothing runs yet
    dbg.step(); dbg.step(3); dbg.run_to(node); dbg.finish()
    dbg.current, dbg.ready, dbg.grads
"""
from collections.abc import Sequence
from typing import Any

from .._hooks import recorders
from ..autograd import backward_pass
from ..node import AccumulateGrad
from ..tensor import Tensor
from ..tracing.graph import GNode
from ..tracing.scope import open_debuggers
from ..tracing.trace import describe_forward, forward_of, tensor_of
from ..tracing.monitor import norm
from ..ops.util import nonfinite_kind
from .report import Break, BreakpointStepper, gradient_break


class DebugStep:
    """One node the scheduler ran: `node` (autograd node), `grad_outputs` (what it received),
    `grad_inputs` (what it sent on, one per input of its forward op), `ready` (the queue after
    it), `forward` (the recorded forward op, when a trace recorded it)."""

    def __init__(self, index, step, ready):
        self.index, self.node, self.ready = index, step.node, ready
        self.grad_outputs = tuple(map(tensor_of, step.grad_outputs))
        self.grad_inputs = tuple(map(tensor_of, step.grad_inputs))
        self.forward, self.source = forward_of(step.node)

    @property
    def name(self):
        return self.node.name()

    def describe(self):
        return f"step {self.index}: {self.name}, the backward of {describe_forward(self.node)}"

    def __repr__(self):
        return f"<DebugStep {self.index}: {self.name}>"


class BackwardStepper(BreakpointStepper):
    """A backward pass run one autograd node at a time (`graphgrad.debug.backward(loss)` makes one):
    step(), run_to(node), cont() to the next breakpoint, finish(); what it ran so far in
    `history`, what runs next in `ready`."""

    def __init__(self, tensors: Tensor | Sequence[Tensor], gradient: Tensor | Sequence[Tensor | None] | None = None,
                 retain_graph: bool | None = None) -> None:
        self.backward_pass = backward_pass(tensors, gradient, bool(retain_graph))
        self._steps = self.backward_pass.steps()
        self._nodes = set(self.backward_pass.order)
        self.history = []       # every DebugStep so far
        self.finished = False
        open_debuggers.add(self)  # ops run between steps belong to this iteration (tracing)...
        self.traces = tuple(recorders)  # ...of the traces recording when the pass began
        self.hit = None         # the last Break
        self._breakpoints = []

    # ---- state ---------------------------------------------------------------------------
    @property
    def current(self) -> DebugStep | None:
        """The step that ran last (None before the first)."""
        return self.history[-1] if self.history else None

    @property
    def ready(self) -> list[Any]:
        """The nodes ready to run, in the order they will."""
        return self.backward_pass.ready_nodes

    @property
    def grads(self) -> dict[str, Tensor]:
        """{leaf name: gradient this pass delivered} for the leaves reached so far."""
        grads = {}
        for s in self.history:
            if type(s.node) is AccumulateGrad and s.grad_outputs[0] is not None:
                grads[self._leaf_name(s, len(grads))] = s.grad_outputs[0]
        return grads

    def _leaf_name(self, s, i):
        if s.forward is not None and s.forward.name:
            return s.forward.name
        return f"leaf{i}{list(s.node.variable.shape)}"

    def grad(self, tensor: Tensor) -> Tensor | None:
        """The gradient that reached `tensor` so far in this pass (None if none yet)."""
        node = self._node_of(tensor)
        for s in self.history:
            if s.node is node:
                return s.grad_outputs[tensor._output_nr if tensor.grad_fn is not None else 0]
        pending = self.backward_pass.buffers.get(node)
        nr = tensor._output_nr if tensor.grad_fn is not None else 0
        return Tensor._wrap(pending[nr]) if pending and pending[nr] is not None else None

    # ---- moving --------------------------------------------------------------------------
    def _advance(self):
        if self.finished:
            return None
        try:
            step = next(self._steps)
        except StopIteration:
            self.finished = True
            return None
        except BaseException:  # an anomaly, a freed graph: the pass cannot go on
            self.finished = True
            raise
        s = DebugStep(len(self.history), step, self.ready)
        self.history.append(s)
        return s

    def step(self, n: int = 1) -> DebugStep | None:
        """Run the next n nodes; returns the last step run (None at the end)."""
        s = None
        for _ in range(n):
            s = self._advance() or s
            if self.finished:
                break
        return s

    def run_to(self, target: Any) -> DebugStep | None:
        """Run until `target` (autograd node, tensor, recorded GNode, or leaf name) has run."""
        node = self._node_of(target)
        for s in self.history:
            if s.node is node:
                return s
        while True:
            s = self._advance()
            if s is None:
                raise RuntimeError(f"the backward pass ended without running {node.name()}")
            if s.node is node:
                return s

    def finish(self) -> dict[str, Tensor]:
        """Run to the end; returns `grads`."""
        while self._advance() is not None:
            pass
        return self.grads

    # ---- breakpoints ---------------------------------------------------------------------
    def break_on(self, target: Any) -> "BackwardStepper":
        node = self._node_of(target)
        self._breakpoints.append(
            lambda s: Break("node", f"reached {s.describe()}", s) if s.node is node else None)
        return self

    def break_on_nan(self) -> "BackwardStepper":
        """Stop at the first node whose computed gradient holds NaN or Inf; the message names
        the forward op whose backward produced it, and its source line."""
        def check(s):
            for i, g in enumerate(s.grad_inputs):
                kind = nonfinite_kind(None if g is None else g._data)
                if kind:
                    return gradient_break(kind, s.name, i, describe_forward(s.node), s, g)
            return None
        self._breakpoints.append(check)
        return self

    def break_on_grad_norm(self, threshold: float) -> "BackwardStepper":
        """Stop at the first node that computes a gradient whose norm is above `threshold`."""
        def check(s):
            for i, g in enumerate(s.grad_inputs):
                if g is not None and g._data.dtype.kind == "f" and g._data.size:
                    n = norm(g._data)
                    if n > threshold:
                        return Break("grad_norm", f"gradient norm {n:.4g} > {threshold:g} at {s.name} (its {i}th "
                                                  f"output), the backward of {describe_forward(s.node)}", s, g)
            return None
        self._breakpoints.append(check)
        return self

    # ---- finding nodes -------------------------------------------------------------------
    def _node_of(self, target):
        if isinstance(target, Tensor):
            node = target.grad_fn if target.grad_fn is not None else target._accum
        elif isinstance(target, GNode):
            want = target.forward_id if target.kind == "backward" else target.id
            node = next((n for n in self._nodes if n.forward_id == want), None)
        elif isinstance(target, str):
            node = next((s.node for s in self.history if s.forward is not None and s.forward.name == target), None)
            node = node or next((n for n in self._nodes if self._named(n, target)), None)
        else:
            node = target
        if node is None or node not in self._nodes:
            raise ValueError(f"{target!r} is not part of this backward pass")
        return node

    @staticmethod
    def _named(node, name):
        if node.name() == name:
            return True
        forward = forward_of(node)[0]
        return forward is not None and forward.name == name

    def __repr__(self):
        state = "finished" if self.finished else f"{len(self.ready)} ready"
        return f"<BackwardStepper: {len(self.history)} steps run, {state}>"


BackwardDebugger = BackwardStepper   # its earlier name, kept for code that imports it


def backward(tensors: Tensor | Sequence[Tensor], gradient: Tensor | Sequence[Tensor | None] | None = None,
             retain_graph: bool | None = None) -> BackwardStepper:
    """A stepper over `tensors.backward(gradient)`: nothing runs until you step."""
    return BackwardStepper(tensors, gradient, retain_graph)
