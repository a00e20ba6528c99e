"""In-place ops (`add_`, `x[i] = v`, `zero_`, ...): computed out of place, then written into
the tensor's own memory, so views see the change and saved copies are caught by the version
counter, as in PyTorch."""
from typing import Any

from .._hooks import recorders, state
from ..dtypes import from_numpy
from ..node import Node, _sequence
from .util import xp_of


def write_inplace(target, fn, *args, **kwargs):
    if state.grad_enabled and target.requires_grad and target.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    result = fn(target, *args, **kwargs)
    data, new = target._data, result._data
    if new.dtype != data.dtype and _category(new.dtype) > _category(data.dtype):
        raise RuntimeError(f"result type {_name(new.dtype)} can't be cast to the desired output type "
                           f"{_name(data.dtype)}")
    if new.shape != data.shape:
        raise shape_mismatch(data.shape, new.shape)
    base: Any = target._base
    rebase = result.grad_fn is not None and base is not None
    if rebase and base.requires_grad and base.grad_fn is None:  # pyright: ignore[reportOptionalMemberAccess]
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
    if new is not data:
        data[...] = new
    target._vbox[0] += 1
    if rebase:
        _copy_slices(target, base, result)
    elif result.grad_fn is not None:
        target.grad_fn, target._output_nr, target.requires_grad = result.grad_fn, result._output_nr, True
        _rebase_views(target, (result.grad_fn, result._output_nr), None)
    if recorders:
        for recorder in recorders:
            write = getattr(recorder, "record_write", None)  # (a recorder may not follow writes)
            if write is not None:
                write(target, result, base if rebase else None)
    return target


def shape_mismatch(out_shape, shape):
    """PyTorch's error for an in-place result whose broadcast shape is not the target's."""
    return RuntimeError(f"output with shape [{', '.join(map(str, out_shape))}] doesn't match the broadcast "
                        f"shape [{', '.join(map(str, shape))}]")


# ---- in-place ops on views: the base's history changes too ------------------------------------

def _copy_slices(view, base, result):
    """After an op wrote `result` into `view`, the base holds new values there: its history
    becomes CopySlices (the old base outside the view, the op's result inside), and the view
    becomes a view of that new base (AsStridedBackward0), as PyTorch records them."""
    _require_contiguous(base)
    region = _Region(view, base)
    old = ((base.grad_fn, base._output_nr) if base.grad_fn is not None
           else (base._accumulator(), 0) if base.requires_grad else (None, 0))
    node = CopySlices(region, old, (result.grad_fn, result._output_nr))
    base.grad_fn, base._output_nr, base.requires_grad = node, 0, True
    view.grad_fn, view._output_nr, view.requires_grad = AsStridedBackward0(region, (node, 0)), 0, True
    _rebase_views(base, (node, 0), view)


def _rebase_views(base, history, written):
    """The base's memory changed: every other view of it that takes part in autograd becomes a
    view of the base's new history, as PyTorch regenerates a view's grad_fn (a view of the
    written view, or one that overlaps it, holds new values; the old history would be wrong)."""
    views = [v for v in base.__dict__.get("_views", ()) if v is not written and v.grad_fn is not None]
    if not views:
        return
    _require_contiguous(base)
    for v in views:
        v.grad_fn, v._output_nr = AsStridedBackward0(_Region(v, base), history), 0


def _require_contiguous(base):
    """_Region finds a view's window in a C-contiguous base only."""
    if not base._data.flags.c_contiguous:
        raise RuntimeError("graphgrad records in-place ops on views of C-contiguous tensors only; write "
                           "`base = base.contiguous()` first")


class _Region:
    """Where a view lies in its (C-contiguous) base: the same window of any base-shaped array."""

    def __init__(self, view, base):
        self.base_shape = base._data.shape
        self.offset = (view.data_ptr() - base.data_ptr()) // base._data.itemsize
        self.shape, self.strides = view._data.shape, view._data.strides
        self.itemsize = base._data.itemsize

    def of(self, array):
        """The window in a C-contiguous, base-shaped array (writable)."""
        flat = array.reshape(-1)[self.offset:]
        strides = tuple(s // self.itemsize * array.itemsize for s in self.strides)
        return xp_of(array).lib.stride_tricks.as_strided(flat, self.shape, strides)


class CopySlices(Node):
    """The base after an in-place op on one of its views. Backward: the gradient outside the
    view goes to the old base; inside it, to the op's result (whose graph leads back to the
    view's old values, and so to the old base, itself)."""

    def __init__(self, region, old_base, result):
        self.region = region
        self.next_functions = (old_base, result)
        self._seq = next(_sequence)

    def backward(self, grad):
        outside = grad.copy()
        inside = self.region.of(outside).copy()
        self.region.of(outside)[...] = 0
        return outside, inside


class AsStridedBackward0(Node):
    """A view taken again from its base's new history (after an in-place op on it)."""

    def __init__(self, region, base_edge):
        self.region = region
        self.next_functions = (base_edge,)
        self._seq = next(_sequence)

    def backward(self, grad):
        out = xp_of(grad).zeros(self.region.base_shape, grad.dtype)
        self.region.of(out)[...] = grad
        return (out,)


def _category(np_dtype):
    return {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2}[np_dtype.kind]  # (bfloat16's kind is "V")


def _name(np_dtype):
    return from_numpy(np_dtype)._legacy[:-6]
