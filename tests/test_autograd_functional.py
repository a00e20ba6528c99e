"""autograd.functional (vjp, jvp, jacobian, hessian, vhp, hvp) against torch's: the same values
in the same structure (a tensor where torch gives one, tuples where it gives tuples)."""
import numpy as np
import pytest
import torch

import graphgrad as gg

X = np.array([[0.5, -1.0], [2.0, 0.3]])
W = np.array([1.5, -0.5])
CASES = {
    "jacobian, one in, one out": lambda L, F, x, w: F.jacobian(lambda x: (x.tanh() * x).sum(1), x),
    "jacobian, tuples": lambda L, F, x, w: F.jacobian(lambda x, w: ((x @ w).sin(), (x * x).sum()), (x, w)),
    "jacobian, an input not used": lambda L, F, x, w: F.jacobian(lambda x, w: x.exp(), (x, w)),
    "hessian": lambda L, F, x, w: F.hessian(lambda w: (w.exp() * w).sum(), w),
    "hessian, tuples": lambda L, F, x, w: F.hessian(lambda x, w: ((x @ w) ** 2).sum(), (x, w)),
    "vjp": lambda L, F, x, w: F.vjp(lambda x: (x.tanh() * x).sum(1), x, L.tensor([1.0, 2.0], dtype=L.float64)),
    "vjp of a scalar": lambda L, F, x, w: F.vjp(lambda x: x.sigmoid().sum(), x),
    "jvp": lambda L, F, x, w: F.jvp(lambda x: (x.tanh() * x).sum(1), x, L.ones(2, 2, dtype=L.float64)),
    "hvp": lambda L, F, x, w: F.hvp(lambda w: (w.exp() * w).sum(), w, L.tensor([1.0, 0.0], dtype=L.float64)),
    "vhp, tuples": lambda L, F, x, w: F.vhp(lambda x, w: ((x @ w) ** 2).sum(), (x, w),
                                           (L.ones(2, 2, dtype=L.float64), L.ones(2, dtype=L.float64))),
}


def run(lib, case):
    x, w = lib.tensor(X), lib.tensor(W)
    return CASES[case](lib, lib.autograd.functional, x, w)


def same_structure(got, want, where="result"):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), f"{where}: {type(got)} vs a {len(want)}-tuple"
        for i, (g, t) in enumerate(zip(got, want)):
            same_structure(g, t, f"{where}[{i}]")
    else:
        assert isinstance(got, gg.Tensor), f"{where}: {type(got).__name__}"
        assert tuple(got.shape) == tuple(want.shape), f"{where}: shape"
        assert got.requires_grad == want.requires_grad, f"{where}: requires_grad"
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", CASES)
def test_matches_torch(case):
    same_structure(run(gg, case), run(torch, case))


def test_strict_mode_names_the_independent_input():
    for lib in (gg, torch):
        with pytest.raises(RuntimeError, match="independent of input 1"):
            lib.autograd.functional.jacobian(lambda x, w: x.exp(), (lib.tensor(X), lib.tensor(W)), strict=True)


def test_create_graph_keeps_the_derivative_differentiable():
    def run_lib(lib):
        w = lib.tensor(W, requires_grad=True)
        h = lib.autograd.functional.hessian(lambda w: (w ** 3).sum(), w, create_graph=True)
        h.trace().backward()  # d/dw of trace(H) = d/dw sum(6 w) = 6
        return h.detach(), w.grad
    for got, want in zip(run_lib(gg), run_lib(torch)):
        np.testing.assert_allclose(got.numpy(), want.numpy())
