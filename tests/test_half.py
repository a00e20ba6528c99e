"""bfloat16 (through ml_dtypes) and float16 against torch 2.13: names, conversions, promotion,
printing, and ops: bfloat16 ops compute in float32 and round once, as torch's CPU kernels do;
float16 uses NumPy's own half kernels, which do the same."""
import warnings
import zlib

import ml_dtypes
import numpy as np
import pytest
import torch

import graphgrad as gg
from op_table import TABLE, Make

LOW = ["bfloat16", "float16"]


def test_names_and_methods():
    assert gg.bfloat16.is_floating_point and gg.half is gg.float16 and gg.bfloat16.itemsize == 2
    assert repr(gg.bfloat16) == "graphgrad.bfloat16"
    x = gg.tensor([1.0, 2.5])
    assert x.bfloat16().dtype is gg.bfloat16 and x.half().dtype is gg.float16
    assert x.to(gg.bfloat16).dtype is gg.bfloat16 and x.to(dtype=gg.float16).dtype is gg.float16
    assert x.bfloat16().is_floating_point() and x.bfloat16().element_size() == 2
    assert x.bfloat16().numpy().dtype == ml_dtypes.bfloat16
    assert gg.zeros(2, dtype=gg.bfloat16).dtype is gg.bfloat16
    assert gg.tensor([1.0], dtype=gg.bfloat16, requires_grad=True).requires_grad
    assert gg.nn.Linear(2, 3).bfloat16().weight.dtype is gg.bfloat16


@pytest.mark.parametrize("a", ["bfloat16", "float16", "float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("b", ["bfloat16", "float16"])
def test_promotion_is_torchs(a, b):
    assert gg.promote_types(getattr(gg, a), getattr(gg, b)).name == str(
        torch.promote_types(getattr(torch, a), getattr(torch, b))).split(".")[1]
    ta, tb = torch.ones(2, dtype=getattr(torch, a)), torch.ones(2, dtype=getattr(torch, b))
    ga, gb = gg.ones(2, dtype=getattr(gg, a)), gg.ones(2, dtype=getattr(gg, b))
    assert (ga + gb).dtype.name == str((ta + tb).dtype).split(".")[1]
    assert (gb * 2.5).dtype.name == str((tb * 2.5).dtype).split(".")[1]
    assert (gb + gg.tensor(1.0, dtype=gg.float64)).dtype is gb.dtype  # a 0-d tensor does not promote


@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("values", [[1.5, 2.25, 3.0], [1e-5, 3.0, 100.0], [0.1, 0.2, 0.3], [123456.0, 1.0],
                                    [[1.0, 2.0], [3.0, 4.5]], [float("inf"), float("nan"), -0.0], 7.0])
def test_printing_is_torchs(dtype, values):
    got = str(gg.tensor(values).to(getattr(gg, dtype)))
    assert got == str(torch.tensor(values).to(getattr(torch, dtype))).replace("torch.", "graphgrad.")


def test_rounding_is_torchs():
    """float32 -> bfloat16 rounds to nearest even, as torch."""
    x = np.random.default_rng(0).standard_normal(10000).astype(np.float32) * 1000
    got = gg.tensor(x).bfloat16().float().numpy()
    np.testing.assert_array_equal(got, torch.tensor(x).bfloat16().float().numpy())


def test_bfloat16_reductions_and_products_accumulate_in_float32():
    """NumPy on ml_dtypes' bfloat16 adds in bfloat16 (a sum of 4096 normals is off by ~2.5);
    torch adds in float32 and rounds once: so do we, exactly."""
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(s).astype(np.float32) for s in ((4096,), (64, 64), (64, 64)))
    g = lambda v: gg.tensor(v).bfloat16()
    t = lambda v: torch.tensor(v).bfloat16()
    for got, want in ((g(a).sum(), t(a).sum()), (g(a).mean(), t(a).mean()), (g(b) @ g(c), t(b) @ t(c)),
                      (g(b).softmax(-1), t(b).softmax(-1)), (g(b).var(0), t(b).var(0))):
        assert got.dtype is gg.bfloat16
        np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), rtol=2 ** -7, atol=1e-6)  # 1 ulp
    assert g(a).sum().item() == t(a).sum().item()


