"""Every op in the table against PyTorch: values and result dtypes, gradients through a random
upstream gradient, grad_fn names, and finite-difference gradchecks in float64."""
import sys
import zlib

import numpy as np
import pytest

import graphgrad
import graphgrad.nn
from graphgrad.ops import dispatch
from op_table import BY_NAME, NO_GRADGRAD, TABLE, TORCH_NO_GRADGRAD, D, Make

torch = pytest.importorskip("torch")

DEVICE = "cpu"   # where graphgrad's inputs live; the cuda tests set "cuda"
TOL = {"float16": (1e-3, 1e-3), "float32": (1e-5, 1.3e-6), "float64": (1e-7, 1e-7)}  # (atol, rtol)


# ---- running a sample in either library -----------------------------------------------------------

def to_lib(lib, value, grad, leaves):
    """NumPy arrays -> tensors of lib (floating ones in positional args and lists require grad)."""
    if isinstance(value, np.ndarray):
        t = lib.tensor(value, device=DEVICE) if lib is graphgrad else torch.from_numpy(value.copy())
        if grad and value.dtype.kind == "f":
            t.requires_grad_(True)
            leaves.append(t)
        return t
    if isinstance(value, D):
        return getattr(lib, value.name)
    if isinstance(value, list):
        return [to_lib(lib, v, grad, leaves) for v in value]
    if isinstance(value, tuple):  # index keys and dims: never leaves
        return tuple(to_lib(lib, v, False, leaves) for v in value)
    return value


def call(entry, lib, sample, grad=False, method=False):
    """(result, leaves) of the entry's op on the sample in lib."""
    leaves = []
    grad = grad and sample.grad
    args = [to_lib(lib, a, grad and i not in sample.const, leaves) for i, a in enumerate(sample.args)]
    kwargs = {k: to_lib(lib, v, grad and k not in sample.const, leaves) for k, v in sample.kwargs.items()}
    if method:
        return getattr(args[0], entry.method)(*args[1:], **kwargs), leaves
    return entry.fn(lib, *args, **kwargs), leaves


def samples(entry, dtype):
    return list(entry.samples(Make(dtype, seed=zlib.crc32(f"{entry.name}-{dtype}".encode()))))


def flat(out):
    """A result as a flat list of tensors and Python values."""
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in flat(o)]
    return [out]


def is_tensor(x):
    return isinstance(x, (graphgrad.Tensor, torch.Tensor))


def dtype_name(x):
    return str(x.dtype).rsplit(".", 1)[-1]


def array(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy(force=True)  # force: torch's zero gradients may be a ZeroTensor
    return x.detach().cpu().numpy() if is_tensor(x) else np.asarray(x)


def assert_same(got, want, entry, what, tol=None):
    """graphgrad's result `got` matches torch's `want`: structure, shapes, dtypes, values."""
    if isinstance(want, tuple) and hasattr(want, "_fields"):  # torch.return_types: keep the field names
        assert tuple(got._fields) == tuple(want._fields), f"{what}: fields {got._fields} != {want._fields}"
    g, w = flat(got), flat(want)
    assert len(g) == len(w), f"{what}: {len(g)} outputs, torch gives {len(w)}"
    for i, (a, b) in enumerate(zip(g, w)):
        where = f"{what} output {i}"
        if not is_tensor(b):
            assert not is_tensor(a) and type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
            np.testing.assert_allclose(a, b, err_msg=where)
            continue
        assert isinstance(a, graphgrad.Tensor), f"{where}: {type(a).__name__}, torch gives a tensor"
        assert tuple(a.shape) == tuple(b.shape), f"{where}: shape {tuple(a.shape)} != {tuple(b.shape)}"
        assert dtype_name(a) == dtype_name(b), f"{where}: dtype {dtype_name(a)} != {dtype_name(b)}"
        x, y = array(a), array(b)
        if y.dtype.kind == "f":
            atol, rtol = tol or TOL[y.dtype.name]
            atol, rtol = entry.atol or atol, entry.rtol or rtol
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, equal_nan=True, err_msg=where)
        else:
            np.testing.assert_array_equal(x, y, err_msg=where)


