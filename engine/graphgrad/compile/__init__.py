"""graphgrad.compile: capture a training step once, replay it as a plan.

    step = graphgrad.compile(step)      # a function (forward, backward, optimizer) or a module
    for x, y in batches:
        loss = step(x, y)

The first call runs the step eagerly and records it (capture.py): every op with its node, every
backward node in the order the scheduler ran it, optimizer.step() and zero_grad(). Later calls
whose guards hold (guards.py: the arguments' shapes, dtypes, devices and requires_grad, other
arguments' values, the grad mode, the parameters' shapes and requires_grad, the modules'
training flags; by identity, the tensors, modules and optimizers the step's globals and closure
cells name and the modules' parameters and submodules) replay the plan (plan.py, replay.py): the
same NumPy calls on arrays, with no Tensor, graph node or dispatch per op, and the same results
bit for bit. A call whose guards do
not hold captures again (a plan per guard key, up to `max_plans`).

What a replay cannot repeat (reading a value into Python, random draws, hooks, ...: see
capture.py) makes the step run eagerly, every call; `compiled.explain()` says why. Under a
recorder (a trace), anomaly mode or an open backward debugger every call runs eagerly too, so
they see every op as without compile. Other Python state the step reads (a global number or
flag, a counter, what a function it calls reads) is not guarded: as with CUDA graphs and
jax.jit, pass it as an argument.

`compiled.graph` is the latest plan as a widget graph: `graphgrad.viz.show(compiled)`."""
from collections.abc import Callable
from typing import Any, overload

import numpy as np

from .._hooks import recorders, state
from ..tensor import Tensor
from ..tracing.scope import open_debuggers
from .capture import recording
from .graph import PlanGraph
from .guards import UNGUARDABLE, flatten, outside_objects, plan_holds
from .plan import Plan
from .replay import CudaGraphs, link, pending_backward, run

__all__ = ["Compiled", "compile"]


@overload
def compile(model: None = None, *, max_plans: int = 8, cuda_graphs: bool = True,
            **options: Any) -> Callable[[Callable[..., Any]], "Compiled"]: ...
@overload
def compile(model: Callable[..., Any], *, max_plans: int = 8, cuda_graphs: bool = True,
            **options: Any) -> "Compiled": ...
def compile(model: Callable[..., Any] | None = None, *, max_plans: int = 8, cuda_graphs: bool = True,
            **options: Any) -> "Compiled | Callable[[Callable[..., Any]], Compiled]":
    """Capture `model` (a function or a module) on its first call and replay it after; usable as
    a decorator. On a GPU the replay launches CUDA graphs (replay.CudaGraphs) unless
    cuda_graphs=False. torch.compile's options (mode, fullgraph, dynamic, backend) are accepted
    and have no effect."""
    if model is None:
        return lambda fn: Compiled(fn, max_plans, cuda_graphs)
    return Compiled(model, max_plans, cuda_graphs)


def _debugging():
    """Whether a backward debugger is open (not run to its end)."""
    return any(not d.finished for d in open_debuggers)


class Compiled:
    """A captured step: call it as the step. `plans` holds a plan per guard key."""

    def __init__(self, fn: Callable[..., Any], max_plans: int = 8, cuda_graphs: bool = True) -> None:
        self.fn = fn
        self.max_plans = max_plans
        self.cuda_graphs = cuda_graphs
        self.plans = {}
        self.last = None        # the plan of the latest call (None when it ran eagerly without one)
        self.counts = {"captured": 0, "replayed": 0, "eager": 0}
        self.eager_because = None  # why the latest call that ran eagerly did

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if recorders or state.anomaly or (open_debuggers and _debugging()):  # they see every op
            return self._eager(args, kwargs, "a trace, anomaly mode or a backward debugger is on: they see every op")
        tensors, key = flatten(args, kwargs)
        if key is UNGUARDABLE:
            return self._eager(args, kwargs, "an argument is neither a tensor nor hashable (a NumPy array?)")
        plan = self.plans.get(key)
        if plan is not None and plan_holds(plan):
            self.last = plan
            if not plan.replayable:
                return self._eager(args, kwargs, "the plan cannot be replayed")
            if plan.outside is not None and pending_backward(plan):
                return self._eager(args, kwargs, "the last call's result still waits for its backward pass")
            self.counts["replayed"] += 1
            if plan.graphs is not None:
                return plan.graphs([t._data for t in tensors], tensors)
            return run(plan, [t._data for t in tensors], tensors)
        if plan is None and len(self.plans) >= self.max_plans:
            return self._eager(args, kwargs, f"{self.max_plans} plans captured already (max_plans)")
        return self._capture(key, tensors, args, kwargs)

    def _eager(self, args, kwargs, why):
        self.counts["eager"] += 1
        self.eager_because = why
        return self.fn(*args, **kwargs)

    def _capture(self, key, tensors, args, kwargs):
        self.counts["captured"] += 1
        with recording() as rec:
            result = self.fn(*args, **kwargs)
        plan = Plan(rec, tensors, result).finish()
        plan.outside_objects = outside_objects(self.fn, [m for m, _ in plan.modules])
        plan.values = [None] * plan.size
        plan.values[plan.constant_base:plan.buffer_base] = plan.constants
        on_gpu = any(type(t._data) is not np.ndarray for t in (*tensors, *plan.externals))
        plan.graphs = CudaGraphs(plan) if on_gpu and self.cuda_graphs and plan.outside is None else None
        self.plans[key] = self.last = plan
        if plan.outside is not None and plan.replayable:
            link(plan, result, tensors)  # its backward then runs as the replays' will (and is waited for)
        return result

    # ---- what it shows -----------------------------------------------------------------------------
    def explain(self) -> str:
        """Each plan in a line: replayed, or why it runs eagerly; then why the latest eager call was."""
        lines = []
        for plan in self.plans.values():
            why = "replayed" if plan.replayable else "runs eagerly: " + "; ".join(plan.reasons)
            lines.append(f"{plan!r}: {why}")
        if self.eager_because:
            lines.append(f"the latest call that ran eagerly: {self.eager_because}")
        return "\n".join(lines) or "not captured yet"

    @property
    def graph(self) -> "PlanGraph":
        """The latest plan as a graph in the widget's schema (plan groups and buffers)."""
        if self.last is None:
            raise RuntimeError("nothing captured yet: call the compiled step first")
        return PlanGraph(self.last)

    def value(self, node: dict[str, Any]) -> Tensor:
        """The value a graph node (of `graph`) holds after the latest call: its buffer."""
        buffer = node["attrs"].get("buffer") if isinstance(node, dict) else None
        if buffer is None or self.last is None or self.last.values[buffer] is None:
            raise LookupError("this node writes no buffer of the plan")
        return Tensor._wrap(self.last.values[buffer])

    def grad(self, node: dict[str, Any]) -> Tensor:
        raise LookupError("a replayed plan keeps no gradient per node: call the step under graphgrad.trace "
                          "(it then runs eagerly) to see them")

    def __getattr__(self, name: str) -> Any:  # a compiled module is used as the module (parameters(), train(), ...)
        if name == "fn":
            raise AttributeError(name)
        return getattr(self.fn, name)

    def __repr__(self):
        return f"Compiled({getattr(self.fn, '__name__', type(self.fn).__name__)}, {self.counts})"
