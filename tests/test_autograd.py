"""Autograd against PyTorch: gradients, graph structure, hooks, grad modes, version counters,
freed buffers, autograd.grad, and the stepping scheduler (backward_pass)."""
import warnings

import numpy as np
import pytest
import torch

import graphgrad as gg
from core_helpers import assert_same, raises_like

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((3, 4)).astype(np.float32)
V = RNG.standard_normal(4).astype(np.float32)


def leaves(lib, *arrays, requires_grad=True):
    return [lib.tensor(a, requires_grad=requires_grad) for a in arrays]


def graph(fn):
    """A grad_fn's graph as nested (class name, [(child, output_nr), ...]), None for constants."""
    if fn is None:
        return None
    return type(fn).__name__, [(graph(child), nr) for child, nr in fn.next_functions]


# ---- gradients ------------------------------------------------------------------------------

GRAPHS = {
    "chain": lambda L, a, b, v: ((a * b + a).exp().sum(),),
    "diamond": lambda L, a, b, v: ((lambda e: (e * 2) * e.sin())(a.tanh()).sum(),),
    "shared_subexpression": lambda L, a, b, v: ((lambda s: s * s + s)(a @ b.t()).mean(),),
    "broadcast": lambda L, a, b, v: ((a * v - v / 3).pow(2).sum(),),
    "reuse_leaf": lambda L, a, b, v: ((a * a * a).sum() + a.sum(),),
    "views": lambda L, a, b, v: ((a.t()[1:] * b.t()[:-1]).reshape(-1).sum() + a[0].sum(),),
    "two_roots": lambda L, a, b, v: ((a * b).sum(), (a - b).relu().mean()),
    "mlp": lambda L, a, b, v: ((a @ b.t()).relu().sum(1).sigmoid().log().sum(),),
    "no_path_to_b": lambda L, a, b, v: ((a * 2).sum(),),
}


@pytest.mark.parametrize("name", GRAPHS)
def test_gradients_match_torch(name):
    g, t = leaves(gg, A, B, V), leaves(torch, A, B, V)
    gg.autograd.backward(GRAPHS[name](gg, *g))
    torch.autograd.backward(GRAPHS[name](torch, *t))
    for x, y in zip(g, t):
        if y.grad is None:
            assert x.grad is None
        else:
            assert_same(x.grad, y.grad, exact=False, rtol=1e-5, atol=1e-6)


def test_scalar_backward_and_accumulation():
    g, t = leaves(gg, A)[0], leaves(torch, A)[0]
    for _ in range(3):
        (g * g).sum().backward()
        (t * t).sum().backward()
        assert_same(g.grad, t.grad)
    grad = g.grad
    g.grad.zero_()
    t.grad.zero_()
    assert_same(g.grad, t.grad)
    (g * 3).sum().backward()
    assert g.grad is grad  # accumulated into the same tensor, as torch does
    g.grad = None
    (g * 3).sum().backward()
    assert g.grad.tolist() == [[3.0] * 4] * 3


def test_mixed_dtypes_grads_keep_each_leafs_dtype():
    g = [gg.tensor([1.0, 2.0], dtype=gg.float64, requires_grad=True), gg.tensor([3.0, 4.0], requires_grad=True)]
    t = [torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True), torch.tensor([3.0, 4.0], requires_grad=True)]
    (g[0] * g[1]).sum().backward()
    (t[0] * t[1]).sum().backward()
    assert_same(g[0].grad, t[0].grad)
    assert_same(g[1].grad, t[1].grad)


def test_gradient_argument_for_non_scalars():
    g, t = leaves(gg, V)[0], leaves(torch, V)[0]
    seed = np.array([1.0, 0.5, -2.0, 0.0], np.float32)
    (g * g).backward(gg.tensor(seed))
    (t * t).backward(torch.tensor(seed))
    assert_same(g.grad, t.grad)
    gg.autograd.backward([g * 2], [gg.tensor(seed)])
    torch.autograd.backward([t * 2], [torch.tensor(seed)])
    assert_same(g.grad, t.grad)


@pytest.mark.parametrize("case", ["non_scalar", "bad_shape", "no_grad_needed"])
def test_backward_errors(case):
    def run(L):
        x = L.tensor(V, requires_grad=True)
        if case == "non_scalar":
            (x * 2).backward()
        elif case == "bad_shape":
            (x * 2).backward(L.ones(3))
        else:
            L.tensor(V).sum().backward()
    got, expected = raises_like(lambda: run(gg), lambda: run(torch))
    assert got == expected


def test_backward_with_inputs_only_fills_those():
    g, t = leaves(gg, A, B), leaves(torch, A, B)
    (g[0] * g[1]).sum().backward(inputs=[g[0]])
    (t[0] * t[1]).sum().backward(inputs=[t[0]])
    assert_same(g[0].grad, t[0].grad)
    assert g[1].grad is None and t[1].grad is None


