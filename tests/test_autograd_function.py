"""Custom autograd functions (autograd.Function) against torch.autograd.Function: the tutorial's
Legendre polynomial, ctx's API, PyTorch's errors, and custom functions in create_graph, the
debugger and traces."""
import math

import numpy as np
import pytest
import torch

import graphgrad as gg
from core_helpers import assert_same, raises_like


def legendre(lib):
    class LegendrePolynomial3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)
    return LegendrePolynomial3


def test_the_tutorials_legendre_fit_matches_torch():
    """'Learning PyTorch with Examples': y = a + b * P3(c + d * x), fitted to sin by hand."""
    def fit(lib):
        x = lib.linspace(-math.pi, math.pi, 2000, dtype=lib.float64)
        y = lib.sin(x)
        a, b, c, d = (lib.full((), v, dtype=lib.float64, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3))
        P3, losses = legendre(lib).apply, []
        for _t in range(300):
            loss = (a + b * P3(c + d * x) - y).pow(2).sum()
            losses.append(loss.item())
            loss.backward()
            with lib.no_grad():
                for p in (a, b, c, d):
                    p -= 5e-6 * p.grad
                    p.grad = None
        return losses, [p.item() for p in (a, b, c, d)]

    (got, got_p), (want, want_p) = fit(gg), fit(torch)
    np.testing.assert_allclose(got, want, rtol=1e-9)
    np.testing.assert_allclose(got_p, want_p, rtol=1e-9, atol=1e-12)  # a and c stay at 0 up to rounding


def test_ctx_and_graph_as_pytorch_shows_them():
    def run(lib):
        seen = {}

        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k, y):
                ctx.k = k
                ctx.save_for_backward(x, y)
                return x * k + y

            @staticmethod
            def backward(ctx, grad):
                x, y = ctx.saved_tensors
                seen.update(needs=ctx.needs_input_grad, grad_mode=lib.is_grad_enabled(), saved=(x.shape, y.shape))
                return grad * ctx.k, None, grad

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([3.0, 4.0])
        out = Scale.apply(x, 3.0, y)
        text = str(out)
        edges = [type(fn).__name__ if fn is not None else None for fn, _ in out.grad_fn.next_functions]
        node = repr(out.grad_fn).split(" at 0x")[0]
        out.sum().backward()
        return text, node, edges, out.grad_fn.name(), seen, x.grad.tolist()

    got, want = run(gg), run(torch)
    assert [str(v).replace("graphgrad", "torch") for v in got[:2]] == list(want[:2])
    assert got[2:] == want[2:]


@pytest.mark.parametrize("case", ["wrong count", "wrong shape", "saved changed", "second backward", "non-tensor",
                                  "grad for a number"])
def test_errors_match_torch(case):
    def run(lib):
        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k=2):
                ctx.save_for_backward(x)
                return x * k

            @staticmethod
            def backward(ctx, grad):
                ctx.saved_tensors
                if case == "grad for a number":
                    return grad, grad
                if case == "wrong count":
                    return grad, grad
                if case == "wrong shape":
                    return lib.ones(3)
                if case == "non-tensor":
                    return 1.0
                return grad * 2

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        base = x * 1
        out = (F.apply(base, 3) if case == "grad for a number" else F.apply(base)).sum()
        if case == "saved changed":
            base.add_(1)
        out.backward()
        if case == "second backward":
            out.backward()
    got, want = raises_like(lambda: run(gg), lambda: run(torch))
    assert got == want


def test_a_broadcast_gradient_is_summed_back_as_torch_does():
    def run(lib):
        class Expand(lib.autograd.Function):
            @staticmethod
            def forward(ctx, b):
                return b + lib.zeros(3, 2)

            @staticmethod
            def backward(ctx, grad):
                return grad  # (3, 2) for an input of shape (2,)

        b = lib.tensor([1.0, 2.0], requires_grad=True)
        Expand.apply(b).sum().backward()
        return b.grad
    assert_same(run(gg), run(torch))


def test_several_outputs_non_differentiable_ones_and_inputs_returned_as_they_are():
    def run(lib):
        class Split(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                idx = x.argmax()
                ctx.mark_non_differentiable(idx)
                return x * 2, x, idx

            @staticmethod
            def backward(ctx, g_double, g_same, g_idx):
                return g_double * 2 + g_same

        x = lib.tensor([1.0, 3.0], requires_grad=True)
        double, same, idx = Split.apply(x)
        flags = [t.requires_grad for t in (double, same, idx)], same is x, x.is_leaf
        (double.sum() + same.sum() * 10).backward()
        return flags, x.grad.tolist()
    assert run(gg) == run(torch)


def test_setup_context_style_and_no_grad():
    def run(lib):
        class Mul(lib.autograd.Function):
            @staticmethod
            def forward(x, y):
                return x * y

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(*inputs)

            @staticmethod
            def backward(ctx, grad):
                x, y = ctx.saved_tensors
                return grad * y, grad * x

        x, y = lib.tensor([2.0], requires_grad=True), lib.tensor([5.0], requires_grad=True)
        with lib.no_grad():
            detached = Mul.apply(x, y)
        Mul.apply(x, y).backward()
        return detached.requires_grad, x.grad.item(), y.grad.item()
    assert run(gg) == run(torch) == (False, 5.0, 2.0)


def test_double_backward_through_a_custom_function():
    def run(lib):
        x = lib.tensor([0.5, -1.5], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(legendre(lib).apply(x).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        return g.detach(), h
    for got, want in zip(run(gg), run(torch)):
        assert_same(got, want, exact=False)


def test_once_differentiable_backward_records_no_graph():
    class Square(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @gg.autograd.function.once_differentiable
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return 2 * x * grad

    x = gg.tensor([3.0], requires_grad=True)
    (g,) = gg.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    assert g.item() == 6.0 and not g.requires_grad


def test_custom_functions_in_the_debugger_and_traces():
    Legendre = legendre(gg)
    x = gg.tensor([0.5, 0.25], requires_grad=True)
    with gg.trace() as t:
        loss = Legendre.apply(x * 2).sum()
        dbg = gg.debug.backward(loss)
        dbg.finish()
    names = [s.name for s in dbg.history]
    assert names == ["SumBackward0", "LegendrePolynomial3Backward", "MulBackward0", "AccumulateGrad"]
    step = dbg.history[1]
    assert step.forward is not None and step.forward.op == "LegendrePolynomial3"
    assert x.grad is not None and any(n.op == "LegendrePolynomial3" for n in t.graph.nodes)
