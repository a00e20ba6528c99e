"""Comparing graphgrad with PyTorch (the oracle) in the core suites: tensors, autograd, devices."""
import numpy as np
import torch

import graphgrad as gg


def dtype_name(d):
    """'float32' for graphgrad.float32 and torch.float32 alike."""
    return str(d).split(".")[-1]


def host(t):
    """The values of a graphgrad or torch tensor as a NumPy array (a copy for torch)."""
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t.detach()._data if type(t._data) is np.ndarray else t.detach()._data.get())


def assert_same(g, t, exact=True, rtol=1e-6, atol=1e-7):
    """graphgrad tensor g matches torch tensor t: shape, dtype, values (bit for bit if exact)."""
    assert isinstance(g, gg.Tensor), f"expected a graphgrad.Tensor, got {type(g).__name__}"
    assert tuple(g.shape) == tuple(t.shape), f"shape {tuple(g.shape)} != torch's {tuple(t.shape)}"
    assert dtype_name(g.dtype) == dtype_name(t.dtype), f"dtype {g.dtype} != torch's {t.dtype}"
    if exact:
        np.testing.assert_array_equal(host(g), host(t))
    else:
        np.testing.assert_allclose(host(g), host(t), rtol=rtol, atol=atol)


def both(data, **kwargs):
    """The same tensor made by graphgrad and by torch (dtype given by name)."""
    name = kwargs.pop("dtype", None)
    gkw, tkw = dict(kwargs), dict(kwargs)
    if name is not None:
        gkw["dtype"], tkw["dtype"] = getattr(gg, name), getattr(torch, name)
    return gg.tensor(data, **gkw), torch.tensor(data, **tkw)


def torch_repr(t):
    """repr of a torch object as graphgrad spells it."""
    return repr(t).replace("torch.", "graphgrad.")


def raises_like(fn_g, fn_t):
    """Both raise the same class of error. Returns both messages, graphgrad.Size spelled torch.Size."""
    try:
        fn_t()
    except Exception as e:
        expected = e
    else:
        raise AssertionError("torch did not raise")
    try:
        fn_g()
    except Exception as e:
        got = e
    else:
        raise AssertionError(f"graphgrad did not raise; torch raised {type(expected).__name__}: {expected}")
    assert isinstance(got, type(expected)), f"{type(got).__name__}: {got} -- torch: {type(expected).__name__}"
    return str(got).replace("graphgrad.", "torch."), str(expected)
