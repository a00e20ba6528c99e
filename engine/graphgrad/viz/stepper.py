"""The widget's step controls: a cursor over a backward pass that runs one real node per "next"
(graphgrad.debug's BackwardStepper on the scheduler's own generator, not a replay), or over the
recorded forward ops.

Steps already run are kept as history, so "prev"/"first" move the cursor back to look at an
earlier moment; "next" at the frontier runs the next node for real."""
from typing import Any

import numpy as np

from ..debug.stepper import BackwardStepper
from .tensors import to_numpy
from ..debug import backward


class StepControls:
    """What the widget's step buttons drive: first, prev, next, last, run to a node, continue to a
    breakpoint; the browser draws `state()`."""

    def __init__(self, source: Any, root: Any = None, debugger: BackwardStepper | None = None) -> None:
        """root: the tensor to run backward from (its debugger is made on the first step), or
        debugger: a graphgrad.debug.backward(...) already made (perhaps already stepped)."""
        self.source = source
        self.root = root
        self.debugger = debugger
        self.history = []     # (node id, grad arriving at the node, ready ids after it, non-finite?)
        self.finished = False
        self.message = ""
        self.mode = "backward" if (root is not None or debugger is not None) else "forward"
        self.forward_order = [n["id"] for n in source.graph["nodes"] if n.get("phase", "forward") == "forward"]
        self.position = {"backward": 0, "forward": 0}
        self.breakpoints = set()

    # ---- state the browser draws --------------------------------------------------------
    def state(self):
        if self.debugger is not None and len(self.debugger.history) > len(self.history):
            self._sync()   # stepped from Python since: show where it is now
            self.position["backward"] = len(self.history)
        pos = self.position[self.mode]
        if self.mode == "backward":
            shown = self.history[:pos]
            done = [h[0] for h in shown]
            ready = list(shown[-1][2]) if shown else self._ready_ids()
            total = len(self.history) if self.finished else None
            flagged = [h[0] for h in shown if h[3]]
        else:
            done = self.forward_order[:pos]
            ready, total, flagged = [], len(self.forward_order), []
        return {"mode": self.mode, "available": True, "position": pos, "total": total,
                "current": done[-1] if done else None, "done": done, "ready": ready,
                "finished": self.finished if self.mode == "backward" else pos == total,
                "breakpoints": sorted(self.breakpoints), "message": self.message, "flagged": flagged}

    def grad(self, node_id):
        """The gradient that reached node_id in the backward pass up to the cursor, if it has."""
        for nid, grad, _, _ in self.history[:self.position["backward"]]:
            if nid == node_id:
                return grad
        return None

    # ---- commands ---------------------------------------------------------------------
    def command(self, cmd, node=None):
        if cmd == "backward" and self.root is None and self.debugger is None:  # refused before anything changes
            raise ValueError("this view has no backward pass to step: show a loss tensor, or pass backward=")
        self.message = ""
        if cmd in ("forward", "backward"):
            self.mode = cmd
            return
        if self.mode == "forward":
            return self._forward(cmd, node)
        pos = self.position["backward"]
        try:
            if cmd == "first":
                self._move(0)
            elif cmd == "prev":
                self._move(max(pos - 1, 0))
            elif cmd == "next":
                self._advance(pos + 1)
            elif cmd == "last":
                self._run(lambda: False)
                self._move(len(self.history))
            elif cmd == "run_to":
                self._to_node(node)
            elif cmd == "continue":
                self._continue(pos)
        except RuntimeError as e:   # e.g. backward already ran and freed the graph: say so, keep going
            self.message = str(e)
            self.finished = True

    def _move(self, pos):
        self.position["backward"] = pos

    def _advance(self, pos):
        while len(self.history) < pos and self._step():
            pass
        self._move(min(pos, len(self.history)))

    def _to_node(self, node):
        for i, h in enumerate(self.history):
            if h[0] == node:
                return self._move(i + 1)
        if not self._runs(node):  # found before running anything: nothing runs, nothing is freed
            self.message = f"{self.describe(node)} is not run by this backward pass"
            return
        if self._run(lambda: self.history[-1][0] == node):
            return self._move(len(self.history))
        self.message = f"{self.describe(node)} is not run by this backward pass"
        self._move(len(self.history))

    def _runs(self, node_id):
        """Whether the backward pass runs graph node node_id, found from its autograd graph alone."""
        if self.debugger is not None:
            nodes = self.debugger.backward_pass.order
        else:
            nodes, todo = set(), [getattr(self.root, "grad_fn", None)]
            while todo:
                fn = todo.pop()
                if fn is not None and fn not in nodes:
                    nodes.add(fn)
                    todo.extend(nxt for nxt, _ in fn.next_functions)
        ids = self.source.backward_id
        return any(ids(fn) == node_id for fn in nodes)

    def _continue(self, pos):
        hit = lambda h: h[0] in self.breakpoints or h[3]
        for i in range(pos, len(self.history)):
            if hit(self.history[i]):
                return self._move(i + 1)
        self._run(lambda: hit(self.history[-1]))
        self._move(len(self.history))
        last = self.history[-1] if self.history else None
        if last and last[3]:
            self.message = f"stopped: NaN or Inf in the gradient from {self.describe(last[0])}"

    def describe(self, node_id):
        """A node in the words a person reads: "'sqrt' (SqrtBackward0) in model.norm", never its id."""
        node = next((n for n in self.source.graph["nodes"] if n["id"] == node_id), None)
        if node is None:
            return "that node"
        what = node.get("grad_fn") if node.get("kind") == "backward" else f"'{node.get('op') or node.get('label')}'"
        if node.get("kind") != "backward" and node.get("grad_fn"):
            what += f" ({node['grad_fn']})"
        return what + (f" in {node['module']}" if node.get("module") else "")

    def _run(self, stop):
        """Run real steps until stop() after one of them; True when it stopped, False at the end."""
        while self._step():
            if stop():
                return True
        return False

    def _step(self):
        if self.finished:
            return False
        if self.debugger is None:
            self.debugger = backward(self.root)
        ran = len(self.debugger.history)
        self.debugger.step()
        if len(self.debugger.history) == ran:
            self.finished = True
            return False
        self._sync()
        return True

    def _sync(self):
        """Take the debugger's new steps into the history, as graph node ids."""
        ids, debugger = self.source.backward_id, self.debugger
        assert debugger is not None   # (called once a backward pass is being stepped)
        for s in debugger.history[len(self.history):]:
            grad = s.grad_outputs[0] if s.grad_outputs else None
            bad = any(g is not None and not np.isfinite(to_numpy(g)).all() for g in (*s.grad_outputs, *s.grad_inputs))
            ready = tuple(i for i in (ids(n) for n in s.ready) if i is not None)
            self.history.append((ids(s.node), grad, ready, bad))
        self.finished = self.finished or debugger.finished

    def _ready_ids(self):
        if self.debugger is None:
            root = getattr(self.root, "grad_fn", None)
            rid = self.source.backward_id(root) if root is not None else None
            return [rid] if rid is not None else []
        return [i for i in (self.source.backward_id(n) for n in self.debugger.ready) if i is not None]

    def _forward(self, cmd, node):
        order, pos = self.forward_order, self.position["forward"]
        if cmd == "first":
            pos = 0
        elif cmd == "prev":
            pos = max(pos - 1, 0)
        elif cmd == "next":
            pos = min(pos + 1, len(order))
        elif cmd == "last":
            pos = len(order)
        elif cmd == "run_to" and node in order:
            pos = order.index(node) + 1
        elif cmd == "continue":
            flagged = {n["id"] for n in self.source.graph["nodes"] if any(n["flags"].values())}
            stops = [i + 1 for i in range(pos, len(order)) if order[i] in self.breakpoints | flagged]
            pos = stops[0] if stops else len(order)
        self.position["forward"] = pos
