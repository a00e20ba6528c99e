"""graphgrad.compile: a captured step replays with the eager step's numbers, bit for bit; a guard
that fails captures again or runs eagerly, never giving a wrong answer; traces, anomaly mode and
the debugger see every op (under them a compiled step runs eagerly)."""
import warnings

import graphgrad as gg
import numpy as np
import pytest
from graphgrad.compile import Compiled
from op_table import TABLE
from test_ops import flat, is_tensor, samples, to_lib

F = gg.nn.functional


def same(a, b, what=""):
    """Equal bits (NaN where NaN), shapes and dtypes."""
    a, b = (x._data if isinstance(x, gg.Tensor) else np.asarray(x) for x in (a, b))
    assert a.shape == b.shape and a.dtype == b.dtype, f"{what}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
    np.testing.assert_array_equal(a, b, err_msg=what)


# ---- every differentiable op of the op table ---------------------------------------------------

def _rebuilt(entry, sample):
    """The sample's arguments as graphgrad tensors (floating ones requiring grad), and its leaves."""
    leaves = []
    args = [to_lib(gg, a, sample.grad and i not in sample.const, leaves) for i, a in enumerate(sample.args)]
    kwargs = {k: to_lib(gg, v, sample.grad and k not in sample.const, leaves) for k, v in sample.kwargs.items()}
    return args, kwargs, leaves


def _twin_steps(entry, sample):
    """The same step twice (one to run eagerly, one to compile), on separate but equal tensors."""
    steps = []
    for _ in range(2):
        args, kwargs, leaves = _rebuilt(entry, sample)
        with gg.no_grad():
            out = entry.fn(gg, *args, **kwargs)
        seeds = [gg.tensor(u) for u in upstream_for_grad(out, np.random.default_rng(0))]

        def step(args=args, kwargs=kwargs, leaves=leaves, seeds=seeds):
            for leaf in leaves:
                leaf.grad = None
            result = entry.fn(gg, *args, **kwargs)
            outs = [o for o in flat(result) if is_tensor(o) and o.requires_grad]
            if outs and seeds:
                sum((o * s).sum() for o, s in zip(outs, seeds)).backward()
            return result
        steps.append((step, leaves))
    return steps


def upstream_for_grad(out, rng):
    """A seed per float output (what upstream_for gives for outputs that require grad)."""
    return [rng.standard_normal(o.shape).astype(o._data.dtype) for o in flat(out)
            if is_tensor(o) and o._data.dtype.kind == "f"]


_ENTRIES = [e for e in TABLE if e.grad]


# the op table's samples include NaN (masked_fill's), and NumPy's sum over them warns as eager does
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("entry", _ENTRIES, ids=[e.name for e in _ENTRIES])
def test_every_differentiable_op_replays_bit_for_bit(entry):
    """Three calls of a step over the op (values changed in place between calls): the compiled
    step's results and gradients are the eager step's, bit for bit, whether it replays or (for an
    op a replay cannot repeat) runs eagerly."""
    for dtype in ("float32", "float64"):
        if dtype not in entry.dtypes:
            continue
        for sample in samples(entry, dtype)[:3]:
            if not sample.grad:
                continue
            (eager, eager_leaves), (step, leaves) = _twin_steps(entry, sample)
            compiled = gg.compile(step)
            rng = np.random.default_rng(1)
            for call_number in range(3):
                if call_number:  # new values (in the op's domain), same shapes: the replay must follow them
                    for a, b in zip(eager_leaves, leaves):
                        new = (a._data * rng.uniform(0.9, 1.0, a._data.shape)).astype(a._data.dtype)
                        a._data[...] = new
                        b._data[...] = new
                want, got = eager(), compiled()
                what = f"{entry.name}{sample} call {call_number}"
                for w, g in zip(flat(want), flat(got)):
                    if is_tensor(w):
                        same(g, w, what)
                    else:
                        assert g == w, what
                for a, b in zip(eager_leaves, leaves):
                    assert (a.grad is None) == (b.grad is None), what
                    if a.grad is not None:
                        same(b.grad, a.grad, what + " grad")
            counts = compiled.counts
            assert counts["captured"] == 1, compiled.explain()
            assert counts["replayed"] == 2 or counts["eager"] == 2, compiled.explain()


