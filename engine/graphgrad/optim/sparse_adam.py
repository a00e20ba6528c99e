"""SparseAdam: Adam that updates only the rows a gradient touches (its moments included), for
embedding tables where most rows are not looked up in a batch.

graphgrad has no sparse tensors, so gradients are dense; the rows touched are those (along
dim 0) where the gradient has a nonzero entry. That is the row set of torch's sparse gradient
from nn.Embedding(sparse=True), except for a row looked up whose gradient is exactly zero,
which torch would still update (decaying its moments) and graphgrad leaves alone."""
import math
from collections.abc import Callable
from typing import Any

from ..ops.util import xp_of
from ._steps import start_state
from .adamax import check_betas
from .optimizer import Optimizer, ParamsT, scalar
from ..tensor import Tensor


class SparseAdam(Optimizer):
    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False) -> None:
        if not scalar(lr) > 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps > 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_betas(betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        complex_params = [[i, j] for i, group in enumerate(self.param_groups)
                          for j, p in enumerate(group["params"]) if p.is_complex()]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not support complex "
                             f"parameters")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = scalar(group["lr"]), group["betas"], group["eps"]
            for p, w, g in self._params_with_grad(group):
                xp = xp_of(w)
                state = self.state[p]
                if not state:
                    start_state(state, p, zeros=("exp_avg", "exp_avg_sq"))
                    state["step"] = 0  # a Python int in SparseAdam, as torch keeps it
                state["step"] += 1
                step = state["step"]
                if group.get("maximize", False):
                    g = -g
                if g.ndim == 0:
                    raise RuntimeError("SparseAdam updates rows of a parameter: it needs at least one dimension")
                rows = xp.flatnonzero(g.reshape(g.shape[0], -1).any(axis=1))
                if rows.size == 0:
                    continue
                values = g[rows]
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                old_exp_avg = exp_avg[rows]         # m += (1 - beta1)(g - m) on the touched rows
                exp_avg_update = (values - old_exp_avg) * (1 - beta1)
                exp_avg[rows] += exp_avg_update
                old_exp_avg_sq = exp_avg_sq[rows]
                exp_avg_sq_update = (values ** 2 - old_exp_avg_sq) * (1 - beta2)
                exp_avg_sq[rows] += exp_avg_sq_update
                numer = exp_avg_update + old_exp_avg
                denom = xp.sqrt(exp_avg_sq_update + old_exp_avg_sq) + eps
                step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
                w[rows] += -step_size * (numer / denom)
                p._vbox[0] += 1
        return loss
