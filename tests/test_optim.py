"""Optimizers and learning-rate schedulers against PyTorch: the same float64 problem run side
by side, parameters and gradients compared after every step, for every option."""
import math

import numpy as np
import pytest
import torch

import graphgrad as gg
from graphgrad import optim

STEPS = 12


def _problem(seed=0):
    """A small two-layer regression: the same data and starting weights for both libraries."""
    rng = np.random.default_rng(seed)
    arrays = dict(x=rng.standard_normal((16, 5)), y=rng.standard_normal((16, 2)),
                  w1=rng.standard_normal((5, 7)) * 0.5, b1=rng.standard_normal(7) * 0.1,
                  w2=rng.standard_normal((7, 2)) * 0.5)
    return arrays


def _params(lib, arrays):
    return [lib.tensor(arrays[k], dtype=lib.float64, requires_grad=True) for k in ("w1", "b1", "w2")]


def _loss(lib, params, arrays):
    w1, b1, w2 = params
    x, y = lib.tensor(arrays["x"], dtype=lib.float64), lib.tensor(arrays["y"], dtype=lib.float64)
    return (((x @ w1 + b1).tanh() @ w2 - y) ** 2).mean()


def _groups(params, split):
    if not split:
        return params
    return [{"params": params[:2]}, {"params": params[2:], "lr": 0.003}]


def _run_side_by_side(gg_cls, torch_cls, kwargs, split=False, steps=STEPS):
    arrays = _problem()
    gp, tp = _params(gg, arrays), _params(torch, arrays)
    gopt, topt = gg_cls(_groups(gp, split), **kwargs), torch_cls(_groups(tp, split), **kwargs)
    for step in range(steps):
        gloss, tloss = _loss(gg, gp, arrays), _loss(torch, tp, arrays)
        assert math.isclose(gloss.item(), tloss.item(), rel_tol=1e-6), step
        gopt.zero_grad()
        topt.zero_grad()
        gloss.backward()
        tloss.backward()
        for g, t in zip(gp, tp):
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)
        gopt.step()
        topt.step()
        for g, t in zip(gp, tp):
            np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-12)
    return gopt, topt, gp, tp


SGD_OPTIONS = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.5),
               dict(lr=0.05, momentum=0.8, nesterov=True), dict(lr=0.1, weight_decay=0.1),
               dict(lr=0.1, maximize=True), dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01,
                                                  maximize=True)]
ADAM_OPTIONS = [dict(lr=0.01), dict(lr=0.01, amsgrad=True), dict(lr=0.01, weight_decay=0.1),
                dict(lr=0.01, maximize=True), dict(lr=0.02, betas=(0.3, 0.8), eps=1e-6),
                dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)]
RMSPROP_OPTIONS = [dict(lr=0.01), dict(lr=0.01, momentum=0.9), dict(lr=0.01, centered=True),
                   dict(lr=0.01, centered=True, momentum=0.5), dict(lr=0.01, weight_decay=0.1, alpha=0.9),
                   dict(lr=0.01, maximize=True, eps=1e-4)]
CASES = ([("SGD", o) for o in SGD_OPTIONS] + [("Adam", o) for o in ADAM_OPTIONS] + [("AdamW", o) for o in ADAM_OPTIONS]
         + [("AdamW", dict(lr=0.01))] + [("RMSprop", o) for o in RMSPROP_OPTIONS])


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{'-'.join(map(str, o.items()))}" for n, o in CASES])
def test_matches_torch_every_step(name, kwargs):
    _run_side_by_side(getattr(optim, name), getattr(torch.optim, name), kwargs)


