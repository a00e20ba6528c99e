"""Convolution and everything on sliding windows: padding, im2col/col2im (unfold/fold), conv and
transposed conv. Argument checking and defaults live in nn.functional; these forwards take arrays
and already-normalised attributes.

A window offset (i, j) of the kernel picks the strided slice x[:, :, i*dh::sh, j*dw::sw] of the
padded input. Convolution views all offsets at once (as_strided) and does one batched matmul;
col2im and pooling (ops/pooling.py) loop over the kh*kw offsets (never over pixels)."""
from typing import Any

import numpy as np

from .dispatch import Op, apply, op
from .graph_array import GraphArray
from .util import xp_of


# ---- windows ----------------------------------------------------------------------------------

def _offset_slice(offset, dilation, stride, out):
    start = offset * dilation
    return slice(start, start + stride * (out - 1) + 1, stride)


def _offsets(kernel, dilation, stride, out_hw):
    """(index, (rows, cols) slices) for each kernel offset, in row-major kernel order."""
    (kh, kw), (dh, dw), (sh, sw), (oh, ow) = kernel, dilation, stride, out_hw
    for i in range(kh):
        for j in range(kw):
            yield i * kw + j, (Ellipsis, _offset_slice(i, dh, sh, oh), _offset_slice(j, dw, sw, ow))


def _pad_hw(x, before, after, value=0):
    """Pad the last two dims (before/after are (h, w) pairs), or return x when nothing to pad."""
    if not any(before) and not any(after):
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(before[0], after[0]), (before[1], after[1])]
    return xp_of(x).pad(x, widths, constant_values=value)


def _add_into(target, where, value):
    """target[where] += value: in place on arrays; as a new value for create_graph's graph arrays,
    which never write into a view."""
    if hasattr(target, "tensor"):
        target[where] = target[where] + value
    else:
        target[where] += value


def _unpad_hw(g, shape, before):
    return g[..., before[0]:before[0] + shape[-2], before[1]:before[1] + shape[-1]]


def _as_strided(x):
    xp = xp_of(x)
    return np.lib.stride_tricks.as_strided if xp is np else xp.lib.stride_tricks.as_strided


# ---- padding ----------------------------------------------------------------------------------

@op("constant_pad_nd", "ConstantPadNdBackward0", category="convolution")
class ConstantPad(Op):
    """pads: (before, after) per dim, first dim first; negative amounts crop."""

    def forward(self, x, pads, value=0):
        xp = xp_of(x)
        self.in_shape, self.pads = x.shape, pads
        grow = [(max(b, 0), max(a, 0)) for b, a in pads]
        out = xp.pad(x, grow, constant_values=value) if any(b or a for b, a in grow) else x.copy()
        return out[self._crop(out.shape)]

    def _crop(self, shape):
        return tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(self.pads, shape))

    def backward(self, grad):
        xp = xp_of(grad)
        # the input's place in the output is the output's place in a grad padded the other way
        full = xp.pad(grad, [(max(-b, 0), max(-a, 0)) for b, a in self.pads])
        return (full[tuple(slice(max(b, 0), max(b, 0) + n) for (b, _), n in zip(self.pads, self.in_shape))],)


class _IndexPad(Op):
    """Reflect, replicate or circular padding of the last dims, one dim at a time: each output
    position reads one input position (an index map); backward adds back through the same map."""
    mode: Any = None  # NumPy's pad mode, set by each registered class

    def forward(self, x, pads):
        xp = xp_of(x)
        self.maps = []
        for d, (b, a) in zip(range(x.ndim - len(pads), x.ndim), pads):
            index = np.pad(np.arange(x.shape[d]), (b, a), mode=self.mode)
            self.maps.append((d, x.shape[d], index))
            x = xp.take(x, xp.asarray(index), axis=d)
        return x

    def backward(self, grad):
        xp = xp_of(grad)
        for d, n, index in reversed(self.maps):
            onehot = xp.asarray((index[:, None] == np.arange(n)).astype(grad.dtype))
            grad = xp.moveaxis(xp.moveaxis(grad, d, -1) @ onehot, -1, d)
        return (grad,)


_PAD_MODES = {"reflect": ("reflect", "Reflection"), "replicate": ("edge", "Replication"), "circular": ("wrap", None)}
index_pads = {}
for _mode, (_np_mode, _torch_name) in _PAD_MODES.items():
    for _dims in (1, 2, 3):
        _name = f"{_torch_name}Pad{_dims}DBackward0" if _torch_name else "CopySlices"
        index_pads[_mode, _dims] = op(f"{_mode}_pad{_dims}d", _name, category="convolution")(
            type(f"{_mode.title()}Pad{_dims}d", (_IndexPad,), {"mode": _np_mode}))


# ---- im2col / col2im (unfold / fold) -----------------------------------------------------------

