"""The Tensor surface against PyTorch: attributes, conversions, indexing, assignment, views."""
import numpy as np
import pytest
import torch

import graphgrad as gg
from core_helpers import assert_same, both, raises_like


def grid(*shape, dtype="float32"):
    """The same arange-filled tensor in both libraries."""
    data = np.arange(int(np.prod(shape))).reshape(shape)
    return both(data.tolist(), dtype=dtype)


# ---- attributes ---------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Tensor.T is deprecated on 0-D tensors")
def test_attributes():
    g, t = grid(2, 3)
    assert isinstance(g.shape, gg.Size) and isinstance(g.shape, tuple)
    assert g.shape == (2, 3) and g.size() == gg.Size([2, 3]) and g.size(1) == 3 and g.size(-1) == 3
    assert (g.ndim, g.dim(), g.numel(), len(g)) == (t.ndim, t.dim(), t.numel(), len(t))
    assert g.dtype is gg.float32 and g.device == gg.device("cpu") and str(g.device) == "cpu"
    assert (g.requires_grad, g.grad, g.grad_fn, g.is_leaf) == (False, None, None, True)
    assert g.stride() == t.stride() and g.T.stride() == t.T.stride() and g.is_contiguous()
    assert g.element_size() == t.element_size() and g.itemsize == t.itemsize
    assert g.is_floating_point() and not gg.tensor([1]).is_floating_point()
    assert not g.is_cuda
    assert_same(g.T, t.T)
    assert_same(gg.tensor(5.0).T, torch.tensor(5.0).T)
    raises_like(lambda: g.size(2), lambda: t.size(2))
    raises_like(lambda: len(gg.tensor(1.0)), lambda: len(torch.tensor(1.0)))


def test_size_behaves_like_torch_size():
    s, ts = gg.Size([2, 3, 4]), torch.Size([2, 3, 4])
    assert s == (2, 3, 4) and s.numel() == ts.numel() == 24
    assert s[1] == 3 and isinstance(s[1:], gg.Size) and s[1:] == (3, 4)
    assert isinstance(s + (5,), gg.Size) or isinstance(s + gg.Size([5]), gg.Size)
    assert list(s) == [2, 3, 4]
    assert repr(s) == repr(ts).replace("torch.", "graphgrad.") and str(s) == str(ts).replace("torch.", "graphgrad.")


# ---- conversions ----------------------------------------------------------------------------

def test_item_and_tolist():
    g, t = grid(2, 3)
    assert g.tolist() == t.tolist() and type(g.tolist()[0][0]) is float
    assert gg.tensor(3).item() == 3 and type(gg.tensor(3).item()) is int
    assert type(gg.tensor(2.5).item()) is float and type(gg.tensor(True).item()) is bool
    assert gg.tensor([[7.0]]).item() == 7.0
    assert gg.tensor(1.5).tolist() == torch.tensor(1.5).tolist()
    raises_like(lambda: g.item(), lambda: t.item())


def test_python_scalar_conversions():
    assert float(gg.tensor([2.5])) == 2.5 and int(gg.tensor(3.7)) == 3 and bool(gg.tensor([0])) is False
    assert [10, 20, 30][gg.tensor(1)] == 20
    raises_like(lambda: float(gg.ones(2)), lambda: float(torch.ones(2)))
    raises_like(lambda: bool(gg.ones(2)), lambda: bool(torch.ones(2)))
    assert f"{gg.tensor(3.14159):.2f}" == f"{torch.tensor(3.14159):.2f}"


def test_numpy_refuses_requires_grad_with_torchs_message():
    g = gg.ones(2, requires_grad=True)
    got, expected = raises_like(lambda: g.numpy(), lambda: torch.ones(2, requires_grad=True).numpy())
    assert got == expected
    assert np.array_equal(g.detach().numpy(), [1, 1])
    assert type(gg.tensor([1, 2]).numpy()) is np.ndarray and gg.tensor([1, 2]).numpy().dtype == np.int64
    assert np.asarray(gg.tensor([1.5])).dtype == np.float32


@pytest.mark.parametrize("method", ["float", "double", "half", "long", "int", "short", "char", "byte", "bool"])
def test_dtype_methods(method):
    g, t = both([[-1.5, 0.0, 2.7], [3.0, 255.9, -0.2]])
    assert_same(getattr(g, method)(), getattr(t, method)())