def dtype_params(float_only=False):
    return [pytest.param(e, d, id=f"{e.name}-{d}") for e in TABLE for d in e.dtypes
            if not float_only or d.startswith("float")]


# ---- the table covers the registry ---------------------------------------------------------------

def test_every_registered_op_has_an_entry():
    covered = {op for entry in TABLE for op in entry.ops}
    missing = sorted(set(dispatch.REGISTRY) - covered)
    assert not missing, f"ops without an entry in tests/op_table.py: {missing}"
    unknown = sorted(covered - set(dispatch.REGISTRY))
    assert not unknown, f"table entries name ops that are not registered: {unknown}"


def test_every_registered_op_has_a_category():
    """The graph viewer colours nodes by `type(node).category`: each @op names one of CATEGORIES."""
    missing = sorted(name for name, cls in dispatch.REGISTRY.items() if cls.category not in dispatch.CATEGORIES)
    assert not missing, f"ops without a category (@op(..., category=...)): {missing}"


def test_every_declared_variant_exists():
    """What each @public declaration names is there: graphgrad.<name> (graphgrad.ops.<name>: the
    package's own `trace` is the tracer), Tensor.<name>, x.<name>_(), and the operators."""
    from graphgrad.ops import public
    missing = []
    for fn in public.declared():
        v = fn.variants
        if v.function:
            missing += [f"graphgrad.{n}" for n in v.names() if getattr(graphgrad.ops, n, None) is not fn]
        missing += [f"Tensor.{n}" for n in v.tensor_attributes() if not callable(getattr(graphgrad.Tensor, n, None))]
    assert not missing, f"declared but missing: {missing}"
    assert graphgrad.Tensor.exp_.__name__ == "exp_" and graphgrad.Tensor.clip_.__name__ == "clip_"
    assert (graphgrad.tensor([1.0]) + graphgrad.tensor([2.0])).item() == 3.0


class _Recorder:
    def __init__(self):
        self.seen = set()

    def record(self, node, inputs, outputs, attrs, seconds):
        self.seen.add(node.op_name)

    def __getattr__(self, name):  # the rest of the recorder protocol (module scopes, ...): ignored
        return lambda *args, **kwargs: None


@pytest.mark.parametrize("entry", TABLE, ids=str)
def test_entry_runs_the_ops_it_names(entry):
    recorder = _Recorder()
    dispatch.recorders.append(recorder)
    try:
        for d in entry.dtypes:
            for sample in samples(entry, d):
                call(entry, graphgrad, sample, grad=True)
    finally:
        dispatch.recorders.remove(recorder)
    assert set(entry.ops) <= recorder.seen, f"never ran: {sorted(set(entry.ops) - recorder.seen)}"


# ---- values --------------------------------------------------------------------------------------

@pytest.mark.parametrize("entry,dtype", dtype_params())
def test_values_match_torch(entry, dtype):
    for sample in samples(entry, dtype):
        want, _ = call(entry, torch, sample)
        got, _ = call(entry, graphgrad, sample)
        assert_same(got, want, entry, f"{entry.name}{sample}")


@pytest.mark.parametrize("entry", [e for e in TABLE if e.method], ids=str)
def test_method_form_matches_torch(entry):
    for d in entry.dtypes[:1]:
        for sample in samples(entry, d):
            if not isinstance(sample.args[0], np.ndarray):
                continue
            want, _ = call(entry, torch, sample, method=True)
            got, _ = call(entry, graphgrad, sample, method=True)
            assert_same(got, want, entry, f"x.{entry.method}{sample}")


# ---- gradients -----------------------------------------------------------------------------------

