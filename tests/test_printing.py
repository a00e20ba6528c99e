"""What tensors and friends print, against PyTorch (torch. spelled graphgrad.): autograd and dtype
suffixes, Size, dtypes, devices, return_types, print options. The number formatting itself is
checked byte for byte in test_printing_format.py."""
import pytest
import torch

import graphgrad as gg
from core_helpers import torch_repr

M = [[1.0, -2.5, 3.0], [4.0, 5.25, -6.0]]


def leaf(L, data=M, **kw):
    return L.tensor(data, requires_grad=True, **kw)


CASES = {
    "leaf_requires_grad": lambda L: leaf(L),
    "grad_fn": lambda L: leaf(L) * 2,
    "grad_fn_scalar": lambda L: (leaf(L) * 2).sum(),
    "grad_fn_float64": lambda L: leaf(L, dtype=L.float64).exp(),
    "requires_grad_float16": lambda L: leaf(L, dtype=L.float16),
    "detached": lambda L: (leaf(L) * 2).detach(),
    "int32": lambda L: L.tensor([1, 2], dtype=L.int32),
    "int64": lambda L: L.tensor([1, 2]),
    "uint8": lambda L: L.tensor([1, 200], dtype=L.uint8),
    "bool": lambda L: L.tensor([True, False]),
    "float64": lambda L: L.tensor([0.1, 2.0], dtype=L.float64),
    "empty_float": lambda L: L.zeros(0),
    "empty_int16": lambda L: L.zeros(0, dtype=L.int16),
    "empty_2d": lambda L: L.zeros(2, 0),
    "empty_requires_grad": lambda L: L.zeros(0, requires_grad=True),
    "scalar_pow_grad_fn": lambda L: L.tensor(2.0, requires_grad=True) ** 2,
    "view_grad_fn": lambda L: leaf(L)[0],
    "unbind_outputs": lambda L: leaf(L).unbind(0),
    "split_outputs": lambda L: leaf(L).split(1, 1),
    "list_of_tensors": lambda L: [L.tensor(1.0), L.tensor([1, 2])],
    "grad_after_backward": lambda L: (lambda t: ((t * t).sum().backward(), t.grad)[1])(leaf(L)),
    "summarized_with_grad_fn": lambda L: L.arange(2000.0, requires_grad=True).reshape(40, 50) * 1,
    "long_row_suffix_wraps": lambda L: L.arange(12.0, dtype=L.float64, requires_grad=True) * 1.5,
    "max_dim": lambda L: L.tensor([[1, 5, 3], [4, 2, 6]]).max(dim=0),
    "max_dim_grad": lambda L: leaf(L).max(dim=1),
    "min_keepdim": lambda L: leaf(L).min(1, keepdim=True),
    "max_fields": lambda L: (lambda r: (r.values, r.indices, r[0], r[1], tuple(r)))(L.tensor([3.0, 1, 2]).max(0)),
    "no_grad_view_keeps_requires_grad": lambda L: (lambda x: (L.no_grad().__enter__(), x[0],
                                                               L.set_grad_enabled(True))[1])(leaf(L)),
}


@pytest.mark.parametrize("case", CASES)
def test_repr_and_str_match_torch(case):
    got, expected = CASES[case](gg), CASES[case](torch)
    assert repr(got) == torch_repr(expected)
    assert str(got) == str(expected).replace("torch.", "graphgrad.")


def test_print_shows_the_same_text(capsys):
    printed = []
    for L in (gg, torch):
        x = leaf(L)
        print(x, x.shape, x.dtype, x.device, x.max(dim=0), x.size(1), sep="\n")
        printed.append(capsys.readouterr().out)
    assert printed[0] == printed[1].replace("torch.", "graphgrad.")


@pytest.mark.parametrize("make", [
    lambda L: L.Size([2, 3]), lambda L: L.Size([]), lambda L: L.Size([5]), lambda L: L.zeros(2, 3).shape,
    lambda L: L.zeros(2, 3).size(), lambda L: L.zeros(4, 1)[1:].shape, lambda L: L.float32, lambda L: L.int64,
    lambda L: L.bool, lambda L: L.float16, lambda L: L.uint8, lambda L: L.zeros(1).dtype,
    lambda L: L.device("cpu"), lambda L: L.device("cuda:1"), lambda L: L.device("cuda", 0), lambda L: L.device("cuda"),
    lambda L: L.zeros(1).device,
], ids=lambda f: "")
def test_reprs_of_sizes_dtypes_devices(make):
    assert repr(make(gg)) == torch_repr(make(torch))
    assert str(make(gg)) == str(make(torch)).replace("torch.", "graphgrad.")


def test_default_dtype_decides_the_dtype_suffix():
    for L in (gg, torch):
        L.set_default_dtype(L.float64)
    try:
        for make in [lambda L: L.tensor([1.5]), lambda L: L.tensor([1.5], dtype=L.float32),
                     lambda L: L.tensor([1.5], dtype=L.float64, requires_grad=True) * 2]:
            assert repr(make(gg)) == torch_repr(make(torch))
    finally:
        for L in (gg, torch):
            L.set_default_dtype(L.float32)


def test_grad_fn_and_node_reprs():
    g, t = leaf(gg) * 2, leaf(torch) * 2
    assert repr(g.grad_fn).split(" object at ")[0] == repr(t.grad_fn).split(" object at ")[0] == "<MulBackward0"
    assert repr(g.grad_fn.next_functions[0][0]).startswith("<AccumulateGrad object at 0x")


def test_set_printoptions():
    try:
        for L in (gg, torch):
            L.set_printoptions(precision=2)
        assert repr(gg.tensor([1.23456, 2.0])) == torch_repr(torch.tensor([1.23456, 2.0]))
        for L in (gg, torch):
            L.set_printoptions(threshold=5, edgeitems=1)
        assert repr(gg.arange(10.0)) == torch_repr(torch.arange(10.0))
    finally:
        for L in (gg, torch):
            L.set_printoptions(profile="default")


def test_device_suffix_on_a_gpu_tensor_is_laid_out_as_torch_does():
    """No GPU is needed to check the text: torch prints cuda tensors this way."""
    from graphgrad.printing import tensor_repr
    assert tensor_repr([1.0, 2.0], "float32", device_str="cuda:0") == "tensor([1., 2.], device='cuda:0')"
    assert (tensor_repr([1.0, 2.0], "float64", device_str="cuda:0", suffixes=["grad_fn=<MulBackward0>"])
            == "tensor([1., 2.], device='cuda:0', dtype=graphgrad.float64, grad_fn=<MulBackward0>)")
