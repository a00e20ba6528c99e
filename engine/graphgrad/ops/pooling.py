"""Pooling: max, average and adaptive average over 2-d windows (1-d through a height of 1, in
nn.functional). The windows are convolution's (ops/convolution.py): a loop over the kernel's
offsets, each a strided slice of the padded input."""
import numpy as np

from .convolution import _add_into, _offsets, _pad_hw, _unpad_hw
from .dispatch import Op, op
from .util import xp_of


def pool_output_size(size, kernel, pad, stride, dilation, ceil_mode):
    """PyTorch's pooling_output_shape: a last window that starts inside the padded input counts."""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


class _Pool(Op):
    def _setup(self, x, kernel, stride, padding, dilation, ceil_mode, fill):
        """Pad x so every window of the output lies inside it (ceil_mode may need more on the right)."""
        self.in_shape, self.kernel, self.stride = x.shape, kernel, stride
        self.padding, self.dilation = padding, dilation
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


@op("max_pool2d", "MaxPool2DWithIndicesBackward0", category="pooling")
class MaxPool2d(_Pool):
    """Max over each window (NaN propagates). Backward gives each window's gradient to its first
    maximum in kernel order, as PyTorch's index does; the winners are found again from the saved
    input and output, so the forward is only kh*kw-1 elementwise maxima."""
    # x and out pick where gradients go: a piecewise-constant choice
    saves = {"x": "input 0, constant", "out": "constant"}

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


@op("avg_pool2d", "AvgPool2DBackward0", category="pooling")
class AvgPool2d(_Pool):
    saves = {"divisor": "constant, kept"}  # the window sizes

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


@op("adaptive_avg_pool2d", "AdaptiveAvgPool2DBackward0", category="pooling")
class AdaptiveAvgPool2d(Op):
    """Each output is the mean of its bin: out = Rows @ x @ Cols.T with bin-averaging matrices."""
    saves = {"rows": "constant, kept", "cols": "constant, kept"}

    def forward(self, x, output_size):
        xp = xp_of(x)
        self.rows = _adaptive_bins(xp, x.shape[-2], output_size[0], x.dtype)
        self.cols = _adaptive_bins(xp, x.shape[-1], output_size[1], x.dtype)
        return self.rows @ x @ self.cols.T

    def backward(self, grad):
        return (self.rows.T @ grad @ self.cols,)
