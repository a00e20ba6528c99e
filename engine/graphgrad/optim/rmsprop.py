"""RMSprop, with momentum, centering, weight decay and maximize."""
from collections.abc import Callable
from typing import Any

from ..ops.util import xp_of
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_nonnegative, count_step, new_step, scalar


class RMSprop(Optimizer):
    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        check_nonnegative(lr, "Invalid learning rate: {}")
        check_nonnegative(eps, "Invalid epsilon value: {}")
        check_nonnegative(momentum, "Invalid momentum value: {}")
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}")
        check_nonnegative(alpha, "Invalid alpha value: {}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps, momentum = scalar(group["lr"]), group["alpha"], group["eps"], group["momentum"]
            weight_decay, centered, maximize = group["weight_decay"], group["centered"], group["maximize"]
            for p, w, g in self._params_with_grad(group):
                xp = xp_of(w)
                state = self.state[p]
                if not state:
                    state["step"] = new_step(p)
                    state["square_avg"] = Tensor._wrap(xp.zeros_like(w))
                    if momentum > 0:
                        state["momentum_buffer"] = Tensor._wrap(xp.zeros_like(w))
                    if centered:
                        state["grad_avg"] = Tensor._wrap(xp.zeros_like(w))
                count_step(state)
                if maximize:
                    g = -g
                if weight_decay != 0:
                    g = g + weight_decay * w
                (tmp,) = self._scratch_for(p, 1)
                square_avg = state["square_avg"]._data
                square_avg *= alpha                 # E[g^2] = alpha E[g^2] + (1 - alpha) g^2
                xp.multiply(g, g, out=tmp)
                tmp *= 1 - alpha
                square_avg += tmp
                if centered:                        # subtract E[g]^2: the variance, not the raw second moment
                    grad_avg = state["grad_avg"]._data
                    xp.subtract(g, grad_avg, out=tmp)
                    tmp *= 1 - alpha
                    grad_avg += tmp
                    xp.multiply(grad_avg, grad_avg, out=tmp)
                    xp.subtract(square_avg, tmp, out=tmp)
                    xp.sqrt(tmp, out=tmp)
                else:
                    xp.sqrt(square_avg, out=tmp)
                tmp += eps
                xp.divide(g, tmp, out=tmp)
                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    buf *= momentum
                    buf += tmp
                    xp.multiply(buf, lr, out=tmp)
                else:
                    tmp *= lr
                w -= tmp
                p._vbox[0] += 1
        return loss
