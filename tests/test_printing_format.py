"""graphgrad.printing.tensor_repr against PyTorch's repr, byte for byte."""
import importlib.util
import math
import pathlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _load_printing():
    """graphgrad.printing, or the file itself while the package is not importable yet."""
    try:
        from graphgrad import printing
        return printing
    except Exception:
        path = pathlib.Path(__file__).resolve().parents[1] / "engine" / "graphgrad" / "printing.py"
        spec = importlib.util.spec_from_file_location("_graphgrad_printing_under_test", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


printing = _load_printing()
tensor_repr = printing.tensor_repr

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed=0, dtype=torch.float32):
    return torch.randn(shape, generator=_gen(seed), dtype=torch.float64).to(dtype)


def _randint(low, high, *shape, seed=0, dtype=torch.int64):
    return torch.randint(low, high, shape, generator=_gen(seed)).to(dtype)


def _values(dtype_name, shape, seed=0):
    """Values of a dtype spanning its range a little: negatives, zeros, various widths."""
    dtype = getattr(torch, dtype_name)
    if dtype_name == "bool":
        return _randint(0, 2, *shape, seed=seed).to(torch.bool)
    if dtype_name == "uint8":
        return _randint(0, 256, *shape, seed=seed, dtype=dtype)
    if dtype_name == "int8":
        return _randint(-128, 128, *shape, seed=seed, dtype=dtype)
    if not dtype.is_floating_point:
        return _randint(-1000, 100000, *shape, seed=seed, dtype=dtype)
    return _randn(*shape, seed=seed, dtype=dtype)


def _expected(t):
    return repr(t).replace("torch.", "graphgrad.")


def _suffixes(t):
    """The autograd suffix PyTorch adds, formatted as a caller of tensor_repr would."""
    if t.grad_fn is not None:
        return [f"grad_fn=<{type(t.grad_fn).__name__}>"]
    if t.requires_grad:
        return ["requires_grad=True"]
    return []


def _actual(t, default="float32"):
    array = t.detach().numpy()
    dtype_name = str(t.dtype).replace("torch.", "")
    return tensor_repr(array, dtype_name, default_dtype_name=default, suffixes=_suffixes(t))


def _f(values, dtype=torch.float32):
    return lambda: torch.tensor(values, dtype=dtype)


nan, inf = math.nan, math.inf

