"""Adagrad: per-coordinate steps shrinking with the sum of squared gradients so far."""
from collections.abc import Callable
from typing import Any

from ..ops.util import xp_of
from ..tensor import Tensor
from ._steps import effective_grad
from .optimizer import Optimizer, ParamsT, check_nonnegative, count_step, new_step, scalar


class Adagrad(Optimizer):
    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        check_nonnegative(lr, "Invalid learning rate: {}")
        check_nonnegative(lr_decay, "Invalid lr_decay value: {}")
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}")
        check_nonnegative(initial_accumulator_value, "Invalid initial_accumulator_value value: {}")
        check_nonnegative(eps, "Invalid epsilon value: {}")
        if fused:
            raise RuntimeError("graphgrad's Adagrad has no fused kernel: pass fused=None or False")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:  # torch makes the state up front, before any step
            for p in group["params"]:
                state = self.state[p]
                state["step"] = new_step(p)
                state["sum"] = Tensor._wrap(xp_of(p._data).full_like(p._data, group["initial_accumulator_value"]))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = scalar(group["lr"]), group["lr_decay"], group["eps"]
            for p, w, g in self._params_with_grad(group):
                xp = xp_of(w)
                state = self.state[p]
                step = count_step(state)
                g = effective_grad(g, w, group["maximize"], group["weight_decay"])
                clr = lr / (1 + (step - 1) * lr_decay)
                state_sum = state["sum"]._data
                (tmp,) = self._scratch_for(p, 1)
                xp.multiply(g, g, out=tmp)
                state_sum += tmp
                xp.sqrt(state_sum, out=tmp)         # w -= clr g / (sqrt(sum) + eps)
                tmp += eps
                xp.divide(g * -clr, tmp, out=tmp)
                w += tmp
                p._vbox[0] += 1
        return loss
