"""torch.optim's other algorithms against torch 2.13, step for step: Adadelta, Adagrad, Adamax,
NAdam, RAdam, ASGD, Rprop, SparseAdam and LBFGS (with and without its line search), each with
its options, their state_dicts, and resuming from one."""
import math

import numpy as np
import pytest
import torch
from test_optim import _loss, _params, _problem, _run_side_by_side

import graphgrad as gg
from graphgrad import optim

OPTIONS = {
    "Adadelta": [dict(), dict(lr=0.5, rho=0.8, eps=1e-5), dict(weight_decay=0.1), dict(maximize=True, foreach=None),
                 dict(lr=gg.tensor(0.7), weight_decay=0.05, maximize=True)],
    "Adagrad": [dict(lr=0.1), dict(lr=0.1, lr_decay=0.05), dict(lr=0.1, weight_decay=0.1),
                dict(lr=0.1, initial_accumulator_value=0.3, eps=1e-6), dict(lr=0.1, maximize=True, foreach=None)],
    "Adamax": [dict(), dict(lr=0.05, betas=(0.5, 0.9)), dict(lr=0.02, weight_decay=0.1),
               dict(lr=0.02, maximize=True, eps=1e-4, foreach=None)],
    "NAdam": [dict(), dict(lr=0.05, momentum_decay=0.01), dict(lr=0.02, weight_decay=0.1),
              dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True), dict(lr=0.02, maximize=True, foreach=None),
              dict(lr=0.05, betas=(0.6, 0.95))],
    "RAdam": [dict(), dict(lr=0.05, betas=(0.5, 0.6)), dict(lr=0.02, weight_decay=0.1),
              dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True), dict(lr=0.02, maximize=True, foreach=None)],
    "ASGD": [dict(), dict(lr=0.05, t0=3), dict(lr=0.05, lambd=0.01, alpha=0.5, t0=1), dict(lr=0.05, weight_decay=0.1),
             dict(lr=0.05, maximize=True, foreach=None, t0=5)],
    "Rprop": [dict(), dict(lr=0.05, etas=(0.3, 1.5)), dict(lr=0.05, step_sizes=(1e-3, 0.02)),
              dict(lr=0.05, maximize=True, foreach=None)],
}
CASES = [(name, o) for name, options in OPTIONS.items() for o in options]


def _id(name, options):
    return name + "-" + "-".join(f"{k}={v.item() if hasattr(v, 'item') else v}" for k, v in options.items())


def _torch_options(options):
    return {k: torch.tensor(v.item()) if isinstance(v, gg.Tensor) else v for k, v in options.items()}


@pytest.mark.parametrize("name,options", CASES, ids=[_id(n, o) for n, o in CASES])
def test_matches_torch_every_step(name, options):
    gopt, topt, _, _ = _run_side_by_side(lambda params, **kw: getattr(optim, name)(params, **options),
                                         lambda params, **kw: getattr(torch.optim, name)(params,
                                                                                        **_torch_options(options)),
                                         {}, steps=15)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_param_groups_state_dict_and_repr_match_torch(name):
    gopt, topt, _, _ = _run_side_by_side(getattr(optim, name), getattr(torch.optim, name), dict(lr=0.01),
                                         split=True, steps=3)
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    assert gsd["param_groups"] == tsd["param_groups"]
    assert list(gsd["state"]) == list(tsd["state"])
    for i, tstate in tsd["state"].items():
        assert list(gsd["state"][i]) == list(tstate)
        for key, value in tstate.items():
            assert gsd["state"][i][key].dtype.name == str(value.dtype).replace("torch.", ""), key
            np.testing.assert_allclose(gsd["state"][i][key].numpy(), value.numpy(), rtol=1e-9, atol=1e-12)
    assert repr(gopt) == repr(topt)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_load_state_dict_resumes_as_torch(name):
    """Three steps, a state_dict into a fresh optimizer, four more: where torch's resumed run
    ends (loading casts 0-d state such as NAdam's mu_product to the parameters' dtype, in both)."""
    kwargs = dict(lr=0.05, t0=2) if name == "ASGD" else dict(lr=0.05)
    arrays = _problem(1)
    ends = []
    for lib, module in ((gg, optim), (torch, torch.optim)):
        params = _params(lib, arrays)
        opt = getattr(module, name)(params, **kwargs)
        for step in range(7):
            opt.zero_grad()
            _loss(lib, params, arrays).backward()
            opt.step()
            if step == 2:
                resumed = getattr(module, name)(params, lr=1.0)
                resumed.load_state_dict(opt.state_dict())
                assert resumed.param_groups[0]["lr"] == 0.05
                assert resumed.state[params[0]] is not opt.state[params[0]]
                opt = resumed
        ends.append([p.detach().numpy() for p in params])
    for ours, theirs in zip(*ends):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_float32_state_and_parameters_follow_torch():
    """In float32 the 0-d state (ASGD's eta and mu, NAdam's mu_product) is rounded as torch rounds it."""
    for name, options in [("ASGD", dict(lr=0.05, t0=2)), ("NAdam", dict(lr=0.05)), ("Adadelta", dict()),
                          ("RAdam", dict(lr=0.05)), ("Adamax", dict(lr=0.05)), ("Rprop", dict()),
                          ("Adagrad", dict(lr=0.1))]:
        arrays = _problem(2)
        gp = [gg.tensor(arrays[k], dtype=gg.float32, requires_grad=True) for k in ("w1", "b1", "w2")]
        tp = [torch.tensor(arrays[k], dtype=torch.float32, requires_grad=True) for k in ("w1", "b1", "w2")]
        gopt, topt = getattr(optim, name)(gp, **options), getattr(torch.optim, name)(tp, **options)
        for _ in range(8):
            for lib, params, o in ((gg, gp, gopt), (torch, tp, topt)):
                o.zero_grad()
                loss = (((lib.tensor(arrays["x"], dtype=lib.float32) @ params[0] + params[1]).tanh() @ params[2]
                         - lib.tensor(arrays["y"], dtype=lib.float32)) ** 2).mean()
                loss.backward()
                o.step()
        for g, t in zip(gp, tp):
            np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), rtol=2e-5, atol=1e-6, err_msg=name)
        for key, value in topt.state_dict()["state"][0].items():
            ours = gopt.state_dict()["state"][0][key]
            assert ours.dtype.name == str(value.dtype).replace("torch.", ""), (name, key)
            if value.dim() == 0:
                assert ours.item() == value.item(), (name, key)