def test_most_ops_replay():
    """The ops that run eagerly are those a replay cannot repeat (random draws, shapes set by
    values, values read into Python): a small part of the table."""
    eager = []
    for entry in _ENTRIES:
        sample = next((s for s in samples(entry, "float32" if "float32" in entry.dtypes else entry.dtypes[0])
                       if s.grad), None)
        if sample is None:
            continue
        _, (step, _) = _twin_steps(entry, sample)
        compiled = gg.compile(step)
        compiled()
        compiled()
        if not compiled.last.replayable:
            eager.append((entry.name, compiled.last.reasons))
    assert len(eager) <= len(_ENTRIES) // 8, eager


# ---- nn layers in training steps -------------------------------------------------------------

def _layers():
    nn = gg.nn
    return {
        "linear": (lambda: nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)), (4, 6)),
        "conv": (lambda: nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                       nn.Linear(12, 3)), (2, 2, 4, 4)),
        "batchnorm": (lambda: nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.GELU(), nn.Linear(4, 3)), (5, 6)),
        "batchnorm2d": (lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.AvgPool2d(2),
                                              nn.Flatten(), nn.Linear(2, 3)), (3, 1, 4, 4)),
        "layernorm": (lambda: nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.SiLU(), nn.Linear(8, 3)), (4, 6)),
        "lstm": (lambda: _LastStep(nn.LSTM(6, 5, batch_first=True), nn.Linear(5, 3)), (2, 3, 6)),
        "gru": (lambda: _LastStep(nn.GRU(6, 5, batch_first=True), nn.Linear(5, 3)), (2, 3, 6)),
        "softmax": (lambda: nn.Sequential(nn.Linear(6, 3), nn.Softmax(dim=1), nn.Linear(3, 3)), (4, 6)),
    }


class _LastStep(gg.nn.Module):
    def __init__(self, rnn, head):
        super().__init__()
        self.rnn, self.head = rnn, head

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def _training(build, optimizer="sgd"):
    gg.manual_seed(0)
    model = build()
    opt = (gg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if optimizer == "sgd"
           else gg.optim.Adam(model.parameters(), lr=0.01))

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return model, opt, step


@pytest.mark.parametrize("name", list(_layers()))
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_nn_training_steps_replay_bit_for_bit(name, optimizer):
    build, shape = _layers()[name]
    eager_model, _, eager_step = _training(build, optimizer)
    model, _, step = _training(build, optimizer)
    compiled = gg.compile(step)
    rng = np.random.default_rng(0)
    for i in range(4):
        x = gg.tensor(rng.standard_normal(shape).astype(np.float32))
        y = gg.tensor(rng.integers(0, 3, shape[0]))
        same(compiled(x, y), eager_step(x, y), f"{name} loss {i}")
    for (pname, a), b in zip(eager_model.state_dict().items(), model.state_dict().values()):
        same(b, a, f"{name} {pname}")
    assert compiled.counts == {"captured": 1, "replayed": 3, "eager": 0}, compiled.explain()


def test_a_compiled_module_replays_its_forward_under_no_grad():
    gg.manual_seed(0)
    model = gg.nn.Sequential(gg.nn.Linear(4, 3), gg.nn.ReLU())
    compiled = gg.compile(model)
    x = gg.randn(2, 4)
    with gg.no_grad():
        for _ in range(3):
            same(compiled(x), model(x))
    assert compiled.counts["replayed"] == 2
    assert list(compiled.parameters()) == list(model.parameters())  # used as the module


def _module_pair():
    def make():
        gg.manual_seed(0)
        model = gg.nn.Sequential(gg.nn.Linear(4, 6), gg.nn.Tanh(), gg.nn.Linear(6, 2))
        return model, gg.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    return make(), make()


