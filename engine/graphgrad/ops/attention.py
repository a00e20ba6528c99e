"""Scaled dot-product attention as one node, as torch's CPU kernel is one
(ScaledDotProductFlashAttentionForCpuBackward0): softmax(q k^T * scale + mask) v, with the
attention probabilities kept for backward instead of five nodes' worth of intermediates.

The mask reaching here is additive (0 where a query may attend, -inf where not; nn.functional
turns boolean and causal masks into one) and a constant. A query row that may attend nowhere
gets zeros (torch's safe softmax), not NaN."""
from .activation import softmax
from ..tensor import Tensor
from .dispatch import Op, op
from .graph_array import GraphArray
from .util import xp_of


def attention_probabilities(xp, q, k, mask, scale):
    scores = (q @ xp.swapaxes(k, -1, -2)) * scale
    if mask is not None:
        scores = scores + mask
    top = scores.max(axis=-1, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0)  # a row of -inf: exp gives zeros, not NaN
    e = xp.exp(scores - top)
    total = e.sum(axis=-1, keepdims=True)
    return e / xp.where(total == 0, 1, total)


@op("scaled_dot_product_attention", "ScaledDotProductFlashAttentionForCpuBackward0", category="attention")
class ScaledDotProductAttention(Op):
    # p: the probabilities, made again from q and k for create_graph
    saves = {"q": "input 0", "k": "input 1", "v": "input 2", "p": "derived", "mask": "constant, kept"}

    def forward(self, q, k, v, mask=None, scale=1.0):
        self.q, self.k, self.v, self.mask, self.scale = q, k, v, mask, scale
        self.p = attention_probabilities(xp_of(q), q, k, mask, scale)
        return self.p @ v

    def regraph(self):
        q, k = (x.tensor if isinstance(x, GraphArray) else Tensor._wrap(x) for x in (self.q, self.k))
        scores = (q @ k.transpose(-1, -2)) * self.scale
        if self.mask is not None:
            scores = scores + Tensor._wrap(self.mask)
        self.p = GraphArray(softmax(scores, -1))

    def backward(self, grad):
        xp, p, q, k, v, scale = xp_of(grad), self.p, self.q, self.k, self.v, self.scale
        gv = xp.swapaxes(p, -1, -2) @ grad
        gp = grad @ xp.swapaxes(v, -1, -2)
        gs = p * (gp - (gp * p).sum(axis=-1, keepdims=True))
        return (gs @ k) * scale, (xp.swapaxes(gs, -1, -2) @ q) * scale, gv
