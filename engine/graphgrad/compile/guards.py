"""Guards: what must hold for a captured plan to be replayed instead of running the step.

The key (looked up in a dict on every call) covers the step's arguments: each tensor's shape,
dtype, device and requires_grad (and the value of an integer or bool scalar: an index), every
other argument's value (so a Python branch on an
argument, or on a tensor's shape, captures again), and the grad mode. A plan then checks what it
read from outside the arguments: each external tensor's shape, dtype and requires_grad, and the
training flag of every module the step called."""
import numpy as np

from .._hooks import state
from ..nn.module import Module
from ..optim.optimizer import Optimizer
from ..tensor import Tensor

UNGUARDABLE = object()  # the key of a call whose arguments cannot be compared: it runs eagerly


def flatten(args, kwargs):
    """The tensors among the arguments (in order), and a key for the call, or UNGUARDABLE."""
    tensors = []
    try:
        keywords = _spec(tuple(sorted(kwargs.items())), tensors) if kwargs else ()
        key = (state.grad_enabled, _spec(args, tensors), keywords)
        hash(key)
    except TypeError:  # an argument that is neither a tensor nor hashable (a NumPy array, a list of them)
        return tensors, UNGUARDABLE
    return tensors, key


def _spec(x, tensors):
    if isinstance(x, Tensor):
        tensors.append(x)
        data = x._data
        device = None if type(data) is np.ndarray else data.device.id
        if data.ndim == 0 and data.dtype.kind in "iub":
            # a scalar index (x[i]) reaches ops as a Python number read from its value: keyed by it
            return (data.shape, data.dtype, device, x.requires_grad, data.item())
        return (data.shape, data.dtype, device, x.requires_grad)
    if type(x) in (tuple, list):
        return (type(x), tuple(_spec(v, tensors) for v in x))
    if type(x) is dict:
        return (dict, tuple((k, _spec(v, tensors)) for k, v in x.items()))
    if isinstance(x, np.ndarray):
        raise TypeError("arrays are compared by value: not guardable")
    return (type(x), x)  # 1, 1.0 and True are different keys, as they may give different graphs


def outside_objects(fn, modules):
    """What the step reaches other than through its arguments, to check by identity on every call:
    the tensors, modules and optimizers its globals and closure cells name (a global rebound to
    another batch, `model = ...`), and each module's parameters and submodules (`model.fc = ...`).
    (A function the step calls reads its own globals: those are not checked.)"""
    kinds = (Tensor, Module, Optimizer)
    checks = []
    code, scope = getattr(fn, "__code__", None), getattr(fn, "__globals__", {})
    if code is not None:
        for name in code.co_names:
            if isinstance(scope.get(name), kinds):
                checks.append((scope, name, scope[name]))
        for cell in fn.__closure__ or ():
            value = cell.cell_contents if cell.cell_contents is not None else None
            if isinstance(value, kinds):
                checks.append((cell, None, value))
    for module in modules:
        for store in (module._parameters, module._buffers, module._modules):
            for name, value in store.items():
                checks.append((store, name, value))
    return checks


def plan_holds(plan):
    """Whether what the plan read from outside its arguments is as it was captured."""
    for where, name, value in plan.outside_objects:
        if (where.cell_contents if name is None else where.get(name)) is not value:
            return False
    for t, (shape, dtype, requires_grad) in zip(plan.externals, plan.external_specs):
        data = t._data
        if data.shape != shape or data.dtype != dtype or t.requires_grad != requires_grad:
            return False
    return all(module.training == training for module, training in plan.modules)
