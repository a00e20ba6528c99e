"""bfloat16 ops compute in float32 and round once, as torch's CPU kernels do.

NumPy has no bfloat16; ml_dtypes gives arrays of it whose elementwise ufuncs are right (each
computes in float32 and rounds), but its sums and matrix products add in bfloat16, rounding
at every step (a sum of 4096 normals is off by 2.5 where torch's, accumulated in float32, is
exact to the last bit), and many ops read `dtype.kind == "f"`, which bfloat16 ("V") fails. So
an op whose first tensor input is bfloat16 runs as a twin of its class (dispatch.apply picks
it): the forward gets float32 copies of the bfloat16 arrays and its float32 results are rounded
to bfloat16; the backward gets a float32 gradient and rounds each input's gradient to that
input's dtype. Views are left alone (they must share memory), and an op given another float
dtype or an explicit output dtype keeps its float32 results (promotion chose them)."""
import ml_dtypes
import numpy as np

BF16 = np.dtype(ml_dtypes.bfloat16)
_F32 = np.dtype(np.float32)
_LARGEST = float(ml_dtypes.finfo(ml_dtypes.bfloat16).max)
_twins = {}


def in_float32(cls):
    """The op class that runs cls's formulas in float32 for bfloat16 inputs (made once)."""
    twin = _twins.get(cls)
    if twin is None:
        twin = _twins[cls] = type(cls.__name__, (cls,), {"forward": _forward, "backward": _backward,
                                                         "__qualname__": cls.__qualname__, "__module__": cls.__module__,
                                                         "_computes_for": cls})
    return twin


def _up(a):
    return a.astype(_F32) if getattr(a, "dtype", None) is BF16 else a


def _down(out):
    if type(out) is tuple:
        return tuple(_down(o) for o in out)
    return out.astype(BF16) if getattr(out, "dtype", None) == _F32 else out


def _forward(self, *arrays, **attrs):
    self._input_dtypes = [getattr(a, "dtype", None) for a in arrays]
    dtype = attrs.get("dtype")
    if dtype is not None:  # the result dtype an op was told (binary ops are told theirs)
        keep = np.dtype(getattr(dtype, "np", dtype)) != BF16
        if not keep:
            attrs["dtype"] = _F32
    else:
        keep = any(d is not None and d.kind == "f" for d in self._input_dtypes)
    for bound, largest in (("posinf", _LARGEST), ("neginf", -_LARGEST)):  # nan_to_num: bfloat16's own, not float32's
        if bound in attrs and attrs[bound] is None and not keep:
            attrs[bound] = largest
    out = self._computes_for.forward(self, *map(_up, arrays), **{k: _up(v) for k, v in attrs.items()})
    return out if keep else _down(out)


def _backward(self, grad):
    grad = tuple(map(_up, grad)) if type(grad) is tuple else _up(grad)
    grads = self._computes_for.backward(self, grad)
    return tuple(g.astype(d) if g is not None and d is not None and d != g.dtype and d.kind in "fV" else g
                 for g, d in zip(grads, self._input_dtypes))