@pytest.mark.parametrize("kernels", ["C kernels", "NumPy"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", SGD_OPTIONS, ids=lambda o: "-".join(map(str, o.items())))
def test_sgd_updates_are_torchs_bit_for_bit(kwargs, dtype, kernels, monkeypatch):
    """Given the same parameters and gradients, SGD's steps give torch's values exactly: each of
    torch's `add(..., alpha=)` rounds once (a fused multiply-add), with graphgrad's C kernel or
    without it."""
    from graphgrad.native import fma
    if kernels == "NumPy":
        monkeypatch.setattr(fma, "kernels", None)
    elif fma.kernels is None:
        pytest.skip("graphgrad's C kernels are not built")
    rng = np.random.default_rng(3)
    start, grads = rng.standard_normal(4099).astype(dtype), rng.standard_normal((3, 4099)).astype(dtype)
    g, t = gg.tensor(start, requires_grad=True), torch.tensor(start, requires_grad=True)
    gopt, topt = optim.SGD([g], **kwargs), torch.optim.SGD([t], **kwargs)
    for grad in grads:
        g.grad, t.grad = gg.tensor(grad), torch.tensor(grad)
        gopt.step()
        topt.step()
        np.testing.assert_array_equal(g.detach().numpy(), t.detach().numpy())


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_param_groups_and_state_dict_match_torch(name):
    kwargs = dict(lr=0.01, momentum=0.9) if name in ("SGD", "RMSprop") else dict(lr=0.01)
    gopt, topt, gp, tp = _run_side_by_side(getattr(optim, name), getattr(torch.optim, name), kwargs, split=True,
                                           steps=3)
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    assert gsd["param_groups"] == tsd["param_groups"]
    assert list(gsd["state"]) == list(tsd["state"])
    for i in tsd["state"]:
        assert list(gsd["state"][i]) == list(tsd["state"][i])
        for key, value in tsd["state"][i].items():
            assert gsd["state"][i][key].dtype.name == str(value.dtype).replace("torch.", "")
            np.testing.assert_allclose(gsd["state"][i][key].numpy(), value.numpy(), rtol=1e-9, atol=1e-12)
    assert repr(gopt) == repr(topt)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_load_state_dict_resumes_exactly(name):
    """Three steps, a state_dict into a fresh optimizer, three more: the same as six in one go."""
    kwargs = dict(lr=0.05, momentum=0.9) if name != "Adam" else dict(lr=0.05, amsgrad=True)
    cls = getattr(optim, name)
    arrays = _problem(1)
    straight = _params(gg, arrays)
    opt = cls(straight, **kwargs)
    resumed = _params(gg, arrays)
    first = cls(resumed, **kwargs)
    for step in range(6):
        for params, o in ((straight, opt), (resumed, first)):
            o.zero_grad()
            _loss(gg, params, arrays).backward()
            o.step()
        if step == 2:
            second = cls(resumed, lr=1.0)
            second.load_state_dict(first.state_dict())
            assert second.param_groups[0]["lr"] == 0.05
            assert second.state[resumed[0]] is not first.state[resumed[0]]
            first = second
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_load_state_dict_checks_groups_and_casts():
    p = gg.zeros(3, requires_grad=True)
    opt = optim.Adam([p])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0, 1]}]})
    saved = {"state": {0: {"step": gg.tensor(2.0), "exp_avg": gg.ones(3, dtype=gg.float64),
                           "exp_avg_sq": gg.ones(3, dtype=gg.float64)}},
             "param_groups": [dict(opt.state_dict()["param_groups"][0], lr=0.5)]}
    opt.load_state_dict(saved)
    assert opt.state[p]["exp_avg"].dtype is gg.float32 and opt.state[p]["step"].dtype is gg.float32
    assert opt.param_groups[0]["params"] == [p] and opt.param_groups[0]["lr"] == 0.5


def test_zero_grad():
    p = gg.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # no gradient: nothing changes
    assert p.tolist() == [1.0, 1.0]


def test_step_updates_in_place_and_bumps_version():
    p = gg.ones(3, requires_grad=True)
    data, version = p._data, p._version
    opt = optim.Adam([p], lr=0.1)
    p.sum().backward()
    opt.step()
    assert p._data is data and p._version == version + 1
    assert p.requires_grad and p.grad_fn is None


def test_closure_and_named_parameters():
    p = gg.ones(2, requires_grad=True)
    opt = optim.SGD([("weight", p)], lr=0.5)
    assert opt.param_groups[0]["param_names"] == ["weight"]

    def closure():
        opt.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()
        return loss

    with gg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 2.0 and p.tolist() == [0.0, 0.0]