# ---- retain_graph and freed buffers ------------------------------------------------------------

@pytest.mark.parametrize("expr", ["exp", "mul", "matmul"])
def test_second_backward_through_freed_buffers_raises_torchs_error(expr):
    def run(L):
        x = L.tensor(A, requires_grad=True)
        y = {"exp": lambda: x.exp(), "mul": lambda: x * x, "matmul": lambda: x @ x.t()}[expr]().sum()
        y.backward()
        y.backward()
    got, expected = raises_like(lambda: run(gg), lambda: run(torch))
    assert got == expected


def test_second_backward_without_saved_buffers_is_fine_as_in_torch():
    def run(L):
        x = L.tensor(V, requires_grad=True)
        y = (x + x - x.neg()).sum()   # add, sub, neg, sum: nothing is saved
        y.backward()
        y.backward()
        return x.grad
    assert_same(run(gg), run(torch))


def test_retain_graph_allows_a_second_backward():
    def run(L):
        x = L.tensor(V, requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        return x.grad
    assert_same(run(gg), run(torch), exact=False)


# ---- detach, requires_grad_, leaves ------------------------------------------------------------

def test_detach_shares_memory_and_version():
    g = gg.tensor(V, requires_grad=True)
    d = g.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d[0] = 100
    assert g[0].item() == 100 and g._version == d._version == 1
    y = (g * 2).detach()
    assert y.is_leaf and not y.requires_grad
    w = gg.ones(4, requires_grad=True)
    mid = g * 2
    d = mid.detach()
    d.add_(w)   # the detached tensor gets its own history; mid's is untouched, as in torch
    assert d.grad_fn.name() == "AddBackward0" and mid.grad_fn.name() == "MulBackward0" and d._base is None
    z = g * 2
    z.detach_()
    assert z.is_leaf and z.grad_fn is None and not z.requires_grad


def test_requires_grad_flags():
    x = gg.tensor(V)
    assert x.requires_grad_() is x and x.requires_grad and x.is_leaf
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    with gg.no_grad():
        assert not (x * 2).requires_grad
    assert not (gg.tensor(V) * 2).requires_grad
    assert not (x > 0).requires_grad  # comparisons have no gradient
    assert x.argmax().grad_fn is None
    raises_like(lambda: (gg.tensor(V, requires_grad=True) * 2).requires_grad_(False),
                lambda: (torch.tensor(V, requires_grad=True) * 2).requires_grad_(False))
    raises_like(lambda: gg.tensor([1]).requires_grad_(), lambda: torch.tensor([1]).requires_grad_())


def test_non_leaf_grad_is_none_with_torchs_warning():
    x = gg.tensor(V, requires_grad=True)
    y = x * 2
    y.sum().backward()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert y.grad is None
        assert x.grad is not None
    tx = torch.tensor(V, requires_grad=True)
    ty = tx * 2
    with warnings.catch_warnings(record=True) as expected:
        warnings.simplefilter("always")
        ty.grad
    assert [str(w.message) for w in caught] == [str(expected[0].message).split(" (Triggered internally")[0]]


def test_grad_assignment_is_checked():
    g, t = gg.tensor(V, requires_grad=True), torch.tensor(V, requires_grad=True)
    for gv, tv in [(gg.ones(2), torch.ones(2)), (5, 5), (gg.ones(4, dtype=gg.float64), torch.ones(4).double())]:
        raises_like(lambda: setattr(g, "grad", gv), lambda: setattr(t, "grad", tv))
    g.grad = gg.ones(4)
    assert g.grad.tolist() == [1.0] * 4


# ---- hooks and retain_grad ------------------------------------------------------------------------

def _hooked(L, order):
    """Leaf and non-leaf hooks, one replacing the gradient, retain_grad before or after."""
    x = L.tensor(V, requires_grad=True)
    y = x * 2
    z = y * y
    seen = []
    x.register_hook(lambda g: seen.append(("x", g.tolist())))
    if order == "retain_first":
        y.retain_grad()
    y.register_hook(lambda g: g * 10)
    y.register_hook(lambda g: seen.append(("y", g.tolist())))
    if order == "retain_last":
        y.retain_grad()
    z.sum().backward()
    return x.grad, y.grad, seen


@pytest.mark.parametrize("order", ["retain_first", "retain_last"])
def test_hooks_replace_gradients_and_retain_grad_sees_the_result(order):
    gx, gy, gseen = _hooked(gg, order)
    tx, ty, tseen = _hooked(torch, order)
    assert_same(gx, tx)
    assert_same(gy, ty)  # retain_grad runs after every hook, as in torch
    assert gseen == tseen


def test_leaf_hook_replacement_and_removal():
    def run(L):
        x = L.tensor(V, requires_grad=True)
        handle = x.register_hook(lambda g: g + 1)
        (x * x).sum().backward()
        first = x.grad.clone()
        handle.remove()
        (x * x).sum().backward()
        return first, x.grad
    for a, b in zip(run(gg), run(torch)):
        assert_same(a, b)


def test_retain_grad_accumulates_and_reports():
    def run(L):
        x = L.tensor(V, requires_grad=True)
        y = x.exp()
        y.retain_grad()
        y.retain_grad()
        assert y.retains_grad and not x.retains_grad
        s = (y * y).sum()
        s.backward(retain_graph=True)
        s.backward()
        return y.grad
    assert_same(run(gg), run(torch), exact=False)
    raises_like(lambda: gg.tensor(V).retain_grad(), lambda: torch.tensor(V).retain_grad())
    raises_like(lambda: gg.tensor(V).register_hook(print), lambda: torch.tensor(V).register_hook(print))


def test_post_accumulate_grad_hook():
    x = gg.tensor(V, requires_grad=True)
    got = []
    x.register_post_accumulate_grad_hook(lambda t: got.append(t.grad.tolist()))
    (x * 2).sum().backward()
    assert got == [[2.0] * 4]


def test_node_hooks():
    def run(L):
        x = L.tensor(V, requires_grad=True)
        y = x.exp()
        seen = []
        y.grad_fn.register_prehook(lambda grad_outputs: (grad_outputs[0] * 3,))
        y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.append(len(grad_inputs)))
        y.sum().backward()
        return x.grad, seen
    (ga, gs), (ta, ts) = run(gg), run(torch)
    assert_same(ga, ta, exact=False)
    assert gs == ts