def test_to():
    g, t = both([1.7, -2.2])
    assert_same(g.to(gg.int32), t.to(torch.int32))
    assert_same(g.to(dtype=gg.float64), t.to(dtype=torch.float64))
    assert_same(g.to(gg.tensor([1])), t.to(torch.tensor([1])))
    assert g.to("cpu") is g and g.to(gg.float32) is g and g.cpu() is g and g.to(gg.device("cpu")) is g
    assert g.to(gg.float32, copy=True) is not g
    assert g.type() == t.type() == "torch.FloatTensor"
    assert_same(g.type(gg.float64), t.type(torch.float64))
    assert_same(g.type_as(gg.tensor([1])), t.type_as(torch.tensor([1])))


def test_to_keeps_the_graph():
    g = gg.tensor([1.5, 2.0], requires_grad=True)
    t = torch.tensor([1.5, 2.0], requires_grad=True)
    a, b = g.double(), t.double()
    assert a.grad_fn.name() == b.grad_fn.name() == "ToCopyBackward0"
    (a * a).sum().backward()
    (b * b).sum().backward()
    assert_same(g.grad, t.grad)


# ---- indexing --------------------------------------------------------------------------------

KEYS = [
    0, -1, 1, slice(None), slice(1, None), slice(None, None, 2), slice(-3, -1), slice(5, 100), slice(3, 1),
    (0, 1), (-1, -2), (slice(None), 0), (slice(None), slice(None, None, 2)), (1, slice(1, None, 2), -1),
    None, (None, 0), (slice(None), None, 1), Ellipsis, (Ellipsis, 0), (0, Ellipsis), (Ellipsis, None),
    (0, Ellipsis, slice(1, 3)), [0, 2], [[0, 1], [2, 2]], ([0, 2], [1, 3]), (slice(None), [0, 0, 3]),
    (1, [0, 2]), ([0, 2], slice(None), 1), [True, False, True],
]


@pytest.mark.parametrize("key", KEYS, ids=repr)
@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence for multidimensional indexing")
def test_getitem(key):
    g, t = grid(3, 4, 5)
    assert_same(g[key], t[key])


def test_getitem_with_tensors():
    g, t = grid(3, 4)
    for gk, tk in [both([2, 0]), both([[0], [1]]), both(1), both([True, False, True]), both([1], dtype="int32"),
                   both([0, 2], dtype="uint8")]:
        if gk.dtype is gg.uint8:
            continue  # torch reads uint8 indices as a (deprecated) mask
        assert_same(g[gk], t[tk])
    assert_same(g[g > 5], t[t > 5])
    assert_same(g[g[:, 0] > 2], t[t[:, 0] > 2])
    assert_same(g[:, gg.tensor([3, 1])], t[:, torch.tensor([3, 1])])
    assert_same(g[gg.tensor(2)], t[torch.tensor(2)])


def test_index_errors():
    g, t = grid(3, 4)
    for key in [5, (0, 4), (0, 0, 0)]:
        raises_like(lambda: g[key], lambda: t[key])
    raises_like(lambda: g[gg.tensor([1.0])], lambda: t[torch.tensor([1.0])])


def test_basic_indexing_is_a_view():
    g, t = grid(3, 4)
    row, col, stepped = g[1], g[:, 2], g[::2, 1::2]
    g.mul_(10)
    t.mul_(10)
    assert_same(row, t[1])
    assert_same(col, t[:, 2])
    assert_same(stepped, t[::2, 1::2])
    picked = g[[0, 1]]  # advanced indexing copies
    g.zero_()
    assert picked.sum().item() == t[[0, 1]].sum().item()


SET_CASES = [
    (0, 9), ((1, 2), -1), (slice(None), 5.5), ((slice(None), 1), [1, 2, 3]), (slice(0, 2), [[1], [2]]),
    ((Ellipsis, 0), 7), ([0, 2], 3), (([0, 2], [1, 3]), [8, 9]), ((slice(None, None, 2), slice(1, None, 2)), 4),
    (None, 1),
]


@pytest.mark.parametrize("key,value", SET_CASES, ids=repr)
def test_setitem(key, value):
    g, t = grid(3, 4)
    g[key] = value
    t[key] = torch.tensor(value, dtype=t.dtype) if isinstance(value, list) else value
    assert_same(g, t)


