"""The backward scheduler, written as a generator that yields after every node, so `backward()`
drains it and the debugger steps the same code.

PyTorch runs the ready node made last (by sequence number), except that a leaf's AccumulateGrad
runs as soon as it is ready. Every edge of the graph runs from a later-made node to an earlier
one (an op's node is made after its inputs' nodes), so the op nodes in latest-first order, each
followed by the leaves it was the last to feed, is that order: the pass sorts once instead of
keeping a ready heap and dependency counts. The debugger's ready queue is worked out from the
order when it asks."""
import sys
import time
from collections import deque
from operator import attrgetter, itemgetter
from typing import Any

from ..tensor import Tensor
from . import higher_order
from .anomaly_mode import check_gradients
from .._hooks import recorders, state
from ..ops.graph_array import GraphArray
from ..node import AccumulateGrad

_by_sequence = attrgetter("_seq")


def _sole_owner_count():
    """What sys.getrefcount says of an array held by one list and nothing else (it differs
    between Python versions): a gradient with that count may become a leaf's .grad uncopied."""
    held = [object()]
    return sys.getrefcount(held[0])


_SOLE = _sole_owner_count()


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
    create_graph=True computes the gradients as graphgrad ops (autograd.higher_order), so they
    can be differentiated again; seeds may then be tensors.
    """

    def __init__(self, roots, seeds, retain_graph=False, accumulate=True, capture=None, create_graph=False):
        self.retain_graph = retain_graph
        self.create_graph = create_graph
        if create_graph:
            seeds = [higher_order.as_graph_array(seed) for seed in seeds]
        self.accumulate = accumulate
        self.capture = capture or {}
        self.captured = [None] * len(self.capture)
        self.order = _schedule([roots[0][0]] if len(roots) == 1 else list(dict.fromkeys(n for n, _ in roots)))
        self.position = 0   # how many nodes of `order` have run
        self.buffers = {}   # node -> [grad per output], filled as gradients arrive
        for (node, nr), seed in zip(roots, seeds):
            buf = self.buffers.setdefault(node, [None] * node.n_outputs)
            buf[nr] = seed if buf[nr] is None else buf[nr] + seed

    @property
    def done(self):
        """The nodes run so far, in order."""
        return self.order[:self.position]

    @property
    def ready_nodes(self):
        """The nodes whose gradients are complete (all their consumers ran), in the order they
        will run: PyTorch's ready queue."""
        left = self.order[self.position:]
        waiting = {nxt for node in left for nxt, _ in node.next_functions}
        return [node for node in left if node not in waiting]

    def __iter__(self):
        return self.steps()

    def steps(self):
        """Run the graph one node per step. Written for speed: this loop is Tensor.backward().
        What only some nodes have (hooks, version checks, multiple outputs) costs one test each."""
        order, buffers = self.order, self.buffers
        accumulate, free, capture, graph = self.accumulate, not self.retain_graph, self.capture, self.create_graph
        Accumulate, getrefcount, perf_counter = AccumulateGrad, sys.getrefcount, time.perf_counter
        for position in range(self.position, len(order)):
            node = order[position]
            if recorders:
                start = perf_counter()
            grads = buffers.pop(node, None) or [None] * node.n_outputs
            if node._pre_hooks:
                grads = _run_pre_hooks(node, grads, graph)
            if capture:
                self._capture(node, grads)
            if type(node) is Accumulate:
                grad = grad_inputs = buf = step = None  # so only `grads` holds what arrived (ownership test)
                if accumulate and grads[0] is not None:
                    if graph:
                        higher_order.accumulate(node, grads[0])
                    else:
                        sole = getrefcount(grads[0]) == _SOLE
                        node.accumulate(grads[0], sole)
                grad_inputs = ()
            elif grads[0] is None and (node.n_outputs == 1 or all(g is None for g in grads)):
                grad_inputs = (None,) * len(node.next_functions)  # nothing arrived: nothing to send
            else:
                if node._freed:
                    node.check_saved()  # raises: the saved arrays are gone
                for _, box, version in node._checks:
                    if box[0] != version:
                        node.check_saved()  # raises, naming the modified tensor
                if graph:
                    grad_inputs = higher_order.backward_with_graph(node, grads)
                elif node.n_outputs == 1:
                    grad_inputs = node.backward(grads[0])
                else:
                    grad_inputs = node.backward(tuple(_zeros_if_none(node, i, g) for i, g in enumerate(grads)))
                if node._post_hooks:
                    _run_post_hooks(node, grad_inputs, grads)
                if free and node.saved:
                    node.__dict__.update(node._released)  # node.release(), inlined
                if state.anomaly:
                    check_gradients(node, _arrays(grad_inputs) if graph else grad_inputs)
            for (nxt, nr), grad in zip(node.next_functions, grad_inputs):
                if grad is not None and nxt is not None:
                    # summed into the buffer, never in place: arrays may be shared
                    buf = buffers.get(nxt)
                    if buf is None:
                        buffers[nxt] = buf = [None] * nxt.n_outputs
                        buf[nr] = grad
                    else:
                        old = buf[nr]
                        buf[nr] = grad if old is None else old + grad
            self.position = position + 1
            if recorders:
                step = Step((node, _arrays(grads), _arrays(grad_inputs)) if graph else (node, grads, grad_inputs))
                seconds = perf_counter() - start
                for recorder in recorders:
                    recorder.record_backward(step, seconds)
                yield step
            else:
                yield Step((node, grads, grad_inputs))

    def _capture(self, node, grads):
        """autograd.grad: keep the gradients arriving at the requested inputs."""
        for nr, grad in enumerate(grads):
            slot = self.capture.get((node, nr))
            if slot is not None and grad is not None:
                self.captured[slot] = grad if self.captured[slot] is None else self.captured[slot] + grad

    def run(self):
        deque(self.steps(), maxlen=0)  # drains it, holding no step (a held step would hold gradients)
        return self