@pytest.mark.parametrize("cls,message", [
    ("Adadelta", dict(rho=1.5)), ("Adagrad", dict(lr_decay=-1)), ("Adamax", dict(betas=(1.0, 0.9))),
    ("NAdam", dict(momentum_decay=-1)), ("RAdam", dict(eps=-1)), ("ASGD", dict(weight_decay=-1)),
    ("Rprop", dict(etas=(1.5, 1.2))), ("SparseAdam", dict(lr=0)), ("LBFGS", dict(lr=-1))])
def test_bad_hyperparameters_raise_torchs_errors(cls, message):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, cls)([torch.zeros(2, requires_grad=True)], **message)
    with pytest.raises(ValueError) as ours:
        getattr(optim, cls)([gg.zeros(2, requires_grad=True)], **message)
    assert str(ours.value) == str(theirs.value)


# ---- LBFGS -----------------------------------------------------------------------------------------------
def _rosenbrock(lib, xy):
    x, y = xy[0], xy[1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


@pytest.mark.parametrize("options", [dict(), dict(line_search_fn="strong_wolfe"), dict(lr=0.5, history_size=3),
                                     dict(max_iter=5, line_search_fn="strong_wolfe", history_size=2),
                                     dict(max_iter=4, max_eval=6, tolerance_change=1e-5)],
                         ids=["plain", "strong_wolfe", "lr-history", "wolfe-short-history", "few-evals"])
def test_lbfgs_follows_torch_through_each_closure_call(options):
    """The regression problem, each step running up to max_iter inner iterations: every closure
    call sees torch's parameters, and each step ends on them."""
    arrays = _problem(3)
    gp, tp = _params(gg, arrays), _params(torch, arrays)
    gopt, topt = optim.LBFGS(gp, **options), torch.optim.LBFGS(tp, **options)
    seen = {"gg": [], "torch": []}

    def closure_for(lib, params, opt, key):
        def closure():
            opt.zero_grad()
            loss = _loss(lib, params, arrays)
            loss.backward()
            seen[key].append(loss.item())
            return loss
        return closure

    for _ in range(4):
        gl = gopt.step(closure_for(gg, gp, gopt, "gg"))
        tl = topt.step(closure_for(torch, tp, topt, "torch"))
        assert math.isclose(gl.item(), tl.item(), rel_tol=1e-7)
        for g, t in zip(gp, tp):
            # 20 inner iterations a step on an ill-conditioned problem: rounding grows to ~1e-7
            np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-10)
    assert len(seen["gg"]) == len(seen["torch"])
    np.testing.assert_allclose(seen["gg"], seen["torch"], rtol=1e-6, atol=1e-10)
    gstate, tstate = gopt.state_dict()["state"][0], topt.state_dict()["state"][0]
    assert sorted(gstate) == sorted(tstate)
    assert gstate["func_evals"] == tstate["func_evals"] and gstate["n_iter"] == tstate["n_iter"]


def test_lbfgs_minimizes_rosenbrock_as_torch():
    gp = gg.tensor([-1.5, 2.0], dtype=gg.float64, requires_grad=True)
    tp = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    gopt = optim.LBFGS([gp], line_search_fn="strong_wolfe", max_iter=50)
    topt = torch.optim.LBFGS([tp], line_search_fn="strong_wolfe", max_iter=50)
    for lib, p, o in ((gg, gp, gopt), (torch, tp, topt)):
        def closure(lib=lib, p=p, o=o):
            o.zero_grad()
            loss = _rosenbrock(lib, p)
            loss.backward()
            return loss
        for _ in range(3):
            o.step(closure)
    np.testing.assert_allclose(gp.detach().numpy(), tp.detach().numpy(), rtol=1e-8)
    np.testing.assert_allclose(gp.detach().numpy(), [1.0, 1.0], atol=1e-5)