# ---- grad modes --------------------------------------------------------------------------------

@pytest.mark.parametrize("lib", [gg, torch], ids=["graphgrad", "torch"])
def test_grad_modes_as_context_managers_and_decorators(lib):
    x = lib.tensor(V, requires_grad=True)

    @lib.no_grad()
    def off():
        return (x * 2).requires_grad

    @lib.no_grad
    def off_bare():
        return (x * 2).requires_grad

    @lib.enable_grad()
    def on():
        return (x * 2).requires_grad

    @lib.set_grad_enabled(False)
    def set_off():
        return (x * 2).requires_grad

    @lib.inference_mode()
    def inference():
        return (x * 2).requires_grad

    results = [off(), off_bare(), on(), set_off(), inference(), lib.is_grad_enabled()]
    with lib.no_grad():
        results += [on(), (x * 2).requires_grad, lib.is_grad_enabled()]
        with lib.enable_grad():
            results.append((x * 2).requires_grad)
    with lib.set_grad_enabled(False):
        results.append((x * 2).requires_grad)
    results.append(lib.is_grad_enabled())
    lib.set_grad_enabled(False)  # as a plain call, it switches until switched back
    results.append(lib.is_grad_enabled())
    lib.set_grad_enabled(True)
    results.append(lib.is_grad_enabled())
    try:
        with lib.no_grad():
            raise KeyError
    except KeyError:
        pass
    results.append(lib.is_grad_enabled())
    assert results == [False, False, True, False, False, True, True, False, False, True, False, True, False, True,
                       True]


# ---- autograd.grad ---------------------------------------------------------------------------

def test_autograd_grad():
    g, t = leaves(gg, A, B), leaves(torch, A, B)
    ga = gg.autograd.grad((g[0] * g[1]).sum(), g)
    ta = torch.autograd.grad((t[0] * t[1]).sum(), t)
    assert isinstance(ga, tuple) and len(ga) == 2
    for x, y in zip(ga, ta):
        assert_same(x, y)
    assert g[0].grad is None  # .grad is left alone
    mid = g[0] * g[0]
    (only,) = gg.autograd.grad((mid * 3).sum(), mid)
    assert only.tolist() == [[3.0] * 4] * 3


def test_autograd_grad_unused_inputs():
    def run(L, **kwargs):
        x, y = L.tensor(V, requires_grad=True), L.tensor(V, requires_grad=True)
        return L.autograd.grad((x * 2).sum(), [x, y], **kwargs)
    got, expected = raises_like(lambda: run(gg), lambda: run(torch))
    assert got == expected
    g, t = run(gg, allow_unused=True), run(torch, allow_unused=True)
    assert_same(g[0], t[0]) and g[1] is None and t[1] is None
    g, t = run(gg, materialize_grads=True), run(torch, materialize_grads=True)
    assert_same(g[1], t[1])
    got, expected = raises_like(lambda: gg.autograd.grad((gg.tensor(V, requires_grad=True) * 2).sum(), gg.tensor(V)),
                                lambda: torch.autograd.grad((torch.tensor(V, requires_grad=True) * 2).sum(),
                                                            torch.tensor(V)))
    assert got == expected


# ---- version counters and in-place errors -------------------------------------------------------------

