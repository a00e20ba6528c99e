"""nn.ConvTranspose1d/2d against torch.nn: the same seeded initialisation, outputs and gradients,
output_size, printing and errors (the op itself is in the op table: conv_transpose1d/2d)."""
import numpy as np
import pytest
import torch

import graphgrad as gg
from nn_helpers import compare_module

R = np.random.default_rng(7)


@pytest.mark.parametrize("build, shape", [
    (lambda nn: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2), (2, 4, 5, 5)),
    (lambda nn: nn.ConvTranspose2d(3, 2, (2, 3), stride=(2, 1), dilation=(1, 2), bias=False), (1, 3, 4, 3)),
    (lambda nn: nn.ConvTranspose2d(3, 2, 3), (3, 4, 4)),                                     # unbatched
    (lambda nn: nn.ConvTranspose1d(4, 4, 3, stride=3, padding=1, output_padding=2, groups=4), (2, 4, 6)),
    (lambda nn: nn.ConvTranspose1d(2, 3, 4, dilation=2), (2, 5)),
])
def test_matches_torch(build, shape):
    compare_module(build(gg.nn), build(torch.nn), R.standard_normal(shape))


def test_seeded_initialisation_is_torchs():
    torch.manual_seed(3)
    t = torch.nn.ConvTranspose2d(4, 6, 3, groups=2)
    gg.manual_seed(3)
    g = gg.nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert tuple(g.weight.shape) == (4, 3, 3, 3) and tuple(g.bias.shape) == (6,)
    np.testing.assert_array_equal(g.weight.detach().numpy(), t.weight.detach().numpy())
    np.testing.assert_array_equal(g.bias.detach().numpy(), t.bias.detach().numpy())


def test_repr_is_torchs():
    args = [(4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2, dilation=2)]
    assert repr(gg.nn.ConvTranspose2d(*args[0], **args[1])) == repr(torch.nn.ConvTranspose2d(*args[0], **args[1]))
    assert repr(gg.nn.ConvTranspose1d(4, 6, 3, bias=False)) == repr(torch.nn.ConvTranspose1d(4, 6, 3, bias=False))


def test_output_size_picks_the_output_padding():
    x = R.standard_normal((1, 4, 5, 5)).astype(np.float32)
    for size in ([9, 9], [10, 10], [1, 4, 10, 9]):
        torch.manual_seed(0)
        t = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1)
        gg.manual_seed(0)
        g = gg.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1)
        expected = t(torch.tensor(x), output_size=size)
        got = g(gg.tensor(x), output_size=size)
        assert tuple(got.shape) == tuple(expected.shape)
        np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), atol=1e-6)
    with pytest.raises(ValueError, match=r"requested an output size of \[12, 12\], but valid sizes range from "
                                         r"\[9, 9\] to \[10, 10\]"):
        g(gg.tensor(x), output_size=[12, 12])


@pytest.mark.parametrize("call", [
    lambda F, lib: F.conv_transpose2d(lib.ones(1, 3, 4, 4), lib.ones(4, 2, 3, 3)),
    lambda F, lib: F.conv_transpose2d(lib.ones(3, 4), lib.ones(3, 2, 3, 3)),
    lambda F, lib: F.conv_transpose2d(lib.ones(1, 3, 4, 4), lib.ones(3, 2, 3, 3), stride=2, output_padding=2),
    lambda F, lib: F.conv_transpose2d(lib.ones(1, 3, 1, 1), lib.ones(3, 2, 1, 1), padding=1),
    lambda F, lib: F.conv_transpose2d(lib.ones(1, 3, 4, 4), lib.ones(3, 2, 3, 3, dtype=lib.float64)),
    lambda F, lib: F.conv_transpose1d(lib.ones(1, 3, 4, 4), lib.ones(3, 2, 3)),
])
def test_errors_are_torchs(call):
    with pytest.raises(RuntimeError) as expected:
        call(torch.nn.functional, torch)
    with pytest.raises(RuntimeError) as got:
        call(gg.nn.functional, gg)
    assert str(got.value) == str(expected.value)


def test_only_zeros_padding_mode():
    for lib in (torch, gg):
        with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
            lib.nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")


@pytest.mark.parametrize("activation", ["leaky_relu", "elu", "silu", "hardtanh", "mish"])
def test_in_place_activations_after_a_layer_backpropagate_as_torch(activation):
    """DCGAN's discriminator: Conv2d, BatchNorm2d, LeakyReLU(inplace=True). The activation's node
    keeps the values it was given (torch's original_self), so the in-place write is no error."""
    x = R.standard_normal((2, 1, 6, 6))
    grads = []
    for lib in (torch, gg):
        lib.manual_seed(0)
        conv, norm = lib.nn.Conv2d(1, 2, 3).double(), lib.nn.BatchNorm2d(2).double()
        inp = lib.tensor(x, requires_grad=True)
        h = getattr(lib.nn.functional, activation)(norm(conv(inp)), inplace=True)
        (h * h).sum().backward()
        grads.append([inp.grad.numpy(), conv.weight.grad.numpy()])
    for a, b in zip(grads[1], grads[0]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_an_in_place_op_on_a_normalisation_without_affine_parameters():
    """F.batch_norm / F.layer_norm without weight and bias: the output is not the array their
    backward reads, so relu_ on it leaves their gradients right."""
    x = R.standard_normal((4, 3))
    grads = []
    for lib in (torch, gg):
        a = lib.tensor(x, requires_grad=True)
        for h in (lib.nn.functional.batch_norm(a * 1, None, None, training=True),
                  lib.nn.functional.layer_norm(a * 1, (3,))):
            lib.nn.functional.relu(h, inplace=True)
            (h * h).sum().backward()
        grads.append(a.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-12)