def test_a_compiled_module_in_a_training_loop_replays_bit_for_bit():
    """The loss and backward outside the compiled module: its result's one node (CompiledBackward)
    runs the module's backward nodes; the parameters get the eager gradients, bit for bit."""
    (eager, eager_opt), (model, opt) = _module_pair()
    compiled = gg.compile(model)
    rng = np.random.default_rng(0)
    for i in range(5):
        x = gg.tensor(rng.standard_normal((3, 4)).astype(np.float32))
        y = gg.tensor(rng.integers(0, 2, 3))
        losses = []
        for _net, o, f in ((eager, eager_opt, eager), (model, opt, compiled)):
            o.zero_grad()
            loss = F.cross_entropy(f(x), y)
            loss.backward()
            o.step()
            losses.append(loss)
        same(losses[1], losses[0], f"loss {i}")
    for a, b in zip(eager.parameters(), model.parameters()):
        same(b, a)
    assert compiled.counts == {"captured": 1, "replayed": 4, "eager": 0}
    assert type(compiled(x).grad_fn).__name__ == "CompiledBackward"


def test_a_compiled_module_passes_gradients_to_its_inputs_and_waits_for_its_backward():
    """An input made outside (x = encoder(z)) gets its gradient; two calls before one backward (the
    first's saved values still needed) make the second run eagerly; a second backward without
    retain_graph, or a parameter changed before the backward, raise eager's errors."""
    (eager, _), (model, _) = _module_pair()
    compiled = gg.compile(model)
    encoders = [gg.nn.Linear(3, 4) for _ in range(2)]
    encoders[1].load_state_dict(encoders[0].state_dict())
    rng = np.random.default_rng(1)
    for i in range(3):
        z1, z2 = (gg.tensor(rng.standard_normal((2, 3)).astype(np.float32)) for _ in range(2))
        grads = []
        for enc, f in ((encoders[0], eager), (encoders[1], compiled)):
            enc.zero_grad()
            for m in (eager, model):
                m.zero_grad()
            (f(enc(z1)).pow(2).sum() + f(enc(z2)).exp().sum()).backward()  # two calls, one backward
            grads.append([p.grad for p in (*enc.parameters(), *(eager if f is eager else model).parameters())])
        for a, b in zip(*grads):
            same(b, a, f"round {i}")
    assert compiled.counts["replayed"] == 2 and compiled.counts["eager"] == 3  # each round's second call
    out = compiled(gg.randn(2, 4)).sum()
    out.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward()
    out = compiled(gg.randn(2, 4)).sum()
    with gg.no_grad():
        model[0].weight.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


# ---- guards: a changed call captures again or runs eagerly, never replays wrongly ----------------

def _mlp_step():
    gg.manual_seed(1)
    model = gg.nn.Sequential(gg.nn.Linear(4, 8), gg.nn.ReLU(), gg.nn.Linear(8, 2))
    opt = gg.optim.SGD(model.parameters(), lr=0.05)

    def step(x, scale=1.0):
        opt.zero_grad()
        loss = (model(x) * scale).pow(2).mean()
        loss.backward()
        opt.step()
        return loss
    step.optimizer = opt
    return model, step


def _run_both(calls):
    """Each call on an eager and a compiled twin: the same losses and weights, bit for bit."""
    eager_model, eager_step = _mlp_step()
    model, step = _mlp_step()
    compiled = gg.compile(step)
    for args, kwargs in calls:
        same(compiled(*args, **kwargs), eager_step(*args, **kwargs))
    for a, b in zip(eager_model.parameters(), model.parameters()):
        same(b, a)
    return compiled, model


def test_a_new_shape_dtype_or_argument_captures_again():
    x4, x3 = gg.randn(4, 4), gg.randn(3, 4)
    compiled, _ = _run_both([((x4,), {}), ((x4,), {}), ((x3,), {}), ((x3,), {}), ((x4,), {}),
                             ((x4,), {"scale": 2.0}), ((x4,), {"scale": 2.0}), ((x4,), {})])
    assert compiled.counts == {"captured": 3, "replayed": 5, "eager": 0}
    # the shapes make another structure; a number (scale) only another plan over the same one
    assert len({p.structure_hash for p in compiled.plans.values()}) == 2


