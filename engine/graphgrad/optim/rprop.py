"""Rprop: per-coordinate step sizes grown while the gradient keeps its sign and shrunk when it
flips; only the gradient's sign moves the parameters."""
from collections.abc import Callable
from typing import Any

from ..ops.util import xp_of
from ..tensor import Tensor
from ._steps import start_state
from .optimizer import Optimizer, ParamsT, check_nonnegative, count_step, scalar


class Rprop(Optimizer):
    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        check_nonnegative(lr, "Invalid learning rate: {}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            (etaminus, etaplus), (step_size_min, step_size_max) = group["etas"], group["step_sizes"]
            for p, w, g in self._params_with_grad(group):
                xp = xp_of(w)
                state = self.state[p]
                if not state:
                    start_state(state, p, zeros=("prev",))
                    state["step_size"] = Tensor._wrap(xp.full_like(g, scalar(group["lr"])))
                count_step(state)
                if group["maximize"]:
                    g = -g
                prev, step_size = state["prev"]._data, state["step_size"]._data
                sign = xp.sign(g * prev)            # +: same direction again, -: it flipped, 0: a zero
                grew, flipped = sign > 0, sign < 0
                sign[grew] = etaplus
                sign[flipped] = etaminus
                sign[sign == 0] = 1
                step_size *= sign
                xp.clip(step_size, step_size_min, step_size_max, out=step_size)
                g = g.copy()
                g[flipped] = 0                      # after a flip, wait one step before moving again
                w -= xp.sign(g) * step_size
                prev[...] = g
                p._vbox[0] += 1
        return loss
