"""Adamax: Adam with the infinity norm of past gradients in place of their root mean square."""
from collections.abc import Callable
from typing import Any

from ..ops.util import xp_of
from ._steps import effective_grad, lerp_, start_state
from .optimizer import Optimizer, ParamsT, check_nonnegative, count_step, scalar
from ..tensor import Tensor


def check_betas(betas):
    for i, beta in enumerate(betas):
        if not 0.0 <= scalar(beta) < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


class Adamax(Optimizer):
    def __init__(self, params: ParamsT, lr: float | Tensor = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_nonnegative(lr, "Invalid learning rate: {}")
        check_nonnegative(eps, "Invalid epsilon value: {}")
        check_betas(betas)
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = scalar(group["lr"]), group["betas"], group["eps"]
            for p, w, g in self._params_with_grad(group):
                xp = xp_of(w)
                state = self.state[p]
                if not state:
                    start_state(state, p, zeros=("exp_avg", "exp_inf"))
                step = count_step(state)
                g = effective_grad(g, w, group["maximize"], group["weight_decay"])
                exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
                (tmp,) = self._scratch_for(p, 1)
                lerp_(exp_avg, g, 1 - beta1, tmp)
                exp_inf *= beta2                    # u = max(beta2 u, |g| + eps)
                xp.abs(g, out=tmp)
                tmp += eps
                xp.maximum(exp_inf, tmp, out=exp_inf)
                clr = lr / (1 - beta1 ** step)
                xp.multiply(exp_avg, -clr, out=tmp)
                tmp /= exp_inf
                w += tmp
                p._vbox[0] += 1
        return loss
