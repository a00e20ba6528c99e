"""Every graphgrad.nn layer against torch.nn: torch's weights copied in, then outputs, buffers,
grad_fn names and the gradients of inputs and parameters compared in float64."""
import numpy as np
import pytest
import torch

import graphgrad as gg
from nn_helpers import compare_module, pair, assert_close

R = np.random.default_rng(1234)


def randn(*shape, scale=1.0):
    return R.standard_normal(shape) * scale


# (id, build(nn) -> module, input arrays); build runs once with torch.nn and once with graphgrad.nn
CASES = [
    ("linear", lambda nn: nn.Linear(5, 3), [randn(4, 5)]),
    ("linear_nobias_3d", lambda nn: nn.Linear(5, 3, bias=False), [randn(2, 4, 5)]),
    ("linear_1d", lambda nn: nn.Linear(5, 3), [randn(5)]),
    ("conv2d", lambda nn: nn.Conv2d(3, 4, 3), [randn(2, 3, 7, 6)]),
    ("conv2d_stride_pad", lambda nn: nn.Conv2d(3, 4, 3, stride=2, padding=1), [randn(2, 3, 8, 7)]),
    ("conv2d_rect", lambda nn: nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(0, 2), bias=False),
     [randn(2, 2, 7, 5)]),
    ("conv2d_dilation", lambda nn: nn.Conv2d(3, 4, 3, dilation=2, padding=2), [randn(2, 3, 9, 9)]),
    ("conv2d_groups", lambda nn: nn.Conv2d(4, 6, 3, groups=2, padding=1), [randn(2, 4, 5, 5)]),
    ("conv2d_depthwise", lambda nn: nn.Conv2d(3, 3, 3, groups=3), [randn(1, 3, 6, 6)]),
    ("conv2d_same_even", lambda nn: nn.Conv2d(2, 3, 4, padding="same"), [randn(2, 2, 6, 6)]),
    ("conv2d_valid", lambda nn: nn.Conv2d(2, 3, 3, padding="valid"), [randn(2, 2, 6, 6)]),
    ("conv2d_unbatched", lambda nn: nn.Conv2d(2, 3, 3), [randn(2, 5, 5)]),
    ("conv2d_1x1", lambda nn: nn.Conv2d(3, 5, 1, stride=2), [randn(2, 3, 5, 5)]),
    ("conv2d_reflect", lambda nn: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), [randn(2, 2, 5, 6)]),
    ("conv2d_replicate", lambda nn: nn.Conv2d(2, 3, 3, padding=2, padding_mode="replicate"), [randn(1, 2, 5, 5)]),
    ("conv2d_circular", lambda nn: nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular"), [randn(1, 2, 5, 5)]),
    ("conv1d", lambda nn: nn.Conv1d(3, 4, 3, stride=2, padding=1), [randn(2, 3, 9)]),
    ("conv1d_dilation_groups", lambda nn: nn.Conv1d(4, 4, 2, dilation=3, groups=2), [randn(2, 4, 10)]),
    ("maxpool2d", lambda nn: nn.MaxPool2d(2), [randn(2, 3, 6, 6)]),
    ("maxpool2d_overlap_pad", lambda nn: nn.MaxPool2d(3, stride=2, padding=1), [randn(2, 3, 7, 8)]),
    ("maxpool2d_ceil", lambda nn: nn.MaxPool2d(3, stride=2, ceil_mode=True), [randn(1, 2, 8, 8)]),
    ("maxpool2d_dilation", lambda nn: nn.MaxPool2d(2, stride=1, dilation=2), [randn(1, 2, 6, 6)]),
    ("maxpool2d_unbatched", lambda nn: nn.MaxPool2d(2), [randn(3, 4, 4)]),
    ("maxpool1d", lambda nn: nn.MaxPool1d(3, stride=2, padding=1), [randn(2, 3, 9)]),
    ("avgpool2d", lambda nn: nn.AvgPool2d(2), [randn(2, 3, 6, 6)]),
    ("avgpool2d_pad", lambda nn: nn.AvgPool2d(3, stride=2, padding=1), [randn(2, 3, 7, 7)]),
    ("avgpool2d_pad_exclude", lambda nn: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
     [randn(2, 3, 7, 7)]),
    ("avgpool2d_ceil", lambda nn: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True), [randn(1, 2, 8, 8)]),
    ("avgpool2d_divisor", lambda nn: nn.AvgPool2d(2, divisor_override=3), [randn(1, 2, 4, 4)]),
    ("avgpool1d", lambda nn: nn.AvgPool1d(3, stride=2, padding=1), [randn(2, 3, 9)]),
    ("adaptive_avg_1x1", lambda nn: nn.AdaptiveAvgPool2d((1, 1)), [randn(2, 3, 5, 5)]),
    ("adaptive_avg_uneven", lambda nn: nn.AdaptiveAvgPool2d((3, 4)), [randn(2, 3, 7, 9)]),
    ("adaptive_avg_none", lambda nn: nn.AdaptiveAvgPool2d((2, None)), [randn(2, 3, 5, 4)]),
    ("adaptive_avg_1d", lambda nn: nn.AdaptiveAvgPool1d(3), [randn(2, 3, 7)]),
    ("batchnorm1d", lambda nn: nn.BatchNorm1d(3), [randn(6, 3, scale=2) + 1]),
    ("batchnorm1d_3d", lambda nn: nn.BatchNorm1d(3, momentum=0.3), [randn(4, 3, 5)]),
    ("batchnorm2d", lambda nn: nn.BatchNorm2d(3), [randn(2, 3, 4, 4) * 3 - 1]),
    ("batchnorm2d_eval", lambda nn: _stats(nn.BatchNorm2d(3)).eval(), [randn(2, 3, 4, 4)]),
    ("batchnorm2d_noaffine", lambda nn: nn.BatchNorm2d(3, affine=False), [randn(2, 3, 4, 4)]),
    ("batchnorm2d_cumulative", lambda nn: nn.BatchNorm2d(3, momentum=None), [randn(2, 3, 4, 4)]),
    ("batchnorm2d_untracked", lambda nn: nn.BatchNorm2d(3, track_running_stats=False).eval(), [randn(2, 3, 4, 4)]),
    ("layernorm", lambda nn: _affine(nn.LayerNorm(5)), [randn(3, 5)]),
    ("layernorm_2d", lambda nn: _affine(nn.LayerNorm((4, 5))), [randn(2, 3, 4, 5)]),
    ("layernorm_plain", lambda nn: nn.LayerNorm(5, elementwise_affine=False), [randn(3, 5)]),
    ("layernorm_nobias", lambda nn: nn.LayerNorm(5, bias=False), [randn(3, 5)]),
    ("groupnorm", lambda nn: _affine(nn.GroupNorm(2, 4)), [randn(3, 4, 5)]),
    ("embedding", lambda nn: nn.Embedding(10, 3), [np.array([[1, 2, 4], [4, 3, 9]])]),
    ("embedding_padding", lambda nn: nn.Embedding(10, 3, padding_idx=0), [np.array([0, 2, 0, 5, 2])]),
    ("flatten", lambda nn: nn.Flatten(), [randn(2, 3, 4)]),
    ("flatten_dims", lambda nn: nn.Flatten(0, 1), [randn(2, 3, 4)]),
    ("unflatten", lambda nn: nn.Unflatten(1, (2, 3)), [randn(4, 6)]),
    ("identity", lambda nn: nn.Identity(7, x=1), [randn(4, 6)]),
    ("relu", lambda nn: nn.ReLU(), [randn(4, 6)]),
    ("leaky_relu", lambda nn: nn.LeakyReLU(0.2), [randn(4, 6)]),
    ("gelu", lambda nn: nn.GELU(), [randn(4, 6, scale=2)]),
    ("gelu_tanh", lambda nn: nn.GELU("tanh"), [randn(4, 6, scale=2)]),
    ("elu", lambda nn: nn.ELU(0.7), [randn(4, 6)]),
    ("selu", lambda nn: nn.SELU(), [randn(4, 6)]),
    ("celu", lambda nn: nn.CELU(0.5), [randn(4, 6)]),
    ("silu", lambda nn: nn.SiLU(), [randn(4, 6, scale=3)]),
    ("mish", lambda nn: nn.Mish(), [randn(4, 6, scale=3)]),
    ("softplus", lambda nn: nn.Softplus(beta=2, threshold=1), [randn(4, 6)]),
    ("hardtanh", lambda nn: nn.Hardtanh(-0.5, 0.7), [randn(4, 6)]),
    ("relu6", lambda nn: nn.ReLU6(), [randn(4, 6, scale=5)]),
    ("hardswish", lambda nn: nn.Hardswish(), [randn(4, 6, scale=4)]),
    ("hardsigmoid", lambda nn: nn.Hardsigmoid(), [randn(4, 6, scale=4)]),
    ("logsigmoid", lambda nn: nn.LogSigmoid(), [randn(4, 6, scale=4)]),
    ("softsign", lambda nn: nn.Softsign(), [randn(4, 6)]),
    ("sigmoid", lambda nn: nn.Sigmoid(), [randn(4, 6)]),
    ("tanh", lambda nn: nn.Tanh(), [randn(4, 6)]),
    ("softmax", lambda nn: nn.Softmax(dim=1), [randn(4, 6)]),
    ("log_softmax", lambda nn: nn.LogSoftmax(dim=-1), [randn(4, 6)]),
    ("softmin", lambda nn: nn.Softmin(dim=0), [randn(4, 6)]),
    ("prelu", lambda nn: nn.PReLU(), [randn(4, 6)]),
    ("prelu_channels", lambda nn: nn.PReLU(3, init=0.1), [randn(2, 3, 4)]),
    ("rnn", lambda nn: nn.RNN(3, 4), [randn(5, 2, 3)]),
    ("rnn_relu_layers", lambda nn: nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bias=False), [randn(5, 2, 3)]),
    ("rnn_with_h0", lambda nn: nn.RNN(3, 4, batch_first=True), [randn(2, 5, 3), randn(1, 2, 4)]),
    ("lstm", lambda nn: nn.LSTM(3, 4), [randn(5, 2, 3)]),
    ("lstm_deep_bidir", lambda nn: nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True),
     [randn(2, 5, 3)]),
    ("lstm_unbatched", lambda nn: nn.LSTM(3, 4), [randn(5, 3)]),
    ("gru", lambda nn: nn.GRU(3, 4, num_layers=2), [randn(5, 2, 3)]),
    ("gru_bidir", lambda nn: nn.GRU(3, 4, bidirectional=True), [randn(4, 2, 3), randn(2, 2, 4)]),
    ("rnn_cell", lambda nn: nn.RNNCell(3, 4), [randn(2, 3), randn(2, 4)]),
    ("lstm_cell", lambda nn: nn.LSTMCell(3, 4), [randn(2, 3)]),
    ("gru_cell", lambda nn: nn.GRUCell(3, 4), [randn(2, 3), randn(2, 4)]),
    ("sequential_cnn", lambda nn: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                                nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)),
     [randn(3, 1, 8, 8)]),
]