def nodes(out, entry):
    """(requires_grad, grad_fn name) per output tensor, as PyTorch users see them printed."""
    return [(o.requires_grad, type(o.grad_fn).__name__ if o.grad_fn is not None and entry.check_grad_fn else None)
            for o in flat(out) if is_tensor(o)]


def backward(lib, out, leaves, upstream):
    """Gradients of the leaves through the float outputs, seeded with `upstream` arrays."""
    outs = [o for o in flat(out) if is_tensor(o) and o.requires_grad]
    if not outs or not leaves:
        return []
    seeds = [(lib.tensor(u, device=DEVICE) if lib is graphgrad else torch.from_numpy(u.copy())) for u in upstream]
    if len(outs) > 1:  # several outputs of one node: seed them through one scalar
        total = sum((o * s).sum() for o, s in zip(outs, seeds))
        return lib.autograd.grad(total, leaves, allow_unused=True)
    return lib.autograd.grad(outs, leaves, seeds, allow_unused=True)


def upstream_for(out, rng):
    return [rng.standard_normal(o.shape).astype(array(o).dtype) for o in flat(out)
            if is_tensor(o) and o.requires_grad]


@pytest.mark.parametrize("entry,dtype", [p for p in dtype_params(float_only=True) if p.values[0].grad])
def test_grads_match_torch(entry, dtype):
    rng = np.random.default_rng(0)
    for sample in samples(entry, dtype):
        want, t_leaves = call(entry, torch, sample, grad=True)
        got, g_leaves = call(entry, graphgrad, sample, grad=True)
        what = f"{entry.name}{sample}"
        assert nodes(got, entry) == nodes(want, entry), f"{what}: (requires_grad, grad_fn) per output"
        upstream = upstream_for(want, rng)
        want_grads = backward(torch, want, t_leaves, upstream)
        got_grads = backward(graphgrad, got, g_leaves, upstream)
        assert len(got_grads) == len(want_grads)
        for i, (a, b) in enumerate(zip(got_grads, want_grads)):
            if b is None:  # torch: the input did not take part; zeros from graphgrad are as good
                assert a is None or not array(a).any(), f"{what}: grad {i} should be None or zero"
                continue
            assert a is not None, f"{what}: grad of input {i} is None, torch computes one"
            tol = (entry.grad_atol or TOL[dtype][0] * 10, TOL[dtype][1] * 10)
            assert_same(a, b, entry, f"{what} grad of input {i}", tol)


def numeric_grads(entry, sample, leaves_np, upstream, eps=1e-6):
    """Central differences of sum(out * upstream) in float64, one element at a time."""
    def f():
        with graphgrad.no_grad():
            out, _ = call(entry, graphgrad, sample)
        outs = [array(o) for o in flat(out) if is_tensor(o) and array(o).dtype.kind == "f"]
        return sum(float(np.where(np.isfinite(o), o * u, 0).sum()) for o, u in zip(outs, upstream))
    grads = []
    for x in leaves_np:
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + eps
            plus = f()
            x[i] = old - eps
            minus = f()
            x[i] = old
            g[i] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def float_leaves(sample):
    """The float64 arrays of the sample that become leaves, in the order call() makes them."""
    found = []
    named = list(enumerate(sample.args)) + list(sample.kwargs.items())
    for a in [a for key, a in named if key not in sample.const]:
        for x in (a if isinstance(a, list) else [a]):
            if isinstance(x, np.ndarray) and x.dtype.kind == "f":
                found.append(x)
    return found