def test_lbfgs_refuses_groups_and_unknown_line_searches():
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [gg.zeros(1, requires_grad=True)]}, {"params": [gg.zeros(1, requires_grad=True)]}])
    p = gg.ones(2, requires_grad=True)
    opt = optim.LBFGS([p], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()
        return loss
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)


# ---- SparseAdam --------------------------------------------------------------------------------------------
def test_sparse_adam_on_embedding_rows_matches_torchs_sparse_gradients():
    """torch's Embedding(sparse=True) gives sparse gradients; graphgrad's gradient is dense and
    SparseAdam updates the rows it touches: the same rows, so the same trajectory."""
    rng = np.random.default_rng(0)
    table = rng.standard_normal((10, 4))
    ours = gg.nn.Embedding.from_pretrained(gg.tensor(table), freeze=False, sparse=True)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=False, sparse=True)
    gopt, topt = optim.SparseAdam(ours.parameters(), lr=0.05), torch.optim.SparseAdam(theirs.parameters(), lr=0.05)
    for _step in range(6):
        idx = rng.integers(0, 10, size=(3, 2))  # a few rows each step, some repeated
        target = rng.standard_normal((3, 2, 4))
        for lib, emb, o in ((gg, ours, gopt), (torch, theirs, topt)):
            o.zero_grad()
            ((emb(lib.tensor(idx)) - lib.tensor(target)) ** 2).sum().backward()
            o.step()
        np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-9,
                                   atol=1e-12)
    for key in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(gopt.state_dict()["state"][0][key].numpy(),
                                   topt.state_dict()["state"][0][key].numpy(), rtol=1e-9, atol=1e-12)
    assert gopt.state_dict()["state"][0]["step"] == topt.state_dict()["state"][0]["step"] == 6


def test_lbfgs_and_sparse_adam_state_dicts_resume_as_torch():
    arrays = _problem(4)
    ends = []
    for lib, module in ((gg, optim), (torch, torch.optim)):
        params = _params(lib, arrays)
        opt = module.LBFGS(params, max_iter=3, history_size=4, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = _loss(lib, params, arrays)
            loss.backward()
            return loss
        for step in range(4):
            opt.step(closure)
            if step == 1:
                state = opt.state_dict()
                opt = module.LBFGS(params, max_iter=3, history_size=4, line_search_fn="strong_wolfe")
                opt.load_state_dict(state)
        ends.append([p.detach().numpy() for p in params])
    for ours, theirs in zip(*ends):
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12)

    weight = gg.nn.Parameter(gg.ones(4, 2))
    opt = optim.SparseAdam([weight], lr=0.1)
    weight.grad = gg.tensor([[1.0, 2.0], [0.0, 0.0], [0.5, 0.0], [0.0, 0.0]])
    opt.step()
    resumed = optim.SparseAdam([weight], lr=0.1)
    resumed.load_state_dict(opt.state_dict())
    resumed.step()
    opt.step()
    assert resumed.state[weight]["step"] == 2
    np.testing.assert_array_equal(resumed.state[weight]["exp_avg"].numpy(), opt.state[weight]["exp_avg"].numpy())
    assert weight[1].tolist() == [1.0, 1.0] and weight[3].tolist() == [1.0, 1.0]  # untouched rows stay


@pytest.mark.cuda
@pytest.mark.parametrize("name", list(OPTIONS) + ["SparseAdam", "LBFGS"])
def test_on_the_gpu_the_steps_are_the_cpus(name):
    arrays = _problem(5)
    ends = []
    for device in ("cpu", "cuda"):
        params = [p.detach().to(device).requires_grad_() for p in _params(gg, arrays)]
        opt = getattr(optim, name)(params, lr=0.05)

        def closure():
            opt.zero_grad()
            w1, b1, w2 = params
            x, y = gg.tensor(arrays["x"], device=device), gg.tensor(arrays["y"], device=device)
            loss = (((x @ w1 + b1).tanh() @ w2 - y) ** 2).mean()
            loss.backward()
            return loss
        for _ in range(4):
            opt.step(closure)
        assert all(p.device.type == device for p in params)
        ends.append([p.detach().cpu().numpy() for p in params])
    for cpu, gpu in zip(*ends):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("name", ["LBFGS", "SparseAdam"])
def test_lbfgs_and_sparse_adam_param_groups_and_repr_match_torch(name):
    ours = getattr(optim, name)([gg.zeros(2, requires_grad=True)])
    theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
    assert repr(ours) == repr(theirs)
    assert ours.state_dict()["param_groups"] == theirs.state_dict()["param_groups"]
