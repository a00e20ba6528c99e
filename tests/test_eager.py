"""dispatch.apply_binary, the operators' two-tensor path, against apply(), which it must match in
everything but speed: values, dtypes, graph edges, saved-tensor checks, gradients; and what it
hands to apply() (recorders, bfloat16, 0-d operands) must come out as apply() makes it."""
import numpy as np
import pytest

import graphgrad as gg
from graphgrad import _hooks
from graphgrad.ops import arithmetic
from graphgrad.ops.dispatch import apply, apply_binary

OPS = [arithmetic.Add, arithmetic.Sub, arithmetic.Mul, arithmetic.Div]


def _pair(shape_a=(3, 4), shape_b=(3, 4), grads=(True, True), dtype=np.float32):
    rng = np.random.default_rng(0)
    make = lambda shape, g: gg.tensor(rng.uniform(0.5, 2, shape).astype(dtype), requires_grad=g)
    return make(shape_a, grads[0]), make(shape_b, grads[1])


def _edges(t):
    return [(type(fn).__name__, nr) for fn, nr in t.grad_fn.next_functions] if t.grad_fn else None


def _both(cls, a, b):
    """The op through apply_binary and through apply, each on its own copies of a and b (grads separate)."""
    copies = [(gg.tensor(x._data.copy(), requires_grad=x.requires_grad) for x in (a, b)) for _ in range(2)]
    (a1, b1), (a2, b2) = copies
    dtype = a._data.dtype
    return (a1, b1, apply_binary(cls, a1, b1, dtype)), (a2, b2, apply(cls, a2, b2, dtype=dtype))


@pytest.mark.parametrize("cls", OPS, ids=lambda c: c.op_name)
@pytest.mark.parametrize("grads", [(True, True), (True, False), (False, True), (False, False)])
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((), ())], ids=["same", "broadcast", "0-d"])
def test_apply_binary_matches_apply(cls, grads, shapes):
    (a1, b1, fast), (a2, b2, full) = _both(cls, *_pair(*shapes, grads=grads))
    assert type(fast._data) is type(full._data) is np.ndarray  # a 0-d result is an array, not a NumPy scalar
    np.testing.assert_array_equal(fast._data, full._data)
    assert fast._data.dtype == full._data.dtype
    assert fast.requires_grad == full.requires_grad == any(grads)
    assert _edges(fast) == _edges(full)
    assert len(fast.grad_fn._checks if fast.grad_fn else ()) == len(full.grad_fn._checks if full.grad_fn else ())
    if any(grads):
        fast.sum().backward()
        full.sum().backward()
        for x, y in ((a1, a2), (b1, b2)):
            assert (x.grad is None) == (y.grad is None)
            if x.grad is not None:
                np.testing.assert_array_equal(x.grad._data, y.grad._data)


def test_apply_binary_under_no_grad_records_nothing():
    a, b = _pair()
    with gg.no_grad():
        out = apply_binary(arithmetic.Mul, a, b, a._data.dtype)
    assert not out.requires_grad and out.grad_fn is None


@pytest.mark.parametrize("modified", [0, 1])
def test_a_saved_operand_written_in_place_fails_backward_as_through_apply(modified):
    """x * c with c a constant saves c (for x's gradient) but not x: only writing c fails."""
    messages = []
    for run in (apply_binary, None):
        x, c = _pair(grads=(True, False))
        out = run(arithmetic.Mul, x, c, x._data.dtype) if run else apply(arithmetic.Mul, x, c, dtype=x._data.dtype)
        with gg.no_grad():
            (x, c)[modified].add_(1)
        try:
            out.sum().backward()
            messages.append(None)
        except RuntimeError as error:
            messages.append(str(error))
    assert messages[0] == messages[1]
    assert (messages[0] is None) == (modified == 0)


def test_recorders_see_the_op():
    class Seen(_hooks.Recorder):
        def __init__(self):
            self.ops = []

        def record(self, node, inputs, outputs, attrs, seconds):
            self.ops.append((node.name(), len(inputs), attrs))

    seen = Seen()
    _hooks.recorders.append(seen)
    try:
        a, b = _pair()
        a * b + a
    finally:
        _hooks.recorders.remove(seen)
    assert [name for name, _, _ in seen.ops] == ["MulBackward0", "AddBackward0"]
    assert all(n == 2 and set(attrs) == {"dtype"} for _, n, attrs in seen.ops)


def test_bfloat16_computes_as_through_apply():
    a, b = (x.bfloat16() for x in _pair())
    a, b = a.detach().requires_grad_(), b.detach().requires_grad_()
    fast, full = apply_binary(arithmetic.Mul, a, b, a._data.dtype), apply(arithmetic.Mul, a, b, dtype=a._data.dtype)
    assert fast.dtype == full.dtype == gg.bfloat16
    np.testing.assert_array_equal(fast._data.astype(np.float32), full._data.astype(np.float32))
    assert fast.grad_fn.name() == full.grad_fn.name()


@pytest.mark.parametrize("op", ["__add__", "__sub__", "__mul__", "__truediv__"])
def test_operators_on_two_tensors_match_torch(op):
    torch = pytest.importorskip("torch")
    a, b = _pair(shape_b=(4,))
    ta, tb = (torch.tensor(x._data, requires_grad=True) for x in (a, b))
    out, want = getattr(a, op)(b), getattr(ta, op)(tb)
    assert out.grad_fn.name() == type(want.grad_fn).__name__
    out.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(out._data, want.detach().numpy(), rtol=1e-6)
    for x, t in ((a, ta), (b, tb)):
        np.testing.assert_allclose(x.grad._data, t.grad.numpy(), rtol=1e-6)