CASES = {
    # ---- 0-d
    "0d_float": _f(3.5),
    "0d_float_int_valued": _f(3.0),
    "0d_float_zero": _f(0.0),
    "0d_float_negzero": _f(-0.0),
    "0d_float_nan": _f(nan),
    "0d_float_neginf": _f(-inf),
    "0d_float_tiny": _f(1.5e-7),
    "0d_float_huge": _f(2.5e9),
    "0d_float64": _f(1 / 3, torch.float64),
    "0d_float16": _f(0.1, torch.float16),
    "0d_int64": lambda: torch.tensor(1),
    "0d_int32_neg": lambda: torch.tensor(-7, dtype=torch.int32),
    "0d_uint8": lambda: torch.tensor(255, dtype=torch.uint8),
    "0d_bool_true": lambda: torch.tensor(True),
    "0d_bool_false": lambda: torch.tensor(False),
    # ---- 1-d floats: notation choice
    "1d_simple": _f([1.5, 2.25, -3.125]),
    "1d_int_valued": _f([1.0, 2.0, 3.0]),
    "1d_int_valued_neg": _f([-1.0, 20.0, -300.0]),
    "1d_zeros": _f([0.0, 0.0, 0.0]),
    "1d_ones_and_zero": _f([0.0, 1.0]),
    "1d_negzero_mix": _f([-0.0, 0.0, 1.5]),
    "1d_rounding": _f([0.00005, 0.99999, 1.23456789]),
    "1d_sci_ratio": _f([1.0, 1001.0]),
    "1d_no_sci_ratio_1000": _f([1.0, 1000.0]),
    "1d_sci_ratio_frac": _f([0.5, 1234.5678]),
    "1d_sci_big": _f([1.5e8, 2.0e8]),
    "1d_sci_big_int_valued": _f([1e9, 2e9, 3e9]),
    "1d_sci_small": _f([1e-5, 2e-5]),
    "1d_sci_small_edge": _f([1e-4, 2e-4]),
    "1d_sci_huge_exponent": _f([1e-300, 1e300], torch.float64),
    "1d_sci_neg": _f([-1e-6, 3.0, -5e5]),
    "1d_nan_inf": _f([nan, inf, -inf, 1.5]),
    "1d_nan_inf_int_valued": _f([nan, inf, -inf, 2.0]),
    "1d_only_nonfinite": _f([nan, inf, -inf]),
    "1d_nan_sci": _f([nan, 1e-8, 1.0]),
    "1d_mixed_magnitudes": _f([1.0, 12.5, 123.25, -999.5]),
    "1d_float64": _f([1 / 3, 2 / 3, -1.0], torch.float64),
    "1d_float16": _f([0.1, 1.5, -65504.0], torch.float16),
    "1d_float16_int": _f([1.0, 2.0, 2048.0], torch.float16),
    "1d_float16_tiny": _f([6e-8, 1.0], torch.float16),
    "1d_float16_inf": _f([inf, 0.5], torch.float16),
    # ---- 1-d integers and bools
    "1d_int64": lambda: torch.tensor([1, -20, 300]),
    "1d_int64_big": lambda: torch.tensor([2**62, -(2**63)]),
    "1d_bool": lambda: torch.tensor([True, False, True]),
    # ---- wrapping of long rows
    "1d_wrap_float": lambda: _randn(50),
    "1d_wrap_int": lambda: torch.arange(100),
    "1d_wrap_bool": lambda: _randint(0, 2, 60).bool(),
    "1d_wrap_sci": lambda: _randn(30) * 1e10,
    "2d_wrap_float": lambda: _randn(3, 20),
    "3d_wrap_float": lambda: _randn(2, 2, 25),
    "1d_one_element_per_line": _f([1.234567e30, -2.5e-30, 3.0e10], torch.float64),
    # ---- N-d
    "2d_float": lambda: _randn(3, 4),
    "2d_int_valued": _f([[1.0, 2.0], [30.0, -4.0]]),
    "2d_int32": lambda: torch.tensor([[1, 2], [3, 4]], dtype=torch.int32),
    "3d_float": lambda: _randn(2, 3, 4),
    "4d_float": lambda: _randn(2, 2, 2, 3),
    "5d_int": lambda: torch.arange(32).reshape(2, 2, 2, 2, 2),
    "2d_single_row": lambda: _randn(1, 5),
    "2d_single_column": lambda: _randn(5, 1),
    "3d_bool": lambda: _randint(0, 2, 2, 2, 3).bool(),
    # ---- empty
    "empty_1d": lambda: torch.tensor([]),
    "empty_1d_int64": lambda: torch.tensor([], dtype=torch.int64),
    "empty_1d_bool": lambda: torch.tensor([], dtype=torch.bool),
    "empty_1d_float64": lambda: torch.tensor([], dtype=torch.float64),
    "empty_2d": lambda: torch.zeros(2, 0),
    "empty_3d": lambda: torch.zeros(2, 0, 3),
    "empty_3d_int32": lambda: torch.zeros(2, 0, 3, dtype=torch.int32),
    "empty_leading_zero": lambda: torch.zeros(0, 4),
    # ---- summarized (more than 1000 elements)
    "sum_1d_float": lambda: _randn(2000),
    "sum_1d_int": lambda: torch.arange(5000),
    "sum_1d_exactly_1000": lambda: torch.arange(1000.0),
    "sum_1d_1001": lambda: torch.arange(1001.0),
    "sum_2d_float": lambda: _randn(100, 100),
    "sum_2d_tall": lambda: _randn(1000, 2),
    "sum_2d_wide": lambda: _randn(2, 1000),
    "sum_3d_float": lambda: _randn(10, 20, 30),
    "sum_3d_small_middle": lambda: _randn(20, 2, 50),
    "sum_4d": lambda: torch.arange(4096).reshape(8, 8, 8, 8),
    "sum_bool": lambda: _randint(0, 2, 40, 40).bool(),
    # Hidden middle values must not influence the width or the notation.
    "sum_hidden_outlier": lambda: torch.cat([torch.ones(10), torch.full((2000,), 1e9), torch.ones(10)]),
    "sum_hidden_fraction": lambda: torch.cat([torch.ones(10), torch.full((2000,), 0.5), torch.ones(10)]),
    "sum_2d_sci": lambda: _randn(50, 50) * 1e-6,
}

