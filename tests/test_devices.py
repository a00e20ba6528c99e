"""Devices: graphgrad.device, graphgrad.cuda without a GPU, and (marked cuda, run where a GPU
is lent) the same checks on the GPU: values, gradients, moves, mixing devices, printing."""
import numpy as np
import pytest
import torch

import graphgrad as gg
from core_helpers import assert_same, raises_like


@pytest.mark.parametrize("args", [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 0), ("cpu:0",)], ids=repr)
def test_device_objects(args):
    d, t = gg.device(*args), torch.device(*args)
    assert (d.type, d.index, str(d), repr(d)) == (t.type, t.index, str(t), repr(t))
    assert gg.device(d) == d and hash(gg.device(*args)) == hash(d)


def test_device_equality_as_torch():
    assert gg.device("cuda:0") == gg.device("cuda", 0) and gg.device("cuda") != gg.device("cuda:0")
    assert (gg.device("cpu") == "cpu") == (torch.device("cpu") == "cpu")


@pytest.mark.parametrize("args", [("gpu",), ("cuda:x",), ("cuda", -1)], ids=repr)
def test_bad_device_strings(args):
    got, expected = raises_like(lambda: gg.device(*args), lambda: torch.device(*args))
    assert got.split(" device type")[0] == expected.split(" device type")[0] or got.startswith("Expected one of")


def test_cpu_tensors_and_moves():
    x = gg.zeros(2, device="cpu")
    assert x.device == gg.device("cpu") and x.device.type == "cpu" and not x.is_cuda
    assert gg.ones(2, device=gg.device("cpu")).device.type == "cpu"
    assert x.to("cpu") is x and x.cpu() is x and x.to(gg.device("cpu"), gg.float64).dtype is gg.float64
    assert_same(gg.tensor([1.5], device="cpu"), torch.tensor([1.5], device="cpu"))


def test_cuda_queries_answer_without_a_gpu():
    available = gg.cuda.is_available()
    assert type(available) is bool
    assert gg.cuda.device_count() == (gg.cuda.device_count() if available else 0)
    gg.cuda.empty_cache()   # a no-op without a GPU, never an error
    gg.cuda.synchronize()
    gg.cuda.manual_seed(0)
    gg.cuda.manual_seed_all(0)


def test_cuda_tensor_without_a_gpu_is_a_clear_error():
    if gg.cuda.is_available():
        pytest.skip("a GPU is here")
    for make in [lambda: gg.zeros(2).cuda(), lambda: gg.zeros(2, device="cuda"), lambda: gg.zeros(2).to("cuda:0"),
                 lambda: gg.tensor([1.0], device="cuda"), lambda: gg.cuda.current_device()]:
        with pytest.raises((RuntimeError, AssertionError), match="NVIDIA driver|not compiled with CUDA"):
            make()


def test_without_cupy_every_query_answers_and_a_gpu_tensor_says_what_to_install(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "cupy", None)  # `import cupy` now fails
    gg.cuda._cupy.cache_clear()
    try:
        assert gg.cuda.is_available() is False and gg.cuda.device_count() == 0
        gg.cuda.empty_cache()
        gg.cuda.synchronize()
        with pytest.raises(AssertionError, match=r"Torch not compiled with CUDA enabled \(graphgrad: install"):
            gg.zeros(2, device="cuda")
    finally:
        monkeypatch.undo()
        gg.cuda._cupy.cache_clear()


# ---- on a GPU ---------------------------------------------------------------------------

cuda = pytest.mark.cuda


@cuda
def test_gpu_queries():
    assert gg.cuda.is_available() and gg.cuda.device_count() >= 1
    assert isinstance(gg.cuda.get_device_name(), str) and gg.cuda.current_device() == 0
    gg.cuda.empty_cache()


