"""graphgrad.jit: trace records dispatched ops; the program replays, saves, loads and replays
again with the same results (new batch sizes included)."""
import io
import json
import zipfile

import pytest

import graphgrad as gg
from graphgrad import jit, nn


def reload(traced):
    buffer = io.BytesIO()
    traced.save(buffer)
    buffer.seek(0)
    return jit.load(buffer)


def close(a, b, tol=1e-6):
    return a.shape == b.shape and bool(((a - b).abs() <= tol).all())


def test_tensor_ops_with_every_kind_of_attribute():
    gg.manual_seed(0)
    w, idx = gg.randn(4, 3), gg.tensor([2, 0])

    def f(x, y):
        h = (x @ w + 1.5).tanh()                         # matmul, scalar add
        h = gg.cat([h, y.t()], dim=1)                     # several inputs, transpose
        h = h[:, 1:4:2] * h[..., None, 0].sum(-1, keepdim=True)  # slices, Ellipsis, None
        h = h.to(gg.float64).exp().float()                 # dtype attributes
        top, where = h.max(dim=1)                         # an op with two outputs
        return {"rows": h[idx], "top": top, "where": where, "flat": h.reshape(-1)}

    x, y = gg.randn(5, 4), gg.randn(2, 5)
    traced = jit.trace(f, (x, y))
    loaded = reload(traced)
    for inputs in ((x, y), (gg.randn(5, 4), gg.randn(2, 5))):
        expected = f(*inputs)
        for module in (traced, loaded):
            got = module(*inputs)
            assert sorted(got) == sorted(expected)
            for key in expected:
                assert got[key].dtype is expected[key].dtype and close(got[key], expected[key]), key


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 4, kernel_size=3, padding=1), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def test_conv_pool_linear_model_new_batch_sizes(tmp_path):
    gg.manual_seed(0)
    model = _cnn().eval()
    traced = jit.trace(model, gg.randn(2, 1, 8, 8))
    path = tmp_path / "model.pt"
    traced.save(str(path))
    loaded = jit.load(str(path)).eval()
    for batch in (2, 5, 1):
        x = gg.randn(batch, 1, 8, 8)
        with gg.no_grad():
            expected = model(x)
            assert close(traced(x), expected) and close(loaded(x), expected)
    assert loaded(gg.randn(3, 1, 8, 8)).shape == gg.Size([3, 3])
    code = traced.code
    for name in ("conv2d", "batch_norm", "relu", "max_pool2d", "view", "linear"):
        assert name in code
    assert "# 5" in code  # ops carry the module they ran in


def test_traced_shares_weights_loaded_owns_them():
    model = nn.Linear(3, 2)
    x = gg.randn(4, 3)
    traced = jit.trace(model, x)
    loaded = reload(traced)
    before = model(x).detach()
    with gg.no_grad():
        model.weight.mul_(2)
    assert close(traced(x), model(x)) and close(loaded(x), before)


def test_replay_is_differentiable():
    gg.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    loaded = reload(jit.trace(model, gg.randn(2, 3)))
    x = gg.randn(6, 3)
    loaded(x).sum().backward()
    model(x).sum().backward()
    grads = [p.grad for p in loaded.parameters()]
    assert len(grads) == 4
    for got, expected in zip(grads, [p.grad for p in model.parameters()]):
        assert close(got, expected)


def test_input_checks_and_errors(tmp_path):
    traced = jit.trace(lambda x: x * 2, gg.ones(2, 3))
    with pytest.raises(TypeError, match="takes 1 input"):
        traced(gg.ones(2, 3), gg.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"traced with shape \[2, 3\]"):
        traced(gg.ones(2, 4))
    with pytest.raises(TypeError, match="example_inputs must be a tensor"):
        jit.trace(lambda x: x, [1, 2])
    with pytest.raises(NotImplementedError, match="jit.trace"):
        jit.script(nn.Linear(1, 1))
    plain = tmp_path / "plain.pt"
    gg.save({"w": gg.ones(1)}, str(plain))
    with pytest.raises(RuntimeError, match="not a traced program"):
        jit.load(str(plain))
    buffer = io.BytesIO()
    traced.save(buffer)

    def edited(change):
        buffer.seek(0)
        out = io.BytesIO()
        with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w") as dst:
            for name in src.namelist():
                data = src.read(name)
                if name.endswith("manifest.json"):
                    manifest = json.loads(data)
                    program = json.loads(manifest["object"]["v"][0][1])
                    change(program)
                    manifest["object"]["v"][0][1] = json.dumps(program)
                    data = json.dumps(manifest).encode()
                dst.writestr(name, data)
        out.seek(0)
        return out

    with pytest.raises(RuntimeError, match="does not have"):
        jit.load(edited(lambda p: p["steps"][0].update(op="os.system")))
    with pytest.raises(RuntimeError, match="does not exist"):
        jit.load(edited(lambda p: p["steps"][0].update({"in": [["op", 5, 0]]})))
    with pytest.raises(RuntimeError, match="unknown kind"):
        jit.load(edited(lambda p: p["steps"][0]["attrs"].update(x={"$": "pickle"})))


def test_recorder_is_removed_after_tracing_even_on_error():
    from graphgrad.ops.dispatch import recorders
    before = list(recorders)

    def broken(x):
        x = x + 1
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        jit.trace(broken, gg.ones(1))
    assert recorders == before


def test_aliases_and_whole_flattening_follow_the_batch():
    w = gg.randn(3, 2)

    def f(x):
        flat = x.detach().view(-1)          # an alias made without an op, then (B*3,)
        h = (flat.reshape(-1, 3) @ w).log()  # NaNs for negative values...
        h.relu_()                           # ...written over in place: found by value, NaNs included
        return h, flat.sum()

    loaded = reload(jit.trace(f, gg.randn(4, 3)))
    x = gg.randn(7, 3)
    (a, s), (b, t) = loaded(x), f(x)
    assert bool((a.isnan() == b.isnan()).all()) and bool(b.isnan().any())
    assert close(gg.where(a.isnan(), 0.0, a), gg.where(b.isnan(), 0.0, b))
    assert close(s, t, 1e-5)


def test_input_passed_through_and_constant_outputs():
    traced = reload(jit.trace(lambda x: (x, x.sum(), 3), gg.arange(3.0)))
    a, s, three = traced(gg.ones(3))
    assert a.tolist() == [1.0, 1.0, 1.0] and s.item() == 3.0 and three == 3


@pytest.mark.cuda
def test_cuda_model_traces_and_replays():
    gg.manual_seed(0)
    model = _cnn().eval().cuda()
    x = gg.randn(3, 1, 8, 8, device="cuda")
    loaded = reload(jit.trace(model, x))
    with gg.no_grad():
        assert close(loaded(x), model(x), 1e-5)
    assert loaded(x).device.type == "cuda"