def _lowp_samples():
    """The op table's float32 samples, with float arrays turned into the low dtype."""
    for entry in TABLE:
        if "float32" in entry.dtypes:
            samples = list(entry.samples(Make("float32", seed=zlib.crc32(entry.name.encode()))))[:2]
            yield pytest.param(entry, samples, id=entry.name)


def _to(lib, value, dtype, leaves, grad):
    if isinstance(value, np.ndarray):
        t = lib.tensor(value) if lib is gg else torch.from_numpy(value.copy())
        if value.dtype.kind == "f":
            t = t.to(getattr(lib, dtype))
            if grad:
                leaves.append(t.requires_grad_())
        return t
    if isinstance(value, list):
        return [_to(lib, v, dtype, leaves, grad) for v in value]
    if isinstance(value, tuple):
        return tuple(_to(lib, v, dtype, leaves, False) for v in value)
    return getattr(lib, value.name) if type(value).__name__ == "D" else value


def _values(x):
    x = x.detach()
    return x.float().numpy() if x.is_floating_point() else x.numpy()


KNOWN = {}  # (op, dtype) -> why it differs from torch


@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("entry, samples", list(_lowp_samples()))
def test_op_table_in_low_precision(entry, samples, dtype):
    """Every op of the table on bfloat16/float16 inputs: torch's result dtypes, values and
    gradients within the low dtype's rounding."""
    if (entry.name, dtype) in KNOWN:
        pytest.xfail(KNOWN[entry.name, dtype])
    for sample in samples:
        results = []
        for lib in (torch, gg):
            leaves = []
            grad = entry.grad and sample.grad
            args = [_to(lib, a, dtype, leaves, grad and i not in sample.const) for i, a in enumerate(sample.args)]
            kwargs = {k: _to(lib, v, dtype, leaves, grad and k not in sample.const) for k, v in sample.kwargs.items()}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out = entry.fn(lib, *args, **kwargs)
            except Exception as e:  # torch has no kernel for it: ours must refuse too
                results.append(e)
                continue
            outs = [o for o in (out if isinstance(out, (tuple, list)) else [out]) if hasattr(o, "dtype")]
            grads = []
            differentiable = [o for o in outs if o.requires_grad]
            if leaves and differentiable:
                grads = lib.autograd.grad([o.float().sum() for o in differentiable], leaves, allow_unused=True)
            results.append((outs, grads))
        want, got = results
        if isinstance(want, Exception):
            assert type(got) is type(want), f"{entry.name}{sample}: torch raises {want!r}, graphgrad {got!r}"
            continue
        assert not isinstance(got, Exception), f"{entry.name}{sample}: {got!r}"
        for what, (a_list, b_list) in (("output", (got[0], want[0])), ("gradient", (got[1], want[1]))):
            for a, b in zip(a_list, b_list):
                if b is None:
                    continue
                assert str(a.dtype).split(".")[1] == str(b.dtype).split(".")[1], f"{entry.name}{sample} {what}"
                np.testing.assert_allclose(_values(a), _values(b), rtol=3e-2, atol=3e-2,
                                           err_msg=f"{entry.name}{sample} {what}")


@pytest.mark.parametrize("dtype", LOW)
def test_a_training_loop_in_low_precision(dtype):
    """Embedding, Linear, GELU, LayerNorm and cross entropy in bfloat16/float16 with SGD: torch's
    first loss exactly, then within rounding."""
    losses = []
    for lib in (torch, gg):
        lib.manual_seed(0)
        nn = lib.nn
        model = nn.Sequential(nn.Embedding(10, 8), nn.Flatten(), nn.Linear(24, 16), nn.GELU(), nn.LayerNorm(16),
                              nn.Linear(16, 5)).to(getattr(lib, dtype))
        opt = lib.optim.SGD(model.parameters(), lr=0.05)
        rng = np.random.default_rng(0)
        run = []
        for _ in range(5):
            x, y = lib.tensor(rng.integers(0, 10, (6, 3))), lib.tensor(rng.integers(0, 5, 6))
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            assert loss.dtype is getattr(lib, dtype)
            run.append(loss.item())
        losses.append(run)
    assert losses[1][0] == losses[0][0]
    np.testing.assert_allclose(losses[1], losses[0], rtol=2e-2)


# ---- autocast --------------------------------------------------------------------------------------------