INPLACE_CASES = {
    "saved_output_exp": lambda L, x: (lambda y: (y.add_(1), y.sum()))(x.exp())[1],
    "saved_output_sigmoid": lambda L, x: (lambda y: (y.mul_(2), y.sum()))(x.sigmoid())[1],
    "saved_input_mul": lambda L, x: (lambda y: (lambda z: (y.add_(1), z.sum()))(y * y))(x * 2)[1],
    "saved_input_after_sum": lambda L, x: (lambda y: (lambda z: (y.add_(1), z.sum()))(y * y))(x.sum(0))[1],
    "saved_constant_leaf": lambda L, x: (lambda w: (lambda z: (w.add_(1), z.sum()))(x * w))(L.ones(4))[1],
    "setitem_on_saved": lambda L, x: (lambda y: (lambda z: (y.__setitem__(0, 0.0), z.sum()))(y.log()))(x * 1)[1],
    "saved_output_tanh_twice": lambda L, x: (lambda y: (y.mul_(2), y.mul_(2), y.sum()))(x.tanh())[2],
}


@pytest.mark.parametrize("case", INPLACE_CASES)
def test_modified_saved_tensor_raises_torchs_error(case):
    def run(L):
        x = L.tensor(A, requires_grad=True)
        INPLACE_CASES[case](L, x).backward()
    got, expected = raises_like(lambda: run(gg), lambda: run(torch))
    assert got == expected


OK_INPLACE_CASES = {
    "unsaved_input": lambda L, x: (lambda y: (lambda z: (y.add_(1), z.sum()))(y + 1))(x * 2)[1],
    "scalar_mul_saves_nothing": lambda L, x: (lambda y: (lambda z: (y.add_(1), z.sum()))(y * 3))(x * 2)[1],
    "inplace_chain": lambda L, x: (lambda y: (y.mul_(3), y.exp_(), y.sum()))(x * 2)[2],
    "relu_inplace_after": lambda L, x: (lambda y: (y.relu_(), (y * 2).sum()))(x + 1)[1],
    "setitem_non_leaf": lambda L, x: (lambda y: (y.__setitem__((0, 1), 5.0), (y * y).sum()))(x * 1)[1],
    "setitem_tensor_value": lambda L, x: (lambda y: (y.__setitem__(1, x[0] * 2), y.sum()))(x * 1)[1],
}


VIEW_INPLACE_CASES = {
    "augmented_assign_column": lambda L, x: (lambda y: (y[:, 0].__iadd__(1), y.__setitem__((slice(None), 0), y[:, 0]),
                                                        y))(x * 2)[2],
    "iadd_through_getitem": lambda L, x: (lambda y: (y.__setitem__(1, y[1].__iadd__(x[0])), y))(x * 2)[1],
    "mul_on_row_view": lambda L, x: (lambda y: (y[1].mul_(3), y))(x * 2)[1],
    "the_view_after": lambda L, x: (lambda y: (lambda v: (v.mul_(3), v * v)[1])(y[1]))(x * 2),
    "transposed_view": lambda L, x: (lambda y: (y.t()[0].add_(1), y))(x * 2)[1],
    "stepped_flat_view": lambda L, x: (lambda y: (y.view(-1)[::2].mul_(2), y))(x * 2)[1],
    "constant_buffer_gets_grad": lambda L, x: (lambda buf: (buf[1:].add_(x[0] * 5), buf))(L.zeros(3, 4))[1],
    "copy_into_buffer_slice": lambda L, x: (lambda buf: (buf[:, 1:3].copy_(x[:, :2] ** 2), buf))(L.ones(3, 4))[1],
    # a view taken before a write to the same memory follows the base's new history (AsStrided)
    "view_whose_view_is_written": lambda L, x: (lambda b: (b[:, :2].mul_(3), b)[1])((x * 2)[1:]),
    "view_of_a_base_written_after": lambda L, x: (lambda y: (lambda b: (y.mul_(3), b)[1])(y[1]))(x * 2),
    "sibling_view_not_overlapping": lambda L, x: (lambda y: (lambda b, c: (c.mul_(3), b)[1])(y[0], y[2]))(x * 2),
}


COPY_CASES = {  # self.copy_(src): src broadcast, cast and recorded as CopyBackwards
    "broadcast_row": lambda L, x: L.zeros(2, 3, 4).copy_(x[0] * 2),
    "cast_from_float64": lambda L, x: L.zeros(3, 4).copy_((x * 3).double()),
    "over_a_result_that_required_grad": lambda L, x: (x * 2).copy_(L.ones(4)),
    "into_a_slice": lambda L, x: (lambda buf: (buf[1:].copy_(x.exp()), buf)[1])(L.ones(4, 4)),
}


def test_inplace_on_a_view_of_a_saved_tensor_raises_as_torch():
    def run(L):
        y = L.tensor(A, requires_grad=True).exp()   # exp saves its output, y
        y.view(-1)[::2].mul_(2)
        y.sum().backward()
    got, expected = raises_like(lambda: run(gg), lambda: run(torch))
    assert got.split(", which is output")[0] == expected.split(", which is output")[0]


