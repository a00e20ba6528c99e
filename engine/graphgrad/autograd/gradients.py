"""backward() and grad(): the gradients of outputs with respect to the leaves or given inputs,
run by the scheduler in engine.py (backward_pass() gives it unrun, for the stepper)."""
import warnings

from ..tensor import Tensor
from .engine import BackwardPass


def _roots_and_seeds(tensors, grad_tensors, keep_tensors=False):
    """keep_tensors (create_graph): a given gradient stays a tensor, so its own graph is kept."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors) if grad_tensors is None else [grad_tensors]
    roots, seeds = [], []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            seed = t._xp().empty(t._data.shape, t._data.dtype)
            seed.fill(1)  # np.ones is a Python function over these two calls
        else:
            if tuple(g.shape) != tuple(t.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                                   f"has a shape of {t.shape}.")
            seed = g if keep_tensors else g._data
        roots.append((t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._accumulator(), 0))
        seeds.append(seed)
    return roots, seeds


def backward_pass(tensors, grad_tensors=None, retain_graph=False):
    """The scheduler for `tensors.backward()`, not yet run: iterate it to step node by node."""
    roots, seeds = _roots_and_seeds(tensors, grad_tensors)
    return BackwardPass(roots, seeds, retain_graph=bool(retain_graph))


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        grads = grad(tensors, inputs, grad_tensors, retain_graph=retain_graph, create_graph=create_graph,
                      allow_unused=True)
        for x, g in zip(inputs, grads):
            if g is not None and x._grad is None:
                x._grad = g
            elif g is not None:  # summed out of place: with create_graph, the sum keeps both graphs
                x._grad = x._grad + g if create_graph else Tensor._wrap(x._grad._data + g._data)
        return
    if create_graph:
        warnings.warn(_CYCLE_WARNING, UserWarning, stacklevel=3)
    elif grad_tensors is None and type(tensors) is Tensor and tensors.requires_grad and tensors._data.size == 1:
        # loss.backward(): the common call, without the general argument handling
        seed = tensors._xp().empty(tensors._data.shape, tensors._data.dtype)
        seed.fill(1)
        fn = tensors.grad_fn
        root = (fn, tensors._output_nr) if fn is not None else (tensors._accumulator(), 0)
        BackwardPass((root,), (seed,), retain_graph=bool(retain_graph)).run()
        return
    roots, seeds = _roots_and_seeds(tensors, grad_tensors, keep_tensors=create_graph)
    BackwardPass(roots, seeds, retain_graph=bool(retain_graph), create_graph=create_graph).run()


_CYCLE_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the parameter and its gradient "
    "which can cause a memory leak. We recommend using autograd.grad when creating the graph to avoid this. If you "
    "have to use this function, make sure to reset the .grad fields of your parameters to None after use to break "
    "the cycle and avoid the leak.")


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         is_grads_batched=False, materialize_grads=False):
    """Gradients of outputs with respect to inputs, not accumulated into .grad; with
    create_graph=True they have a graph of their own (autograd.higher_order)."""
    if is_grads_batched:
        raise NotImplementedError("graphgrad: autograd.grad(is_grads_batched=True) (vmap over grad_outputs) is not "
                                  "supported; call grad once per grad_outputs")
    if retain_graph is None:
        retain_graph = create_graph
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    roots, seeds = _roots_and_seeds(outputs, grad_outputs, keep_tensors=create_graph)
    capture = {}
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        key = (x.grad_fn, x._output_nr) if x.grad_fn is not None else (x._accumulator(), 0)
        capture[key] = i
    run = BackwardPass(roots, seeds, retain_graph=bool(retain_graph), accumulate=False, capture=capture,
                       create_graph=create_graph).run()
    results = []
    for i, (x, g) in enumerate(zip(inputs, run.captured)):
        if g is None:
            if not (allow_unused or materialize_grads):
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
            results.append(Tensor._wrap(x._xp().zeros_like(x._data)) if materialize_grads else None)
        else:
            results.append(g.tensor if create_graph else Tensor._wrap(g))
    return tuple(results)