def _autocast_model(lib):
    nn = lib.nn
    lib.manual_seed(0)
    return nn.ModuleDict({"conv": nn.Conv2d(1, 4, 3, padding=1), "convt": nn.ConvTranspose2d(4, 2, 2, stride=2),
                          "attn": nn.MultiheadAttention(8, 2, batch_first=True), "head": nn.Linear(8, 3),
                          "prelu": nn.PReLU()})


def _autocast_forward(lib, model, x, y):
    F = lib.nn.functional
    a = model["convt"](model["conv"](x))                            # (2, 2, 8, 8): bfloat16
    seq = a.flatten(2).transpose(1, 2)[:, :, :1].expand(-1, -1, 8)  # (2, 64, 8)
    out, _ = model["attn"](seq, seq, seq, need_weights=False)
    logits = model["head"](model["prelu"](out.mean(1)))
    return [a, out, logits, F.cross_entropy(logits, y), F.mse_loss(logits, logits.detach() * 0),
            lib.cat([logits, logits.float()]), (seq @ seq.transpose(1, 2)).sum(), logits.double() @ logits.double().T]


@pytest.mark.parametrize("dtype", LOW)
def test_autocast_cpu_matches_torch(dtype):
    """Which ops run in the low dtype and which in float32, values, and the gradients that reach
    float32 weights, as torch's CPU autocast."""
    results = []
    for lib in (torch, gg):
        model = _autocast_model(lib)
        x = lib.tensor(np.random.default_rng(0).standard_normal((2, 1, 4, 4)), dtype=lib.float32)
        y = lib.tensor([0, 2])
        with lib.autocast("cpu", dtype=getattr(lib, dtype)):
            assert lib.is_autocast_enabled("cpu") and lib.get_autocast_dtype("cpu") is getattr(lib, dtype)
            outs = _autocast_forward(lib, model, x, y)
        assert not lib.is_autocast_enabled("cpu")
        outs[3].backward()
        grads = [p.grad for p in model.parameters()]
        results.append((outs, grads))
    for what, (got, want) in (("output", (results[1][0], results[0][0])), ("gradient", (results[1][1], results[0][1]))):
        for i, (a, b) in enumerate(zip(got, want)):
            assert a.dtype.name == str(b.dtype).split(".")[1], f"{what} {i}: {a.dtype} vs {b.dtype}"
            np.testing.assert_allclose(_values(a), _values(b), rtol=3e-2, atol=3e-2, err_msg=f"{what} {i}")


def test_autocast_enabled_false_nesting_and_decorator():
    x = gg.ones(2, 2)
    with gg.autocast("cpu"):
        assert (x @ x).dtype is gg.bfloat16
        with gg.autocast("cpu", enabled=False):
            assert (x @ x).dtype is gg.float32
        assert (x @ x).dtype is gg.bfloat16
    with gg.amp.autocast("cpu", dtype=gg.float16):
        assert (x @ x).dtype is gg.float16

    @gg.autocast("cpu")
    def product(a):
        return a @ a
    assert product(x).dtype is gg.bfloat16 and (x @ x).dtype is gg.float32


def test_autocast_casts_a_weight_once_per_region():
    w = gg.nn.Parameter(gg.ones(3, 3))
    with gg.autocast("cpu"):
        a, b = w @ gg.ones(3, 3), gg.ones(3, 3) @ w
        assert a.grad_fn.next_functions[0][0] is b.grad_fn.next_functions[1][0]  # one ToCopyBackward0
    with gg.autocast("cpu"):
        c = w @ gg.ones(3, 3)
        assert c.grad_fn.next_functions[0][0] is not a.grad_fn.next_functions[0][0]


@pytest.mark.parametrize("make, on_gpu", [(lambda lib: lib.autocast("cuda"), True),
                                          (lambda lib: lib.cuda.amp.autocast(), True),
                                          (lambda lib: lib.autocast("cpu", dtype=lib.float64), False)])
def test_autocast_that_cannot_run_warns_and_stays_off_as_torch(make, on_gpu):
    if on_gpu and gg.cuda.is_available():
        pytest.skip("a GPU is here")
    messages = []
    for lib in (torch, gg):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with make(lib):
                assert not lib.is_autocast_enabled("cpu") and not lib.is_autocast_enabled("cuda")
                assert (lib.ones(2, 2) @ lib.ones(2, 2)).dtype is lib.float32
        messages.append([(w.category, str(w.message)) for w in caught])
    assert messages[1] == messages[0]