@pytest.mark.parametrize("case", {**VIEW_INPLACE_CASES, **COPY_CASES})
def test_inplace_writes_record_what_torch_records(case):
    """In-place ops on views rebase the base (CopySlices); copy_ is CopyBackwards."""
    g, t = gg.tensor(A, requires_grad=True), torch.tensor(A, requires_grad=True)
    make = VIEW_INPLACE_CASES.get(case) or COPY_CASES[case]
    out_g, out_t = make(gg, g), make(torch, t)
    assert_same(out_g, out_t, exact=False, rtol=1e-5)
    assert graph(out_g.grad_fn)[0] == graph(out_t.grad_fn)[0]
    (out_g * out_g).sum().backward()
    (out_t * out_t).sum().backward()
    assert_same(g.grad, t.grad, exact=False, rtol=1e-5)


@pytest.mark.parametrize("case", OK_INPLACE_CASES)
def test_inplace_where_torch_allows_it(case):
    g, t = gg.tensor(A, requires_grad=True), torch.tensor(A, requires_grad=True)
    out_g, out_t = OK_INPLACE_CASES[case](gg, g), OK_INPLACE_CASES[case](torch, t)
    assert_same(out_g, out_t, exact=False, rtol=1e-5)
    out_g.backward()
    out_t.backward()
    assert_same(g.grad, t.grad, exact=False, rtol=1e-5)


@pytest.mark.parametrize("op", ["add_", "setitem_basic", "setitem_mask", "zero_", "copy_"])
def test_inplace_on_a_leaf_that_requires_grad(op):
    def run(L):
        x = L.tensor(V, requires_grad=True)
        {"add_": lambda: x.add_(1), "setitem_basic": lambda: x.__setitem__(0, 1.0),
         "setitem_mask": lambda: x.__setitem__(x > 0, 1.0), "zero_": lambda: x.zero_(),
         "copy_": lambda: x.copy_(L.ones(4))}[op]()
    got, expected = raises_like(lambda: run(gg), lambda: run(torch))
    assert got == expected
    x = gg.tensor(V, requires_grad=True)
    with gg.no_grad():
        x.add_(1)  # allowed without grad: how optimizers update parameters
    assert x.is_leaf and x.requires_grad and x._version == 1


@pytest.mark.parametrize("shapes", [((2, 3), (4,)), ((3,), (2, 3))])
def test_copy_of_a_shape_that_does_not_fit_raises_as_torch(shapes):
    into, src = shapes
    for requires_grad in (False, True):
        def run(L):
            target = L.zeros(*into)
            target.copy_(L.ones(*src, requires_grad=requires_grad))
        got, expected = raises_like(lambda: run(gg), lambda: run(torch))
        assert got == expected


def test_version_counter_is_shared_by_views():
    x = gg.zeros(2, 3)
    v = x[0]
    r = x.view(6)
    assert x._version == 0
    x.add_(1)
    v.mul_(2)
    r[0] = 7
    assert x._version == v._version == r._version == 3
    assert (x + 1)._version == 0
    t = torch.zeros(2, 3)
    tv, tr = t[0], t.view(6)
    t.add_(1), tv.mul_(2), tr.__setitem__(0, 7)
    assert type(x._version) is type(t._version) is int and x._version == t._version == tv._version


# ---- graph structure: grad_fn names and next_functions ---------------------------------------------

STRUCTURES = {
    "add_mul_const": lambda L, a, b: (a * b + 2).sum(),
    "leaf_times_constant": lambda L, a, b: a * L.tensor(B),
    "matmul_relu_mean": lambda L, a, b: (a @ b.t()).relu().mean(),
    "views": lambda L, a, b: a.t().reshape(-1)[1:].sum() + a[0].unsqueeze(0).sum(),
    "reductions": lambda L, a, b: a.max(dim=0)[0].sigmoid().pow(2).log().neg().sum(0),
    "reflected": lambda L, a, b: (a ** b) - a / b + (b - 1),
    "scalar_first": lambda L, a, b: (1 - a) + (2 ** b) + 2 / a + a * 3,
    "multi_output": lambda L, a, b: a.split(2, dim=1)[1] * a.unbind(1)[2].unsqueeze(1),
    "shared": lambda L, a, b: (lambda s: s * s)(a.exp()),
    "to_dtype": lambda L, a, b: a.double().sum(),
}


@pytest.mark.parametrize("fn", STRUCTURES.values(), ids=STRUCTURES)
def test_grad_fn_graph_matches_torch(fn):
    g, t = leaves(gg, A, B), leaves(torch, A, B)
    assert graph(fn(gg, *g).grad_fn) == graph(fn(torch, *t).grad_fn)


