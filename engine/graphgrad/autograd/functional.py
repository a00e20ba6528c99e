"""torch.autograd.functional: derivatives of a whole function at a point — vjp, jvp, jacobian,
hessian, vhp, hvp — built on autograd.grad (with create_graph=True where a derivative of a
derivative is needed).

A function takes a tensor or a tuple of tensors and returns the same; results come back shaped
as PyTorch's: a single tensor where both were single, tuples where either was a tuple."""
from ..creation import ones_like, zeros_like
from ..ops import stack
from ..tensor import Tensor
from .grad_mode import enable_grad
from .gradients import grad


def _as_tuple(x, name, fn_name):
    if isinstance(x, Tensor):
        return False, (x,)
    if isinstance(x, tuple) and all(isinstance(t, Tensor) for t in x):
        return True, x
    raise TypeError(f"The {name} given to {fn_name} must be either a Tensor or a tuple of Tensors but the given "
                    f"value is of type {type(x).__name__}.")


def _prepare(inputs, create_graph):
    """Inputs the function is differentiated at: leaves of their own (or, with create_graph, views
    that keep the caller's graph, so the result can be differentiated with respect to them)."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_(True)
                 for x in inputs)


def _finish(tensors, create_graph):
    return tuple(t if create_graph or t is None else t.detach() for t in tensors)


def _grads(outputs, inputs, grad_outputs, create_graph, strict, what):
    """d(sum(outputs * grad_outputs)) / d(inputs), zeros where an input does not take part."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    grads = (None,) * len(inputs)
    if pairs:
        grads = _grad([o for o, _ in pairs], inputs, [g for _, g in pairs], create_graph)
    result = []
    for i, (x, g) in enumerate(zip(inputs, grads)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This "
                                   f"is not allowed in strict mode{what}.")
            g = _zeros_like(x)
        result.append(g)
    return tuple(result)


def _grad(outputs, inputs, grad_outputs, create_graph):
    return grad(outputs, inputs, grad_outputs, retain_graph=True, create_graph=create_graph, allow_unused=True)


def _zeros_like(x):
    return zeros_like(x)


def _call(func, inputs, is_tuple, fn_name):
    with enable_grad():
        out = func(*inputs) if is_tuple else func(inputs[0])
    return _as_tuple(out, "outputs of the user-provided function", fn_name)


def _default_v(outputs, v, fn_name):
    if v is not None:
        return _as_tuple(v, "v", fn_name)[1]
    if len(outputs) != 1 or outputs[0].numel() != 1:
        raise RuntimeError("The vector v can only be None if the user-provided function returns a single Tensor "
                           "with a single element.")
    return (_ones_like(outputs[0]),)


def _ones_like(x):
    return ones_like(x)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product at inputs."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    inputs = _prepare(inputs, create_graph)
    out_tuple, outputs = _call(func, inputs, in_tuple, "vjp")
    v = _default_v(outputs, v, "vjp")
    grads = _grads(outputs, inputs, v, create_graph, strict, "")
    return _shape(_finish(outputs, create_graph), out_tuple), _shape(_finish(grads, create_graph), in_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by differentiating a vjp with respect to
    its vector (the double-backward trick PyTorch uses)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    inputs = _prepare(inputs, create_graph)
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                               "single Tensor with a single element.")
        v = (_ones_like(inputs[0]),)
    else:
        v = _as_tuple(v, "v", "jvp")[1]
    out_tuple, outputs = _call(func, inputs, in_tuple, "jvp")
    dummies = tuple(_zeros_like(o).requires_grad_(True) for o in outputs)
    grads = _grads(outputs, inputs, dummies, True, strict, "")
    pairs = [(g, u) for g, u in zip(grads, v) if g.requires_grad]
    result = _grad([g for g, _ in pairs], dummies, [u for _, u in pairs], create_graph) if pairs else \
        (None,) * len(dummies)
    result = tuple(_zeros_like(o) if r is None else r for o, r in zip(outputs, result))
    return _shape(_finish(outputs, create_graph), out_tuple), _shape(_finish(result, create_graph), out_tuple)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of func at inputs: for each output and input, a tensor of shape
    output.shape + input.shape, one vjp per output element."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    inputs = _prepare(inputs, create_graph)
    out_tuple, outputs = _call(func, inputs, in_tuple, "jacobian")
    rows_per_output = []
    for out in outputs:
        flat = out.reshape(-1)
        rows = [[] for _ in inputs]
        for j in range(flat.numel()):
            grads = _grads((flat[j],), inputs, (_ones_like(flat[j]),), create_graph, strict,
                           " (the Jacobian of an output element)")
            for i, g in enumerate(grads):
                rows[i].append(g)
        rows_per_output.append(tuple(
            (stack(r) if r else _zeros_like(x).reshape(0, *x.shape)).reshape(*out.shape, *x.shape)
            for r, x in zip(rows, inputs)))
    result = tuple(_finish(r, create_graph) for r in rows_per_output)
    result = tuple(_shape(r, in_tuple) for r in result)
    return _shape(result, out_tuple)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar func at inputs: the Jacobian of its gradient."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        out_tuple, out = _call(func, xs, True, "hessian")
        if out_tuple or out[0].numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor with a single element.")
        return _grads((out[0].reshape(()),), xs, (_ones_like(out[0].reshape(())),), True, strict, "")

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict)
    return _shape(tuple(_shape(r, in_tuple) for r in result), in_tuple)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
    inputs = _prepare(inputs, create_graph)
    out_tuple, outputs = _call(func, inputs, in_tuple, "vhp")
    if out_tuple or outputs[0].numel() != 1:
        raise RuntimeError("The function given to vhp should return a single Tensor with a single element.")
    v = _as_tuple(v, "v", "vhp")[1] if v is not None else _default_v(inputs, None, "vhp")
    grads = _grads(outputs, inputs, (_ones_like(outputs[0]),), True, strict, "")
    pairs = [(g, u, i) for i, (g, u) in enumerate(zip(grads, v)) if g.requires_grad]
    second = _grads([g for g, _, _ in pairs], inputs, [u for _, u, _ in pairs], create_graph, strict, "") if pairs \
        else tuple(_zeros_like(x) for x in inputs)
    return _finish(outputs, create_graph)[0], _shape(_finish(second, create_graph), in_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v): the same as vhp, since a Hessian is symmetric."""
    return vhp(func, inputs, v, create_graph, strict)


def _shape(tensors, as_tuple):
    return tuple(tensors) if as_tuple else tensors[0]
