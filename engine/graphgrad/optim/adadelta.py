"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from collections.abc import Callable
from typing import Any

from ..ops.util import xp_of
from ._steps import effective_grad, start_state
from .optimizer import Optimizer, ParamsT, check_nonnegative, count_step, scalar
from ..tensor import Tensor


class Adadelta(Optimizer):
    def __init__(self, params: ParamsT, lr: float | Tensor = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_nonnegative(lr, "Invalid learning rate: {}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_nonnegative(eps, "Invalid epsilon value: {}")
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, rho, eps = scalar(group["lr"]), group["rho"], group["eps"]
            for p, w, g in self._params_with_grad(group):
                xp = xp_of(w)
                state = self.state[p]
                if not state:
                    start_state(state, p, zeros=("square_avg", "acc_delta"))
                count_step(state)
                g = effective_grad(g, w, group["maximize"], group["weight_decay"])
                square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
                std, delta = self._scratch_for(p, 2)
                square_avg *= rho                   # E[g^2] = rho E[g^2] + (1 - rho) g^2
                xp.multiply(g, 1 - rho, out=std)
                std *= g
                square_avg += std
                xp.add(square_avg, eps, out=std)
                xp.sqrt(std, out=std)
                xp.add(acc_delta, eps, out=delta)   # the update: sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) g
                xp.sqrt(delta, out=delta)
                delta /= std
                delta *= g
                acc_delta *= rho                    # E[dx^2] = rho E[dx^2] + (1 - rho) dx^2
                xp.multiply(delta, 1 - rho, out=std)
                std *= delta
                acc_delta += std
                delta *= -lr
                w += delta
                p._vbox[0] += 1
        return loss