def test_leaf_accumulators_are_shared_and_constants_are_none():
    g = gg.tensor(V, requires_grad=True)
    y = g * gg.tensor(V) + g
    (mul, _), (leaf, nr) = y.grad_fn.next_functions
    assert mul.next_functions[1] == (None, 0) and nr == 0
    assert type(leaf).__name__ == "AccumulateGrad" and leaf.variable is g
    assert mul.next_functions[0][0] is leaf  # one AccumulateGrad per leaf
    assert y.grad_fn.name() == "AddBackward0" and repr(y.grad_fn).startswith("<AddBackward0 object at 0x")


# ---- the stepping scheduler ------------------------------------------------------------------

@pytest.mark.parametrize("name", GRAPHS)
def test_backward_pass_steps_give_bit_identical_grads(name):
    drained = leaves(gg, A, B, V)
    gg.autograd.backward(GRAPHS[name](gg, *drained))
    stepped = leaves(gg, A, B, V)
    roots = GRAPHS[name](gg, *stepped)
    run = gg.autograd.backward_pass(list(roots))
    names = [step.node.name() for step in run]
    assert names and names == [n.name() for n in run.done]
    assert not run.ready_nodes
    for x, y in zip(drained, stepped):
        if x.grad is None:
            assert y.grad is None
        else:
            np.testing.assert_array_equal(x.grad.numpy(), y.grad.numpy())


def _heap_order(roots):
    """The textbook scheduler the pass replaces: dependency counts and PyTorch's ready queue, a
    heap by sequence number where a leaf's AccumulateGrad comes first (ties: first queued).
    The pass sorts once instead; both must give one order."""
    import heapq
    import itertools
    deps, stack, seen = {}, list(roots), set(roots)
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is not None:
                deps[nxt] = deps.get(nxt, 0) + 1
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
    queued = itertools.count()
    key = lambda n: (-float("inf") if type(n).__name__ == "AccumulateGrad" else -n._seq, next(queued), n)
    ready = [key(n) for n in dict.fromkeys(roots) if n not in deps]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)[2]
        order.append(node)
        for nxt, _ in node.next_functions:
            if nxt is not None:
                deps[nxt] -= 1
                if not deps[nxt]:
                    heapq.heappush(ready, key(nxt))
    return order


def test_hooks_run_in_pytorchs_order():
    """A leaf's gradient is accumulated as soon as it is complete, before other ready nodes."""
    def run(lib):
        calls = []
        x, v = lib.ones(3, requires_grad=True), lib.ones(3, requires_grad=True)
        x * 1  # x's AccumulateGrad is made here, before everything below
        for name, t in (("x", x), ("v", v)):
            t.register_hook(lambda g, name=name: calls.append(name))
        e, m = v.exp(), x * 3
        e.register_hook(lambda g: calls.append("e"))
        m.register_hook(lambda g: calls.append("m"))
        (m + e).sum().backward()
        return calls
    assert run(gg) == run(torch) == ["m", "x", "e", "v"]


@pytest.mark.parametrize("name", GRAPHS)
def test_backward_pass_runs_in_ready_queue_order(name):
    roots = GRAPHS[name](gg, *leaves(gg, A, B, V))
    roots = [roots] if isinstance(roots, gg.Tensor) else list(roots)
    expected = _heap_order([r.grad_fn for r in roots])
    run = gg.autograd.backward_pass(roots)
    ready_before = []
    for step in run:
        ready_before.append(step.node)
    assert ready_before == expected


def test_backward_from_leaves_and_outputs_together():
    def run(lib):
        calls = []
        x, v = lib.tensor(V.tolist(), requires_grad=True), lib.tensor(V.tolist(), requires_grad=True)
        for name, t in (("x", x), ("v", v)):
            t.register_hook(lambda g, name=name: calls.append(name))
        y = (x * 2).sum()
        lib.autograd.backward([v, y, x], [lib.ones(4), None, lib.ones(4)])
        return calls, x.grad.tolist(), v.grad.tolist()
    assert run(gg) == run(torch)


def test_ready_queue_is_what_has_all_its_gradients():
    x = gg.tensor(V, requires_grad=True)
    a, b = x.exp(), x.sin()
    run = gg.autograd.backward_pass((a * b).sum())
    steps = iter(run)
    next(steps), next(steps)  # sum, then mul: exp and sin now have their gradients, x waits for both
    assert [n.name() for n in run.ready_nodes] == ["SinBackward0", "ExpBackward0"]
    next(steps)
    assert [n.name() for n in run.ready_nodes] == ["ExpBackward0"]
    next(steps)
    assert [n.name() for n in run.ready_nodes] == ["AccumulateGrad"]