def test_setitem_with_tensors_masks_and_broadcasting():
    g, t = grid(3, 4)
    g[g > 6] = 0
    t[t > 6] = 0
    assert_same(g, t)
    g[1] = gg.tensor([1.0, 2, 3, 4])
    t[1] = torch.tensor([1.0, 2, 3, 4])
    g[:, 0] = gg.tensor(-1)
    t[:, 0] = torch.tensor(-1)
    g[gg.tensor([2])] = gg.tensor([[5.0, 6, 7, 8]])
    t[torch.tensor([2])] = torch.tensor([[5.0, 6, 7, 8]])
    assert_same(g, t)
    g[:2] = gg.tensor([0.5, 0.25, 0.125, 1.0], dtype=gg.float64)  # cast into the target's dtype
    t[:2] = torch.tensor([0.5, 0.25, 0.125, 1.0], dtype=torch.float64)
    assert_same(g, t)


def test_setitem_writes_through_views_and_bumps_versions():
    g, t = grid(2, 3)
    view = g[1]
    before = g._version
    view[0] = 100
    assert g[1, 0].item() == 100 and g._version == before + 1
    gi, ti = grid(2, 3, dtype="int64")
    gi[0] = 2.9  # truncated into an integer tensor, as in torch
    ti[0] = 2.9
    assert_same(gi, ti)


def test_setitem_shape_mismatch_is_refused():
    g, t = grid(3, 4)
    raises_like(lambda: g.__setitem__(0, gg.ones(3)), lambda: t.__setitem__(0, torch.ones(3)))
    assert_same(g, t)


# ---- views share memory ---------------------------------------------------------------------------

VIEWS = [
    ("view", lambda x: x.view(4, 6)), ("view-1", lambda x: x.view(-1)), ("view_tuple", lambda x: x.view((2, 12))),
    ("reshape", lambda x: x.reshape(6, -1)), ("flatten", lambda x: x.flatten()),
    ("flatten1", lambda x: x.flatten(1)), ("unsqueeze", lambda x: x.unsqueeze(1)),
    ("squeeze", lambda x: x.unsqueeze(0).squeeze()), ("squeeze_dim", lambda x: x.unsqueeze(2).squeeze(2)),
    ("transpose", lambda x: x.transpose(0, 2)), ("t", lambda x: x[0].t()), ("permute", lambda x: x.permute(2, 0, 1)),
    ("expand", lambda x: x[:, :1].expand(2, 5, 4)), ("contiguous", lambda x: x.contiguous()),
    ("T", lambda x: x[0].T), ("select", lambda x: x[1, :, 2]), ("narrow", lambda x: x.narrow(1, 1, 2)),
    ("unflatten", lambda x: x.unflatten(2, (2, 2))), ("view_as", lambda x: x.view_as(torch.empty(3, 8))
                                                       if isinstance(x, torch.Tensor) else x.view_as(gg.empty(3, 8))),
]


@pytest.mark.parametrize("name,fn", VIEWS, ids=[v[0] for v in VIEWS])
def test_views_match_and_share_memory(name, fn):
    g, t = grid(2, 3, 4)
    gv, tv = fn(g), fn(t)
    assert_same(gv, tv)
    assert gv.is_contiguous() == tv.is_contiguous(), "contiguity differs from torch"
    g.add_(1)
    t.add_(1)
    assert_same(gv, tv)  # the view sees writes to its base
    if name != "expand":
        gv.mul_(2)
        tv.mul_(2)
        assert_same(g, t)  # and the base sees writes to the view
    assert gv._version == g._version  # one version counter per memory


def test_reshape_copies_only_when_it_must():
    g, t = grid(3, 4)
    copied = g.t().reshape(-1)
    g.zero_()
    assert copied.sum().item() == t.t().reshape(-1).sum().item()
    raises_like(lambda: g.t().view(-1), lambda: t.t().view(-1))


def test_contiguous_of_a_transposed_tensor_copies():
    g, t = grid(2, 3)
    c, tc = g.t().contiguous(), t.t().contiguous()
    assert c.is_contiguous() and c.stride() == tc.stride()
    assert g.contiguous() is g


def test_shape_errors_match_torch():
    g, t = grid(2, 3)
    for fn in [lambda x: x.view(4, 2), lambda x: x.reshape(5), lambda x: x.permute(0, 0),
               lambda x: x.transpose(0, 2), lambda x: x.expand(3, 3), lambda x: x.view(-1, -1)]:
        raises_like(lambda: fn(g), lambda: fn(t))


def test_iteration_and_membership():
    g, t = grid(3, 2)
    for a, b in zip(g, t):
        assert_same(a, b)
    assert 3 in g and 3.5 not in g
    assert [r.tolist() for r in g] == t.tolist()