def _blocks(size, kernel, dilation, stride):
    return tuple((size[d] - dilation[d] * (kernel[d] - 1) - 1) // stride[d] + 1 for d in (0, 1))


def _im2col(x, kernel, dilation, stride, out_hw):
    """Every kernel window of the (already padded) x as a column: (N, C*kh*kw, Ho*Wo), from one
    strided view copied once. Graph arrays (create_graph) go through the Unfold op instead."""
    if hasattr(x, "tensor"):
        return GraphArray(apply(Unfold, x.tensor, kernel_size=kernel, dilation=dilation, padding=(0, 0),
                                stride=stride))
    (n, c), (kh, kw), (oh, ow), s = x.shape[:2], kernel, out_hw, x.strides
    view = _as_strided(x)(x, (n, c, kh, kw, oh, ow), (s[0], s[1], s[2] * dilation[0], s[3] * dilation[1],
                                                     s[2] * stride[0], s[3] * stride[1]))
    return view.reshape(n, c * kh * kw, oh * ow)


def _col2im(cols, shape, kernel, dilation, stride, out_hw):
    """The columns added back at their windows' places in an x of `shape` (padded): im2col's
    adjoint, one strided add per kernel offset."""
    n, c = shape[:2]
    cols = cols.reshape((n, c) + tuple(kernel) + tuple(out_hw))
    x = xp_of(cols).zeros(shape, cols.dtype)
    for k, where in _offsets(kernel, dilation, stride, out_hw):
        _add_into(x, where, cols[:, :, k // kernel[1], k % kernel[1]])
    return x


@op("unfold", "Im2ColBackward0", category="convolution")
class Unfold(Op):
    """F.unfold: (N, C, H, W) -> (N, C*kh*kw, L), the sliding blocks as columns (unbatched: no N)."""

    def forward(self, x, kernel_size, dilation, padding, stride):
        self.batched, self.in_shape = x.ndim == 4, x.shape
        x = _pad_hw(x if self.batched else x[None], padding, padding)
        self.padded, self.padding = x.shape, padding
        self.args = kernel_size, dilation, stride, _blocks(x.shape[2:], kernel_size, dilation, stride)
        cols = _im2col(x, *self.args)
        return cols if self.batched else cols[0]

    def backward(self, grad):
        x = _col2im(grad if self.batched else grad[None], self.padded, *self.args)
        x = _unpad_hw(x, self.padded[:2] + self.in_shape[-2:], self.padding)
        return (x if self.batched else x[0],)


@op("fold", "Col2ImBackward0", category="convolution")
class Fold(Op):
    """F.fold: columns (N, C*kh*kw, L) summed back into (N, C, H, W): unfold's adjoint."""

    def forward(self, cols, output_size, kernel_size, dilation, padding, stride):
        self.batched = cols.ndim == 3
        cols = cols if self.batched else cols[None]
        n, c = cols.shape[0], cols.shape[1] // (kernel_size[0] * kernel_size[1])
        self.padded = (n, c) + tuple(output_size[d] + 2 * padding[d] for d in (0, 1))
        self.padding, self.out_shape = padding, (n, c) + tuple(output_size)
        self.args = kernel_size, dilation, stride, _blocks(self.padded[2:], kernel_size, dilation, stride)
        x = _unpad_hw(_col2im(cols, self.padded, *self.args), self.out_shape, padding)
        return x if self.batched else x[0]

    def backward(self, grad):
        x = _pad_hw(grad if self.batched else grad[None], self.padding, self.padding)
        cols = _im2col(x, *self.args)
        return (cols if self.batched else cols[0],)


# ---- convolution ------------------------------------------------------------------------------

@op("conv2d", "ConvolutionBackward0", category="convolution")
class Convolution(Op):
    """2-d (and, through a height of 1, 1-d) convolution with stride, padding, dilation, groups:
    im2col of the padded input, (N, G, C/G*kh*kw, L), times the (G, O/G, C/G*kh*kw) weight, is
    already N, O, Ho, Wo in memory order. Backward: col2im of the columns' gradient for x, the
    columns again for w."""
    # x, w: padded, and with a height of 1 for 1-d
    saves = {"x_in": "input 0", "w_in": "input 1", "x": "derived", "w": "derived"}

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        self.one_d = x.ndim == 3
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.x_in, self.w_in = x, w
        self.regraph()
        self.in_shape = self.x_in.shape if not self.one_d else self.x_in[:, :, None].shape
        n, o = self.x.shape[0], self.w.shape[0]
        self.out_hw = _blocks(self.x.shape[2:], self.w.shape[2:], dilation, stride)
        out = self.w.reshape(groups, o // groups, -1) @ self._columns()
        out = out.reshape((n, o) + self.out_hw)
        if b is not None:
            out += b.reshape(1, -1, 1, 1)
        return out[:, :, 0] if self.one_d else out

    def regraph(self):
        x, w = self.x_in, self.w_in
        if self.one_d:
            x, w = x[:, :, None], w[:, :, None]
        self.x, self.w = _pad_hw(x, self.padding, self.padding), w

    def _columns(self):
        cols = _im2col(self.x, self.w.shape[2:], self.dilation, self.stride, self.out_hw)
        return cols.reshape(self.x.shape[0], self.groups, -1, cols.shape[-1])

    def backward(self, grad):
        if self.one_d:
            grad = grad[:, :, None]
        x, w, g = self.x, self.w, self.groups
        n, o = grad.shape[:2]
        gout = grad.reshape(n, g, o // g, -1)
        gx = gw = None
        if self.next_functions[0][0] is not None:
            gcols = xp_of(w).swapaxes(w.reshape(g, o // g, -1), 1, 2) @ gout      # (N, G, C/G*kh*kw, L)
            gx = _col2im(gcols, x.shape, w.shape[2:], self.dilation, self.stride, self.out_hw)
            gx = _unpad_hw(gx, self.in_shape, self.padding)
        if self.next_functions[1][0] is not None:
            gw = (gout @ xp_of(gout).swapaxes(self._columns(), 2, 3)).sum(0).reshape(w.shape)
        return _with_bias_grad(self, grad, gx, gw)


def _with_bias_grad(node, grad, gx, gw):
    """A convolution's (gx, gw, gb): the bias's gradient, and 1-d ones without their height of 1."""
    gb = None
    if len(node.next_functions) > 2 and node.next_functions[2][0] is not None:
        gb = grad.sum(axis=(0, 2, 3))
    if node.one_d:
        gx = None if gx is None else gx[:, :, 0]
        gw = None if gw is None else gw[:, :, 0]
    return gx, gw, gb


@op("conv_transpose2d", "ConvolutionBackward0", category="convolution")
class ConvTranspose(Op):
    """Transposed convolution (2-d, and 1-d through a height of 1), the adjoint of Convolution:
    the (G, O/G*kh*kw, C/G) transposed weight times x's (N, G, C/G, H*W) pixels gives columns that
    col2im adds at their windows' places in the padded output, which is then unpadded. Backward:
    im2col of the padded output gradient, times the weight, for x; x times those columns for w."""
    # x, w: with a height of 1 for 1-d
    saves = {"x_in": "input 0", "w_in": "input 1", "x": "derived", "w": "derived"}

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1),
                groups=1):
        self.one_d = x.ndim == 3
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.x_in, self.w_in = x, w
        self.regraph()
        x, w, g = self.x, self.w, groups
        (n, c), o, kernel = x.shape[:2], w.shape[1] * g, w.shape[2:]
        self.in_hw = x.shape[2:]
        self.padded = (n, o) + tuple((self.in_hw[d] - 1) * stride[d] + dilation[d] * (kernel[d] - 1) + 1
                                     + output_padding[d] for d in (0, 1))
        self.out_shape = self.padded[:2] + tuple(self.padded[2 + d] - 2 * padding[d] for d in (0, 1))
        cols = xp_of(w).swapaxes(self._weight(), 1, 2) @ x.reshape(n, g, c // g, -1)  # (N, G, O/G*kh*kw, H*W)
        out = _unpad_hw(_col2im(cols, self.padded, kernel, dilation, stride, self.in_hw), self.out_shape, padding)
        if b is not None:
            out = out + b.reshape(1, -1, 1, 1)
        return out[:, :, 0] if self.one_d else out

    def regraph(self):
        x, w = self.x_in, self.w_in
        self.x, self.w = (x[:, :, None], w[:, :, None]) if self.one_d else (x, w)

    def _weight(self):
        g, w = self.groups, self.w
        return w.reshape(g, w.shape[0] // g, -1)  # (G, C/G, O/G*kh*kw)

    def backward(self, grad):
        if self.one_d:
            grad = grad[:, :, None]
        x, w, g = self.x, self.w, self.groups
        n, c = x.shape[:2]
        cols = _im2col(_pad_hw(grad, self.padding, self.padding), w.shape[2:], self.dilation, self.stride, self.in_hw)
        cols = cols.reshape(n, g, -1, cols.shape[-1])                                  # (N, G, O/G*kh*kw, H*W)
        gx = gw = None
        if self.next_functions[0][0] is not None:
            gx = (self._weight() @ cols).reshape(x.shape)
        if self.next_functions[1][0] is not None:
            pixels = x.reshape(n, g, c // g, -1)
            gw = (pixels @ xp_of(cols).swapaxes(cols, 2, 3)).sum(0).reshape(w.shape)
        return _with_bias_grad(self, grad, gx, gw)
