"""Forward replay: walk a trace's recorded forward ops in the order they ran, each with its
real inputs and outputs (the arrays the trace kept by reference), and stop where asked —
on a node, or where the first NaN/Inf appeared.

    r = gg.debug.replay(t)
    for s in r: print(s.node, s.outputs[0].shape)
    r.reset(); r.break_on_nan(); hit = r.cont()   # hit.message names the op and its source line
"""
from ..tensor import Tensor
from ..tracing.graph import GNode
from ..tracing.trace import Trace, tensor_of
from ..ops.util import nonfinite_kind
from .report import Break, BreakpointStepper, gradient_break


class ReplayStep:
    """One recorded forward op: `node` (GNode), `inputs`/`outputs` (tensors sharing the kept
    arrays; a leaf input is its value when read — or now, if it was changed in place since)."""

    def __init__(self, index, node, index_of):
        self.index, self.node = index, node
        self.input_nodes = [index_of.get(edge[0]) if edge else None for edge in node.inputs]
        self.inputs = [None if n is None else tensor_of(n.output(edge[1]))
                       for n, edge in zip(self.input_nodes, node.inputs)]
        self.outputs = [tensor_of(a) for a in node.outputs]

    @property
    def source(self):
        return self.node.source

    @property
    def code(self):
        return self.node.code

    def describe(self):
        return f"op {self.index}: {self.node.describe()}"

    def __repr__(self):
        return f"<ReplayStep {self.index}: {self.node.op} {self.node.shape}>"


class Replay(BreakpointStepper):
    def __init__(self, trace: Trace, iteration: int | None = None) -> None:
        its = {it.number: it for it in trace._kept()}
        if iteration is not None and iteration not in its:
            raise ValueError(f"iteration {iteration} is not kept whole (kept: {sorted(its)})")
        it = its[iteration] if iteration is not None else trace._current
        self.iteration = it.number
        self.ops = [n for n in it.nodes if n.kind == "op" and n.phase == "forward"]
        self._index = it.index  # (made by reading it.nodes)
        self.position = 0       # the next op to replay
        self.current = None     # the last ReplayStep
        self.hit = None
        self._breakpoints = []

    def __len__(self):
        return len(self.ops)

    def __iter__(self):
        """Every op from the start (does not move the replay's own cursor)."""
        return (ReplayStep(i, n, self._index) for i, n in enumerate(self.ops))

    def reset(self):
        self.position, self.current = 0, None
        return self

    @property
    def finished(self):
        return self.position >= len(self.ops)

    def _advance(self):
        if self.finished:
            return None
        self.current = ReplayStep(self.position, self.ops[self.position], self._index)
        self.position += 1
        return self.current

    def step(self, n: int = 1) -> ReplayStep | None:
        for _ in range(n):
            if self._advance() is None:
                break
        return self.current

    def run_to(self, target: GNode | int | Tensor) -> ReplayStep | None:
        """Replay until the op `target` (GNode, node id or tensor it made) has been shown."""
        want = target.id if isinstance(target, GNode) else target
        if isinstance(target, Tensor):
            want = next((n.id for n in self.ops if any(a is target._data for a in n.outputs)), None)
        if not any(n.id == want for n in self.ops):
            raise ValueError(f"{target!r} is not a forward op of iteration {self.iteration}")
        while True:
            s = self._advance()
            if s is None or s.node.id == want:
                return s

    def break_on(self, target: GNode | int) -> "Replay":
        want = target.id if isinstance(target, GNode) else target
        self._breakpoints.append(lambda s: Break("node", f"reached {s.describe()}", s) if s.node.id == want else None)
        return self

    def break_on_nan(self) -> "Replay":
        """Stop at the first op whose output holds NaN/Inf: the op where it was born, or — when
        an input already held it — the leaf it came in through."""
        def check(s):
            for out in s.node.outputs:
                kind = nonfinite_kind(out) if hasattr(out, "dtype") else None
                if not kind:
                    continue
                for n, x in zip(s.input_nodes, s.inputs):
                    if n is not None and n.kind in ("param", "input", "const") and x is not None \
                            and nonfinite_kind(x._data):
                        return Break(kind, f"{kind} came in through {n.describe()}, read by {s.node.describe()}",
                                     s, x)
                return Break(kind, f"{kind} first appeared in the output of {s.node.describe()}", s, tensor_of(out))
            return None
        self._breakpoints.append(check)
        return self

    def __repr__(self):
        return f"<Replay of iteration {self.iteration}: op {self.position} of {len(self.ops)}>"


def replay(trace: Trace, iteration: int | None = None) -> Replay:
    """The forward pass of `trace`'s current (or given) iteration, op by op, with real values."""
    return Replay(trace, iteration)


def find_nan(trace: Trace, iteration: int | None = None) -> Break | None:
    """Where the first NaN/Inf of an iteration was born (a Break), or None: the forward values
    first (replay), then the gradients in the order backward computed them."""
    hit = Replay(trace, iteration).break_on_nan().cont()
    if hit is not None:
        return hit
    its = {it.number: it for it in trace._kept()}
    it = its.get(iteration, trace._current) if iteration is not None else trace._current
    for n in it.nodes:
        if n.kind != "backward":
            continue
        sent = list(enumerate(n.grad_inputs or ()))
        if n.grad_fn == "AccumulateGrad" and n.inputs:  # a leaf's gradient: blame the node that sent it
            (src, slot), = n.inputs[:1]
            sent, n = [(slot, n.outputs[0])], it.node(src)
            assert n is not None   # (an edge's source is a node of the iteration)
        for i, g in sent:
            kind = nonfinite_kind(g) if g is not None else None
            if kind:
                forward = it.node(n.forward_id)
                origin = f"the forward op {forward.describe()}" if forward is not None else f"the forward op '{n.op}'"
                return gradient_break(kind, n.grad_fn, i, origin, n, tensor_of(g))
    return None
