"""Stochastic gradient descent, with momentum, dampening, Nesterov, weight decay and maximize."""
from collections.abc import Callable
from typing import Any

from ..native.fma import add_scaled
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_nonnegative, scalar


class SGD(Optimizer):
    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        check_nonnegative(lr, "Invalid learning rate: {}")
        check_nonnegative(momentum, "Invalid momentum value: {}")
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, momentum, dampening = scalar(group["lr"]), group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            # each `a.add(b, alpha=c)` of torch's update rounds once (add_scaled), as torch's does
            for p, w, g in self._params_with_grad(group):
                if maximize:
                    g = -g
                if weight_decay != 0:
                    g = add_scaled(g, w, weight_decay)
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:  # the first step starts the buffer at the gradient itself
                        state["momentum_buffer"] = Tensor._wrap(g.copy())
                        b = state["momentum_buffer"]._data
                    else:
                        b = buf._data
                        b *= momentum
                        add_scaled(b, g, 1 - dampening, out=b)
                    g = add_scaled(g, b, momentum) if nesterov else b
                add_scaled(w, g, -lr, out=w)
                p._vbox[0] += 1
        return loss
