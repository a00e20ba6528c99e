"""The Optimizer base: PyTorch's param groups, per-parameter state and state_dict layout.

Algorithms update parameter arrays in place (`p._data`), outside autograd, and bump each
parameter's version counter, as torch's in-place updates under no_grad do. They work on the
arrays with in-place ufuncs (`xp.multiply(a, b, out=a)`) and reuse scratch arrays, so a step
costs a few array passes per parameter and allocates nothing in steady state."""
import functools
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from itertools import chain
from typing import Any

import numpy as np

from ..autograd.grad_mode import enable_grad
from .._hooks import recorders
from ..ops.util import xp_of
from ..tensor import Tensor
from ..tracing.scope import phase_scope


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_global_pre_hooks = OrderedDict()
_global_post_hooks = OrderedDict()


class _Handle:
    """What register_*_hook returns: `.remove()` unregisters the hook."""
    _next_id = 0

    def __init__(self, hooks: dict[int, Callable[..., Any]]) -> None:
        self.hooks_dict, self.id = hooks, _Handle._next_id
        _Handle._next_id += 1

    def remove(self) -> None:
        self.hooks_dict.pop(self.id, None)


def register_optimizer_step_pre_hook(hook: Callable[..., Any]) -> _Handle:
    """hook(optimizer, args, kwargs) runs before every optimizer's step."""
    handle = _Handle(_global_pre_hooks)
    _global_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable[..., Any]) -> _Handle:
    """hook(optimizer, args, kwargs) runs after every optimizer's step."""
    handle = _Handle(_global_post_hooks)
    _global_post_hooks[handle.id] = hook
    return handle


def _with_hooks(step):
    """Wrap a subclass's step so step hooks (global and per optimizer) run around it."""
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if _global_pre_hooks or self._step_pre_hooks:
            for hook in chain(_global_pre_hooks.values(), self._step_pre_hooks.values()):
                result = hook(self, args, kwargs)
                if result is not None:
                    args, kwargs = result
        if recorders:  # a trace sees the step as its iteration's optimizer phase
            with phase_scope("optimizer", self):
                out = step(self, *args, **kwargs)
        else:
            out = step(self, *args, **kwargs)
        if _global_post_hooks or self._step_post_hooks:
            for hook in chain(_global_post_hooks.values(), self._step_post_hooks.values()):
                hook(self, args, kwargs)
        return out
    wrapper._hooked = True  # pyright: ignore[reportAttributeAccessIssue]  (a mark on the function)
    return wrapper


def typename(obj):
    return obj._type_name() if isinstance(obj, Tensor) else type(obj).__name__


# what an optimizer is given: the tensors to update, or param groups (dicts with "params" and per-group options)
ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_hooked", False):
            cls.step = _with_hooks(step)

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._step_pre_hooks = OrderedDict()
        self._step_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got " + typename(params))
        self.state = defaultdict(dict)
        self.param_groups = []
        self._scratch = {}  # id(param) -> arrays shaped like it, reused across steps (not state)
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(dict(group))

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("_step_pre_hooks", OrderedDict())
        self.__dict__.setdefault("_step_post_hooks", OrderedDict())
        self.__dict__.setdefault("_scratch", {})

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            if i:
                lines.append("")
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    # ---- parameter groups ------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]  # from named_parameters()
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        param_group["params"] = params
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + typename(p))
            if not self.defaults.get("differentiable", None) and not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter "
                                 f"{name}")
            param_group.setdefault(name, default)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- gradients ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    grad.grad_fn, grad.requires_grad = None, False
                    grad._data.fill(0)
                    grad._vbox[0] += 1

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        raise NotImplementedError

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _params_with_grad(self, group):
        """(param, param array, grad array) for each parameter of the group that has a gradient."""
        out = []
        for p in group["params"]:
            grad = p.grad
            if grad is not None:
                if grad._data.shape != p._data.shape:
                    raise RuntimeError(f"the gradient of a parameter has shape {list(grad.shape)} but the "
                                       f"parameter has shape {list(p.shape)}")
                out.append((p, p._data, grad._data))
        return out

    def _scratch_for(self, p, n):
        """n arrays shaped like p's, kept between steps so updates allocate nothing."""
        bufs = self._scratch.get(id(p))
        data = p._data
        if bufs is None or len(bufs) < n or bufs[0].shape != data.shape or bufs[0].dtype != data.dtype \
                or type(bufs[0]) is not type(data):
            bufs = [xp_of(data).empty_like(data) for _ in range(n)]
            self._scratch[id(p)] = bufs
        return bufs

    # ---- step hooks -----------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable[..., Any]) -> _Handle:
        handle = _Handle(self._step_pre_hooks)
        self._step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable[..., Any]) -> _Handle:
        handle = _Handle(self._step_post_hooks)
        self._step_post_hooks[handle.id] = hook
        return handle

    # ---- saving and restoring -----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """{'state': {param index: {...}}, 'param_groups': [{..., 'params': [indices]}]}, as torch's."""
        index = {}

        def pack(group):
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            return packed

        param_groups = [pack(g) for g in self.param_groups]
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = _cast(param, v)
            else:
                state[k] = v
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.__setstate__({"state": state, "param_groups": saved_groups})


def _cast(param, value, key=None):
    """A deep copy of a loaded state value: tensors move to the parameter's device, and (except
    the step count) to its floating dtype, as torch does."""
    if isinstance(value, Tensor):
        if key == "step":
            return value.detach().clone()
        if param.is_floating_point():
            return value.detach().to(dtype=param.dtype, device=param.device, copy=True)
        return value.detach().to(device=param.device, copy=True)
    if isinstance(value, dict):
        return {k: _cast(param, v, key=k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, v) for v in value)
    return value


def scalar(value):
    """A group's lr/beta given as a 1-element tensor, as a Python number."""
    return value.item() if isinstance(value, Tensor) else value


def new_step(param):
    """The step count torch keeps per parameter: a float32 0-d tensor on the CPU."""
    return Tensor._wrap(np.zeros((), np.float32))


def count_step(state):
    """Add one to state['step'] and return the new count as a Python number."""
    step = state["step"]
    if isinstance(step, Tensor):
        step._data += 1
        return step._data.item()
    state["step"] = step = step + 1
    return step


def check_nonnegative(value, message):
    """Hyperparameter checks with torch's messages ('Invalid learning rate: -1')."""
    if isinstance(value, Tensor) and value.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not scalar(value) >= 0.0:
        raise ValueError(message.format(value))
