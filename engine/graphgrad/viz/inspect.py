"""The gradients a node sent to its inputs, for the inspector (what="sent" in an inspect request):
the backward of an op turns the gradient of its output into one gradient per input. They come
from the widget's stepper (the real backward pass it steps, up to its cursor) or else from a
trace that recorded a backward pass."""
from ..tensor import Tensor

NOT_REACHED = "backward has not reached this node yet: step ▶ until it runs"
NO_GRADIENT = "no gradient went to this input: it does not need one (a constant, or not a float tensor)"


def sent_gradient(widget, node_id, input):
    """(tensor or None, why not) for the gradient node_id's backward passed to its input `input`."""
    stepper = widget.stepper
    if stepper is not None and (stepper.root is not None or stepper.debugger is not None):  # a backward to step
        step = _stepped(stepper, node_id)
        if step is not None:
            return _pick(step.grad_inputs, input)
        if not stepper.finished:
            return None, NOT_REACHED
    shown = getattr(widget.source, "shown", None)   # a trace's Graph
    if shown is None:
        return None, "the gradients a node sends are kept while its backward is stepped here, or in a trace"
    return _from_trace(widget.source, shown, node_id, input)


def _stepped(stepper, node_id):
    """The debugger's step for node_id, if it ran before the stepper's cursor (the stepper's
    history holds one entry per debugger step, in the same order)."""
    for i, h in enumerate(stepper.history[:stepper.position["backward"]]):
        if h[0] == node_id:
            return stepper.debugger.history[i]
    return None


def _pick(grads, input):
    grad = grads[input] if grads is not None and 0 <= input < len(grads) else None
    return (grad, None) if grad is not None else (None, NO_GRADIENT)


def _from_trace(source, shown, node_id, input):
    try:
        node = shown.node(node_id)
    except KeyError:
        return None, f"node {node_id} is not in the graph shown"
    if node.kind == "backward":
        back, forward = node, _node_or_none(shown, node.forward_id)
    else:
        forward = node
        back = next((n for n in shown.nodes if n.kind == "backward" and n.forward_id == node.id), None)
        if back is None:
            return None, "no backward pass ran through this node in the step recorded"
    grads = back.grad_inputs or ()
    if 0 <= input < len(grads) and grads[input] is not None:
        return Tensor._wrap(grads[input]), None
    # a gradient sent to a leaf is kept once, as the .grad the leaf was left with
    edge = forward.inputs[input] if forward is not None and 0 <= input < len(forward.inputs) else None
    leaf = _node_or_none(shown, edge[0]) if edge else None
    if leaf is not None and leaf.kind in ("param", "input"):
        grad = source.trace.grad(leaf)
        if grad is not None:
            return grad, None
    return None, NO_GRADIENT


def _node_or_none(shown, node_id):
    try:
        return shown.node(node_id) if node_id is not None else None
    except KeyError:
        return None
