"""ASGD: SGD with a decaying step and a running average of the iterates (state 'ax')."""
from collections.abc import Callable
from typing import Any

from .. import dtypes
from ..ops.util import xp_of
from ._steps import effective_grad, start_state
from .optimizer import Optimizer, ParamsT, check_nonnegative, count_step, scalar
from ..tensor import Tensor


class ASGD(Optimizer):
    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_nonnegative(lr, "Invalid learning rate: {}")
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0 = scalar(group["lr"]), group["lambd"], group["alpha"], group["t0"]
            for p, w, g in self._params_with_grad(group):
                xp = xp_of(w)
                state = self.state[p]
                if not state:
                    start_state(state, p, zeros=("ax",), eta=lr, mu=1.0)
                step = count_step(state)
                g = effective_grad(g, w, group["maximize"], group["weight_decay"])
                eta, mu = state["eta"]._data, state["mu"]._data
                eta_value = eta.item()
                (tmp,) = self._scratch_for(p, 1)
                w *= 1 - lambd * eta_value          # decay, then the gradient step
                xp.multiply(g, -eta_value, out=tmp)
                w += tmp
                ax = state["ax"]._data
                if mu.item() != 1:                  # average the iterates from t0 on
                    xp.subtract(w, ax, out=tmp)
                    tmp *= mu.item()
                    ax += tmp
                else:
                    ax[...] = w
                # torch makes both new values as tensors of the default dtype before storing them
                rounded = dtypes.get_default_dtype().np.type
                eta[...] = rounded(lr / ((1 + lambd * lr * step) ** alpha))
                mu[...] = rounded(1 / max(1, step - t0))
                p._vbox[0] += 1
        return loss
