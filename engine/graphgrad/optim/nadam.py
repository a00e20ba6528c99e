"""NAdam: Adam with Nesterov momentum (Dozat), with the momentum decay schedule torch uses."""
from collections.abc import Callable
from typing import Any

from ..ops.util import xp_of
from ._steps import effective_grad, start_state, update_moments
from .adamax import check_betas
from .optimizer import Optimizer, ParamsT, check_nonnegative, count_step, scalar
from ..tensor import Tensor


class NAdam(Optimizer):
    def __init__(self, params: ParamsT, lr: float | Tensor = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_nonnegative(lr, "Invalid learning rate: {}")
        check_nonnegative(eps, "Invalid epsilon value: {}")
        check_betas(betas)
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}")
        check_nonnegative(momentum_decay, "Invalid momentum_decay value: {}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = scalar(group["lr"]), group["betas"], group["eps"]
            weight_decay, momentum_decay = group["weight_decay"], group["momentum_decay"]
            for p, w, g in self._params_with_grad(group):
                xp = xp_of(w)
                state = self.state[p]
                if not state:
                    start_state(state, p, zeros=("exp_avg", "exp_avg_sq"), mu_product=1.0)
                step = count_step(state)
                bias_correction2 = 1 - beta2 ** step
                decay = weight_decay
                if decay != 0 and group["decoupled_weight_decay"]:
                    w *= 1 - lr * decay
                    decay = 0
                g = effective_grad(g, w, group["maximize"], decay)
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
                mu_product = state["mu_product"]._data
                mu_product *= mu                    # kept in the scalar dtype (float32), as torch keeps it
                mu_product = mu_product.item()
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                denom, tmp = self._scratch_for(p, 2)
                update_moments(exp_avg, exp_avg_sq, g, beta1, beta2, tmp)
                xp.divide(exp_avg_sq, bias_correction2, out=denom)
                xp.sqrt(denom, out=denom)
                denom += eps
                # two addcdiv steps: the gradient's share, then the momentum's
                xp.multiply(g, -lr * (1.0 - mu) / (1.0 - mu_product), out=tmp)
                tmp /= denom
                w += tmp
                xp.multiply(exp_avg, (-lr * mu_next) / (1.0 - mu_product * mu_next), out=tmp)
                tmp /= denom
                w += tmp
                p._vbox[0] += 1
        return loss