# Every dtype in every basic shape.
for _dtype in DTYPES:
    for _shape in [(), (1,), (7,), (3, 4), (2, 3, 4), (30,), (4, 30), (3000,), (30, 40)]:
        _name = f"dtype_{_dtype}_{'x'.join(map(str, _shape)) or 'scalar'}"
        CASES[_name] = (lambda d, s: lambda: _values(d, s, seed=len(s)))(_dtype, _shape)
    for _shape in [(0,), (2, 0, 3)]:
        _name = f"dtype_{_dtype}_empty_{'x'.join(map(str, _shape))}"
        CASES[_name] = (lambda d, s: lambda: torch.zeros(s, dtype=getattr(torch, d)))(_dtype, _shape)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    t = CASES[name]()
    assert _actual(t) == _expected(t)


# ---- autograd suffixes, which may move to a line of their own
SUFFIX_CASES = {
    "requires_grad": lambda: torch.tensor([1.0, 2.0], requires_grad=True),
    "requires_grad_0d": lambda: torch.tensor(2.5, requires_grad=True),
    "grad_fn_sum": lambda: torch.tensor([1.0, 2.0], requires_grad=True).sum(),
    "grad_fn_mul": lambda: torch.tensor([1.0, 2.0], requires_grad=True) * 2,
    "grad_fn_wide_row": lambda: _randn(12).requires_grad_() * 3,
    "grad_fn_wrapped_2d": lambda: _randn(3, 20).requires_grad_() + 1,
    "grad_fn_float64": lambda: _randn(7, dtype=torch.float64).requires_grad_() * 2,
    "grad_fn_float64_long_row": lambda: _randn(10, dtype=torch.float64).requires_grad_() * 2,
    "grad_fn_float64_empty": lambda: torch.zeros(2, 0, dtype=torch.float64, requires_grad=True) * 2,
    "grad_fn_summarized": lambda: _randn(2000).requires_grad_() * 2,
}


@pytest.mark.parametrize("name", sorted(SUFFIX_CASES))
def test_suffixes_match_torch(name):
    t = SUFFIX_CASES[name]()
    assert _suffixes(t), "case should carry an autograd suffix"
    assert _actual(t) == _expected(t)


# ---- print options
@pytest.fixture
def restore_printoptions():
    yield
    torch.set_printoptions(profile="default")
    printing.set_printoptions(profile="default")


OPTION_SETS = {
    "precision_2": dict(precision=2),
    "precision_8": dict(precision=8),
    "precision_0": dict(precision=0),
    "threshold_5": dict(threshold=5),
    "threshold_5_edgeitems_1": dict(threshold=5, edgeitems=1),
    "edgeitems_0": dict(threshold=5, edgeitems=0),
    "linewidth_40": dict(linewidth=40),
    "linewidth_200": dict(linewidth=200),
    "sci_true": dict(sci_mode=True),
    "sci_false": dict(sci_mode=False),
    "profile_short": dict(profile="short"),
    "profile_full": dict(profile="full"),
    "profile_short_override": dict(profile="short", precision=6),
}

OPTION_TENSORS = {
    "float_1d": lambda: _randn(20) * 10,
    "float_2d": lambda: _randn(12, 12),
    "float_3d": lambda: _randn(4, 5, 6),
    "int_valued": lambda: torch.arange(30.0),
    "int64": lambda: torch.arange(2000).reshape(40, 50),
    "sci": _f([1e-6, 5.0, 2e7]),
    "scalar": _f(3.14159265),
    "float16": lambda: _randn(9, dtype=torch.float16),
    "bool": lambda: _randint(0, 2, 3, 8).bool(),
}


