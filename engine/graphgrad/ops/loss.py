"""Losses: mse, huber, smooth L1, binary cross-entropy (with logits) and nll. nn.functional
composes the rest (l1, cross_entropy, kl_div) from these and the core ops, as PyTorch does."""
from collections.abc import Callable
from typing import Any

from .activation import _sigmoid
from .dispatch import Op, op
from .util import sum_to, xp_of


def _reduce(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _reduced_grad(grad, reduction, n):
    """The gradient that reaches each element of an unreduced loss."""
    return grad / n if reduction == "mean" else grad


class _PairLoss(Op):
    """loss(input, target) elementwise (broadcast), then reduced; backward sums each grad to its
    operand's shape."""
    loss: Callable[..., Any]   # (xp, x, t, **params) -> the losses, unreduced
    grads: Callable[..., Any]  # (xp, grad, x, t, **params) -> (grad of x, grad of t)
    saves = {"x": "input 0", "t": "input 1"}

    def forward(self, x, t, reduction, **params):
        self.x, self.t, self.reduction, self.params = x, t, reduction, params
        losses = self.loss(xp_of(x), x, t, **params)
        self.n = losses.size
        return _reduce(losses, reduction)

    def backward(self, grad):
        xp = xp_of(grad)
        g = _reduced_grad(grad, self.reduction, self.n)
        gx, gt = self.grads(xp, g, self.x, self.t, **self.params)
        return (None if gx is None or self.next_functions[0][0] is None else sum_to(gx, self.x.shape),
                None if gt is None or self.next_functions[1][0] is None else sum_to(gt, self.t.shape))


def _pair_loss(name, grad_fn, loss, grads):
    cls = type(grad_fn, (_PairLoss,), {"loss": staticmethod(loss), "grads": staticmethod(grads)})
    return op(name, grad_fn, category="loss")(cls)


def _huber(xp, x, t, delta, scale):
    """Huber loss; smooth L1 is Huber divided by beta (scale = 1/beta)."""
    d = xp.abs(x - t)
    return xp.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)) * scale


def _huber_grads(xp, g, x, t, delta, scale):
    d = x - t
    gx = g * xp.clip(d, -delta, delta) * scale
    return gx, -gx


MseLoss = _pair_loss("mse_loss", "MseLossBackward0",
                     lambda xp, x, t: (x - t) ** 2,
                     lambda xp, g, x, t: (2 * g * (x - t), -2 * g * (x - t)))
HuberLoss = _pair_loss("huber_loss", "HuberLossBackward0", _huber, _huber_grads)
SmoothL1Loss = _pair_loss("smooth_l1_loss", "SmoothL1LossBackward0", _huber, _huber_grads)


@op("binary_cross_entropy", "BinaryCrossEntropyBackward0", category="loss")
class BinaryCrossEntropy(Op):
    """-(t log x + (1 - t) log(1 - x)), each log clamped at -100 as PyTorch does."""
    saves = {"x": "input 0", "t": "input 1", "w": "constant"}

    def forward(self, x, t, w, reduction):
        xp = xp_of(x)
        if x.size and bool(((x < 0) | (x > 1)).any()):  # (here, not in the function: a replay checks it too)
            raise RuntimeError("all elements of input should be between 0 and 1")
        self.x, self.t, self.w, self.reduction = x, t, w, reduction
        losses = -(t * xp.maximum(xp.log(x), -100) + (1 - t) * xp.maximum(xp.log1p(-x), -100))
        return _reduce(losses if w is None else losses * w, reduction)

    def backward(self, grad):
        xp = xp_of(grad)
        x, t = self.x, self.t
        g = _reduced_grad(grad, self.reduction, x.size)
        gx = g * (x - t) / xp.maximum((1 - x) * x, 1e-12)
        gt = None
        if self.next_functions[1][0] is not None:
            gt = g * (xp.maximum(xp.log1p(-x), -100) - xp.maximum(xp.log(x), -100))
        if self.w is not None:
            gx = gx * self.w
            gt = None if gt is None else gt * self.w
        return gx, gt, None


