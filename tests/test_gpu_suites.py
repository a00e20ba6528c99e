"""The debugger and tracing on each device (issue 20): stepping a backward pass, where a NaN was
born, the recorded statistics, and memory staying flat over a training loop. The same test runs
on "cpu" here and on "cuda" (marked cuda, skipped without a GPU) where one is lent: the GPU
half is run by scripts/gpu-test. PyTorch on the CPU is the oracle."""
import tracemalloc

import numpy as np
import pytest
import torch

import graphgrad as gg
from graphgrad import nn, viz

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


def host(tensor):
    return tensor.detach().cpu().numpy()


def mlp_and_batch(device, seed=0):
    gg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    x, y = gg.randn(16, 4).to(device), gg.randint(0, 3, (16,)).to(device)
    return model, x, y


def torch_twin(model):
    twin = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for p, q in zip(model.parameters(), twin.parameters()):
            q.copy_(torch.from_numpy(host(p)))
    return twin


@pytest.mark.parametrize("device", DEVICES)
def test_stepping_a_backward_pass_gives_torchs_grads_on_the_device(device):
    model, x, y = mlp_and_batch(device)
    loss = nn.functional.cross_entropy(model(x), y)
    dbg = gg.debug.backward(loss)
    first = dbg.step()
    assert first.name == "NllLossBackward0" and first.grad_outputs[0].device.type == device
    dbg.finish()
    twin = torch_twin(model)
    torch.nn.functional.cross_entropy(twin(torch.from_numpy(host(x))), torch.from_numpy(host(y))).backward()
    for p, q in zip(model.parameters(), twin.parameters()):
        assert p.grad.device.type == device
        np.testing.assert_allclose(host(p.grad), q.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_the_widgets_stepper_walks_a_backward_pass_on_the_device(device):
    model, x, y = mlp_and_batch(device)
    loss = nn.functional.cross_entropy(model(x), y)
    w = viz.show(loss, params=dict(model.named_parameters()))
    sent = []
    w.send = lambda content, buffers=None: sent.append((content, buffers))
    w._on_message(w, {"type": "command", "cmd": "next", "node": None}, [])
    assert w.steps["position"] == 1 and all(p.grad is None for p in model.parameters())
    w._on_message(w, {"type": "command", "cmd": "last", "node": None}, [])
    assert w.steps["finished"]
    twin = torch_twin(model)
    torch.nn.functional.cross_entropy(twin(torch.from_numpy(host(x))), torch.from_numpy(host(y))).backward()
    # the inspector's view of a gradient on the device: the numbers torch computes, sent to the browser
    leaf = next(n["id"] for n in w.graph["nodes"] if n["name"] == "0.weight")
    w._on_message(w, {"type": "inspect", "request": 1, "node": leaf, "what": "grad"}, [])
    header, buffers = sent[-1]
    assert header["available"] and header["shape"] == [8, 4]
    preview = np.frombuffer(buffers[2], np.float32).reshape(header["preview_shape"])
    np.testing.assert_allclose(preview, twin[0].weight.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_the_nan_is_flagged_where_it_was_born_on_the_device(device):
    x = gg.tensor([-1.0, 4.0], device=device, requires_grad=True)
    with gg.trace() as t:
        r = x.sqrt()   # sqrt(-1): the NaN is born here
        (r * 2).sum()
    nodes = {n["op"]: n for n in t.graph.to_json()["nodes"] if n["kind"] == "op"}
    assert nodes["sqrt"]["flags"] == {"nan": True, "inf": False, "born": True}
    assert nodes["mul"]["flags"] == {"nan": True, "inf": False, "born": False}   # it came in
    assert nodes["sqrt"]["device"] == str(x.device)
    assert "born" not in next(n for n in t.graph.to_json()["nodes"] if n["kind"] == "input")["flags"]


@pytest.mark.parametrize("device", DEVICES)
def test_recorded_statistics_of_a_tensor_on_the_device(device):
    data = np.array([0.0, 1.0, 2.0, np.nan, np.inf, -3.0, 0.0], np.float32)
    with gg.trace() as t:
        y = gg.tensor(data, device=device) * 1
    s = t.stats(y)
    finite = np.array([0.0, 1.0, 2.0, -3.0, 0.0])
    assert (s["nan"], s["inf"], s["min"], s["max"]) == (1, 1, -3.0, 2.0)
    assert s["mean"] == pytest.approx(finite.mean()) and s["std"] == pytest.approx(finite.std())
    assert s["zero_fraction"] == pytest.approx(2 / 7)
    counts, edges = np.histogram(finite, bins=32)
    assert type(s["histogram"]["counts"]) is np.ndarray   # one transfer: host arrays for the widget
    np.testing.assert_array_equal(s["histogram"]["counts"], counts)
    np.testing.assert_allclose(s["histogram"]["edges"], edges)


def _allocated(device):
    """Bytes held now: CuPy's pool on the GPU; NumPy's arrays (traced by tracemalloc) on the CPU."""
    return gg.cuda.memory_allocated() if device == "cuda" else tracemalloc.get_traced_memory()[0]


@pytest.mark.parametrize("device", DEVICES)
def test_memory_stays_flat_over_a_training_loop_on_the_device(device):
    model, x, y = mlp_and_batch(device)
    opt = gg.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    tracemalloc.start()
    try:
        for _ in range(3):   # Adam's state and the grads are made in the first steps
            step()
        settled = _allocated(device)
        for _ in range(50):
            step()
        grown = _allocated(device) - settled
    finally:
        tracemalloc.stop()
    assert grown <= 16 * 1024, f"{grown} bytes more after 50 steps on {device}"


def test_memory_queries_answer_as_torchs_cpu_build_without_a_gpu():
    if gg.cuda.is_available():
        pytest.skip("a GPU is here")
    assert gg.cuda.memory_allocated() == torch.cuda.memory_allocated() == 0
    assert gg.cuda.max_memory_allocated() == torch.cuda.max_memory_allocated() == 0
    assert gg.cuda.empty_cache() is None and gg.cuda.reset_peak_memory_stats() is None


@pytest.mark.cuda
def test_memory_queries_follow_cupys_pool_on_the_gpu():
    gg.cuda.empty_cache()
    before = gg.cuda.memory_allocated()
    gg.cuda.reset_peak_memory_stats()
    a = gg.zeros(1024, 1024, device="cuda")
    assert gg.cuda.memory_allocated() - before >= a.numel() * 4
    peak = gg.cuda.max_memory_allocated()
    assert peak >= gg.cuda.memory_allocated()
    del a
    assert gg.cuda.memory_allocated() == before and gg.cuda.max_memory_allocated() == peak
    gg.cuda.reset_peak_memory_stats()
    assert gg.cuda.max_memory_allocated() == before
    gg.cuda.empty_cache()


def _bench_gpu():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "bench" / "gpu.py"
    spec = importlib.util.spec_from_file_location("bench_gpu", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_bench_runs_its_cases_on_the_cpu_and_says_when_there_is_no_gpu(capsys):
    bench = _bench_gpu()
    results = bench.main(["--device", "cpu", "--quick", "--rounds", "1", "--steps", "1"])
    assert [name for name, _, _ in results] == [name for name, *_ in bench.cases(quick=True)]
    assert all(ratio > 0 for _, ratio, _ in results) and "CPU, one thread" in capsys.readouterr().out
    if not (gg.cuda.is_available() and torch.cuda.is_available()):
        with pytest.raises(SystemExit, match="no GPU for both libraries"):
            bench.main([])