def test_a_python_branch_on_an_argument_is_a_new_plan():
    gg.manual_seed(0)
    w = gg.randn(3, requires_grad=True)

    def step(x, square):
        w.grad = None
        y = (x * w).pow(2) if square else (x * w).exp()
        y.sum().backward()
        return y

    compiled, x = gg.compile(step), gg.randn(3)
    for square in (True, False, True, False):
        got = compiled(x, square).clone()
        grad = w.grad.clone()
        same(got, step(x, square))
        same(grad, w.grad)
    assert compiled.counts == {"captured": 2, "replayed": 2, "eager": 0}
    hashes = [p.structure_hash for p in compiled.plans.values()]
    assert hashes[0] != hashes[1]


def test_a_python_branch_on_data_runs_eagerly():
    gg.manual_seed(0)
    w = gg.randn(3, requires_grad=True)

    def step(x):
        w.grad = None
        y = x * w
        loss = y.pow(2).sum() if y.sum() > 0 else y.exp().sum()  # bool(tensor): a read of its value
        loss.backward()
        return loss

    compiled = gg.compile(step)
    for sign in (1, -1, 1, -1):
        x = gg.ones(3) * sign * 5
        got, grad = compiled(x), w.grad.clone()
        same(got, step(x))
        same(grad, w.grad)
    assert compiled.counts == {"captured": 1, "replayed": 0, "eager": 3}
    assert "reads a tensor's value" in compiled.explain()


def test_grad_mode_requires_grad_and_training_flags_are_guarded():
    gg.manual_seed(0)
    model = gg.nn.Sequential(gg.nn.Linear(3, 3), gg.nn.BatchNorm1d(3))
    compiled = gg.compile(model)
    x = gg.randn(4, 3)
    with gg.no_grad():
        compiled(x)
        compiled(x)
        model.eval()  # batch norm then uses its running statistics: another graph
        same(compiled(x), model(x))
        model.train()
        same(compiled(x), model(x))
    assert compiled.counts["captured"] == 3  # train, eval, train again (the plan for train was replaced)
    compiled(x)  # grad mode on: a new key
    assert compiled.counts["captured"] == 4

    w = gg.randn(2, requires_grad=True)

    def step(x):
        w.grad = None
        (x * w).sum().backward()
        return w.grad

    compiled = gg.compile(step)
    compiled(gg.ones(2))
    compiled(gg.ones(2))
    w.requires_grad_(False)
    with pytest.raises(RuntimeError):  # eager raises (nothing requires grad): so must the compiled step
        compiled(gg.ones(2))


def test_replaced_parameter_data_and_learning_rate_changes_are_followed():
    eager_model, eager_step = _mlp_step()
    model, step = _mlp_step()
    compiled = gg.compile(step)
    x = gg.randn(4, 4)
    for i in range(5):
        if i == 2:
            for m in (eager_model, model):
                m[0].weight.data = gg.ones(8, 4) * 0.1  # a new array: the replay reads it
        if i == 3:
            for s in (eager_step, step):
                s.optimizer.param_groups[0]["lr"] = 0.5  # the replayed optimizer step reads it
        same(compiled(x), eager_step(x), f"step {i}")
    for a, b in zip(eager_model.parameters(), model.parameters()):
        same(b, a)
    assert compiled.counts["replayed"] == 4


def test_random_draws_and_unhashable_arguments_run_eagerly():
    gg.manual_seed(0)
    w = gg.randn(5, requires_grad=True)

    def noisy(x):
        w.grad = None
        loss = F.dropout(x * w, 0.5).sum()
        loss.backward()
        return loss

    compiled = gg.compile(noisy)
    for _ in range(3):
        compiled(gg.ones(5))
    assert compiled.counts == {"captured": 1, "replayed": 0, "eager": 2}
    assert "random numbers" in compiled.explain()
    gg.manual_seed(3)
    a = [noisy(gg.ones(5)).item() for _ in range(3)]
    gg.manual_seed(3)
    b = [compiled(gg.ones(5)).item() for _ in range(3)]
    assert a == b

    step = gg.compile(lambda x, table: x * gg.tensor(table))
    step(gg.ones(2), np.ones(2))
    assert step.counts == {"captured": 0, "replayed": 0, "eager": 1}