@pytest.mark.parametrize("tensor_name", sorted(OPTION_TENSORS))
@pytest.mark.parametrize("options_name", sorted(OPTION_SETS))
def test_printoptions_match_torch(options_name, tensor_name, restore_printoptions):
    options = OPTION_SETS[options_name]
    torch.set_printoptions(**options)
    printing.set_printoptions(**options)
    t = OPTION_TENSORS[tensor_name]()
    assert _actual(t) == _expected(t)


def test_set_printoptions_state_matches_torch(restore_printoptions):
    for options in OPTION_SETS.values():
        torch.set_printoptions(**options)
        printing.set_printoptions(**options)
        assert printing.get_printoptions() == torch._tensor_str.get_printoptions()
    torch.set_printoptions(profile="default")
    printing.set_printoptions(profile="default")
    assert printing.get_printoptions() == torch._tensor_str.get_printoptions()


def test_printoptions_context_restores(restore_printoptions):
    before = printing.get_printoptions()
    with printing.printoptions(precision=1):
        assert tensor_repr(np.array([1.25], np.float32), "float32") == "tensor([1.2])"
    assert printing.get_printoptions() == before


# ---- default float dtype float64
@pytest.fixture
def default_float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


DEFAULT64_CASES = {
    "float64": lambda: torch.tensor([1.5, 2.5]),
    "float32": lambda: torch.tensor([1.5, 2.5], dtype=torch.float32),
    "float16": lambda: torch.tensor([1.5, 2.5], dtype=torch.float16),
    "int64": lambda: torch.tensor([1, 2]),
    "empty_float64": lambda: torch.tensor([]),
    "empty_float32": lambda: torch.zeros(0, 2, dtype=torch.float32),
    "scalar": lambda: torch.tensor(0.5),
}


@pytest.mark.parametrize("name", sorted(DEFAULT64_CASES))
def test_default_dtype_float64(name, default_float64):
    t = DEFAULT64_CASES[name]()
    assert _actual(t, default="float64") == _expected(t)


# ---- device suffix (PyTorch here is CPU-only, so these are written out by hand)
def test_device_suffix():
    got = tensor_repr(np.array([1.0, 2.0], np.float32), "float32", device_str="cuda:0")
    assert got == "tensor([1., 2.], device='cuda:0')"


def test_device_suffix_before_dtype_and_grad():
    got = tensor_repr(np.array([1, 2], np.int32), "int32", device_str="cuda:0",
                      suffixes=["requires_grad=True"])
    assert got == "tensor([1, 2], device='cuda:0', dtype=graphgrad.int32, requires_grad=True)"


def test_device_suffix_empty():
    got = tensor_repr(np.zeros((0, 3), np.float32), "float32", device_str="cuda:0")
    assert got == "tensor([], device='cuda:0', size=(0, 3))"


# ---- non-contiguous input (a view graphgrad might hand over without copying)
def test_transposed_array():
    t = _randn(3, 5)
    assert tensor_repr(t.numpy().T, "float32") == _expected(t.T)


def test_strided_slice():
    t = torch.arange(40).reshape(4, 10)[:, ::3]
    assert tensor_repr(t.numpy(), "int64") == _expected(t)


# ---- seeded random sweep: shapes, dtypes and magnitudes mixed at random
def _random_tensor(seed):
    rng = np.random.default_rng(seed)
    ndim = int(rng.integers(0, 5))
    shape = tuple(int(n) for n in rng.integers(0, 7 if ndim > 2 else 40, size=ndim))
    dtype = DTYPES[int(rng.integers(len(DTYPES)))]
    if dtype not in ("float16", "float32", "float64"):
        return _values(dtype, shape, seed=seed)
    scale = 10.0 ** rng.integers(-9, 10)
    values = rng.standard_normal(shape) * scale
    if rng.random() < 0.3:
        values = np.round(values)
    if rng.random() < 0.2 and values.size:
        values.flat[int(rng.integers(values.size))] = rng.choice([np.nan, np.inf, -np.inf, 0.0])
    return torch.from_numpy(np.asarray(values, dtype=np.float64)).to(getattr(torch, dtype))


@pytest.mark.parametrize("seed", range(200))
def test_random_sweep(seed):
    t = _random_tensor(seed)
    assert _actual(t) == _expected(t)
