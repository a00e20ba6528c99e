"""In-place ops (`add_`, `x[i] = v`, `zero_`, ...): computed out of place, then written into
the tensor's own memory, so views see the change and saved copies are caught by the version
counter, as in PyTorch."""
from ..autograd.grad_mode import state


def write_inplace(target, fn, *args, **kwargs):
    if state.grad_enabled and target.requires_grad and target.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    result = fn(target, *args, **kwargs)
    data, new = target._data, result._data
    if new.dtype != data.dtype and _category(new.dtype) > _category(data.dtype):
        raise RuntimeError(f"result type {_name(new.dtype)} can't be cast to the desired output type "
                           f"{_name(data.dtype)}")
    if new.shape != data.shape:
        raise RuntimeError(f"output with shape [{', '.join(map(str, data.shape))}] doesn't match the broadcast "
                           f"shape [{', '.join(map(str, new.shape))}]")
    base = target._base
    if result.grad_fn is not None and base is not None and base.requires_grad:
        if base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        raise RuntimeError("graphgrad does not record in-place ops on a view of a tensor that requires grad "
                           "(PyTorch's CopySlices); write `base = base.clone()` and modify that instead.")
    if new is not data:
        data[...] = new
    target._version[0] += 1
    if result.grad_fn is not None:
        target.grad_fn, target._output_nr, target.requires_grad = result.grad_fn, result._output_nr, True
    return target


def _category(np_dtype):
    return {"b": 0, "u": 1, "i": 1, "f": 2}[np_dtype.kind]


def _name(np_dtype):
    from ..dtypes import from_numpy
    return from_numpy(np_dtype)._legacy[:-6]