# ---- GradScaler ------------------------------------------------------------------------------------------

def _scaled_training(lib, scaler, grads_to_poison=()):
    lib.manual_seed(0)
    model = lib.nn.Linear(4, 2)
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    x = lib.tensor(np.random.default_rng(0).standard_normal((3, 4)), dtype=lib.float32)
    seen = []
    for step in range(4):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        scaled = scaler.scale(loss)
        scaled.backward()
        if step in grads_to_poison:
            model.weight.grad[0, 0] = float("inf")
        scaler.step(opt)
        scaler.update()
        seen.append((scaled.item(), scaler.get_scale(), model.weight.detach().numpy().copy()))
    return seen, scaler.state_dict()


@pytest.mark.parametrize("kwargs", [dict(), dict(init_scale=8.0, growth_interval=2)])
def test_grad_scaler_on_the_cpu_matches_torch(kwargs):
    want = _scaled_training(torch, torch.amp.GradScaler("cpu", **kwargs), grads_to_poison=(1,))
    got = _scaled_training(gg, gg.amp.GradScaler("cpu", **kwargs), grads_to_poison=(1,))
    for (a_loss, a_scale, a_w), (b_loss, b_scale, b_w) in zip(got[0], want[0]):
        assert a_scale == b_scale
        np.testing.assert_allclose(a_loss, b_loss, rtol=1e-6)
        np.testing.assert_allclose(a_w, b_w, rtol=1e-6)  # (the linear's gradients may differ in the last bit)
    assert got[1] == want[1]


def test_grad_scaler_without_a_gpu_is_torchs_disabled_one():
    if gg.cuda.is_available():
        pytest.skip("a GPU is here")
    runs, messages = [], []
    for lib in (torch, gg):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scaler = lib.cuda.amp.GradScaler()
        messages.append([(w.category, str(w.message)) for w in caught])
        assert not scaler.is_enabled() and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
        runs.append(_scaled_training(lib, scaler)[0])
    assert messages[1] == messages[0]
    for (a_loss, _, a_w), (b_loss, _, b_w) in zip(*runs[::-1]):
        np.testing.assert_allclose(a_loss, b_loss, rtol=1e-6)
        np.testing.assert_allclose(a_w, b_w, rtol=1e-6)


def test_grad_scaler_errors_are_torchs():
    for lib in (torch, gg):
        scaler = lib.amp.GradScaler("cpu")
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([p], lr=0.1)
        scaler.scale(p.sum()).backward()
        scaler.unscale_(opt)
        with pytest.raises(RuntimeError, match=r"unscale_\(\) has already been called on this optimizer"):
            scaler.unscale_(opt)
        scaler.step(opt)
        with pytest.raises(RuntimeError, match=r"step\(\) has already been called since the last update\(\)"):
            scaler.step(opt)
        with pytest.raises(RuntimeError, match="The source state dict is empty"):
            scaler.load_state_dict({})


@pytest.mark.cuda
def test_bfloat16_stays_on_the_cpu():
    with pytest.raises(TypeError, match="bfloat16 tensors live on the CPU only"):
        gg.ones(2).bfloat16().cuda()
    with pytest.raises(TypeError, match="bfloat16 tensors live on the CPU only"):
        gg.ones(2, device="cuda").to(gg.bfloat16)


def test_the_per_device_amp_modules_import_and_warn_as_torch():
    import importlib
    for name in ("graphgrad.cuda.amp", "graphgrad.cpu.amp"):
        assert importlib.import_module(name) is getattr(gg, name.split(".")[1]).amp
    assert gg.cpu.is_available() and gg.cpu.device_count() == 1
    messages = []
    for lib in (torch, gg):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with lib.cpu.amp.autocast():
                assert (lib.ones(2, 2) @ lib.ones(2, 2)).dtype is lib.bfloat16
            scaler = lib.cpu.amp.GradScaler()
        assert scaler.is_enabled() and scaler.get_scale() == 65536.0
        messages.append([(w.category, str(w.message)) for w in caught])
    assert messages[1] == messages[0]
