"""Creation functions, dtype inference and NumPy interop against PyTorch."""
import numpy as np
import pytest
import torch

import graphgrad as gg
from core_helpers import assert_same, both, dtype_name, raises_like

DATA = [
    3, 3.5, True, -7,
    [1, 2, 3], [1.0, 2, 3], [True, False], [True, 2], [1, 2.5], [[1, 2], [3, 4]], [[1.5], [2.5]],
    [], [[]], [[1, 2], [3, 4.0]], (1, 2, 3), [(1, 2), (3, 4)], [2 ** 40, -1],
]


@pytest.mark.parametrize("data", DATA, ids=repr)
def test_tensor_infers_dtype_and_values_like_torch(data):
    assert_same(*both(data))


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                                  "bool"])
def test_tensor_with_dtype(name):
    assert_same(*both([[0, 1, 2], [3, 4, 5]], dtype=name))
    g, t = both(1.0, dtype=name)
    assert_same(g, t)
    assert g.dtype is getattr(gg, name)


@pytest.mark.parametrize("array", [np.arange(6, dtype=np.float64).reshape(2, 3), np.arange(4, dtype=np.int32),
                                   np.array([True, False]), np.float32(2.5), np.int64(3), np.array(7, np.uint8)],
                         ids=lambda a: f"{type(a).__name__}-{a.dtype}")
def test_tensor_from_numpy_keeps_numpy_dtype(array):
    assert_same(gg.tensor(array), torch.tensor(array))


def test_tensor_of_tensors_and_nested_scalars():
    assert_same(gg.tensor([gg.tensor(1.5), gg.tensor(2.0)]), torch.tensor([torch.tensor(1.5), torch.tensor(2.0)]))
    assert_same(gg.tensor(gg.tensor([1, 2])), torch.tensor([1, 2]))


def test_tensor_copies_its_data():
    array = np.ones(3)
    t = gg.tensor(array)
    array[0] = 5
    assert t[0].item() == 1.0


def test_tensor_requires_grad_only_for_floats():
    assert gg.tensor([1.0], requires_grad=True).requires_grad
    raises_like(lambda: gg.tensor([1, 2], requires_grad=True), lambda: torch.tensor([1, 2], requires_grad=True))


def test_ragged_data_is_refused():
    raises_like(lambda: gg.tensor([[1, 2], [3]]), lambda: torch.tensor([[1, 2], [3]]))


def test_default_dtype_drives_float_inference():
    gg.set_default_dtype(gg.float64)
    try:
        assert gg.tensor([1.5]).dtype is gg.float64
        assert gg.zeros(2).dtype is gg.float64
        assert gg.tensor([1]).dtype is gg.int64
        assert gg.get_default_dtype() is gg.float64
    finally:
        gg.set_default_dtype(gg.float32)
    assert gg.tensor([1.5]).dtype is gg.float32


# ---- NumPy interop: memory shared both ways ---------------------------------------------------

def test_from_numpy_shares_memory_both_ways():
    array = np.zeros(4, dtype=np.float32)
    t = gg.from_numpy(array)
    assert t.dtype is gg.float32
    array[1] = 3
    assert t.tolist() == [0, 3, 0, 0]
    t[2] = 5
    t.add_(1)
    np.testing.assert_array_equal(array, [1, 4, 6, 1])
    back = t.numpy()
    back[0] = -1
    assert t[0].item() == -1
    assert np.shares_memory(back, array)


def test_numpy_of_a_view_shares_memory():
    t = gg.arange(6.0).reshape(2, 3)
    view = t[:, 1]
    view.numpy()[:] = 9
    assert t.tolist() == [[0, 9, 2], [3, 9, 5]]


def test_as_tensor_shares_numpy_memory_when_it_can():
    array = np.arange(3.0)
    t = gg.as_tensor(array)
    array[0] = 7
    assert t[0].item() == 7
    converted = gg.as_tensor(array, dtype=gg.float32)  # a new dtype needs a copy, as in torch
    array[0] = 8
    assert converted[0].item() == 7
    assert_same(converted, torch.as_tensor(np.array([7, 1, 2.0]), dtype=torch.float32))
    t = gg.tensor([1.0])
    assert gg.as_tensor(t) is t
    assert_same(gg.as_tensor([1, 2]), torch.as_tensor([1, 2]))