@op("binary_cross_entropy_with_logits", "BinaryCrossEntropyWithLogitsBackward0", category="loss")
class BinaryCrossEntropyWithLogits(Op):
    """(1 - t) x + (1 + (pos_weight - 1) t) softplus(-x): the stable form of BCE(sigmoid(x), t)."""
    # the weights: PyTorch does not differentiate them either
    saves = {"x": "input 0", "t": "input 1", "w": "constant", "pw": "constant"}

    def forward(self, x, t, w, pw, reduction):
        xp = xp_of(x)
        self.x, self.t, self.w, self.pw, self.reduction = x, t, w, pw, reduction
        softplus_neg = xp.logaddexp(0, -x)
        coef = 1 if pw is None else 1 + (pw - 1) * t
        losses = (1 - t) * x + coef * softplus_neg
        self.n = losses.size
        return _reduce(losses if w is None else losses * w, reduction)

    def backward(self, grad):
        xp = xp_of(grad)
        x, t, pw = self.x, self.t, self.pw
        g = _reduced_grad(grad, self.reduction, self.n)
        if self.w is not None:
            g = g * self.w
        sig = _sigmoid(xp, x)
        if pw is None:
            gx, gt = g * (sig - t), (-g * x if self.next_functions[1][0] is not None else None)
        else:
            gx = g * ((1 - t) - (1 + (pw - 1) * t) * (1 - sig))
            gt = None
            if self.next_functions[1][0] is not None:
                gt = g * (-x + (pw - 1) * xp.logaddexp(0, -x))
        return (sum_to(gx, x.shape), None if gt is None else sum_to(gt, t.shape), None, None)


@op("nll_loss", "NllLossBackward0", category="loss")
class NllLoss(Op):
    """-logp[target] (times the class weight), skipping ignore_index; "mean" divides by the summed
    weights of the counted targets. Classes are dim 1 (dim 0 for one unbatched sample); other
    dims are flattened into rows. The targets are checked here, not in nll_loss, so that a replayed
    step (graphgrad.compile) checks each call's: a target out of range is an error, and the masking
    is skipped only where no target can be ignored."""
    saves = {"t": "other", "weights": "constant"}

    def forward(self, logp, target, weight, reduction, ignore_index):
        xp = xp_of(logp)
        self.shape, self.reduction = logp.shape, reduction
        classes = logp.shape[1] if logp.ndim > 1 else logp.shape[0]
        lp = (xp.moveaxis(logp, 1, -1) if logp.ndim > 2 else logp).reshape(-1, classes)
        t = target.reshape(-1)
        in_range = t.size == 0 or (int(t.min()) >= 0 and int(t.max()) < classes)
        if not in_range:
            bad = ((t < 0) | (t >= classes)) & (t != ignore_index)
            if bool(bad.any()):
                raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")
        any_ignored = not in_range or 0 <= ignore_index < classes
        if any_ignored:
            keep = t != ignore_index
            t = xp.where(keep, t, 0)
        self.rows, self.t = xp.arange(t.shape[0]), t
        weights = None if weight is None else weight[t]
        if any_ignored:
            weights = keep.astype(logp.dtype) if weights is None else weights * keep
        self.weights = weights
        losses = -lp[self.rows, t] if weights is None else -lp[self.rows, t] * weights
        if reduction == "none":
            return losses.reshape(target.shape)
        if reduction == "sum":
            return losses.sum()
        self.total = t.shape[0] if weights is None else weights.sum()
        return losses.sum() / self.total

    def backward(self, grad):
        xp = xp_of(grad)
        scale = grad.reshape(-1) if self.reduction == "none" else grad
        if self.reduction == "mean":
            scale = scale / self.total
        g = xp.zeros((self.t.shape[0], self.shape[1] if len(self.shape) > 1 else self.shape[0]), grad.dtype)
        g[self.rows, self.t] = -scale if self.weights is None else -scale * self.weights
        if len(self.shape) <= 2:
            return g.reshape(self.shape), None, None
        moved = self.shape[:1] + self.shape[2:] + self.shape[1:2]
        return xp.moveaxis(g.reshape(moved), -1, 1), None, None


@op("nll_loss2d", "NllLoss2DBackward0", category="loss")
class NllLoss2d(NllLoss):
    pass
