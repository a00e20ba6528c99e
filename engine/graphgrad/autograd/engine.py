"""The backward scheduler: dependency counts and a ready queue, written as a generator that
yields after every node, so `backward()` drains it and the debugger steps the same code."""
import heapq
import time
from operator import itemgetter

_first = itemgetter(0)

from ..tensor import Tensor
from .grad_mode import recorders, state
from .node import AccumulateGrad


class Step(tuple):
    """What one scheduler step did: (node, grad_outputs, grad_inputs). A tuple, since backward
    makes one per node: cheaper than an object with an __init__."""
    __slots__ = ()
    node = property(itemgetter(0))
    grad_outputs = property(itemgetter(1))   # the gradients the node received, one per output
    grad_inputs = property(itemgetter(2))    # what it sent on, one per next_functions entry

    def __repr__(self):
        return f"Step({self.node.name()})"


class BackwardPass:
    """One backward pass from `roots` (nodes with their output_nr) seeded with `seeds` (arrays).

    accumulate=True writes leaves' .grad (Tensor.backward); with `capture` {(node, nr): i} the
    gradients arriving there are collected into `captured` instead (autograd.grad).
    """

    def __init__(self, roots, seeds, retain_graph=False, accumulate=True, capture=None):
        self.retain_graph = retain_graph
        self.accumulate = accumulate
        self.capture = capture or {}
        self.captured = [None] * len(self.capture)
        self.dependencies = _count_dependencies([node for node, _ in roots])
        self.buffers = {}   # node -> [grad per output], filled as gradients arrive
        self.ready = []     # heap of (-sequence number, node): latest-created runs first
        self.done = []      # nodes already run, in order
        for (node, nr), seed in zip(roots, seeds):
            self._add(node, nr, seed)
        queued = set()
        for node, _ in roots:
            if node not in self.dependencies and node not in queued:
                queued.add(node)
                heapq.heappush(self.ready, (-node._seq, node))

    def _add(self, node, nr, grad):
        buf = self.buffers.get(node)
        if buf is None:
            buf = self.buffers[node] = [None] * node.n_outputs
        if grad is not None:
            buf[nr] = grad if buf[nr] is None else buf[nr] + grad

    @property
    def ready_nodes(self):
        """The ready queue in the order it will run."""
        return [entry[1] for entry in sorted(self.ready, key=_first)]

    def __iter__(self):
        return self.steps()

    def steps(self):
        """Run the graph one node per step. Written for speed: this loop is Tensor.backward().
        What only some nodes have (hooks, version checks, multiple outputs) costs one test each."""
        ready, buffers, deps, done = self.ready, self.buffers, self.dependencies, self.done
        heappop, heappush, Accumulate = heapq.heappop, heapq.heappush, AccumulateGrad
        accumulate, free, capture = self.accumulate, not self.retain_graph, self.capture
        while ready:
            if recorders:
                start = time.perf_counter()
            node = heappop(ready)[1]
            grads = buffers.pop(node, None) or [None] * node.n_outputs
            if node._pre_hooks:
                grads = _run_pre_hooks(node, grads)
            if capture:
                self._capture(node, grads)
            if type(node) is Accumulate:
                if accumulate and grads[0] is not None:
                    node.accumulate(grads[0])
                grad_inputs = ()
            elif grads[0] is None and (node.n_outputs == 1 or all(g is None for g in grads)):
                grad_inputs = (None,) * len(node.next_functions)  # nothing arrived: nothing to send
            else:
                grad_inputs = _run_node(node, grads, free)
            for (nxt, nr), grad in zip(node.next_functions, grad_inputs):
                if nxt is None:
                    continue
                if grad is not None:  # summed into the buffer (never in place: arrays may be shared)
                    buf = buffers.get(nxt)
                    if buf is None:
                        buffers[nxt] = buf = [None] * nxt.n_outputs
                        buf[nr] = grad
                    else:
                        old = buf[nr]
                        buf[nr] = grad if old is None else old + grad
                left = deps[nxt] - 1
                deps[nxt] = left
                if not left:
                    heappush(ready, (-nxt._seq, nxt))  # sequence numbers are unique: no ties
            done.append(node)
            step = Step((node, grads, grad_inputs))
            if recorders:
                seconds = time.perf_counter() - start
                for recorder in recorders:
                    recorder.record_backward(step, seconds)
            yield step

    def _capture(self, node, grads):
        """autograd.grad: keep the gradients arriving at the requested inputs."""
        for nr, grad in enumerate(grads):
            slot = self.capture.get((node, nr))
            if slot is not None and grad is not None:
                self.captured[slot] = grad if self.captured[slot] is None else self.captured[slot] + grad

    def run(self):
        for _ in self.steps():
            pass
        return self


def _run_node(node, grads, free):
    """A node's backward, with the checks PyTorch makes around it."""
    extra = node.__dict__  # what only some nodes have: version checks, post hooks
    if node._freed:
        node.check_saved()  # raises: the saved arrays are gone
    checks = extra.get("_checks")
    if checks:
        for _, box, version in checks:
            if box[0] != version:
                node.check_saved()  # raises, naming the modified tensor
    if node.n_outputs == 1:
        grad_inputs = node.backward(grads[0])
    else:
        grad_inputs = node.backward(tuple(_zeros_if_none(node, i, g) for i, g in enumerate(grads)))
    if "_post_hooks" in extra:
        _run_post_hooks(node, grad_inputs, grads)
    if free and node.saved:
        node.release()
    if state.anomaly:
        from .anomaly_mode import check_gradients
        check_gradients(node, grad_inputs)
    return grad_inputs


def _run_post_hooks(node, grad_inputs, grads):
    wrap = lambda gs: tuple(None if g is None else Tensor._wrap(g) for g in gs)  # noqa: E731
    for hook in node._post_hooks:
        hook(wrap(grad_inputs), wrap(grads))


def _count_dependencies(roots):
    """How many edges lead into each node reachable from the roots (a root reached from
    another root counts too; a node is walked once, when first reached)."""
    roots = list(dict.fromkeys(roots))  # outputs of one node share it: walk it once
    deps, stack = {}, list(roots)
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is None:
                continue
            if nxt in deps:
                deps[nxt] += 1
            else:
                deps[nxt] = 1
                if nxt not in roots:
                    stack.append(nxt)
    return deps


def _run_pre_hooks(node, grads):
    """Tensor hooks on the node's outputs (each may replace the gradient), then retain_grad."""
    grads = list(grads)
    for nr, hooks in node._pre_hooks.items():
        for hook in hooks:
            if grads[nr] is None:
                continue
            result = hook(Tensor._wrap(grads[nr]))
            if result is not None:
                grads[nr] = result._data
    for nr, ref in node.__dict__.get("_retains", {}).items():
        tensor = ref()
        if tensor is not None and grads[nr] is not None:
            old = tensor._grad
            tensor._grad = Tensor._wrap(grads[nr].copy() if old is None else old._data + grads[nr])
    return grads


def _zeros_if_none(node, i, grad):
    if grad is not None:
        return grad
    shape, dtype, xp = node._out_meta[i]
    return xp.zeros(shape, dtype)
