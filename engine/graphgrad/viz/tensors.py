"""What the inspector shows of a tensor: statistics, a histogram and a small preview, computed
on demand (never on the training hot path) and downsampled so a message stays small."""
import numpy as np

from .protocol import HIST_BINS, STATS

MAX_VALUES = 256          # at most this many elements: send them all (a values table)
MAX_SIDE = 128            # heatmaps are strided down to at most this many rows and columns
MAX_IMAGES, MAX_IMAGE_SIDE = 16, 64


def to_numpy(x):
    """A Tensor, NumPy or CuPy array (or None) as a host NumPy array."""
    if x is None:
        return None
    data = getattr(x, "_data", x)
    if not isinstance(data, np.ndarray):
        data = data.get() if hasattr(data, "get") else np.asarray(data)  # CuPy copies to the host here
    return data


def summarize(x):
    """(header fields, [stats, hist, preview] buffers) for a tensor-like, per protocol.BUFFERS['tensor']."""
    a = to_numpy(x)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    flat = a.reshape(-1)
    finite = flat[np.isfinite(flat)] if a.dtype.kind in "fc" else flat
    f64 = finite.astype(np.float64)
    stats = dict(numel=flat.size, nan=0, inf=0, zeros=int(np.count_nonzero(flat == 0)),
                 min=np.nan, max=np.nan, mean=np.nan, std=np.nan, norm=np.nan)
    if a.dtype.kind in "fc":
        stats["nan"] = int(np.isnan(flat).sum())
        stats["inf"] = int(np.isinf(flat).sum())
    if f64.size:
        stats.update(min=f64.min(), max=f64.max(), mean=f64.mean(), std=f64.std(), norm=np.sqrt((f64 * f64).sum()))
    hist = np.zeros(HIST_BINS)
    if f64.size:
        lo, hi = stats["min"], stats["max"]
        hist, _ = np.histogram(f64, bins=HIST_BINS, range=(lo, hi) if hi > lo else (lo - 0.5, lo + 0.5))
    kind, preview, truncated = _preview(a)
    header = dict(shape=list(a.shape), dtype=str(a.dtype), preview_kind=kind, preview_shape=list(preview.shape),
                  truncated=truncated)
    buffers = [np.array([stats[k] for k in STATS], dtype=np.float64), hist.astype(np.float64),
               np.ascontiguousarray(preview, dtype=np.float32)]
    return header, buffers


def _preview(a):
    """Pick the view that suits the shape and shrink it by striding (keeps NaNs visible as NaNs)."""
    if a.size == 0:
        return "none", np.zeros(0, np.float32), False
    if a.ndim == 4 or (a.ndim == 3 and a.shape[0] in (1, 3) and a.size > MAX_VALUES):
        images = a if a.ndim == 4 else a[None]
        n, c = images.shape[:2]
        images = images[:MAX_IMAGES, :3 if c == 3 else 1]
        step_h = -(-images.shape[2] // MAX_IMAGE_SIDE)
        step_w = -(-images.shape[3] // MAX_IMAGE_SIDE)
        small = images[:, :, ::step_h, ::step_w]
        return "images", small, small.shape != a.shape
    if a.size <= MAX_VALUES:
        return ("heatmap" if a.ndim == 2 else "values"), a, False
    if a.ndim == 2:
        small = a[::-(-a.shape[0] // MAX_SIDE), ::-(-a.shape[1] // MAX_SIDE)]
        return "heatmap", small, True
    flat = a.reshape(-1)
    return "values", flat[:MAX_VALUES], True
