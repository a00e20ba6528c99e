"""The ops behind graphgrad.nn: convolution, pooling, normalisation, embedding, activations and
losses. Each is one node with PyTorch's grad_fn name; argument checking and defaults live in
nn.functional, so these forwards take arrays and already-normalised attributes.

Convolution and pooling work on windows: a window offset (i, j) of the kernel picks the strided
slice x[:, :, i*dh::sh, j*dw::sw] of the padded input. Convolution views all offsets at once
(as_strided) and does one batched matmul; pooling and every backward loop over the kh*kw
offsets (never over pixels)."""
import math

import numpy as np

from .dispatch import Op, op
from .pointwise import _errstate, _sigmoid, erf_array
from .util import sum_to, xp_of


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

@op("constant_pad_nd", "ConstantPadNdBackward0")
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
    mode = None

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
        index_pads[_mode, _dims] = op(f"{_mode}_pad{_dims}d", _name)(
            type(f"{_mode.title()}Pad{_dims}d", (_IndexPad,), {"mode": _np_mode}))


# ---- im2col / col2im (unfold / fold) -----------------------------------------------------------

def _blocks(size, kernel, dilation, stride):
    return tuple((size[d] - dilation[d] * (kernel[d] - 1) - 1) // stride[d] + 1 for d in (0, 1))


def _im2col(x, kernel, dilation, stride, out_hw):
    """Every kernel window of the (already padded) x as a column: (N, C*kh*kw, Ho*Wo), from one
    strided view copied once. Graph arrays (create_graph) go through the Unfold op instead."""
    if hasattr(x, "tensor"):
        from ..autograd.higher_order import GraphArray
        from .dispatch import apply
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


@op("unfold", "Im2ColBackward0")
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


@op("fold", "Col2ImBackward0")
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

@op("conv2d", "ConvolutionBackward0")
class Convolution(Op):
    """2-d (and, through a height of 1, 1-d) convolution with stride, padding, dilation, groups:
    im2col of the padded input, (N, G, C/G*kh*kw, L), times the (G, O/G, C/G*kh*kw) weight, is
    already N, O, Ho, Wo in memory order. Backward: col2im of the columns' gradient for x, the
    columns again for w."""
    saved = ("x_in", "w_in", "x", "w")
    saved_inputs = (0, 1)
    saved_as_given = True
    saved_derived = ("x", "w")  # padded, and with a height of 1 for 1-d: regraph() makes them again

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


@op("conv_transpose2d", "ConvolutionBackward0")
class ConvTranspose(Op):
    """Transposed convolution (2-d, and 1-d through a height of 1), the adjoint of Convolution:
    the (G, O/G*kh*kw, C/G) transposed weight times x's (N, G, C/G, H*W) pixels gives columns that
    col2im adds at their windows' places in the padded output, which is then unpadded. Backward:
    im2col of the padded output gradient, times the weight, for x; x times those columns for w."""
    saved = ("x_in", "w_in", "x", "w")
    saved_inputs = (0, 1)
    saved_as_given = True
    saved_derived = ("x", "w")  # with a height of 1 for 1-d: regraph() makes them again

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


# ---- pooling ----------------------------------------------------------------------------------

def pool_output_size(size, kernel, pad, stride, dilation, ceil_mode):
    """PyTorch's pooling_output_shape: a last window that starts inside the padded input counts."""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


class _Pool(Op):
    def _setup(self, x, kernel, stride, padding, dilation, ceil_mode, fill):
        """Pad x so every window of the output lies inside it (ceil_mode may need more on the right)."""
        self.in_shape, self.kernel, self.stride, self.padding, self.dilation = x.shape, kernel, stride, padding, dilation
        self.out_hw = tuple(pool_output_size(x.shape[-2 + d], kernel[d], padding[d], stride[d], dilation[d], ceil_mode)
                            for d in (0, 1))
        after = tuple(max(padding[d], (self.out_hw[d] - 1) * stride[d] + dilation[d] * (kernel[d] - 1) + 1
                          - x.shape[-2 + d] - padding[d]) for d in (0, 1))
        self.after = after
        return _pad_hw(x, padding, after, fill)

    def _windows(self):
        return _offsets(self.kernel, self.dilation, self.stride, self.out_hw)

    def _scatter(self, parts, dtype, xp):
        """col2im for pooling: sum the per-offset gradients back into the input's shape."""
        padded = self.in_shape[:-2] + tuple(self.in_shape[-2 + d] + self.padding[d] + self.after[d] for d in (0, 1))
        gx = xp.zeros(padded, dtype)
        for (k, where) in self._windows():
            _add_into(gx, where, parts(k))
        return _unpad_hw(gx, self.in_shape, self.padding)


@op("max_pool2d", "MaxPool2DWithIndicesBackward0")
class MaxPool2d(_Pool):
    """Max over each window (NaN propagates). Backward gives each window's gradient to its first
    maximum in kernel order, as PyTorch's index does; the winners are found again from the saved
    input and output, so the forward is only kh*kw-1 elementwise maxima."""
    saved = ("x", "out")
    saved_inputs = (0,)
    saved_constants = ("x", "out")  # they pick where gradients go: a piecewise-constant choice

    def forward(self, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices=False):
        xp = xp_of(x)
        self.x = x = self._setup(x, kernel_size, stride, padding, dilation, ceil_mode, -np.inf)
        windows = [x[where] for _, where in self._windows()]
        out = windows[0].copy() if len(windows) == 1 else xp.maximum(windows[0], windows[1])
        for v in windows[2:]:
            xp.maximum(out, v, out=out)
        self.out = out
        if not return_indices:
            return out
        self.n_outputs = 2
        arg = xp.zeros(out.shape, np.int64)
        for k, _, hit in self._winners(xp):
            if k:
                arg[hit] = k
        return out, self._flat_indices(xp, arg)

    def _winners(self, xp):
        """(offset index, window slices, mask of the windows whose first maximum sits there)."""
        out = self.out
        nan = out != out
        any_nan = bool(nan.any())
        taken = None
        for k, where in self._windows():
            v = self.x[where]
            hit = v == out
            if any_nan:
                hit |= nan & (v != v)
            if taken is None:
                taken = hit.copy()
            else:
                hit &= ~taken
                taken |= hit
            yield k, where, hit

    def _flat_indices(self, xp, arg):
        """The window offset as PyTorch's index into the flattened (unpadded) input plane."""
        kw, (sh, sw), (ph, pw), (dh, dw) = self.kernel[1], self.stride, self.padding, self.dilation
        oh, ow = self.out_hw
        rows = xp.arange(oh).reshape(-1, 1) * sh - ph + (arg // kw) * dh
        cols = xp.arange(ow) * sw - pw + (arg % kw) * dw
        return rows * self.in_shape[-1] + cols

    def backward(self, grad):
        if type(grad) is tuple:
            grad = grad[0]
        xp = xp_of(grad)
        gx = xp.zeros(self.x.shape, grad.dtype)
        disjoint = all(s >= d * (k - 1) + 1 for k, s, d in zip(self.kernel, self.stride, self.dilation))
        for _, where, hit in self._winners(xp):
            # grad * hit, not where(hit, grad, 0): several times faster (a NaN grad reaches the
            # window's other positions too); disjoint windows write without reading back
            if disjoint:
                gx[where] = grad * hit
            else:
                _add_into(gx, where, grad * hit)
        return (_unpad_hw(gx, self.in_shape, self.padding),)


@op("avg_pool2d", "AvgPool2DBackward0")
class AvgPool2d(_Pool):
    saved_constants = ("divisor",)  # window sizes
    def forward(self, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        xp = xp_of(x)
        h, w = x.shape[-2:]
        x = self._setup(x, kernel_size, stride, padding, (1, 1), ceil_mode, 0)
        total = None
        for _, where in self._windows():
            total = x[where].copy() if total is None else total + x[where]
        if divisor_override:
            self.divisor = divisor_override
        else:
            rows = self._counts(xp, 0, h, count_include_pad)
            cols = self._counts(xp, 1, w, count_include_pad)
            self.divisor = (rows.reshape(-1, 1) * cols).astype(x.dtype)
        return total / self.divisor

    def _counts(self, xp, d, size, count_include_pad):
        """Window lengths along one dim: padding counts (inside the padded border) or not."""
        start = xp.arange(self.out_hw[d]) * self.stride[d] - self.padding[d]
        end = xp.minimum(start + self.kernel[d], size + self.padding[d])
        if count_include_pad:
            return end - start
        return xp.minimum(end, size) - xp.maximum(start, 0)

    def backward(self, grad):
        share = grad / self.divisor
        return (self._scatter(lambda k: share, grad.dtype, xp_of(grad)),)


def _adaptive_bins(xp, size, out, dtype):
    """(out, size) matrix averaging each adaptive bin [floor(i*size/out), ceil((i+1)*size/out))."""
    i = np.arange(out)
    start, end = (i * size) // out, -((-(i + 1) * size) // out)
    cols = np.arange(size)
    m = ((cols >= start[:, None]) & (cols < end[:, None])) / (end - start)[:, None]
    return xp.asarray(m.astype(dtype))


@op("adaptive_avg_pool2d", "AdaptiveAvgPool2DBackward0")
class AdaptiveAvgPool2d(Op):
    """Each output is the mean of its bin: out = Rows @ x @ Cols.T with bin-averaging matrices."""
    saved_constants = ("rows", "cols")

    def forward(self, x, output_size):
        xp = xp_of(x)
        self.rows = _adaptive_bins(xp, x.shape[-2], output_size[0], x.dtype)
        self.cols = _adaptive_bins(xp, x.shape[-1], output_size[1], x.dtype)
        return self.rows @ x @ self.cols.T

    def backward(self, grad):
        return (self.rows.T @ grad @ self.cols,)


# ---- normalisation ----------------------------------------------------------------------------

def _standardize(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over axes (biased variance); also the statistics (kept dims)."""
    xp = xp_of(x)
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    invstd = (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
    return (x - mean) * invstd, invstd, mean, var


def _standardize_grad(g, xhat, invstd, axes):
    """The gradient through _standardize (statistics included) from g, the gradient at xhat."""
    return invstd * (g - g.mean(axis=axes, keepdims=True) - xhat * (g * xhat).mean(axis=axes, keepdims=True))


class _Norm(Op):
    """Normalise, then scale by weight and shift by bias (each optional, shaped to broadcast).
    Subclasses say how in standardized(x) -> (xhat, invstd)."""
    saved = ("x", "w_in", "w", "xhat", "invstd")
    saved_inputs = (0, 1)
    saved_as_given = True
    saved_derived = ("w", "xhat", "invstd")  # what regraph() makes again from x and w_in

    def forward_affine(self, x, w, b, shape, standardized=None):
        self.x, self.w_in, self.shape = x, w, shape
        self.xhat, self.invstd = standardized or self.standardized(x)
        self.w = None if w is None else w.reshape(shape)
        if w is None and b is None:
            return self.xhat.copy()  # not the array backward reads: an in-place op on the output may follow
        out = self.xhat if w is None else self.xhat * self.w
        return out if b is None else out + b.reshape(shape)

    def regraph(self):
        """create_graph=True: the derived arrays again, from x and w as graph arrays."""
        self.xhat, self.invstd = self.standardized(self.x)
        self.w = None if self.w_in is None else self.w_in.reshape(self.shape)

    def _param_grads(self, grad, axes):
        """(grad at xhat, weight grad, bias grad); the parameter grads sum over `axes`."""
        gw = gb = None
        if len(self.next_functions) > 1 and self.next_functions[1][0] is not None:
            gw = (grad * self.xhat).sum(axis=axes)
        if len(self.next_functions) > 2 and self.next_functions[2][0] is not None:
            gb = grad.sum(axis=axes)
        return (grad if self.w is None else grad * self.w), gw, gb


@op("batch_norm", "NativeBatchNormBackward0")
class BatchNorm(_Norm):
    """Over every dim but the channels (dim 1). Training uses the batch statistics and moves the
    running ones (Tensors, updated in place) towards them; eval uses the running ones."""

    saved_constants = ("running_mean", "running_var")

    def forward(self, x, w, b, running_mean, running_var, training, momentum, eps):
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.training, self.eps = training, eps
        standardized = None
        if training and running_mean is not None:
            xhat, invstd, mean, var = _standardize(x, self.axes, eps)
            n = x.size // x.shape[1]
            _update_running(running_mean, mean.reshape(-1), momentum)
            _update_running(running_var, var.reshape(-1) * (n / max(n - 1, 1)), momentum)
            standardized = xhat, invstd
        elif not training:
            self.running_mean, self.running_var = running_mean._data, running_var._data
        return self.forward_affine(x, w, b, (1, -1) + (1,) * (x.ndim - 2), standardized)

    def standardized(self, x):
        if self.training:
            return _standardize(x, self.axes, self.eps)[:2]
        xp, shape = xp_of(x), (1, -1) + (1,) * (x.ndim - 2)
        invstd = (1 / xp.sqrt(self.running_var + self.eps)).astype(x.dtype, copy=False).reshape(shape)
        return (x - self.running_mean.reshape(shape)) * invstd, invstd

    def backward(self, grad):
        g, gw, gb = self._param_grads(grad, self.axes)
        if self.training:
            return _standardize_grad(g, self.xhat, self.invstd, self.axes), gw, gb
        return g * self.invstd, gw, gb


def _update_running(stat, value, momentum):
    stat._data *= 1 - momentum
    stat._data += momentum * value.astype(stat._data.dtype, copy=False)
    stat._vbox[0] += 1


@op("layer_norm", "NativeLayerNormBackward0")
class LayerNorm(_Norm):
    """Over the last `ndims` dims; weight and bias have those dims' shape."""

    def forward(self, x, w, b, ndims, eps):
        self.axes, self.eps = tuple(range(x.ndim - ndims, x.ndim)), eps
        return self.forward_affine(x, w, b, x.shape[x.ndim - ndims:])

    def standardized(self, x):
        return _standardize(x, self.axes, self.eps)[:2]

    def backward(self, grad):
        g, gw, gb = self._param_grads(grad, tuple(range(grad.ndim - len(self.axes))))
        return _standardize_grad(g, self.xhat, self.invstd, self.axes), gw, gb


@op("group_norm", "NativeGroupNormBackward0")
class GroupNorm(_Norm):
    """Over each group of channels (and all positions) of each sample; a weight per channel."""

    def forward(self, x, w, b, groups, eps):
        self.groups, self.eps = groups, eps
        return self.forward_affine(x, w, b, (1, -1) + (1,) * (x.ndim - 2))

    def standardized(self, x):
        xhat, invstd, _, _ = _standardize(x.reshape(x.shape[0], self.groups, -1), (2,), self.eps)
        return xhat.reshape(x.shape), invstd

    def backward(self, grad):
        g, gw, gb = self._param_grads(grad, (0,) + tuple(range(2, grad.ndim)))
        grouped = (grad.shape[0], self.groups, -1)
        gx = _standardize_grad(g.reshape(grouped), self.xhat.reshape(grouped), self.invstd, (2,))
        return gx.reshape(grad.shape), gw, gb


# ---- embedding --------------------------------------------------------------------------------

@op("embedding", "EmbeddingBackward0")
class Embedding(Op):
    saved = ("indices",)

    def forward(self, weight, indices, padding_idx=None):
        self.indices, self.num, self.padding_idx = indices, weight.shape[0], padding_idx
        return weight[indices]

    def backward(self, grad):
        xp = xp_of(grad)
        gw = xp.zeros((self.num, grad.shape[-1]), grad.dtype)
        xp.add.at(gw, self.indices.reshape(-1), grad.reshape(-1, grad.shape[-1]))
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw, None


# ---- activations ------------------------------------------------------------------------------

class _Activation(Op):
    """y = f(x; params) elementwise, with its derivative df(x; params) beside it."""
    saved_as_given = True
    saved = ("x",)
    saved_inputs = (0,)

    def forward(self, x, **params):
        self.x, self.params = x, params
        with _errstate(x):
            return self.f(xp_of(x), x, **params).astype(x.dtype, copy=False)

    def backward(self, grad):
        with _errstate(grad):
            return ((grad * self.df(xp_of(grad), self.x, **self.params)).astype(grad.dtype, copy=False),)


def _activation(name, grad_fn, f, df):
    cls = type(name.title().replace("_", ""), (_Activation,), {"f": staticmethod(f), "df": staticmethod(df)})
    return op(name, grad_fn)(cls)


def _gelu(xp, x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1 + xp.tanh(_GELU_K * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + erf_array(xp, x * (1 / math.sqrt(2))))


def _gelu_grad(xp, x, approximate):
    if approximate == "tanh":
        t = xp.tanh(_GELU_K * (x + 0.044715 * x ** 3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_K * (1 + 3 * 0.044715 * x * x)
    return 0.5 * (1 + erf_array(xp, x * (1 / math.sqrt(2)))) + x * xp.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))


_GELU_K = math.sqrt(2 / math.pi)


def _softplus(xp, x, beta=1.0, threshold=20.0):
    return xp.where(x * beta > threshold, x, xp.logaddexp(0, x * beta) / beta)


LeakyRelu = _activation("leaky_relu", "LeakyReluBackward0",
                        lambda xp, x, negative_slope: xp.where(x > 0, x, x * negative_slope),
                        lambda xp, x, negative_slope: xp.where(x > 0, 1.0, negative_slope))
Gelu = _activation("gelu", "GeluBackward0", _gelu, _gelu_grad)
Elu = _activation("elu", "EluBackward0",
                  lambda xp, x, alpha, scale, input_scale:
                  scale * xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0) * input_scale)),
                  lambda xp, x, alpha, scale, input_scale:
                  scale * xp.where(x > 0, 1.0, alpha * input_scale * xp.exp(xp.minimum(x, 0) * input_scale)))
Celu = op("celu", "CeluBackward0")(type("Celu", (Elu,), {}))
Silu = _activation("silu", "SiluBackward0",
                   lambda xp, x: x * _sigmoid(xp, x),
                   lambda xp, x: _sigmoid(xp, x) * (1 + x * (1 - _sigmoid(xp, x))))
Softplus = _activation("softplus", "SoftplusBackward0", _softplus,
                       lambda xp, x, beta, threshold: xp.where(x * beta > threshold, 1.0, _sigmoid(xp, x * beta)))
Hardtanh = _activation("hardtanh", "HardtanhBackward0",
                       lambda xp, x, min_val, max_val: xp.clip(x, min_val, max_val),
                       lambda xp, x, min_val, max_val: (x > min_val) & (x < max_val))
Mish = _activation("mish", "MishBackward0",
                   lambda xp, x: x * xp.tanh(_softplus(xp, x)),
                   lambda xp, x: xp.tanh(_softplus(xp, x)) + x * _sigmoid(xp, x) * (1 - xp.tanh(_softplus(xp, x)) ** 2))
LogSigmoid = _activation("log_sigmoid", "LogSigmoidBackward0",
                         lambda xp, x: -xp.logaddexp(0, -x),
                         lambda xp, x: _sigmoid(xp, -x))
Hardswish = _activation("hardswish", "HardswishBackward0",
                        lambda xp, x: x * xp.clip(x + 3, 0, 6) / 6,
                        lambda xp, x: xp.where(x < -3, 0.0, xp.where(x <= 3, x / 3 + 0.5, 1.0)))
Hardsigmoid = _activation("hardsigmoid", "HardsigmoidBackward0",
                          lambda xp, x: xp.clip(x + 3, 0, 6) / 6,
                          lambda xp, x: ((x > -3) & (x < 3)) / 6)


@op("prelu", "PreluKernelBackward0")
class Prelu(Op):
    """max(0, x) + w * min(0, x): one slope, or one per channel (dim 1)."""
    saved = ("x", "w_in", "w")
    saved_inputs = (0, 1)
    saved_as_given = True
    saved_derived = ("w",)  # shaped to broadcast over x: regraph() makes it again

    def forward(self, x, w):
        self.x, self.w_in, self.w_shape = x, w, w.shape
        self.per_channel = w.size > 1
        self.regraph()
        return xp_of(x).where(x > 0, x, self.w * x)

    def regraph(self):
        w = self.w_in
        self.w = w.reshape((1, -1) + (1,) * (self.x.ndim - 2)) if self.per_channel else w.reshape(())

    def backward(self, grad):
        xp = xp_of(grad)
        positive = self.x > 0
        gw = xp.where(positive, 0, grad * self.x)
        gw = gw.sum(axis=(0,) + tuple(range(2, gw.ndim))) if self.per_channel else gw.sum()
        return xp.where(positive, grad, self.w * grad), gw.reshape(self.w_shape)


# ---- module backward hooks ----------------------------------------------------------------------

@op("backward_hook", "BackwardHookFunctionBackward")
class BackwardHookFunction(Op):
    """Identity on a module's input or output tensors, whose backward hands the gradients to
    `callback` (arrays in, arrays out): how Module's full backward hooks see and replace them."""

    def forward(self, *arrays, callback):
        self.callback, self.n_outputs = callback, len(arrays)
        return arrays if len(arrays) > 1 else arrays[0]

    def backward(self, grads):
        return tuple(self.callback(grads if type(grads) is tuple else (grads,)))



# ---- losses -----------------------------------------------------------------------------------

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
    saved_as_given = True
    saved = ("x", "t")
    saved_inputs = (0, 1)

    def forward(self, x, t, reduction, **params):
        self.x, self.t, self.reduction, self.params = x, t, reduction, params
        with _errstate(x):
            losses = self.loss(xp_of(x), x, t, **params)
        self.n = losses.size
        return _reduce(losses, reduction)

    def backward(self, grad):
        xp = xp_of(grad)
        g = _reduced_grad(grad, self.reduction, self.n)
        with _errstate(grad):
            gx, gt = self.grads(xp, g, self.x, self.t, **self.params)
        return (None if gx is None or self.next_functions[0][0] is None else sum_to(gx, self.x.shape),
                None if gt is None or self.next_functions[1][0] is None else sum_to(gt, self.t.shape))


def _pair_loss(name, grad_fn, loss, grads):
    cls = type(grad_fn, (_PairLoss,), {"loss": staticmethod(loss), "grads": staticmethod(grads)})
    return op(name, grad_fn)(cls)


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


@op("binary_cross_entropy", "BinaryCrossEntropyBackward0")
class BinaryCrossEntropy(Op):
    """-(t log x + (1 - t) log(1 - x)), each log clamped at -100 as PyTorch does."""
    saved = ("x", "t", "w")
    saved_inputs = (0, 1)
    saved_as_given = True
    saved_constants = ("w",)

    def forward(self, x, t, w, reduction):
        xp = xp_of(x)
        self.x, self.t, self.w, self.reduction = x, t, w, reduction
        with _errstate(x):
            losses = -(t * xp.maximum(xp.log(x), -100) + (1 - t) * xp.maximum(xp.log1p(-x), -100))
        return _reduce(losses if w is None else losses * w, reduction)

    def backward(self, grad):
        xp = xp_of(grad)
        x, t = self.x, self.t
        g = _reduced_grad(grad, self.reduction, x.size)
        with _errstate(grad):
            gx = g * (x - t) / xp.maximum((1 - x) * x, 1e-12)
            gt = None
            if self.next_functions[1][0] is not None:
                gt = g * (xp.maximum(xp.log1p(-x), -100) - xp.maximum(xp.log(x), -100))
        if self.w is not None:
            gx = gx * self.w
            gt = None if gt is None else gt * self.w
        return gx, gt, None


@op("binary_cross_entropy_with_logits", "BinaryCrossEntropyWithLogitsBackward0")
class BinaryCrossEntropyWithLogits(Op):
    """(1 - t) x + (1 + (pos_weight - 1) t) softplus(-x): the stable form of BCE(sigmoid(x), t)."""
    saved = ("x", "t", "w", "pw")
    saved_inputs = (0, 1)
    saved_as_given = True
    saved_constants = ("w", "pw")  # weights: PyTorch does not differentiate them either

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


@op("nll_loss", "NllLossBackward0")
class NllLoss(Op):
    """-logp[target] (times the class weight), skipping ignore_index; "mean" divides by the summed
    weights of the counted targets. Classes are dim 1 (dim 0 for one unbatched sample); other
    dims are flattened into rows. any_ignored=False (the caller checked) skips the masking."""
    saved = ("t", "weights")
    saved_constants = ("weights",)

    def forward(self, logp, target, weight, reduction, ignore_index, any_ignored=True):
        xp = xp_of(logp)
        self.shape, self.reduction = logp.shape, reduction
        classes = logp.shape[1] if logp.ndim > 1 else logp.shape[0]
        lp = (xp.moveaxis(logp, 1, -1) if logp.ndim > 2 else logp).reshape(-1, classes)
        t = target.reshape(-1)
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
        with _errstate(logp):
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


@op("nll_loss2d", "NllLoss2DBackward0")
class NllLoss2d(NllLoss):
    pass