def test_writes_into_a_tensor_the_step_makes_itself_run_eagerly():
    def step(x):
        acc = gg.zeros(3)
        acc += x  # a replay would start from the last call's acc
        return acc * 2

    compiled = gg.compile(step)
    for _ in range(3):
        same(compiled(gg.ones(3)), gg.ones(3) * 2)
    assert compiled.counts["replayed"] == 0


def test_values_set_by_data_make_shapes_that_run_eagerly():
    def step(x):
        return x[x > 0] * 2

    compiled = gg.compile(step)
    for x in (gg.tensor([1.0, -1.0, 2.0]), gg.tensor([1.0, 2.0, 3.0])):
        same(compiled(x), step(x))
    assert compiled.counts["replayed"] == 0


# ---- traces, anomaly mode and the debugger see every op ---------------------------------------

def test_under_a_trace_or_anomaly_mode_a_compiled_step_runs_eagerly():
    _, eager_step = _mlp_step()
    model, step = _mlp_step()
    compiled = gg.compile(step)
    x = gg.randn(4, 4)
    compiled(x)
    compiled(x)
    eager_step(x)
    eager_step(x)
    with gg.trace(model) as t:
        same(compiled(x), eager_step(x))
    ops = [n.op for n in t.graph.nodes if n.kind == "op"]
    assert "linear" in ops or "addmm" in ops or "mm" in ops, ops  # the trace saw the ops themselves
    with gg.autograd.detect_anomaly():
        same(compiled(x), eager_step(x))
    assert compiled.counts == {"captured": 1, "replayed": 1, "eager": 2}
    assert "a trace, anomaly mode or a backward debugger is on" in compiled.explain()
    same(compiled(x), eager_step(x))  # replays again once they are gone
    assert compiled.counts["replayed"] == 2


def test_the_debugger_sees_the_step():
    _, step = _mlp_step()
    x = gg.randn(4, 4)
    train = gg.compile(step)
    train(x)
    train(x)
    assert train.counts["replayed"] == 1
    other = gg.nn.Linear(4, 2)
    compiled = gg.compile(lambda x: other(x).pow(2).mean())
    loss = compiled(x)  # its backward is one CompiledBackward node, then the parameters' leaves
    dbg = gg.debug.backward(loss)
    dbg.step(3)
    assert [s.node.name() for s in dbg.history] == ["CompiledBackward", "AccumulateGrad", "AccumulateGrad"]
    train(x)  # while a debugger is open (not run to its end), steps run eagerly
    assert train.counts == {"captured": 1, "replayed": 1, "eager": 1}
    dbg.finish()
    train(x)
    assert train.counts["replayed"] == 2


# ---- the plan as a widget graph ---------------------------------------------------------------