def test_from_numpy_refuses_unsupported_dtypes():
    with pytest.raises(TypeError, match="can't convert np.ndarray of type complex128"):
        gg.from_numpy(np.zeros(2, complex))
    with pytest.raises(TypeError, match="expected np.ndarray"):
        gg.from_numpy([1, 2])


# ---- filled tensors ------------------------------------------------------------------------

@pytest.mark.parametrize("fn", ["zeros", "ones", "empty"])
@pytest.mark.parametrize("size", [(2, 3), ((2, 3),), ([4],), (0,), ((),)], ids=repr)
def test_filled(fn, size):
    g, t = getattr(gg, fn)(*size), getattr(torch, fn)(*size)
    assert tuple(g.shape) == tuple(t.shape) and dtype_name(g.dtype) == dtype_name(t.dtype)
    if fn != "empty":
        assert_same(g, t)


def test_filled_with_dtype_and_requires_grad():
    assert_same(gg.zeros(2, dtype=gg.int32), torch.zeros(2, dtype=torch.int32))
    assert_same(gg.ones(gg.Size([2, 2]), dtype=gg.bool), torch.ones(torch.Size([2, 2]), dtype=torch.bool))
    assert gg.ones(2, requires_grad=True).requires_grad and gg.ones(2, requires_grad=True).is_leaf
    raises_like(lambda: gg.zeros(-1), lambda: torch.zeros(-1))


@pytest.mark.parametrize("args", [((2, 3), 1.5), ((2,), 7), ((2,), True), ([3], 0.5), ((1, 2), -1)], ids=repr)
def test_full(args):
    assert_same(gg.full(*args), torch.full(*args))


def test_full_wants_a_size_sequence():
    raises_like(lambda: gg.full(3, 0.5), lambda: torch.full(3, 0.5))


def test_full_like_and_friends_keep_dtype():
    g, t = both([[1, 2], [3, 4]])
    for name in ["zeros_like", "ones_like", "empty_like"]:
        a, b = getattr(gg, name)(g), getattr(torch, name)(t)
        assert tuple(a.shape) == tuple(b.shape) and dtype_name(a.dtype) == dtype_name(b.dtype)
    assert_same(gg.full_like(g, 7), torch.full_like(t, 7))
    assert_same(gg.full_like(g, 2.7), torch.full_like(t, 2.7))  # cast to the input's dtype
    assert_same(gg.zeros_like(g, dtype=gg.float64), torch.zeros_like(t, dtype=torch.float64))
    assert_same(gg.ones_like(g).new_zeros(3), torch.ones_like(t).new_zeros(3))
    assert_same(g.new_tensor([1.5]), t.new_tensor([1.5]))
    assert_same(g.new_ones((2, 1)), t.new_ones((2, 1)))
    assert_same(g.new_full((2,), 3), t.new_full((2,), 3))


@pytest.mark.parametrize("args", [(3,), (2, 4), (4, 2)], ids=repr)
def test_eye(args):
    assert_same(gg.eye(*args), torch.eye(*args))
    assert_same(gg.eye(*args, dtype=gg.int64), torch.eye(*args, dtype=torch.int64))


@pytest.mark.parametrize("args", [(5,), (0, 10), (0, 10, 3), (1, 4, 0.5), (0.0, 1.0, 0.1), (10, 0, -2), (5.0,),
                                  (-3, 3), (0, 1, 0.3), (1, 2.5)], ids=repr)
def test_arange(args):
    assert_same(gg.arange(*args), torch.arange(*args))


def test_arange_keywords_and_dtype():
    assert_same(gg.arange(0, 10, step=2), torch.arange(0, 10, step=2))
    assert_same(gg.arange(5, dtype=gg.float64), torch.arange(5, dtype=torch.float64))
    assert_same(gg.arange(gg.tensor(4)), torch.arange(torch.tensor(4)))
    for args in [(0, 5, 0), (0, 5, -1), (5, 0)]:
        got, expected = raises_like(lambda: gg.arange(*args), lambda: torch.arange(*args))
        assert got == expected


@pytest.mark.parametrize("args", [(0, 1, 5), (-1, 1, 4), (2, 2, 1), (0, 10, 0), (0.0, 1.0, 11), (1, 0, 3)],
                         ids=repr)
def test_linspace(args):
    assert_same(gg.linspace(*args), torch.linspace(*args), exact=False)
    assert_same(gg.linspace(*args, dtype=gg.float64), torch.linspace(*args, dtype=torch.float64), exact=False)


