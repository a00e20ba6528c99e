"""Losses (modules and functional) against torch: values, grad_fn names and gradients of the input
(and of the target where torch has one), in float64, for every reduction; and torch's errors."""
import warnings

import numpy as np
import pytest
import torch

import graphgrad as gg
from nn_helpers import assert_close, pair

R = np.random.default_rng(7)
REDUCTIONS = ["mean", "sum", "none"]


def run_loss(make, input_array, target_array, target_grad=False, **kwargs):
    """make(nn) -> loss module; returns nothing, asserts everything matches torch."""
    g_x, t_x = pair(input_array, requires_grad=True)
    g_t, t_t = pair(target_array, requires_grad=target_grad)
    g_out, t_out = make(gg.nn)(g_x, g_t), make(torch.nn)(t_x, t_t)
    assert_close(g_out, t_out, "loss")
    assert g_out.grad_fn.name() == t_out.grad_fn.name(), (g_out.grad_fn.name(), t_out.grad_fn.name())
    w = R.standard_normal(tuple(t_out.shape))
    (g_out * gg.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    assert_close(g_x.grad, t_x.grad, "input grad")
    if target_grad:
        assert_close(g_t.grad, t_t.grad, "target grad")


def logits(*shape):
    return R.standard_normal(shape) * 2


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_l1_smooth_huber(reduction):
    x, y = logits(4, 3), logits(4, 3)
    for make in (lambda nn: nn.MSELoss(reduction=reduction), lambda nn: nn.L1Loss(reduction=reduction),
                 lambda nn: nn.SmoothL1Loss(reduction=reduction, beta=0.7),
                 lambda nn: nn.HuberLoss(reduction=reduction, delta=1.3)):
        run_loss(make, x, y, target_grad=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_class_indices(reduction):
    target = np.array([1, 0, 4, 2, 2])
    run_loss(lambda nn: nn.CrossEntropyLoss(reduction=reduction), logits(5, 5), target)
    weight = np.array([0.2, 1.0, 2.0, 0.5, 1.5])
    run_loss(lambda nn: nn.CrossEntropyLoss(weight=_t(nn, weight), reduction=reduction), logits(5, 5), target)
    run_loss(lambda nn: nn.CrossEntropyLoss(ignore_index=2, reduction=reduction), logits(5, 5), target)
    run_loss(lambda nn: nn.CrossEntropyLoss(weight=_t(nn, weight), ignore_index=4, reduction=reduction),
             logits(5, 5), target)


def _t(nn, array):
    return (torch.tensor if nn is torch.nn else gg.tensor)(np.asarray(array))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_label_smoothing(reduction):
    target = np.array([1, 0, 3, 2])
    weight = np.array([0.2, 1.0, 2.0, 0.5])
    for make in (lambda nn: nn.CrossEntropyLoss(label_smoothing=0.1, reduction=reduction),
                 lambda nn: nn.CrossEntropyLoss(label_smoothing=0.2, ignore_index=0, reduction=reduction),
                 lambda nn: nn.CrossEntropyLoss(weight=_t(nn, weight), label_smoothing=0.3, reduction=reduction)):
        g_x, t_x = pair(logits(4, 4), requires_grad=True)
        g_out, t_out = make(gg.nn)(g_x, gg.tensor(target)), make(torch.nn)(t_x, torch.tensor(target))
        assert_close(g_out, t_out, "loss")
        g_out.sum().backward()
        t_out.sum().backward()
        assert_close(g_x.grad, t_x.grad, "grad")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities(reduction):
    probs = R.random((4, 5))
    probs /= probs.sum(1, keepdims=True)
    for kwargs in ({}, {"label_smoothing": 0.2}):
        g_x, t_x = pair(logits(4, 5), requires_grad=True)
        g_out = gg.nn.functional.cross_entropy(g_x, gg.tensor(probs), reduction=reduction, **kwargs)
        t_out = torch.nn.functional.cross_entropy(t_x, torch.tensor(probs), reduction=reduction, **kwargs)
        assert_close(g_out, t_out, "loss")
        g_out.sum().backward()
        t_out.sum().backward()
        assert_close(g_x.grad, t_x.grad, "grad")


def test_cross_entropy_spatial_and_unbatched():
    run_loss(lambda nn: nn.CrossEntropyLoss(), logits(2, 3, 4, 5), R.integers(0, 3, (2, 4, 5)))
    run_loss(lambda nn: nn.CrossEntropyLoss(reduction="none"), logits(2, 3, 4, 5), R.integers(0, 3, (2, 4, 5)))
    run_loss(lambda nn: nn.CrossEntropyLoss(), logits(5), np.array(3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    logp = np.log(R.random((6, 4)))
    target = np.array([0, 3, 1, 1, 2, 3])
    run_loss(lambda nn: nn.NLLLoss(reduction=reduction), logp, target)
    run_loss(lambda nn: nn.NLLLoss(weight=_t(nn, [1.0, 0.5, 2.0, 0.1]), ignore_index=1, reduction=reduction),
             logp, target)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce(reduction):
    p = R.random((4, 3)) * 0.98 + 0.01
    y = (R.random((4, 3)) > 0.5).astype(float)
    run_loss(lambda nn: nn.BCELoss(reduction=reduction), p, y)
    run_loss(lambda nn: nn.BCELoss(reduction=reduction), p, R.random((4, 3)), target_grad=True)
    run_loss(lambda nn: nn.BCELoss(weight=_t(nn, [0.5, 1.0, 2.0]), reduction=reduction), p, y)


def test_bce_clamps_log_at_minus_100():
    g_x, t_x = pair(np.array([0.0, 1.0, 0.5]), requires_grad=True)
    y = np.array([1.0, 0.0, 1.0])
    g = gg.nn.functional.binary_cross_entropy(g_x, gg.tensor(y))
    t = torch.nn.functional.binary_cross_entropy(t_x, torch.tensor(y))
    assert_close(g, t, "loss")
    g.backward()
    t.backward()
    assert_close(g_x.grad, t_x.grad, "grad")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction):
    x, y = logits(4, 3) * 3, R.random((4, 3))
    run_loss(lambda nn: nn.BCEWithLogitsLoss(reduction=reduction), x, y, target_grad=True)
    run_loss(lambda nn: nn.BCEWithLogitsLoss(pos_weight=_t(nn, [0.5, 2.0, 3.0]), reduction=reduction), x, y,
             target_grad=True)
    run_loss(lambda nn: nn.BCEWithLogitsLoss(weight=_t(nn, [0.5, 2.0, 3.0]), pos_weight=_t(nn, [2.0, 1.0, 0.3]),
                                             reduction=reduction), x, y, target_grad=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
def test_kl_div(reduction):
    logq = np.log(R.random((3, 4)))
    p = R.random((3, 4))
    p[0, 0] = 0.0
    g_x, t_x = pair(logq, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = gg.nn.functional.kl_div(g_x, gg.tensor(p), reduction=reduction)
        t = torch.nn.functional.kl_div(t_x, torch.tensor(p), reduction=reduction)
    assert len(caught) == (2 if reduction == "mean" else 0)  # torch's warning about 'mean', from both
    assert_close(g, t, "loss")
    g.sum().backward()
    t.sum().backward()
    assert_close(g_x.grad, t_x.grad, "grad")


def test_float32_cross_entropy_matches_and_keeps_dtype():
    x = logits(64, 10).astype(np.float32)
    y = R.integers(0, 10, 64)
    g = gg.nn.functional.cross_entropy(gg.tensor(x), gg.tensor(y))
    t = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(y))
    assert g.dtype is gg.float32
    np.testing.assert_allclose(g.item(), t.item(), rtol=1e-6)


def _same_error(fn):
    """fn(F, to_tensor) raises the same error class and message under graphgrad and torch."""
    with pytest.raises(Exception) as t_err:
        fn(torch.nn.functional, torch.tensor)
    with pytest.raises(Exception) as g_err:
        fn(gg.nn.functional, gg.tensor)
    assert type(g_err.value) is type(t_err.value)
    assert str(g_err.value).replace("graphgrad.", "torch.") == str(t_err.value)


@pytest.mark.parametrize("call", [
    lambda F, T: F.cross_entropy(T([[0.1, 0.2, 0.3]]), T([3])),
    lambda F, T: F.cross_entropy(T([[0.1, 0.2, 0.3]] * 3), T([1, 2])),
    lambda F, T: F.cross_entropy(T([[0.1, 0.2, 0.3]]), T([1], dtype=torch.int32 if T is torch.tensor else gg.int32)),
    lambda F, T: F.cross_entropy(T([[0.1, 0.2, 0.3]]), T([1.0])),
    lambda F, T: F.nll_loss(T([[0.1, 0.2, 0.3]]), T([1]), weight=T([1.0, 2.0])),
    lambda F, T: F.binary_cross_entropy(T([0.5, 0.2]), T([[1.0], [0.0]])),
    lambda F, T: F.binary_cross_entropy(T([1.5, 0.2]), T([1.0, 0.0])),
    lambda F, T: F.binary_cross_entropy_with_logits(T([0.5, 0.2]), T([[1.0], [0.0]])),
    lambda F, T: F.mse_loss(T([0.5]), T([0.2]), reduction="avg"),
], ids=["target_out_of_bounds", "batch_mismatch", "int32_target", "float_target", "bad_weight", "bce_shape",
        "bce_range", "bce_logits_shape", "bad_reduction"])
def test_loss_errors_match_torch(call):
    _same_error(call)


def test_mse_warns_on_broadcast_like_torch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gg.nn.functional.mse_loss(gg.zeros(3, 1), gg.zeros(3))
    assert any("Using a target size (graphgrad.Size([3])) that is different to the input size" in str(w.message)
               for w in caught)


def test_legacy_size_average_and_reduce():
    loss = gg.nn.MSELoss(size_average=False)
    assert loss.reduction == "sum"
    assert gg.nn.L1Loss(reduce=False).reduction == "none"


def test_loss_module_reprs():
    for make in (lambda nn: nn.CrossEntropyLoss(), lambda nn: nn.MSELoss(), lambda nn: nn.BCEWithLogitsLoss(),
                 lambda nn: nn.NLLLoss()):
        assert repr(make(gg.nn)) == repr(make(torch.nn))
