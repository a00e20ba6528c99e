"""graphgrad.nn on the GPU (CuPy): the same layers, losses and training step give what they give on
the CPU. Skipped without a GPU."""
import numpy as np
import pytest

import graphgrad as gg

pytestmark = pytest.mark.cuda

R = np.random.default_rng(0)


def build():
    nn = gg.nn
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.GELU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect", groups=2), nn.AvgPool2d(2, ceil_mode=True),
                         nn.AdaptiveAvgPool2d((2, 3)), nn.Flatten(), nn.LayerNorm(24), nn.Linear(24, 5))


def _run(model, x, y, device):
    model = model.to(device)
    xs = gg.tensor(x, device=device, requires_grad=True)
    loss = gg.nn.functional.cross_entropy(model(xs), gg.tensor(y, device=device), label_smoothing=0.1)
    loss.backward()
    return loss, xs.grad, {n: p.grad for n, p in model.named_parameters()}, dict(model.named_buffers())


def test_cnn_step_matches_cpu():
    gg.manual_seed(0)
    cpu_model = build().double()
    gpu_model = build().double()
    gpu_model.load_state_dict(cpu_model.state_dict())
    x, y = R.standard_normal((3, 2, 9, 9)), R.integers(0, 5, 3)
    results = [_run(m, x, y, d) for m, d in ((cpu_model, "cpu"), (gpu_model, "cuda"))]
    (lc, gxc, gc, bc), (lg, gxg, gg_, bg) = results
    assert lg.device.type == "cuda" and all(g.device.type == "cuda" for g in gg_.values())
    np.testing.assert_allclose(lg.item(), lc.item(), rtol=1e-10)
    np.testing.assert_allclose(gxg.cpu().numpy(), gxc.numpy(), rtol=1e-8, atol=1e-12)
    for name in gc:
        np.testing.assert_allclose(gg_[name].cpu().numpy(), gc[name].numpy(), rtol=1e-8, atol=1e-12, err_msg=name)
    for name in bc:
        np.testing.assert_allclose(bg[name].cpu().numpy(), bc[name].numpy(), rtol=1e-10, err_msg=name)


@pytest.mark.parametrize("make, shape, target", [
    (lambda nn: nn.LSTM(3, 4, num_layers=2, bidirectional=True), (5, 2, 3), None),
    (lambda nn: nn.Embedding(10, 3, padding_idx=1), None, None),
    (lambda nn: nn.BCEWithLogitsLoss(pos_weight=gg.tensor([2.0, 0.5], dtype=gg.float64, device="cuda")), (4, 2), "prob"),
    (lambda nn: nn.NLLLoss(ignore_index=2), (6, 4), "class"),
])
def test_layers_on_gpu_match_cpu(make, shape, target):
    gg.manual_seed(0)
    layer = make(gg.nn).double()
    inputs = [R.integers(0, 10, (2, 5))] if shape is None else [R.standard_normal(shape)]
    if target == "prob":
        inputs.append(R.random(shape))
    elif target == "class":
        inputs.append(R.integers(0, shape[1], shape[0]))
    outs = []
    for device in ("cpu", "cuda"):
        layer.to(device)
        args = [gg.tensor(a, device=device, requires_grad=a.dtype.kind == "f" and i == 0) for i, a in enumerate(inputs)]
        out = layer(*args)
        out = out[0] if isinstance(out, tuple) else out
        out.sum().backward()
        outs.append((out.detach().cpu().numpy(), [p.grad.cpu().numpy() for p in layer.parameters()]))
        layer.zero_grad()
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-8, atol=1e-12)
    for a, b in zip(outs[1][1], outs[0][1]):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def test_dropout_mask_same_seed_same_mask_on_gpu():
    gg.manual_seed(3)
    a = gg.nn.functional.dropout(gg.ones(50, device="cuda"))
    gg.manual_seed(3)
    b = gg.nn.functional.dropout(gg.ones(50))
    np.testing.assert_array_equal(a.cpu().numpy(), b.numpy())