@pytest.mark.parametrize("entry", [e for e in TABLE if e.gradcheck and "float64" in e.dtypes], ids=str)
def test_gradcheck_float64(entry):
    rng = np.random.default_rng(1)
    checked = 0
    for sample in samples(entry, "float64"):
        leaves_np = float_leaves(sample)
        if (not sample.grad or not leaves_np or sum(x.size for x in leaves_np) > 48
                or not all(np.isfinite(x).all() for x in leaves_np)):  # differences of inf say nothing
            continue
        out, leaves = call(entry, graphgrad, sample, grad=True)
        upstream = upstream_for(out, rng)
        if not upstream or any(u.dtype != np.float64 for u in upstream):  # float32 results: too coarse
            continue
        analytic = backward(graphgrad, out, leaves, upstream)
        numeric = numeric_grads(entry, sample, leaves_np, upstream)
        for i, (a, n) in enumerate(zip(analytic, numeric)):
            a = np.zeros_like(n) if a is None else array(a)
            np.testing.assert_allclose(a, n, atol=1e-5, rtol=1e-3, err_msg=f"{entry.name}{sample} input {i}")
        checked += 1
        if checked == 4:
            break
    assert checked, "no sample small enough to gradcheck"


def _gradgrad(lib, out, leaves, upstream, directions):
    """Second derivatives as torch's gradgradcheck takes them: the gradient g of the outputs
    seeded with `upstream` (tensors that require grad too), made with create_graph=True, then
    the gradient of sum(g * directions) with respect to the inputs and the upstream gradients."""
    outs = [o for o in flat(out) if is_tensor(o) and o.requires_grad]
    first = lib.autograd.grad(outs, leaves, upstream, create_graph=True, allow_unused=True)
    total = sum((g * d).sum() for g, d in zip(first, directions) if g is not None and g.requires_grad)
    if not is_tensor(total):
        return None  # the gradients do not depend on anything (constant): nothing to differentiate
    return lib.autograd.grad(total, leaves + upstream, allow_unused=True)


def _dense(t):
    """torch's second derivatives may be ZeroTensors, which refuse .numpy()."""
    return np.zeros(tuple(t.shape)) if t._is_zerotensor() else t.detach().numpy()


@pytest.mark.parametrize("entry", [e for e in TABLE if e.gradcheck and "float64" in e.dtypes
                                   and e.name not in TORCH_NO_GRADGRAD], ids=str)
def test_gradgrad_matches_torch(entry):
    rng = np.random.default_rng(2)
    for sample in samples(entry, "float64")[:3]:
        if not sample.grad:
            continue
        want, t_leaves = call(entry, torch, sample, grad=True)
        up = upstream_for(want, rng)
        if not t_leaves or not up:
            continue
        directions = [rng.standard_normal(tuple(x.shape)) for x in t_leaves]
        got, g_leaves = call(entry, graphgrad, sample, grad=True)
        g_up = [graphgrad.tensor(u, requires_grad=True) for u in up]
        if entry.name in NO_GRADGRAD:
            with pytest.raises(NotImplementedError, match="create_graph=True: the backward of"):
                _gradgrad(graphgrad, got, g_leaves, g_up, [graphgrad.tensor(d) for d in directions])
            return
        t_up = [torch.from_numpy(u.copy()).requires_grad_() for u in up]
        expected = _gradgrad(torch, want, t_leaves, t_up, [torch.from_numpy(d) for d in directions])
        if expected is None:  # torch: the gradient is constant (sign, floor, ...)
            continue
        result = _gradgrad(graphgrad, got, g_leaves, g_up, [graphgrad.tensor(d) for d in directions])
        assert result is not None, f"{entry.name}{sample}: the gradients have no graph"
        for i, (a, b) in enumerate(zip(result, expected)):
            if b is None:
                assert a is None or not array(a).any(), f"{entry.name}{sample}: second derivative {i} should be 0"
                continue
            a = np.zeros(tuple(b.shape)) if a is None else array(a)
            np.testing.assert_allclose(a, _dense(b), atol=1e-6, rtol=1e-5, err_msg=f"{entry.name}{sample} #{i}")


# ---- on a GPU: the same table, graphgrad's inputs on cuda ------------------------------------------

