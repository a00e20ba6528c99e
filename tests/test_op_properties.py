"""Property tests: random chains of elementwise, reduction and shape ops on random shapes give
the values and gradients torch gives (float64, so the comparison can be tight)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import graphgrad

torch = pytest.importorskip("torch")


# Each step: name -> (applies to a shape?, draw its parameters, run it in a library). A step that
# takes a second operand draws a new leaf of a shape that broadcasts against the current one.

def _dims(shape):
    return st.integers(-len(shape), len(shape) - 1)


UNARY = {
    "exp": lambda L, x: x.tanh().exp(),
    "tanh": lambda L, x: x.tanh(),
    "sigmoid": lambda L, x: L.sigmoid(x),
    "sin": lambda L, x: x.sin(),
    "neg": lambda L, x: -x,
    "relu": lambda L, x: x.relu(),
    "square": lambda L, x: x * x,
    "scale": lambda L, x: x * 2.5 - 1,
    "rsub": lambda L, x: 1.5 - x,
    "soft_sqrt": lambda L, x: (x * x + 1).sqrt(),
    "log1p_sq": lambda L, x: (x * x).log1p(),
    "pow": lambda L, x: (x * x + 0.5) ** 1.5,
    "reciprocal": lambda L, x: 1 / (x * x + 1),
    "clamp": lambda L, x: x.clamp(-0.7, 0.8),
    "abs": lambda L, x: x.abs(),
}

BINARY = {
    "add": lambda L, x, y: x + y,
    "sub": lambda L, x, y: x - y,
    "mul": lambda L, x, y: x * y,
    "div": lambda L, x, y: x / (y * y + 1),
    "maximum": lambda L, x, y: L.maximum(x, y),
    "where": lambda L, x, y: L.where(x > y, x, y * 2),
}


def _reduce(name):
    def run(L, x, dim, keepdim):
        return getattr(x, name)(dim, keepdim=keepdim)
    return run


REDUCE = {name: _reduce(name) for name in ("sum", "mean", "amax", "logsumexp", "prod")}
REDUCE["softmax"] = lambda L, x, dim, keepdim: x.softmax(dim)
REDUCE["log_softmax"] = lambda L, x, dim, keepdim: x.log_softmax(dim)
REDUCE["cumsum"] = lambda L, x, dim, keepdim: x.cumsum(dim)
REDUCE["max_values"] = lambda L, x, dim, keepdim: x.max(dim, keepdim=keepdim).values
REDUCE["std"] = lambda L, x, dim, keepdim: x.std(dim, keepdim=keepdim)


@st.composite
def programs(draw):
    """(leaf arrays, steps): a first leaf, then 1-6 steps, each (kind, name, params)."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    leaves = [shape]
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        kinds = ["unary", "binary", "shape"] + (["reduce"] if shape else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "unary":
            steps.append(("unary", draw(st.sampled_from(sorted(UNARY))), ()))
        elif kind == "binary":
            # the other operand: some trailing dims of this shape, each kept or made 1, maybe a new leading dim
            n = draw(st.integers(0, len(shape)))
            other = tuple(s if draw(st.booleans()) else 1 for s in shape[len(shape) - n:])
            if n == len(shape) and len(shape) < 4 and draw(st.integers(0, 4)) == 0:
                other = (draw(st.integers(1, 3)),) + other
            leaves.append(other)
            steps.append(("binary", draw(st.sampled_from(sorted(BINARY))), (len(leaves) - 1,)))
            shape = tuple(np.broadcast_shapes(shape, other))
        elif kind == "reduce":
            name = draw(st.sampled_from(sorted(REDUCE)))
            dim, keepdim = draw(_dims(shape)), draw(st.booleans())
            if name == "std" and shape[dim] < 2:
                name = "sum"
            steps.append(("reduce", name, (dim, keepdim)))
            shape = _reduced(shape, name, dim, keepdim)
        else:
            step, shape = draw(_shape_step(shape))
            steps.append(step)
    arrays = [draw(_array(s)) for s in leaves]
    return arrays, steps


def _reduced(shape, name, dim, keepdim):
    if name in ("softmax", "log_softmax", "cumsum"):
        return shape
    dim %= len(shape)
    return shape[:dim] + ((1,) if keepdim else ()) + shape[dim + 1:]


@st.composite
def _shape_step(draw, shape):
    nd = len(shape)
    options = ["unsqueeze", "flatten", "cat", "stack"] + (
        ["transpose", "flip", "permute", "slice", "select", "expand", "repeat", "split"] if nd else [])
    name = draw(st.sampled_from(options))
    if name == "unsqueeze":
        d = draw(st.integers(-nd - 1, nd))
        return ("shape", name, (d,)), shape[:d % (nd + 1)] + (1,) + shape[d % (nd + 1):]
    if name == "flatten":
        return ("shape", name, ()), (int(np.prod(shape)),)
    if name == "cat":
        if not nd:
            return ("shape", "stack", (0,)), (2,)
        d = draw(_dims(shape))
        return ("shape", name, (d,)), shape[:d % nd] + (2 * shape[d % nd],) + shape[d % nd + 1:]
    if name == "stack":
        d = draw(st.integers(-nd - 1, nd))
        return ("shape", name, (d,)), shape[:d % (nd + 1)] + (2,) + shape[d % (nd + 1):]
    d = draw(_dims(shape))
    if name == "transpose":
        e = draw(_dims(shape))
        s = list(shape)
        s[d % nd], s[e % nd] = s[e % nd], s[d % nd]
        return ("shape", name, (d, e)), tuple(s)
    if name == "flip":
        return ("shape", name, (d,)), shape
    if name == "permute":
        order = tuple(draw(st.permutations(range(nd))))
        return ("shape", name, order), tuple(shape[i] for i in order)
    if name == "slice":
        start = draw(st.integers(0, shape[d] - 1))
        return ("shape", name, (d % nd, start)), shape[:d % nd] + (shape[d] - start,) + shape[d % nd + 1:]
    if name == "select":
        i = draw(st.integers(-shape[d], shape[d] - 1))
        return ("shape", name, (d, i)), shape[:d % nd] + shape[d % nd + 1:]
    if name == "expand":
        if 1 in shape:
            i = shape.index(1)
            return ("shape", name, (i, 3)), shape[:i] + (3,) + shape[i + 1:]
        return ("shape", "expand_new", (2,)), (2,) + shape
    if name == "repeat":
        return ("shape", name, (d % nd, 2)), shape[:d % nd] + (2 * shape[d % nd],) + shape[d % nd + 1:]
    # split: keep the last piece
    size = draw(st.integers(1, shape[d]))
    last = shape[d] % size or size
    return ("shape", name, (d, size)), shape[:d % nd] + (last,) + shape[d % nd + 1:]


def _array(shape):
    return st.integers(0, 2 ** 32 - 1).map(lambda seed: np.random.default_rng(seed).standard_normal(shape))


def _run_shape(L, x, name, params):
    if name == "unsqueeze":
        return x.unsqueeze(*params)
    if name == "flatten":
        return x.flatten()
    if name == "cat":
        return L.cat([x, x * 0.5], params[0])
    if name == "stack":
        return L.stack([x, x + 1], params[0])
    if name == "transpose":
        return x.transpose(*params)
    if name == "flip":
        return x.flip(params)
    if name == "permute":
        return x.permute(*params)
    if name == "slice":
        d, start = params
        return x[(slice(None),) * d + (slice(start, None),)]
    if name == "select":
        return x[(slice(None),) * (params[0] % x.ndim) + (params[1],)]
    if name == "expand":
        i, n = params
        return x.expand(*[n if k == i else -1 for k in range(x.ndim)])
    if name == "expand_new":
        return x.expand(params[0], *x.shape)
    if name == "repeat":
        d, n = params
        return x.repeat(*[n if k == d else 1 for k in range(x.ndim)])
    d, size = params
    return x.split(size, d)[-1]


def run(L, arrays, steps):
    leaves = [(graphgrad.tensor(a) if L is graphgrad else torch.from_numpy(a.copy())).requires_grad_()
              for a in arrays]
    x = leaves[0]
    for kind, name, params in steps:
        if kind == "unary":
            x = UNARY[name](L, x)
        elif kind == "binary":
            x = BINARY[name](L, x, leaves[params[0]])
        elif kind == "reduce":
            x = REDUCE[name](L, x, *params)
        else:
            x = _run_shape(L, x, name, params)
    return x, leaves


def _np(t):
    return t.detach().numpy()


@settings(max_examples=50, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs(), st.integers(0, 2 ** 32 - 1))
def test_random_chains_match_torch(program, seed):
    arrays, steps = program
    want, t_leaves = run(torch, arrays, steps)
    got, g_leaves = run(graphgrad, arrays, steps)
    assert tuple(got.shape) == tuple(want.shape), steps
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], steps
    np.testing.assert_allclose(_np(got), _np(want), rtol=1e-9, atol=1e-12, err_msg=str(steps))
    upstream = np.random.default_rng(seed).standard_normal(tuple(want.shape))
    want_grads = torch.autograd.grad(want, t_leaves, torch.from_numpy(upstream), allow_unused=True)
    got_grads = graphgrad.autograd.grad(got, g_leaves, graphgrad.tensor(upstream), allow_unused=True)
    for i, (a, b) in enumerate(zip(got_grads, want_grads)):
        if b is None:
            assert a is None or not _np(a).any(), f"leaf {i}: {steps}"
            continue
        assert a is not None, f"leaf {i} got no gradient: {steps}"
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-7, atol=1e-9, err_msg=f"leaf {i}: {steps}")