def test_the_plan_is_a_widget_graph():
    from graphgrad import viz
    _, step = _mlp_step()
    compiled = gg.compile(step)
    with pytest.raises(RuntimeError, match="nothing captured"):
        _ = compiled.graph
    x = gg.randn(4, 4)
    compiled(x)
    compiled(x)
    graph = compiled.graph.to_json()
    assert graph["schema"] == 1 and graph["nodes"] and graph["edges"]
    phases = {n["phase"] for n in graph["nodes"]}
    assert {"forward", "backward", "optimizer"} <= phases, phases
    groups = {n["attrs"].get("group") for n in graph["nodes"] if n["kind"] == "op"}
    assert len(groups) >= 3
    ids = {n["id"] for n in graph["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in graph["edges"])
    assert any(n["attrs"].get("buffer") is not None for n in graph["nodes"])
    widget = viz.show(compiled)
    assert widget.graph["structure_hash"] == graph["structure_hash"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        widget.tensor(graph["nodes"][0]["id"], "value")  # answers (a value, or why not), never raises


def test_compile_is_a_decorator_and_repeats():
    @gg.compile
    def f(x):
        return (x * 2).exp()
    assert isinstance(f, Compiled)
    x = gg.randn(3)
    for _ in range(3):
        same(f(x), (x * 2).exp())
    assert f.counts == {"captured": 1, "replayed": 2, "eager": 0}
    assert "replayed" in f.explain()


# ---- cuda: CUDA graphs ----------------------------------------------------------------------

def test_kernel_runs_and_python_runs_of_a_plan():
    """What CudaGraphs captures as graphs (forward ops, backward nodes) and what stays Python
    (leaf accumulations, after their pass's kernels; optimizer calls)."""
    from graphgrad.compile.plan import CALL, LEAF
    from graphgrad.compile.replay import segments
    _, step = _mlp_step()
    compiled = gg.compile(step)
    compiled(gg.randn(4, 4))
    runs = segments(compiled.last.instructions)
    kinds = [(graph, sorted({ins[0] for ins in instructions})) for graph, instructions in runs]
    assert kinds[0] == (False, [CALL]) and kinds[-1] == (False, [CALL])  # zero_grad, step
    assert kinds[1][0] and kinds[2] == (False, [LEAF])  # one graph for forward and backward, then the leaves
    assert sum(len(i) for _, i in runs) == len(compiled.last.instructions)


@pytest.mark.cuda
def test_a_training_step_replays_as_cuda_graphs_with_the_eager_numbers():
    if not gg.cuda.is_available():
        pytest.skip("no GPU")

    def make():
        gg.manual_seed(0)
        model = gg.nn.Sequential(gg.nn.Linear(16, 32), gg.nn.ReLU(), gg.nn.Linear(32, 4)).to("cuda")
        opt = gg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return model, step

    eager_model, eager_step = make()
    model, step = make()
    compiled = gg.compile(step)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = gg.tensor(rng.standard_normal((8, 16)).astype(np.float32), device="cuda")
        y = gg.tensor(rng.integers(0, 4, 8), device="cuda")
        np.testing.assert_array_equal(compiled(x, y).cpu().numpy(), eager_step(x, y).detach().cpu().numpy())
    for a, b in zip(eager_model.parameters(), model.parameters()):
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())
    graphs = compiled.last.graphs
    assert graphs is not None and not graphs.failed and any(g is not None for g, _ in graphs.runs)


def test_a_global_or_closure_rebound_to_another_tensor_or_module_captures_again():
    """A notebook loop that rebinds a global batch (or a closure's model, or a model's layer) gets a
    new capture, not a replay over the old objects."""
    gg.manual_seed(0)
    scope = {"gg": gg, "w": gg.randn(3, requires_grad=True), "batch": gg.ones(3)}
    exec("def step():\n    w.grad = None\n    loss = (batch * w).pow(2).sum()\n    loss.backward()\n"
         "    return loss", scope)  # (a function whose globals are a dict of the test's own)
    compiled = gg.compile(scope["step"])
    for i in range(4):
        scope["batch"] = gg.full((3,), float(i))  # a new tensor each time, of the same shape
        same(compiled(), (scope["batch"] * scope["w"]).pow(2).sum())
    assert compiled.counts == {"captured": 4, "replayed": 0, "eager": 0}
    scope["batch"] = gg.ones(3)
    compiled(), compiled()
    assert compiled.counts["replayed"] == 1

    model = gg.nn.Sequential(gg.nn.Linear(2, 2))
    compiled = gg.compile(model)
    x = gg.randn(1, 2)
    with gg.no_grad():
        compiled(x), compiled(x)
        model[0] = gg.nn.Linear(2, 2)  # another layer: its own parameters
        same(compiled(x), model(x))
    assert compiled.counts == {"captured": 2, "replayed": 1, "eager": 0}


def _scheduled_training(compile_it):
    gg.manual_seed(0)
    model = gg.nn.Linear(3, 1)
    opt = gg.optim.SGD(model.parameters(), lr=0.5)
    sched = gg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    def step(x):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        sched.step()
        return loss
    run = gg.compile(step) if compile_it else step
    x = gg.ones(2, 3)
    return [run(x) for _ in range(6)], [g["lr"] for g in opt.param_groups], run


def test_a_learning_rate_scheduler_stepped_inside_the_step_is_stepped_by_the_replay():
    eager_losses, eager_rates, _ = _scheduled_training(False)
    losses, rates, run = _scheduled_training(True)
    assert run.counts == {"captured": 1, "replayed": 5, "eager": 0}, run.explain()
    for a, b in zip(eager_losses, losses):
        same(b, a)
    assert eager_rates == rates == [0.5 * 0.5 ** 3]


def test_an_argument_that_requires_grad_gets_its_gradient_on_every_call():
    """Input gradients (saliency, adversarial steps): each call's argument gets its .grad, not the
    captured call's; a backward that reaches an argument's own history runs eagerly."""
    gg.manual_seed(0)
    model = gg.nn.Sequential(gg.nn.Linear(3, 4), gg.nn.Tanh(), gg.nn.Linear(4, 1))

    def step(x):
        model.zero_grad()
        model(x).sum().backward()
        return x.grad

    compiled = gg.compile(step)
    for i in range(4):
        data = np.random.default_rng(i).standard_normal((2, 3)).astype(np.float32)
        a, b = gg.tensor(data, requires_grad=True), gg.tensor(data, requires_grad=True)
        same(compiled(b), step(a), f"call {i}")
        same(b.grad, a.grad)
    assert compiled.counts == {"captured": 1, "replayed": 3, "eager": 0}

    encoder = gg.nn.Linear(3, 3)
    compiled = gg.compile(lambda x: model(x).sum().backward())
    for _ in range(3):
        encoder.zero_grad()
        compiled(encoder(gg.ones(1, 3)))
        got = encoder.weight.grad.clone()
        encoder.zero_grad()
        model(encoder(gg.ones(1, 3))).sum().backward()
        same(got, encoder.weight.grad)
    assert compiled.counts["replayed"] == 0 and "made before the step" in compiled.explain()


def test_results_that_are_arguments_gradients_or_detached_are_this_calls():
    gg.manual_seed(0)
    w = gg.randn(3, requires_grad=True)

    def step(x):
        w.grad = None
        loss = (x * w).sum()
        loss.backward()
        return x, loss.detach(), w.grad, {"w": w}

    compiled = gg.compile(step)
    for i in range(3):
        x = gg.full((3,), float(i))
        got = compiled(x)
        assert got[0] is x and got[3]["w"] is w
        same(got[1], (x * w).sum().detach())
        same(got[2], x)  # d/dw of sum(x * w)
    assert compiled.counts == {"captured": 1, "replayed": 2, "eager": 0}


def test_index_arguments_are_this_calls():
    """x[idx], gather and index_select with an index argument: the index arrays reach the op as
    attributes, and the replay gives it this call's."""
    gg.manual_seed(0)
    w = gg.randn(5, 3, requires_grad=True)

    def step(idx, rows):
        w.grad = None
        loss = (w[idx] * 2).sum() + w.index_select(0, rows).pow(2).sum() + w.gather(0, idx[:, None].expand(-1, 3)).sum()
        loss.backward()
        return loss

    compiled = gg.compile(step)
    for i in range(4):
        idx, rows = gg.tensor([i, 4 - i, 2]), gg.tensor([i % 5, 1])
        got, grad = compiled(idx, rows), w.grad.clone()
        same(got, step(idx, rows), f"call {i}")
        same(grad, w.grad)
    assert compiled.counts == {"captured": 1, "replayed": 3, "eager": 0}, compiled.explain()


def test_a_scalar_index_argument_is_part_of_the_key():
    w = gg.randn(4, 2, requires_grad=True)
    compiled = gg.compile(lambda i: (w[i] * 3).sum())
    with gg.no_grad():
        for i in (1, 2, 1, 2, 3):
            same(compiled(gg.tensor(i)), (w[i] * 3).sum())
    assert compiled.counts == {"captured": 3, "replayed": 2, "eager": 0}


def _outcome(fn, *args):
    """fn's result, or its error as (type, message)."""
    try:
        return fn(*args)
    except Exception as error:
        return type(error), str(error)


_X = gg.arange(6.0).reshape(3, 2)
_VALUE_CASES = [  # a step, arguments a capture is made with, then arguments whose values change the answer
    ("cross_entropy, an ignored target", lambda x, t: F.cross_entropy(x, t, ignore_index=-1),
     (_X, gg.tensor([0, 1, 0])), (_X, gg.tensor([0, -1, 0]))),
    ("cross_entropy, a target out of range", lambda x, t: F.cross_entropy(x, t), (_X, gg.tensor([0, 1, 0])),
     (_X, gg.tensor([0, 5, 0]))),
    ("binary_cross_entropy, an input above 1", lambda p, t: F.binary_cross_entropy(p, t),
     (gg.tensor([0.5, 0.2]), gg.tensor([1.0, 0.0])), (gg.tensor([1.5, 0.2]), gg.tensor([1.0, 0.0]))),
    ("index_select, a negative index", lambda x, i: x.index_select(0, i), (_X, gg.tensor([0, 1])),
     (_X, gg.tensor([0, -1]))),
    ("gather, a negative index", lambda x, i: x.gather(1, i), (_X, gg.tensor([[0], [1], [0]])),
     (_X, gg.tensor([[0], [-1], [0]]))),
    ("scatter, an index out of range", lambda x, i: x.scatter(1, i, 9.0), (_X, gg.tensor([[0], [1], [0]])),
     (_X, gg.tensor([[0], [2], [0]]))),
    ("take, an index out of range", lambda x, i: x.take(i), (_X, gg.tensor([0, 5])), (_X, gg.tensor([0, 6]))),
    ("repeat_interleave, counts in a tensor", lambda x, r: x.repeat_interleave(r, dim=0),
     (_X, gg.tensor([1, 1, 1])), (_X, gg.tensor([2, 1, 1]))),
    ("embedding, a negative index", lambda w, i: F.embedding(i, w), (_X, gg.tensor([0, 1])), (_X, gg.tensor([0, -1]))),
    ("embedding, other rows renormalised", lambda w, i: F.embedding(i, w, max_norm=1.0),
     (_X.clone(), gg.tensor([0, 1])), (_X.clone(), gg.tensor([2, 1]))),
]


@pytest.mark.parametrize("name,step,first,then", _VALUE_CASES, ids=[c[0] for c in _VALUE_CASES])
def test_a_replay_checks_and_uses_each_calls_values_as_eager_does(name, step, first, then):
    """What a function decides from its arguments' values (an ignored or out-of-range target, an
    index out of range, counts) is decided again on every call: a replay gives eager's answer or
    raises eager's error, never the captured call's."""
    compiled = gg.compile(step)
    compiled(*first)
    got = _outcome(compiled, *[t.clone() for t in then])
    want = _outcome(step, *[t.clone() for t in then])
    if isinstance(want, tuple):
        assert got == want
    else:
        same(got, want)


def test_an_embedding_lookup_replays_and_renormalises_each_calls_rows():
    gg.manual_seed(0)
    a, b = gg.nn.Embedding(6, 3, max_norm=1.0), gg.nn.Embedding(6, 3, max_norm=1.0)
    b.load_state_dict(a.state_dict())
    compiled = gg.compile(lambda i: a(i) * 2)
    for rows in ([0, 1], [2, 5], [4, 4]):
        same(compiled(gg.tensor(rows)), b(gg.tensor(rows)) * 2)
    same(a.weight, b.weight)
    assert compiled.counts["replayed"] == 2
