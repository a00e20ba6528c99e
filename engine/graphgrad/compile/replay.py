"""Replay: run a Plan on new arguments. One loop over the instructions, on arrays only.

Forward ops call their captured node's forward on the buffers they read (the node's saved
values for backward are its own, as in eager mode); a backward pass runs the nodes in the
order the scheduler ran them at capture, summing the gradients that arrive at each node in that
same order (so the sums round as eager's do); a leaf's gradient goes through its AccumulateGrad,
which sets or adds to `.grad` as eager mode does; calls (optimizer.step, zero_grad) are made
again, so optimizer state, learning-rate changes and hooks behave as they do eagerly.

On a GPU (`cuda`), the same groups are what CuPy's CUDA graph capture records: `CudaGraphs`
captures each forward group's kernels once into a graph on a stream and launches the graph on
later replays (the buffers are then fixed device memory, as CUDA graphs need)."""
from ..tensor import Tensor
from .plan import BACKWARD, CALL, LEAF, NODE, OP, SET_GRAD, WRITE, as_array


def run(plan, arg_arrays):
    """The step's result, replayed with these arrays as its tensor arguments."""
    values = plan.values
    values[:plan.args] = arg_arrays
    base = plan.args
    for i, t in enumerate(plan.externals):  # read afresh: p.data = ... and optimizer updates are seen
        values[base + i] = t._data
    buffers = None
    for ins in plan.instructions:
        kind = ins[0]
        if kind == OP:
            _, forward, reads, writes, attrs, several = ins
            out = forward(*[values[i] for i in reads], **attrs)
            if several:
                for i, o in zip(writes, out):
                    values[i] = as_array(o)
            else:
                values[writes[0]] = as_array(out)
        elif kind == NODE:
            _, node, next_functions, n_outputs = ins
            grads = buffers.pop(node, None)
            if grads is None or grads[0] is None and (n_outputs == 1 or all(g is None for g in grads)):
                continue
            if n_outputs == 1:
                grad_inputs = node.backward(grads[0])
            else:
                grad_inputs = node.backward(tuple(g if g is not None else _zeros(node, i) for i, g in enumerate(grads)))
            for (nxt, nr), grad in zip(next_functions, grad_inputs):
                if grad is not None and nxt is not None:
                    buf = buffers.get(nxt)
                    if buf is None:
                        buffers[nxt] = buf = [None] * nxt.n_outputs
                        buf[nr] = grad
                    else:
                        old = buf[nr]
                        buf[nr] = grad if old is None else old + grad
        elif kind == LEAF:
            grads = buffers.pop(ins[1], None)
            if grads is not None and grads[0] is not None:
                ins[1].accumulate(grads[0], ins[2])
        elif kind == BACKWARD:
            buffers = {}
            for (node, nr), seed in zip(ins[1], ins[2]):
                buf = buffers.setdefault(node, [None] * node.n_outputs)
                seed = seed.copy()
                buf[nr] = seed if buf[nr] is None else buf[nr] + seed
        elif kind == WRITE:
            _, target, result, external = ins
            if values[target] is not values[result]:
                values[target][...] = values[result]
            if external is not None:
                external._vbox[0] += 1
        elif kind == CALL:
            ins[1](*ins[2], **ins[3])
        elif kind == SET_GRAD:
            ins[1]._grad = None
    return _build(plan.result, values)


def _zeros(node, i):
    shape, dtype, xp = node._out_meta[i]
    return xp.zeros(shape, dtype)


def _build(spec, values):
    kind = spec[0]
    if kind == "tensor":
        return Tensor._wrap(values[spec[1]])
    if kind == "same":
        return spec[1]
    if kind == "seq":
        items = [_build(s, values) for s in spec[2]]
        return spec[1](*items) if hasattr(spec[1], "_fields") else spec[1](items)  # (a named tuple: max's)
    return {k: _build(s, values) for k, s in spec[1]}