def test_logspace():
    assert_same(gg.logspace(0, 2, 3), torch.logspace(0, 2, 3), exact=False)


# ---- random ------------------------------------------------------------------------------

@pytest.mark.parametrize("fn,args", [("rand", (3, 4)), ("randn", (2, 5)), ("rand", ((2, 2),)), ("randn", (4,))],
                         ids=str)
def test_random_shapes_dtypes_and_seeded_reproducibility(fn, args):
    gg.manual_seed(0)
    a = getattr(gg, fn)(*args)
    gg.manual_seed(0)
    b = getattr(gg, fn)(*args)
    c = getattr(gg, fn)(*args)
    t = getattr(torch, fn)(*args)
    assert tuple(a.shape) == tuple(t.shape) and a.dtype is gg.float32
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
    assert getattr(gg, fn)(*args, dtype=gg.float64).dtype is gg.float64


def test_rand_range_and_randn_moments():
    gg.manual_seed(1)
    r = gg.rand(10000)
    assert r.min().item() >= 0 and r.max().item() < 1
    n = gg.randn(10000)
    assert abs(n.mean().item()) < 0.05 and abs(n.std().item() - 1) < 0.05


def test_randint():
    gg.manual_seed(3)
    a = gg.randint(0, 10, (100,))
    gg.manual_seed(3)
    b = gg.randint(10, (100,))
    assert a.dtype is gg.int64 and a.shape == gg.Size([100]) and a.tolist() == b.tolist()
    assert a.min().item() >= 0 and a.max().item() < 10
    assert gg.randint(-5, 5, (2, 3)).shape == gg.Size([2, 3])
    assert gg.randint(3, (2,), dtype=gg.int32).dtype is gg.int32
    raises_like(lambda: gg.randint(5, 5, (2,)), lambda: torch.randint(5, 5, (2,)))


def test_random_like_and_randperm():
    g, t = both([[1.0, 2.0]])
    assert gg.rand_like(g).shape == gg.Size([1, 2]) and gg.randn_like(g).dtype is gg.float32
    ints = gg.randint_like(g, 5)
    assert ints.dtype is gg.float32 and torch.randint_like(t, 5).dtype is torch.float32
    assert sorted(gg.randperm(6).tolist()) == list(range(6))


def test_generator_is_independent_of_the_global_seed():
    gen = gg.Generator().manual_seed(42)
    a = gg.randn(3, generator=gen)
    gg.manual_seed(0)
    gen.manual_seed(42)
    assert gg.randn(3, generator=gen).tolist() == a.tolist()
    gg.manual_seed(5)
    state = gg.get_rng_state()
    x = gg.rand(4)
    gg.set_rng_state(state)
    assert gg.rand(4).tolist() == x.tolist()
    assert gg.initial_seed() == 5


def test_legacy_constructor():
    assert_same(gg.Tensor([1, 2]), torch.Tensor([1, 2]))
    assert tuple(gg.Tensor(2, 3).shape) == (2, 3) and gg.Tensor(2, 3).dtype is gg.float32


ERRORS = {
    "zeros_negative": lambda L: L.zeros(2, -3),
    "empty_negative": lambda L: L.empty(-1),
    "ones_negative": lambda L: L.ones((-1,)),
    "ragged_longer": lambda L: L.tensor([[1, 2], [3, 4, 5]]),
    "ragged_deeper": lambda L: L.tensor([[[1], [2]], [[3]]]),
    "scalar_then_list": lambda L: L.tensor([1, [2]]),
    "list_then_scalar": lambda L: L.tensor([[1], 2]),
    "eye_negative": lambda L: L.eye(2, -1),
    "linspace_negative": lambda L: L.linspace(0, 1, -1),
    "rand_int": lambda L: L.rand(2, dtype=L.int64),
    "randn_int": lambda L: L.randn(2, dtype=L.int32),
    "default_dtype_int": lambda L: L.set_default_dtype(L.int64),
    "requires_grad_int": lambda L: L.tensor([1, 2], requires_grad=True),
    "randint_empty_range": lambda L: L.randint(5, 5, (2,)),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_match_torch(case):
    got, expected = raises_like(lambda: ERRORS[case](gg), lambda: ERRORS[case](torch))
    assert got == expected
