"""Adam and AdamW (decoupled weight decay), with amsgrad and maximize."""
from collections.abc import Callable
from typing import Any

from ..ops.util import xp_of
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_nonnegative, count_step, new_step, scalar


class Adam(Optimizer):
    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        check_nonnegative(lr, "Invalid learning rate: {}")
        check_nonnegative(eps, "Invalid epsilon value: {}")
        for i, beta in enumerate(betas):
            if not 0.0 <= scalar(beta) < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}")
        defaults = dict(lr=lr, betas=tuple(scalar(b) for b in betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = scalar(group["lr"]), map(scalar, group["betas"]), group["eps"]
            weight_decay, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p, w, g in self._params_with_grad(group):
                xp = xp_of(w)
                state = self.state[p]
                if not state:
                    state["step"] = new_step(p)
                    state["exp_avg"] = Tensor._wrap(xp.zeros_like(w))
                    state["exp_avg_sq"] = Tensor._wrap(xp.zeros_like(w))
                    if amsgrad:
                        state["max_exp_avg_sq"] = Tensor._wrap(xp.zeros_like(w))
                step = count_step(state)
                if maximize:
                    g = -g
                if weight_decay != 0:
                    if decoupled:
                        w *= 1 - lr * weight_decay
                    else:
                        g = g + weight_decay * w
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                (tmp,) = self._scratch_for(p, 1)
                m *= beta1                          # m = beta1 m + (1 - beta1) g
                xp.multiply(g, 1 - beta1, out=tmp)
                m += tmp
                v *= beta2                          # v = beta2 v + (1 - beta2) g^2
                xp.multiply(g, g, out=tmp)
                tmp *= 1 - beta2
                v += tmp
                if amsgrad:
                    v_max = state["max_exp_avg_sq"]._data
                    v = xp.maximum(v_max, v, out=v_max)
                # w -= step_size m / (sqrt(v) / bias_correction2_sqrt + eps), with the scalars folded into
                # the denominator as torch's capturable Adam does: two fewer passes over the arrays
                step_size = lr / (1 - beta1 ** step)
                scale = (1 - beta2 ** step) ** 0.5 * step_size
                xp.sqrt(v, out=tmp)
                tmp *= 1 / scale
                tmp += eps / step_size
                xp.divide(m, tmp, out=tmp)
                w -= tmp
                p._vbox[0] += 1
        return loss


class AdamW(Adam):
    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:  # AdamW always decouples, whatever a loaded state says
            group["decoupled_weight_decay"] = True
