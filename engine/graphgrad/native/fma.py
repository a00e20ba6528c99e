"""torch's fused multiply-add on arrays. torch's CPU kernels are built with contraction on, so
`x * a + b` rounds once where NumPy's two operations round twice (and differ from torch in the last
bit now and then: about 2% of an SGD update's values).

`add_scaled(y, x, alpha)` is torch's `y.add(x, alpha=alpha)`, the step of every optimizer update:
graphgrad's C kernel where it is built (one pass, the CPU's fma instruction), else the exact
emulation below. `fma` and `fma32` emulate it with NumPy from exact products and sums (Boldo &
Melquiond, "Emulation of FMA and correctly-rounded sums: proved algorithms using rounding to
odd", 2008); the random-number code uses them too."""
import numpy as np

from . import kernels


def add_scaled(y, x, alpha, out=None):
    """y + alpha * x rounded once, in y's dtype (x and y arrays of one shape and dtype), into `out`
    (which may be y: an update in place). Where the C kernel cannot take the arrays (another
    dtype, non-contiguous memory, a GPU's), alpha is rounded to the dtype and the arrays' own
    operations compute it, exact on the CPU, two roundings on a GPU."""
    if type(y) is not np.ndarray:  # a GPU's arrays: CuPy rounds the product, then the sum
        result = y + x * y.dtype.type(alpha)
        if out is None:
            return result
        out[...] = result
        return out
    out = np.empty_like(y) if out is None else out
    if kernels is not None and _kernel_takes(y, x, out):
        kernels.axpy(y, x, out, alpha)
        return out
    alpha = y.dtype.type(alpha)
    if out.dtype in _KERNEL_DTYPES:
        fma(x, alpha, y, out.dtype.type, out)
    else:  # float16 and bfloat16: computed in float32, as torch's kernels do, then rounded
        out[...] = fma32(x.astype(np.float32), np.float32(alpha), y.astype(np.float32))
    return out


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _kernel_takes(y, x, out):
    """Whether kernels.axpy can: NumPy arrays of one float32 or float64 dtype, contiguous."""
    return (out.dtype in _KERNEL_DTYPES and x.dtype is out.dtype is y.dtype
            and out.flags.c_contiguous and x.flags.c_contiguous and y.flags.c_contiguous)


def fma32(x, a, b, out=None):
    """x * a + b rounded once to float32, for float32 values x, a and b (arrays of them may be held
    in float64); into `out` (float32, x's shape) when given."""
    if np.ndim(a) == 0 and a == 1:  # x * 1 is exact: the float32 addition is the one rounding
        return np.add(x, b, dtype=np.float32, out=out)
    # a product of float32s is exact in float64, and the sum rounded there then to float32 is right
    # unless the first rounding landed exactly halfway between two float32s: redo those
    if out is not None and any(np.may_share_memory(out, v) for v in (x, a, b)):
        out[...] = fma32(x, a, b)  # (the midpoints below read the operands after out is written)
        return out
    s = np.asarray(np.multiply(x, a, dtype=np.float64))
    s += b
    if out is None:
        rounded = s.astype(np.float32)
    else:
        rounded = out
        np.copyto(rounded, s)
    midpoints = _float32_midpoints(s)
    if len(midpoints):
        # gathered where they are arrays (scalars broadcast as they are)
        x, a, b = (v if np.ndim(v) == 0 else np.broadcast_to(v, s.shape).reshape(-1)[midpoints] for v in (x, a, b))
        rounded.reshape(-1)[midpoints] = _add_round_to_odd(np.multiply(x, a, dtype=np.float64), b)
    return rounded


_MIDPOINT_BITS = np.iinfo(np.int64).min


def _float32_midpoints(s):
    """The flat indices where float64 s lies exactly halfway between two float32s; s is overwritten.
    There the 29 bits that rounding to float32 drops are 1 then 28 zeros: shifted to the top of an
    int64 that pattern, and only it, is the smallest int64, so one min() over the array tells
    whether there is any."""
    dropped = np.left_shift(s.view(np.uint64), 35, out=s.view(np.uint64)).view(np.int64)
    if np.minimum.reduce(dropped, axis=None) != _MIDPOINT_BITS:
        return _NONE
    return np.flatnonzero(dropped == _MIDPOINT_BITS)


_NONE = np.zeros(0, np.intp)


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_product(a, b):
    p = a * b
    split = lambda x: ((134217729.0 * x) - ((134217729.0 * x) - x))  # Veltkamp: the high 26 bits
    ah, bh = split(a), split(b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _add_round_to_odd(a, b):
    """a + b rounded to odd: when inexact, the neighbour whose last bit is 1. Rounding that again to
    a precision at least 2 bits shorter gives the correctly rounded sum."""
    s, err = _two_sum(np.asarray(a, np.float64), np.asarray(b, np.float64))
    s, err = (np.array(v) for v in np.broadcast_arrays(s, err))
    bump = (err != 0) & (s.view(np.int64) & 1 == 0)
    s[bump] = np.nextafter(s[bump], np.where(err[bump] > 0, np.inf, -np.inf))  # C's nextafter is slow: only these
    return s


def fma(x, a, b, acc, out=None):
    """x * a + b rounded once to acc (float32 or float64), into `out` when given."""
    if acc is np.float32:
        return fma32(x, a, b, out)
    if np.ndim(a) == 0 and a == 1:  # a product by one is exact too
        return np.add(np.asarray(x, np.float64), b, out=out)
    x, a, b = (np.asarray(v, np.float64) for v in (x, a, b))
    hi, lo = _two_product(x, a)
    th, tl = _two_sum(b, hi)
    return np.add(th, _add_round_to_odd(tl, lo), out=out)
