"""RAdam: Adam whose adaptive step is switched in gradually, by the variance rectification term
(plain momentum SGD while the running second moment is too short to trust)."""
from collections.abc import Callable
from typing import Any

from ..ops.util import xp_of
from ._steps import effective_grad, start_state, update_moments
from .adamax import check_betas
from .optimizer import Optimizer, ParamsT, check_nonnegative, count_step, scalar
from ..tensor import Tensor


class RAdam(Optimizer):
    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_nonnegative(lr, "Invalid learning rate: {}")
        check_nonnegative(eps, "Invalid epsilon value: {}")
        check_betas(betas)
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps, weight_decay = scalar(group["lr"]), group["betas"], group["eps"], \
                group["weight_decay"]
            for p, w, g in self._params_with_grad(group):
                xp = xp_of(w)
                state = self.state[p]
                if not state:
                    start_state(state, p, zeros=("exp_avg", "exp_avg_sq"))
                step = count_step(state)
                decay = weight_decay
                if decay != 0 and group["decoupled_weight_decay"]:
                    w *= 1 - lr * decay
                    decay = 0
                g = effective_grad(g, w, group["maximize"], decay)
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                update, tmp = self._scratch_for(p, 2)
                update_moments(exp_avg, exp_avg_sq, g, beta1, beta2, tmp)
                bias_correction1, bias_correction2 = 1 - beta1 ** step, 1 - beta2 ** step
                xp.divide(exp_avg, bias_correction1, out=update)
                update *= lr
                rho_inf = 2 / (1 - beta2) - 1       # the longest the approximated SMA gets
                rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                if rho_t > 5.0:                     # the variance is tractable: rectified adaptive step
                    xp.sqrt(exp_avg_sq, out=tmp)
                    tmp += eps
                    xp.reciprocal(tmp, out=tmp)     # torch's number / tensor is reciprocal() * number
                    tmp *= bias_correction2 ** 0.5
                    update *= tmp
                    update *= ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                w -= update
                p._vbox[0] += 1
        return loss