def _schedule(roots):
    """The order PyTorch's ready queue would run the nodes reachable from roots in."""
    Accumulate = AccumulateGrad
    seen = set(roots)
    ops = [n for n in roots if type(n) is not Accumulate]
    stack = ops[:]
    last_user = {}   # AccumulateGrad -> the node feeding it that runs last (the earliest made)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if type(nxt) is Accumulate:
                user = last_user.get(nxt)
                if user is None or node._seq < user._seq:
                    last_user[nxt] = node
            elif nxt is not None and nxt not in seen:
                seen.add(nxt)
                ops.append(nxt)
                stack.append(nxt)
    ops.sort(key=_by_sequence, reverse=True)
    order = [n for n in roots if type(n) is Accumulate and n not in last_user] if len(ops) < len(roots) else []
    leaves_after = {}
    for leaf, user in last_user.items():
        if user in leaves_after:
            leaves_after[user].append(leaf)
        else:
            leaves_after[user] = [leaf]
    for node in ops:
        order.append(node)
        leaves = leaves_after.get(node)
        if leaves:  # ready together: in the order the node lists its inputs, as PyTorch queues them
            order.extend(sorted(leaves, key=_input_position(node)) if len(leaves) > 1 else leaves)
    return order


def _input_position(node) -> Any:   # a sort key: an input node's first position
    firsts = {}
    for i, (nxt, _) in enumerate(node.next_functions):
        firsts.setdefault(nxt, i)
    return firsts.get


def _tensor(grad):
    """A gradient as hooks see it: a tensor (with create_graph, the one carrying its graph)."""
    return grad.tensor if type(grad) is GraphArray else Tensor._wrap(grad)


def _arrays(grads):
    return tuple(None if g is None else g.tensor._data if type(g) is GraphArray else g for g in grads)


def _run_post_hooks(node, grad_inputs, grads):
    wrap = lambda gs: tuple(None if g is None else _tensor(g) for g in gs)
    for hook in node._post_hooks:
        hook(wrap(grad_inputs), wrap(grads))


def _run_pre_hooks(node, grads, graph=False):
    """Tensor hooks on the node's outputs (each may replace the gradient), then retain_grad."""
    grads = list(grads)
    for nr, hooks in node._pre_hooks.items():
        for hook in hooks:
            if grads[nr] is None:
                continue
            result = hook(_tensor(grads[nr]))
            if result is not None:
                grads[nr] = higher_order.as_graph_array(result) if graph else result._data
    for nr, ref in node.__dict__.get("_retains", {}).items():
        tensor = ref()
        if tensor is not None and grads[nr] is not None:
            old = tensor._grad
            if graph:
                tensor._grad = grads[nr].tensor if old is None else old + grads[nr].tensor
            else:
                tensor._grad = Tensor._wrap(grads[nr].copy() if old is None else old._data + grads[nr])
    return grads


def _zeros_if_none(node, i, grad):
    if grad is not None:
        return grad
    shape, dtype, xp = node._out_meta[i]
    return xp.zeros(shape, dtype)
