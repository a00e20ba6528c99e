"""Statistics of a tensor, computed when a view asks (never on the hot path).

Computed with the array's own module (NumPy or CuPy); only the small results come back to the
host. Histograms and previews are NumPy arrays, ready to be sent as binary buffers."""
import math
from typing import Any

import numpy as np

from ..ops.util import xp_of
from ..tensor import Tensor


def _host(array):
    return array if type(array) is np.ndarray else array.get()


def stats(array: Any, bins: int = 32) -> dict[str, Any]:
    """min, max, mean, std (over the finite values), NaN/Inf counts, zero fraction, histogram."""
    array = _as_array(array)
    xp = xp_of(array)
    n = int(array.size)
    result = {"shape": list(array.shape), "dtype": str(array.dtype), "numel": n, "nan": 0, "inf": 0,
              "min": None, "max": None, "mean": None, "std": None, "zero_fraction": None,
              "histogram": {"counts": np.zeros(0, np.int64), "edges": np.zeros(0, np.float64)}}
    if n == 0:
        return result
    if array.dtype.kind == "b":
        array = array.astype(np.int8)
    values = array
    if array.dtype.kind == "f":
        nan, inf = xp.isnan(array), xp.isinf(array)
        result["nan"], result["inf"] = int(nan.sum()), int(inf.sum())
        if result["nan"] or result["inf"]:
            values = array[~(nan | inf)]
    result["zero_fraction"] = float((array == 0).sum()) / n
    if values.size == 0:
        return result
    wide = values.astype(np.float64)  # float16/float32 sums lose precision (and overflow in float16)
    result["min"], result["max"] = float(wide.min()), float(wide.max())
    result["mean"], result["std"] = float(wide.mean()), float(wide.std())
    result["histogram"] = histogram(wide, bins)
    return result


def histogram(array: Any, bins: int = 32) -> dict[str, np.ndarray]:
    """{"counts", "edges"} of the finite values, as host NumPy arrays."""
    array = _as_array(array)
    xp = xp_of(array)
    if array.dtype.kind == "f":
        array = array[xp.isfinite(array)]
    if array.size == 0:
        return {"counts": np.zeros(0, np.int64), "edges": np.zeros(0, np.float64)}
    counts, edges = xp.histogram(array.astype(np.float64), bins=bins)
    return {"counts": _host(counts).astype(np.int64), "edges": _host(edges)}


def preview(array: Any, max_elements: int = 4096) -> tuple[np.ndarray, tuple[int, ...]]:
    """A host copy of the array, downsampled by taking every k-th element along each axis so at
    most `max_elements` remain (large axes are thinned first). Returns (values, steps)."""
    array = _as_array(array)
    steps = [1] * array.ndim
    kept = list(array.shape)
    while math.prod(kept) > max_elements:
        axis = max(range(array.ndim), key=lambda a: kept[a])
        steps[axis] += 1
        kept[axis] = -(-array.shape[axis] // steps[axis])
    view = array[tuple(slice(None, None, s) for s in steps)]
    return _host(view).copy(), tuple(steps)


def _as_array(x):
    if isinstance(x, Tensor):
        return x._data
    return x if hasattr(x, "dtype") and hasattr(x, "shape") else np.asarray(x)
