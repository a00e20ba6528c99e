"""RMSprop, with momentum, centering, weight decay and maximize."""
from ..ops.util import xp_of
from ..tensor import Tensor
from .optimizer import Optimizer, check_nonnegative, count_step, new_step, scalar


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_nonnegative(lr, "Invalid learning rate: {}")
        check_nonnegative(eps, "Invalid epsilon value: {}")
        check_nonnegative(momentum, "Invalid momentum value: {}")
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}")
        check_nonnegative(alpha, "Invalid alpha value: {}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
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