def test_first_gradient_becomes_grad_without_a_copy_only_when_nothing_else_holds_it():
    # one array sent to two leaves (AddBackward passes its gradient on): each leaf gets its own
    a, b = leaves(gg, V, V)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.add_(1)
    np.testing.assert_array_equal(b.grad.numpy(), np.ones(4, np.float32))
    # a hook on the leaf saw (and kept) the gradient: .grad must not be that array
    seen = []
    c = gg.tensor(V, requires_grad=True)
    c.register_hook(seen.append)
    (c * 2).sum().backward()
    assert not np.shares_memory(seen[0].numpy(), c.grad.numpy())
    # a gradient the caller passed in stays the caller's
    d = gg.tensor(V, requires_grad=True)
    given = gg.ones(4)
    d.backward(given)
    assert not np.shares_memory(given.numpy(), d.grad.numpy())
    d.grad.zero_()
    np.testing.assert_array_equal(given.numpy(), np.ones(4, np.float32))
    # a debugger keeps every step: the gradients it shows stay as they were
    e = gg.tensor(V, requires_grad=True)
    dbg = gg.debug.backward((e * 3).sum())
    dbg.finish()
    e.grad.zero_()
    assert dbg.history[-1].grad_outputs[0].numpy().tolist() == [3.0] * 4


def test_backward_pass_runs_one_node_per_step():
    x = gg.tensor(V, requires_grad=True)
    y = (x.exp() * 2).sum()
    run = gg.autograd.backward_pass(y)
    steps = iter(run)
    first = next(steps)
    assert first.node is y.grad_fn and x.grad is None
    assert [n.name() for n in run.ready_nodes] == ["MulBackward0"]
    assert first.grad_outputs[0].shape == () and first.grad_inputs[0].shape == (4,)
    rest = [s.node.name() for s in steps]
    assert rest == ["MulBackward0", "ExpBackward0", "AccumulateGrad"]
    t = torch.tensor(V, requires_grad=True)
    (t.exp() * 2).sum().backward()
    assert_same(x.grad, t.grad, exact=False)


# ---- higher-order gradients (create_graph=True) ---------------------------------------------------

def test_second_derivative_of_a_cube():
    for lib in (gg, torch):
        x = lib.tensor(2.0, requires_grad=True)
        (dy,) = lib.autograd.grad(x ** 3, x, create_graph=True)
        (d2y,) = lib.autograd.grad(dy, x)
        assert dy.item() == 12.0 and d2y.item() == 12.0 and dy.requires_grad and not d2y.requires_grad


def test_hessian_vector_product_of_an_mlp_matches_torch():
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in [(5, 4), (3, 4), (3,), (2, 3), (2,)]]
    v_arrays = [rng.standard_normal(a.shape) for a in arrays[1:]]

    def hvp(lib, F):
        x, w1, b1, w2, b2 = (lib.tensor(a, requires_grad=i > 0) for i, a in enumerate(arrays))
        loss = F.cross_entropy(F.linear(F.linear(x, w1, b1).tanh(), w2, b2), lib.tensor([0, 1, 1, 0, 1]))
        params = [w1, b1, w2, b2]
        grads = lib.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * lib.tensor(v)).sum() for g, v in zip(grads, v_arrays))
        return lib.autograd.grad(dot, params)

    import graphgrad.nn.functional as gF
    for got, want in zip(hvp(gg, gF), hvp(torch, torch.nn.functional)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-9, atol=1e-12)


def test_gradient_penalty_trains_through_the_input_gradient():
    """WGAN-GP's penalty: the norm of d(critic)/d(input), minimised through the critic's weights."""
    rng = np.random.default_rng(4)
    w, x = rng.standard_normal((1, 3)), rng.standard_normal((6, 3))

    def penalty_grad(lib):
        weight = lib.tensor(w, requires_grad=True)
        inputs = lib.tensor(x, requires_grad=True)
        critic = (inputs @ weight.T).sigmoid().sum()
        (g,) = lib.autograd.grad(critic, inputs, create_graph=True)
        ((g.norm(2, dim=1) - 1) ** 2).mean().backward()
        return weight.grad

    np.testing.assert_allclose(penalty_grad(gg).numpy(), penalty_grad(torch).numpy(), rtol=1e-9)