def _stats(bn):
    """Non-trivial running statistics, so eval mode is tested on something."""
    bn.running_mean.copy_(bn.running_mean + 0.3)
    bn.running_var.copy_(bn.running_var * 1.7)
    return bn


def _affine(norm):
    """Weights other than ones and zeros."""
    with (torch.no_grad() if isinstance(norm, torch.nn.Module) else gg.no_grad()):
        for p in norm.parameters():
            p.copy_(p + 0.5 * (torch.arange(p.numel()).reshape(p.shape) if isinstance(p, torch.Tensor)
                               else gg.arange(p.numel()).reshape(p.shape)))
    return norm


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # torch's, not ours
@pytest.mark.parametrize("name, build, arrays", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_torch(name, build, arrays):
    torch.manual_seed(0)
    # torch runs recurrent layers as fused kernels; graphgrad composes them, so only values compare
    compare_module(build(gg.nn), build(torch.nn), *arrays, grad_fn="rnn" not in name and "lstm" not in name
                   and "gru" not in name)


def test_batchnorm_updates_running_stats_over_steps():
    g_bn, t_bn = gg.nn.BatchNorm2d(3).double(), torch.nn.BatchNorm2d(3).double()
    for step in range(3):
        x = randn(4, 3, 2, 2) + step
        g_bn(pair(x)[0])
        t_bn(torch.tensor(x))
    for name, tb in t_bn.named_buffers():
        np.testing.assert_allclose(getattr(g_bn, name).numpy(), tb.numpy(), rtol=1e-12)
    assert g_bn.num_batches_tracked.item() == 3 and g_bn.num_batches_tracked.dtype is gg.int64
    g_bn.eval()
    with gg.no_grad():
        g_bn(gg.randn(2, 3, 2, 2, dtype=gg.float64))
    assert g_bn.num_batches_tracked.item() == 3


def test_batchnorm_float32_matches():
    x = randn(8, 4, 3, 3).astype(np.float32)
    t_bn = torch.nn.BatchNorm2d(4)
    g_bn = gg.nn.BatchNorm2d(4)
    out_t, out_g = t_bn(torch.tensor(x)), g_bn(gg.tensor(x))
    assert out_g.dtype is gg.float32
    assert_close(out_g, out_t, "float32 output", rtol=1e-5, atol=1e-5)
    assert_close(g_bn.running_var, t_bn.running_var, "running_var", rtol=1e-6, atol=1e-6)


def test_maxpool_return_indices_match():
    x = randn(2, 3, 7, 7)
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, dilation=2),
                   dict(kernel_size=3, stride=2, ceil_mode=True)):
        g_out, g_idx = gg.nn.functional.max_pool2d(pair(x)[0], return_indices=True, **kwargs)
        t_out, t_idx = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
        np.testing.assert_array_equal(g_idx.numpy(), t_idx.numpy())
        assert g_idx.dtype is gg.int64
    g_x, t_x = pair(x, requires_grad=True)
    g_out, _ = gg.nn.MaxPool2d(2, return_indices=True)(g_x)
    t_out, _ = torch.nn.MaxPool2d(2, return_indices=True)(t_x)
    g_out.sum().backward()
    t_out.sum().backward()
    assert_close(g_x.grad, t_x.grad, "grad through return_indices")