@cuda
def test_gpu_creation_and_moves():
    x = gg.tensor([[1.0, 2.0], [3.0, 4.0]], device="cuda")
    assert x.is_cuda and x.device == gg.device("cuda", 0) and str(x.device) == "cuda:0"
    assert_same(x.cpu(), torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    for make in [lambda L, d: L.zeros(2, 3, device=d), lambda L, d: L.ones(3, dtype=L.int32, device=d),
                 lambda L, d: L.arange(5, device=d), lambda L, d: L.eye(3, device=d),
                 lambda L, d: L.full((2,), 7.0, device=d), lambda L, d: L.linspace(0, 1, 5, device=d)]:
        g = make(gg, "cuda")
        assert g.is_cuda
        assert_same(g.cpu(), make(torch, "cpu"), exact=False)
    y = gg.arange(6.0).cuda()
    assert y.is_cuda and y.to("cpu").device.type == "cpu" and y.cuda() is y
    assert_same(y.to(gg.float64).cpu(), torch.arange(6.0).double())


@cuda
def test_gpu_seeded_random_matches_the_cpu():
    gg.manual_seed(7)
    a = gg.randn(5)
    gg.manual_seed(7)
    b = gg.randn(5, device="cuda")
    assert a.tolist() == b.cpu().tolist()


@cuda
def test_gpu_ops_and_gradients_match_torch():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((3, 5)).astype(np.float32)
    g = [gg.tensor(A, device="cuda", requires_grad=True), gg.tensor(B, device="cuda", requires_grad=True)]
    t = [torch.tensor(A, requires_grad=True), torch.tensor(B, requires_grad=True)]
    fn = lambda L, a, b: ((a @ b).relu() * 2 + a.sum(1, keepdim=True)).exp().mean()
    go, to = fn(gg, *g), fn(torch, *t)
    go.backward()
    to.backward()
    assert go.device.type == "cuda" and g[0].grad.is_cuda
    assert_same(go.cpu(), to, exact=False, rtol=1e-5)
    for x, y in zip(g, t):
        assert_same(x.grad.cpu(), y.grad, exact=False, rtol=1e-4, atol=1e-6)


@cuda
def test_gpu_indexing_views_and_inplace():
    g = gg.arange(12.0, device="cuda").reshape(3, 4)
    t = torch.arange(12.0).reshape(3, 4)
    for key in [0, (slice(None), 1), (slice(None, None, 2),), ([0, 2],)]:
        assert_same(g[key].cpu(), t[key])
    assert_same(g[g > 5].cpu(), t[t > 5])
    g[:, 0] = -1
    t[:, 0] = -1
    view = g.view(12)
    g.add_(1)
    t.add_(1)
    assert_same(view.cpu(), t.view(12))


@cuda
def test_gpu_mixing_devices_raises_torchs_error():
    a, b = gg.ones(2, device="cuda"), gg.ones(2)
    for op in [lambda: a + b, lambda: b * a, lambda: a @ b, lambda: gg.cat([a, b])]:
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but found at least "
                                               r"two devices, (cuda:0 and cpu|cpu and cuda:0)!"):
            op()


@cuda
def test_gpu_printing_and_numpy():
    x = gg.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    assert repr(x) == "tensor([1., 2.], device='cuda:0', requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], device='cuda:0', grad_fn=<MulBackward0>)"
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        x.detach().numpy()
    assert x.tolist() == [1.0, 2.0] and x.sum().item() == 3.0


@cuda
def test_gpu_takes_a_cpu_scalar_tensor_as_pytorch_does():
    def run(lib):
        a = lib.tensor([1.0, 2.0], device="cuda", requires_grad=True)
        s = lib.tensor(3.0, requires_grad=True)  # 0-d, on the CPU
        out = (a * s + s).sum()
        out.backward()
        return out.device.type, s.grad.device.type, s.grad.item(), a.grad.cpu().tolist()
    assert run(gg) == run(torch if torch.cuda.is_available() else gg) == ("cuda", "cpu", 5.0, [3.0, 3.0])
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        gg.ones(2, device="cuda") + gg.ones(1)  # one dimension: not a scalar