def test_backward_with_create_graph_warns_and_keeps_the_graph_in_grad():
    def run(lib):
        x = lib.tensor([0.5, -1.0], requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            (x.sin() * x).sum().backward(create_graph=True)
        first = x.grad
        x.grad = None
        first.sum().backward()
        return [str(w.message) for w in caught], first.requires_grad, x.grad, graph(first.grad_fn)[0]

    got, want = run(gg), run(torch)
    assert len(got[0]) == len(want[0]) == 1 and want[0][0].startswith(got[0][0])  # torch adds where in C++
    assert got[1] and want[1]
    assert_same(got[2], want[2], exact=False)
    assert got[3] == want[3]  # a first gradient is copied into .grad: CopyBackwards over the formula's graph


def test_create_graph_differentiates_through_grad_outputs_and_hooks():
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        u = lib.tensor([3.0, -1.0], requires_grad=True)
        y = x.exp()
        y.register_hook(lambda g: g * 2)
        (g,) = lib.autograd.grad(y, x, u, create_graph=True)
        return g, lib.autograd.grad(g.sum(), [x, u])

    (g1, (gx1, gu1)), (g2, (gx2, gu2)) = run(gg), run(torch)
    for a, b in ((g1, g2), (gx1, gx2), (gu1, gu2)):
        assert_same(a.detach(), b.detach(), exact=False)


def test_create_graph_names_the_op_it_cannot_differentiate_and_leaves_grads_alone():
    """An op whose backward reaches past graphgrad's array view (here NumPy's own np.sign on the
    saved input) cannot give a second derivative: it says so instead of a wrong one."""
    from graphgrad.ops.dispatch import Op, apply

    class SoftSign(Op):
        differentiable, saved, saved_inputs, saved_as_given = True, ("x",), (0,), True

        def forward(self, x):
            self.x = x
            return x / (1 + np.abs(x))

        def backward(self, grad):
            return (grad / (1 + np.sign(self.x) * self.x) ** 2,)

    x = gg.tensor([[1.0, -5.0], [3.0, 2.0]], requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"create_graph=True: the backward of SoftSign cannot be "
                                                  r"differentiated in graphgrad yet"):
        gg.autograd.grad(apply(SoftSign, x).sum(), x, create_graph=True)
    assert x.grad is None
    (g,) = gg.autograd.grad(apply(SoftSign, x).sum(), x)  # without create_graph it is what it always was
    np.testing.assert_allclose(g.numpy(), 1 / (1 + np.abs(x.detach().numpy())) ** 2)


def test_a_multi_output_op_with_scalar_outputs_backs_up_through_one_of_them():
    def run(lib):
        x = lib.tensor([1.0, 2.0, 4.0], requires_grad=True)
        std, _ = lib.std_mean(x)
        std.backward()  # no gradient reaches the mean: zeros are made for its 0-d output
        return x.grad
    assert_same(run(gg), run(torch), exact=False)


def test_create_graph_under_a_trace_records_arrays():
    x = gg.tensor([0.3, 0.7], requires_grad=True)
    with gg.trace() as t:
        (g,) = gg.autograd.grad((x * x).tanh().sum(), x, create_graph=True)
        g.sum().backward()
    assert x.grad is not None and len(t.graph) > 0
    for node in t.graph.nodes:
        value = t.grad(node)
        assert value is None or isinstance(value.numpy(), np.ndarray)


def test_graph_arrays_refuse_writes_they_could_not_make_as_numpy_does():
    """Backward formulas that write into a view of an array would silently miss the array: raise."""
    from graphgrad.autograd.higher_order import GraphArray
    a = GraphArray(gg.zeros(2, 2))
    alias = a
    a[0] = 1.0       # on the array itself: fine, and what aliases of it see
    a += 1.0
    assert alias.tensor.tolist() == [[2.0, 2.0], [1.0, 1.0]]
    for view in (a.T, a.reshape(4), a[0]):
        with pytest.raises(NotImplementedError, match="writes into a view"):
            view[0] = 5.0


def test_batched_grad_outputs_are_refused_not_ignored():
    x = gg.tensor(V, requires_grad=True)
    with pytest.raises(NotImplementedError, match="is_grads_batched"):
        gg.autograd.grad((x * 2).sum(), x, gg.ones(3), is_grads_batched=True)


def test_leaf_gradients_are_taken_over_with_a_recorder_on_too():
    """The first gradient of a leaf becomes its .grad without a copy, also while a recorder (a
    trace, anomaly mode) watches the pass: a copy per parameter per step is what tracing costs."""
    from graphgrad.ops.dispatch import recorders
    from graphgrad.tracing import Recorder

    import weakref

    class Sent(Recorder):
        arrays = []  # weak references: a reference would itself make the gradient shared

        def record_backward(self, step, seconds):
            self.arrays += [weakref.ref(g) for g in step.grad_inputs if g is not None]

    x, w = gg.randn(4, 3), gg.randn(3, 2, requires_grad=True)
    recorders.append(Sent())
    try:
        (x @ w).tanh().sum().backward()
    finally:
        recorders.pop()
    assert any(ref() is w.grad._data for ref in Sent.arrays)


def test_singular_matrices_raise_torchs_linalg_error():
    singular = [[1.0, 2.0], [2.0, 4.0]]
    for fn in (lambda L, a: L.linalg.inv(a), lambda L, a: L.linalg.solve(a, L.ones(2, 1))):
        messages = []
        for lib in (gg, torch):
            with pytest.raises(RuntimeError) as caught:
                fn(lib, lib.tensor(singular))
            assert type(caught.value).__name__.strip("_") == "LinAlgError"
            messages.append(str(caught.value))
        assert messages[0] == messages[1]
    with pytest.raises(RuntimeError) as caught:
        gg.inverse(gg.zeros(2, 2))
    assert gg.linalg.LinAlgError is type(caught.value)