def test_maxpool_propagates_nan_and_first_max_wins():
    x = np.array([[[[1.0, 1.0], [np.nan, 0.0]], [[2.0, 2.0], [2.0, 2.0]]]])
    g_x, t_x = pair(x, requires_grad=True)
    g_out, t_out = gg.nn.functional.max_pool2d(g_x, 2), torch.nn.functional.max_pool2d(t_x, 2)
    np.testing.assert_array_equal(g_out.detach().numpy(), t_out.detach().numpy())
    g_out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_array_equal(g_x.grad.numpy(), t_x.grad.numpy())


def test_dropout_train_and_eval():
    gg.manual_seed(0)
    drop = gg.nn.Dropout(0.25)
    x = gg.ones(200, 50, requires_grad=True)
    y = drop(x)
    kept = y.detach().numpy() != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75)
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())
    drop.eval()
    assert drop(x) is x
    gg.manual_seed(5)
    a = gg.nn.functional.dropout(gg.ones(100))
    gg.manual_seed(5)
    b = gg.nn.functional.dropout(gg.ones(100))
    assert gg.equal(a, b), "the default generator's seed decides the mask"
    assert gg.nn.functional.dropout(gg.ones(3), p=1.0).sum().item() == 0
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        gg.nn.Dropout(1.5)