def test_add_param_group_and_errors_match_torch():
    a, b = gg.ones(2, requires_grad=True), gg.ones(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["params"] == [b]
    ta = torch.ones(2, requires_grad=True)
    cases = [(lambda m: m.optim.SGD(m.ones(2, requires_grad=True))),
             (lambda m: m.optim.SGD([])),
             (lambda m: m.optim.SGD([m.ones(2, requires_grad=True) * 2])),
             (lambda m: m.optim.SGD([m.ones(2, requires_grad=True)], lr=-1)),
             (lambda m: m.optim.SGD([m.ones(2, requires_grad=True)], nesterov=True)),
             (lambda m: m.optim.Adam([m.ones(2, requires_grad=True)], betas=(1.0, 0.9))),
             (lambda m: m.optim.RMSprop([m.ones(2, requires_grad=True)], alpha=-1)),
             (lambda m: m.optim.SGD([{"params": [a]}, {"params": [a]}] if m is gg else
                                    [{"params": [ta]}, {"params": [ta]}]))]
    for case in cases:
        with pytest.raises(Exception) as expected:
            case(torch)
        with pytest.raises(expected.type) as actual:
            case(gg)
        assert str(actual.value) == str(expected.value).replace("torch.", "torch.")


def test_custom_optimizer_subclass_and_step_hooks():
    class Halve(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {})

        @gg.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    p.mul_(0.5)

    p = gg.ones(2, requires_grad=True)
    opt = Halve([p])
    seen = []
    handle = opt.register_step_post_hook(lambda o, args, kwargs: seen.append(o))
    opt.step()
    handle.remove()
    opt.step()
    assert seen == [opt] and p.tolist() == [0.25, 0.25]


# ---- learning-rate schedulers -------------------------------------------------------------------

SCHEDULERS = [("StepLR", dict(step_size=3, gamma=0.5)), ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
              ("ExponentialLR", dict(gamma=0.9)), ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
              ("LambdaLR", dict(lr_lambda=lambda epoch: 1 / (epoch + 1))),
              ("MultiplicativeLR", dict(lr_lambda=[lambda epoch: 0.9, lambda epoch: 0.95])),
              ("ConstantLR", dict(factor=0.5, total_iters=4)), ("LinearLR", dict(start_factor=0.25, total_iters=6)),
              ("PolynomialLR", dict(total_iters=10, power=2.0))]


def _sched_pair(name, kwargs):
    gopt = optim.SGD([{"params": [gg.zeros(1, requires_grad=True)]},
                      {"params": [gg.zeros(1, requires_grad=True)], "lr": 0.5}], lr=0.1)
    topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                            {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.5}], lr=0.1)
    return (gopt, getattr(optim.lr_scheduler, name)(gopt, **kwargs),
            topt, getattr(torch.optim.lr_scheduler, name)(topt, **kwargs))


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_schedulers_match_torch(name, kwargs):
    gopt, gs, topt, ts = _sched_pair(name, kwargs)
    for epoch in range(25):
        assert gs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12), epoch
        assert [g["lr"] for g in gopt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups], rel=1e-12)
        gopt.step()
        topt.step()
        gs.step()
        ts.step()
    state = gs.state_dict()
    assert state["last_epoch"] == 25 and state["base_lrs"] == [0.1, 0.5]
    if hasattr(ts, "_get_closed_form_lr"):  # step(epoch): the closed form
        for epoch in (3, 7, 12):
            with pytest.warns(UserWarning, match="epoch parameter"):
                gs.step(epoch)
            with pytest.warns(UserWarning):
                ts.step(epoch)
            assert gs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    gopt2, gs2, _, _ = _sched_pair(name, kwargs)
    gopt2.load_state_dict(gopt.state_dict())  # the lr lives in the optimizer's state, as in torch
    gs2.load_state_dict(gs.state_dict())
    gs2.step()
    gs.step()
    assert gs2.last_epoch == gs.last_epoch and gs2.get_last_lr() == pytest.approx(gs.get_last_lr())


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.9, 0.9, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
    for kwargs in (dict(patience=1, factor=0.5), dict(mode="max", patience=0, cooldown=2, threshold_mode="abs",
                                                       threshold=0.01, min_lr=[0.02, 0.1])):
        gopt, _, topt, _ = _sched_pair("StepLR", dict(step_size=100))
        gs = optim.lr_scheduler.ReduceLROnPlateau(gopt, **kwargs)
        ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
        for m in metrics:
            gs.step(gg.tensor(m))
            ts.step(torch.tensor(m))
            assert gs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
            assert gs.num_bad_epochs == ts.num_bad_epochs and gs.best == ts.best


def test_scheduler_errors():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        optim.lr_scheduler.StepLR(object(), 2)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        optim.lr_scheduler.ReduceLROnPlateau(optim.SGD([gg.zeros(1, requires_grad=True)]), factor=2)


@pytest.mark.cuda
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.01, amsgrad=True)), ("AdamW", dict(lr=0.01)),
                                         ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5))])
def test_cuda_parameters_match_cpu(name, kwargs):
    arrays = _problem()
    cpu = _params(gg, arrays)
    gpu = [p.detach().cuda().requires_grad_() for p in cpu]
    copt, gopt = getattr(optim, name)(cpu, **kwargs), getattr(optim, name)(gpu, **kwargs)
    for _ in range(5):
        for params, opt in ((cpu, copt), (gpu, gopt)):
            opt.zero_grad()
            for p in params:
                p.grad = (p.detach() * 0.5 + 0.1).sin()
            opt.step()
    for c, g in zip(cpu, gpu):
        assert g.device.type == "cuda"
        np.testing.assert_allclose(g.detach().cpu().numpy(), c.detach().numpy(), rtol=1e-9, atol=1e-12)
    state = gopt.state_dict()["state"][0]
    assert all(v.device.type == ("cpu" if k == "step" else "cuda") for k, v in state.items())