@pytest.mark.cuda
@pytest.mark.parametrize("entry", TABLE, ids=str)
def test_values_and_grads_on_cuda(entry, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "DEVICE", "cuda")
    for dtype in [d for d in entry.dtypes if d != "float64"]:
        for sample in samples(entry, dtype):
            want, _ = call(entry, torch, sample)
            got, _ = call(entry, graphgrad, sample)
            assert all(o.device.type == "cuda" for o in flat(got) if is_tensor(o)), "a result left the GPU"
            assert_same(got, want, entry, f"cuda {entry.name}{sample}", tol=(1e-4, 1e-4))
    if entry.grad and "float32" in entry.dtypes:
        test_grads_match_torch(entry, "float32")


# ---- type promotion ------------------------------------------------------------------------------

PROMOTION_DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")
PROMOTION_OPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "floor_divide": lambda a, b: a // b, "remainder": lambda a, b: a % b,
    "pow": lambda a, b: a ** b, "eq": lambda a, b: a == b, "lt": lambda a, b: a < b,
    "maximum": lambda a, b: a.maximum(b) if is_tensor(a) and is_tensor(b) else a + 0 * b,
    "where": lambda a, b: (torch if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor) else graphgrad
                           ).where(_true_mask(a, b), a, b),
}


def _true_mask(a, b):
    lib = torch if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor) else graphgrad
    return lib.tensor(True)


def _operand(lib, kind, dtype):
    """One operand: a 1-d tensor, a 0-d tensor, or a Python number standing for that dtype."""
    if kind == "number":
        return {"bool": True, "int64": 2, "float32": 2.5}[dtype]
    values = np.array([1, 2, 3] if kind == "1d" else 2).astype(dtype)
    return lib.tensor(values) if lib is graphgrad else torch.from_numpy(values)


def _promotion_cases():
    kinds = [("1d", "1d"), ("1d", "0d"), ("0d", "1d"), ("0d", "0d")]
    for ka, kb in kinds:
        for a in PROMOTION_DTYPES:
            for b in PROMOTION_DTYPES:
                yield (ka, a), (kb, b)
    for a in PROMOTION_DTYPES:
        for number in ("bool", "int64", "float32"):
            yield ("1d", a), ("number", number)
            yield ("number", number), ("0d", a)


@pytest.mark.parametrize("name", PROMOTION_OPS)
def test_type_promotion_matches_torch(name):
    """torch.result_type's rules: dimensioned tensors over 0-d tensors over Python numbers, unless a
    lower rank brings a higher category (int32 + int64 0-d -> int32, int + 2.5 -> float32)."""
    fn = PROMOTION_OPS[name]
    for (ka, da), (kb, db) in _promotion_cases():
        what = f"{name}({ka} {da}, {kb} {db})"
        try:
            want = fn(_operand(torch, ka, da), _operand(torch, kb, db))
        except (RuntimeError, TypeError) as e:
            with pytest.raises(type(e)):
                fn(_operand(graphgrad, ka, da), _operand(graphgrad, kb, db))
            continue
        got = fn(_operand(graphgrad, ka, da), _operand(graphgrad, kb, db))
        assert_same(got, want, BY_NAME["add"], what, tol=(1e-3, 1e-3))


@pytest.mark.parametrize("a,b,expected", [
    ("int64[2]", 2.5, "float32"), ("int32[2]", "int64[]", "int32"), ("float16[2]", "float64[]", "float16"),
    ("bool[2]", 3, "int64"), ("uint8[2]", "int8[]", "uint8"), ("int8[2]", "float16[]", "float16"),
])
def test_promotion_examples(a, b, expected):
    def make(spec, lib):
        if not isinstance(spec, str):
            return spec
        dtype, shape = spec.rstrip("]").split("[")
        values = np.ones((2,) if shape else (), dtype)
        return lib.tensor(values) if lib is graphgrad else torch.from_numpy(values)
    assert dtype_name(make(a, torch) + make(b, torch)) == expected  # the oracle agrees with the example
    assert dtype_name(make(a, graphgrad) + make(b, graphgrad)) == expected
    assert dtype_name(make(a, graphgrad) / make(b, graphgrad)) == dtype_name(make(a, torch) / make(b, torch))