def test_dropout2d_zeroes_whole_channels():
    gg.manual_seed(0)
    y = gg.nn.Dropout2d(0.5)(gg.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()


def test_embedding_errors_and_from_pretrained():
    emb = gg.nn.Embedding(4, 2)
    with pytest.raises(IndexError, match="index out of range in self"):
        emb(gg.tensor([4]))
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices'"):
        emb(gg.tensor([1.0]))
    w = gg.tensor([[1.0, 2.0], [3.0, 4.0]])
    frozen = gg.nn.Embedding.from_pretrained(w)
    assert not frozen.weight.requires_grad
    assert frozen(gg.tensor([1])).tolist() == [[3.0, 4.0]]


def test_functional_extras_match_torch():
    F, TF = gg.nn.functional, torch.nn.functional
    x = randn(3, 4)
    g, t = pair(x, requires_grad=True)
    for fg, ft in [(lambda a: F.normalize(a, dim=1), lambda a: TF.normalize(a, dim=1)),
                   (lambda a: F.cosine_similarity(a, a * 2 + 1), lambda a: TF.cosine_similarity(a, a * 2 + 1)),
                   (lambda a: F.pad(a, (1, 2)), lambda a: TF.pad(a, (1, 2))),
                   (lambda a: F.pad(a, (1, -1, 0, 2), value=3.0), lambda a: TF.pad(a, (1, -1, 0, 2), value=3.0)),
                   (lambda a: F.pad(a[None], (2, 1), mode="reflect"), lambda a: TF.pad(a[None], (2, 1), mode="reflect")),
                   (lambda a: F.relu6(a * 4), lambda a: TF.relu6(a * 4))]:
        out_g, out_t = fg(g), ft(t)
        assert_close(out_g, out_t, "value")
        w = randn(*out_t.shape)
        gg_grad = gg.autograd.grad((out_g * gg.tensor(w)).sum(), g)[0]
        t_grad = torch.autograd.grad((out_t * torch.tensor(w)).sum(), t)[0]
        assert_close(gg_grad, t_grad, "grad")
    assert F.pad(g, (1, 2)).grad_fn.name() == "ConstantPadNdBackward0"
    labels = gg.tensor([0, 2, 1])
    assert gg.equal(F.one_hot(labels), gg.tensor(TF.one_hot(torch.tensor([0, 2, 1])).numpy()))
    assert F.one_hot(labels, 5).shape == (3, 5)


def test_conv_errors_match_torch():
    F, TF = gg.nn.functional, torch.nn.functional
    x = randn(1, 2, 4, 4).astype(np.float32)
    cases = [(lambda f, x, w: f.conv2d(x, w), (3, 3, 3, 3)),
             (lambda f, x, w: f.conv2d(x, w), (3, 2, 5, 5)),
             (lambda f, x, w: f.conv2d(x[0, 0], w), (3, 2, 3, 3))]
    for call, wshape in cases:
        w = randn(*wshape).astype(np.float32)
        with pytest.raises(RuntimeError) as t_err:
            call(TF, torch.tensor(x), torch.tensor(w))
        with pytest.raises(RuntimeError) as g_err:
            call(F, gg.tensor(x), gg.tensor(w))
        assert str(g_err.value) == str(t_err.value)
    with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
        F.conv2d(gg.tensor(x).double(), gg.tensor(randn(3, 2, 3, 3).astype(np.float32)))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        gg.nn.Conv2d(3, 4, 3, groups=2)


def test_pool_errors_match_torch():
    F, TF = gg.nn.functional, torch.nn.functional
    for call in (lambda f, x: f.max_pool2d(x, 3, padding=2), lambda f, x: f.max_pool2d(x[..., :1, :1], 2)):
        x = randn(1, 1, 4, 4)
        with pytest.raises(RuntimeError) as t_err:
            call(TF, torch.tensor(x))
        with pytest.raises(RuntimeError) as g_err:
            call(F, gg.tensor(x))
        assert str(g_err.value) == str(t_err.value)


def test_layers_keep_float32_and_default_init_ranges():
    lin = gg.nn.Linear(100, 50)
    assert lin.weight.dtype is gg.float32 and lin(gg.randn(2, 100)).dtype is gg.float32
    bound = 1 / np.sqrt(100)
    w = lin.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(lin.bias.detach().numpy()).max() <= bound
    conv = gg.nn.Conv2d(4, 8, 3)
    assert np.abs(conv.weight.detach().numpy()).max() <= 1 / np.sqrt(36)
    assert conv(gg.randn(1, 4, 5, 5)).dtype is gg.float32
    assert gg.nn.Linear(3, 2, dtype=gg.float64).weight.dtype is gg.float64


@pytest.mark.parametrize("name, build, arrays", CASES, ids=[c[0] for c in CASES])
def test_layer_keeps_float32(name, build, arrays):
    """No float64 leaks: in float32, outputs and every gradient stay float32."""
    module = build(gg.nn)
    inputs = [gg.tensor(a.astype(np.float32) if a.dtype.kind == "f" else a, requires_grad=a.dtype.kind == "f")
              for a in arrays]
    outs = [o for o in _flat(module(*inputs)) if o.requires_grad]
    for o in outs:
        assert o.dtype is gg.float32, f"output is {o.dtype}"
    sum(o.sum() for o in outs).backward()
    for t in inputs:
        assert t.grad is None or t.grad.dtype is gg.float32
    for n, p in module.named_parameters():
        assert p.grad is None or p.grad.dtype is gg.float32, f"{n}.grad is {p.grad.dtype}"
    for n, b in module.named_buffers():
        assert b.dtype in (gg.float32, gg.int64), f"{n} is {b.dtype}"


def _flat(out):
    return [o for item in out for o in _flat(item)] if isinstance(out, (tuple, list)) else [out]
