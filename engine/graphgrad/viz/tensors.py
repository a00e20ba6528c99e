"""What the inspector shows of a tensor: statistics, a histogram and a small preview, computed
on demand (never on the training hot path) and downsampled so a message stays small."""
from typing import Any, overload

import numpy as np

from .protocol import HIST_BINS, STATS

MAX_VALUES = 256          # at most this many elements: send them all (a values table)
MAX_SIDE = 128            # heatmaps and pictures are strided down to at most this many rows and columns


@overload
def to_numpy(x: None) -> None: ...
@overload
def to_numpy(x: Any) -> np.ndarray: ...
def to_numpy(x: Any) -> np.ndarray | None:
    """A Tensor, NumPy or CuPy array (or None) as a host NumPy array."""
    if x is None:
        return None
    data = getattr(x, "_data", x)
    if not isinstance(data, np.ndarray):
        data = data.get() if hasattr(data, "get") else np.asarray(data)  # CuPy copies to the host here
    return data


def summarize(x, index=None):
    """(header fields, [stats, hist, preview] buffers) for a tensor-like, per protocol.BUFFERS['tensor'].
    Statistics and histogram cover the whole tensor; the preview of a tensor of 3 or more dimensions
    is one 2-D plane of it, picked by `index` (see plane_index)."""
    a = to_numpy(x)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    flat = a.reshape(-1)
    finite = flat[np.isfinite(flat)] if a.dtype.kind in "fc" else flat
    f64 = finite.astype(np.float64)
    stats = {"numel": flat.size, "nan": 0, "inf": 0, "zeros": int(np.count_nonzero(flat == 0)),
             "min": np.nan, "max": np.nan, "mean": np.nan, "std": np.nan, "norm": np.nan}
    if a.dtype.kind in "fc":
        stats["nan"] = int(np.isnan(flat).sum())
        stats["inf"] = int(np.isinf(flat).sum())
    if f64.size:
        stats.update(min=f64.min(), max=f64.max(), mean=f64.mean(), std=f64.std(), norm=np.sqrt((f64 * f64).sum()))
    hist = np.zeros(HIST_BINS)
    if f64.size:
        lo, hi = stats["min"], stats["max"]
        hist, _ = np.histogram(f64, bins=HIST_BINS, range=(lo, hi) if hi > lo else (lo - 0.5, lo + 0.5))
    kind, preview, truncated, index = _preview(a, index)
    header = {"shape": list(a.shape), "dtype": str(a.dtype), "preview_kind": kind,
              "preview_shape": list(preview.shape), "truncated": truncated, "index": index}
    buffers = [np.array([stats[k] for k in STATS], dtype=np.float64), hist.astype(np.float64),
               np.ascontiguousarray(preview, dtype=np.float32)]
    return header, buffers


def plane_index(shape, index=None):
    """The leading indices of the 2-D plane a preview shows of a tensor of 3 or more dimensions
    ([batch, channel] of an N,C,H,W one), each clamped into its dimension; None below 3 dimensions.
    A last index of -1 where that dimension has 3 entries asks for them as one RGB image, the
    default for an N,3,H,W batch of pictures."""
    lead = shape[:-2]
    if len(lead) < 1:
        return None
    if index is None:
        index = [0, -1] if len(shape) == 4 and shape[1] == 3 else []
    if not isinstance(index, (list, tuple)) or not all(isinstance(i, int) and not isinstance(i, bool) for i in index):
        raise ValueError(f"inspect: index must be a list of integers, got {index!r}")
    index = list(index[:len(lead)]) + [0] * (len(lead) - len(index))
    rgb = index[-1] == -1 and lead[-1] == 3
    picked = [min(max(i, 0), n - 1) for i, n in zip(index, lead)]
    return picked[:-1] + [-1] if rgb else picked


def _strided(a):
    """The last two dimensions strided down to at most MAX_SIDE each (NaNs stay NaNs)."""
    step_h, step_w = -(-a.shape[-2] // MAX_SIDE), -(-a.shape[-1] // MAX_SIDE)
    return a[..., ::step_h, ::step_w], step_h > 1 or step_w > 1


def _preview(a, index=None):
    """(kind, preview array, downsampled?, plane index): the view that suits the shape, shrunk by
    striding. `downsampled` is true only when the preview shows fewer points than what it stands
    for: a plane strided, or the first values of a long vector."""
    if a.size == 0:
        return "none", np.zeros(0, np.float32), False, None
    picked = plane_index(a.shape, index)
    if picked is not None:
        if picked[-1] == -1:  # one picture: its 3 channels as RGB
            small, strided = _strided(a[tuple(picked[:-1])][None])
            return "images", small, strided, picked
        small, strided = _strided(a[tuple(picked)])
        return "heatmap", small, strided, picked
    if a.size <= MAX_VALUES:
        return ("heatmap" if a.ndim == 2 else "values"), a, False, None
    if a.ndim == 2:
        small, strided = _strided(a)
        return "heatmap", small, strided, None
    return "values", a.reshape(-1)[:MAX_VALUES], True, None
