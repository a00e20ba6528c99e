"""Tracing (DESIGN §3): every dispatched op recorded into a graph per iteration, with module
paths, source lines, phases, values by reference, bounded memory, and its JSON / networkx views.
PyTorch is the oracle for grad_fn names, gradients and gradient norms."""
import gc
import json
import math
import tracemalloc
import weakref

import numpy as np
import pytest
import torch

import graphgrad as gg
from graphgrad import nn
from graphgrad.ops.dispatch import REGISTRY
from graphgrad.ops.dispatch import recorders

HERE = __file__


def line_of(text):
    """The line number of the (first) line of this file containing `text`."""
    return next(i for i, line in enumerate(open(HERE), 1) if text in line)


def mlp(seed=0, hidden=8):
    gg.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 3))


def torch_twin(model):
    """The same MLP in torch, with the same weights."""
    twin = torch.nn.Sequential(torch.nn.Linear(4, model[0].out_features), torch.nn.ReLU(),
                               torch.nn.Linear(model[0].out_features, 3))
    with torch.no_grad():
        for (_, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
            q.copy_(torch.from_numpy(p.detach().numpy().copy()))
    return twin


def train(model, steps, t=None, lr=0.1, seed=1):
    gg.manual_seed(seed)
    opt = gg.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    x, y = gg.randn(16, 4), gg.randint(0, 3, (16,))
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)  # TRAIN-LOSS-LINE
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.fixture(autouse=True)
def no_recorder_left():
    yield
    assert not recorders, "a test left a recorder active"


# ---- 1. a node for every dispatched op ---------------------------------------------------------

def test_every_op_is_a_node_with_torch_grad_fn_names():
    x = gg.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    with gg.trace() as t:
        y = (x * 2).relu().sum()
        i = x.argmax()                 # not differentiable: recorded too
        with gg.no_grad():
            z = x.exp()                # no grad_fn: recorded, grad_fn None
    ops = [n for n in t.graph.nodes if n.kind == "op"]
    assert [n.op for n in ops] == ["mul", "relu", "sum", "argmax", "exp"]
    tx = torch.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    expected = [(tx * 2).grad_fn.name(), (tx * 2).relu().grad_fn.name(), (tx * 2).relu().sum().grad_fn.name()]
    assert [n.grad_fn for n in ops[:3]] == expected
    assert ops[3].grad_fn is None and ops[4].grad_fn is None
    assert y.grad_fn.forward_id == ops[2].id       # autograd nodes link back to their forward op
    assert t.value(i).item() == 3 and np.array_equal(t.value(z)._data, np.exp(x._data))
    leaf = t.graph.find(kind="input")
    assert len(leaf) == 1 and leaf[0].name == "x"  # named after the user's variable
    const = t.graph.find(kind="const")
    assert [c.label for c in const] == ["2"]


def test_edges_follow_the_data():
    a = gg.randn(3, requires_grad=True)
    with gg.trace() as t:
        b = a * a
        b + a
    g = t.graph
    mul, add = g.find(op="mul")[0], g.find(op="add")[0]
    leaf = g.find(kind="input")[0]
    assert mul.inputs == ((leaf.id, 0), (leaf.id, 0)) and add.inputs == ((mul.id, 0), (leaf.id, 0))
    assert (mul.id, add.id, 0, 0) in g.edges


def test_a_leaf_gradient_sink_is_described_by_its_input_before_anyone_reads_the_trace():
    from graphgrad.tracing.source import display_file
    from graphgrad.tracing.trace import describe_forward
    x = gg.randn(3, requires_grad=True)
    with gg.trace():
        y = (x * 2).sum()  # LEAF-SINK-LINE
    sink = y.grad_fn.next_functions[0][0].next_functions[0][0]
    assert describe_forward(sink) == f"the forward op input 'x' at {display_file(HERE)}:{line_of('LEAF-SINK-LINE')}: " \
        "`y = (x * 2).sum()  # LEAF-SINK-LINE`"


def test_in_place_op_moves_the_producer():
    a = gg.randn(3, requires_grad=True)
    with gg.trace() as t:
        b = a * 1
        b.relu_()
        b.sum()
    relu, total = t.graph.find(op="relu")[0], t.graph.find(op="sum")[0]
    assert total.inputs[0][0] == relu.id


def test_each_reader_of_a_tensor_written_in_place_twice_finds_the_write_before_it():
    a = gg.randn(3, requires_grad=True)
    with gg.trace() as t:
        b = a * 1
        before = b + 1
        b.relu_()
        between = b + 2
        b.mul_(3)
        after = b + 3
    g = t.graph
    times_one, write = g.find(op="mul")  # a * 1, then b.mul_(3)
    relu = g.find(op="relu")[0]
    assert [n.inputs[0][0] for n in g.find(op="add")] == [times_one.id, relu.id, write.id]
    assert [t.value(x).tolist() for x in (before, between, after)] == [
        (a * 1 + 1).tolist(), ((a * 1).relu() + 2).tolist(), ((a * 1).relu() * 3 + 3).tolist()]


def test_every_iteration_names_its_own_batch_after_the_loop_variable():
    model = mlp()
    opt = gg.optim.SGD(model.parameters(), lr=0.1)
    batches = [(gg.randn(5, 4), gg.randint(0, 3, (5,))) for _ in range(3)]
    with gg.trace(model, keep=2) as t:
        for xb, yb in batches:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    assert [it.number for it in t.iterations] == [1, 2]
    for g, (xb, yb) in zip(t.graphs, batches[1:]):
        inputs = {n.name: n for n in g.find(kind="input")}
        assert set(inputs) == {"xb", "yb"}
        assert t.value(inputs["xb"])._data is xb._data and t.value(inputs["yb"])._data is yb._data


def test_module_paths_params_and_tree():
    model = mlp()
    x = gg.randn(5, 4)
    with gg.trace() as t:
        model(x).sum()
    g = t.graph
    params = {n.name: n for n in g.find(kind="param")}
    assert set(params) == {"model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"}
    assert params["model.0.weight"].module == "model.0" and params["model.0.weight"].label == "weight"
    assert params["model.0.weight"].array is model[0].weight._data
    assert [n.module for n in g.find(kind="op")] == ["model.0", "model.1", "model.2", ""]
    assert g.modules == [{"path": "model", "type": "Sequential", "parent": None},
                         {"path": "model.0", "type": "Linear", "parent": "model"},
                         {"path": "model.1", "type": "ReLU", "parent": "model"},
                         {"path": "model.2", "type": "Linear", "parent": "model"}]


def test_root_named_explicitly():
    model = mlp()
    with gg.trace(net=model) as t:
        model(gg.randn(2, 4))
    assert {n.name for n in t.graph.find(kind="param")} == {"net.0.weight", "net.0.bias", "net.2.weight",
                                                            "net.2.bias"}


def test_source_location_is_the_user_line():
    model = mlp()
    x = gg.randn(2, 4)
    with gg.trace() as t:
        h = model(x)  # SOURCE-MODEL-LINE
        h.tanh()  # SOURCE-TANH-LINE
    linear = t.graph.find(op="linear")[0]
    tanh = t.graph.find(op="tanh")[0]
    assert linear.source == (HERE, line_of("# SOURCE-MODEL-LINE"))
    assert tanh.source == (HERE, line_of("# SOURCE-TANH-LINE"))
    assert tanh.code == "h.tanh()  # SOURCE-TANH-LINE"
    js = tanh.to_json()["source"]
    assert js["line"] == tanh.source[1] and js["code"] == tanh.code and js["file"].endswith("test_tracing.py")


def test_ops_in_a_user_module_get_their_own_lines():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            h = self.fc(x)  # USER-FC-LINE
            return h.tanh()  # USER-TANH-LINE

    net = Net()
    with gg.trace() as t:
        net(gg.randn(3, 4))
    g = t.graph
    assert g.find(op="linear")[0].source == (HERE, line_of("# USER-FC-LINE"))
    assert g.find(op="linear")[0].module == "net.fc"
    assert g.find(op="tanh")[0].source == (HERE, line_of("# USER-TANH-LINE"))
    assert g.find(op="tanh")[0].module == "net"


def test_torch_trace_of_a_matrix_still_works():
    data = [[1.0, 2.0], [3.0, 4.0]]
    assert gg.trace(gg.tensor(data)).item() == torch.trace(torch.tensor(data)).item()


def test_json_follows_the_schema():
    model = mlp()
    with gg.trace() as t:
        loss = model(gg.randn(6, 4)).logsumexp(1).mean()
        loss.backward()
    data = t.graph.to_json()
    json.dumps(data)  # JSON-able as is
    assert data["schema"] == 1 and data["iteration"] == 0 and isinstance(data["structure_hash"], str)
    keys = {"id", "kind", "op", "category", "grad_fn", "label", "name", "module", "phase", "shape", "dtype", "device",
            "source", "attrs", "seconds", "forward_id", "flags", "caller"}
    ids = {n["id"] for n in data["nodes"]}
    for n in data["nodes"]:
        assert set(n) == keys
        assert n["kind"] in ("op", "input", "param", "const", "backward", "optimizer")
        assert n["phase"] in ("forward", "backward", "optimizer") and set(n["flags"]) == {"nan", "inf"}
        if n["kind"] == "backward":
            assert n["forward_id"] in ids
        # what the viewer colours by: the category the op's class declares; a leaf has none
        op_class = REGISTRY.get(n["op"]) if n["kind"] in ("op", "backward") else None
        assert n["category"] == getattr(op_class, "category", None)
    for e in data["edges"]:
        assert set(e) == {"source", "target", "input", "shape", "dtype"} and {e["source"], e["target"]} <= ids
    lse = next(n for n in data["nodes"] if n["op"] == "logsumexp" and n["kind"] == "op")
    assert lse["category"] == "reduction"
    assert lse["attrs"]["dim"] in (1, [1]) and lse["shape"] == [6] and lse["dtype"] == "float32"
    assert lse["device"] == "cpu" and lse["seconds"] > 0


def test_flags_mark_nan_and_inf():
    x = gg.tensor([1.0, -1.0, 0.0])
    with gg.trace() as t:
        x.log()
    flags = t.graph.find(op="log")[0].to_json()["flags"]
    assert flags == {"nan": True, "inf": True}


# ---- phases, iterations, backward nodes ------------------------------------------------------------

def test_phases_and_iterations_of_a_training_loop():
    model = mlp()
    with gg.trace(model, keep=2) as t:
        losses = train(model, 3)
    assert t.iteration == 2 and [g.iteration for g in t.graphs] == [1, 2]
    g = t.graph
    phases = [n.phase for n in g.nodes]
    first_back, first_opt = phases.index("backward"), phases.index("optimizer")
    assert set(phases[:first_back]) == {"forward"} and set(phases[first_back:first_opt]) == {"backward"}
    step = g.find(kind="optimizer")
    assert len(step) == 1 and step[0].label == "SGD.step" and step[0].attrs["lr"] == 0.1
    assert {g.node(src).name for src, _ in step[0].inputs} == {"model.0.weight", "model.0.bias", "model.2.weight",
                                                                 "model.2.bias"}
    assert t.monitor.loss.values.tolist() == pytest.approx(losses)


def test_ops_during_backward_stay_in_the_iteration():
    model = mlp()
    for p in model.parameters():
        p.register_hook(lambda g: g.clamp(-1, 1))  # an op inside the backward pass
    with gg.trace(model) as t:
        loss = model(gg.randn(4, 4)).sum()
        loss.backward()
        dbg = gg.debug.backward(model(gg.randn(4, 4)).sum())  # a new iteration: its forward pass
        dbg.step()
        dbg.current.grad_outputs[0] * 2                        # inspecting between steps
        dbg.finish()
    assert t.iteration == 1
    clamps = t.graph.find(op="clamp")
    assert len(clamps) == 4 and {c.phase for c in clamps} == {"backward"}
    assert t.graph.find(op="mul")[0].phase == "backward"
    assert len(t.graphs[0].find(op="clamp")) == 4


def test_next_iteration_explicit():
    with gg.trace() as t:
        gg.ones(2) * 2
        t.next_iteration()
        gg.ones(2) + 1
    assert t.iteration == 1 and [n.op for n in t.graph.find(kind="op")] == ["add"]


def test_backward_nodes_link_to_forward_and_grads_match_torch():
    model = mlp()
    twin = torch_twin(model)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    with gg.trace() as t:
        loss = model(gg.tensor(x)).square().mean()
        loss.backward()
    tl = twin(torch.from_numpy(x)).square().mean()
    tl.backward()
    g = t.graph
    back = g.find(kind="backward")
    assert [b.grad_fn for b in back[:3]] == ["MeanBackward0", "PowBackward0", "AddmmBackward0"]
    for b in back:
        forward = g.node(b.forward_id)
        if b.grad_fn == "AccumulateGrad":
            assert forward.kind == "param" and b.name == forward.name
        else:
            assert forward.kind == "op" and forward.grad_fn == b.grad_fn and b.module == forward.module
    # a backward node is wired to the nodes that sent it gradients
    relu_back = g.find(op="relu", kind="backward")[0]
    assert [g.node(src).grad_fn for src, _ in relu_back.inputs] == ["AddmmBackward0"]
    # gradients of forward nodes and parameters, as torch computes them
    for (name, _p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
        np.testing.assert_allclose(t.grad(f"model.{name}")._data, q.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(t.grad(g.find(op="relu")[0])._data, t.value(relu_back)._data)


def test_parameter_nodes_are_shared_by_iterations_until_their_data_changes():
    model = mlp()
    with gg.trace(model, keep=2) as t:
        train(model, 2)
        first = [g.find(name="model.0.weight", kind="param")[0].id for g in t.graphs]
        model[0].weight.data = model[0].weight.data * 1  # new data: a new node from its next read
        train(model, 1)
        last = [g.find(name="model.0.weight", kind="param")[0].id for g in t.graphs]
    assert first[0] == first[1] and last[0] == first[1] and last[1] != first[1]
    for g in t.graphs:  # each iteration's gradient sink links to the node that iteration read
        sink = g.find(name="model.0.weight", kind="backward")[0]
        assert sink.grad_fn == "AccumulateGrad" and sink.forward_id == g.find(name="model.0.weight", kind="param")[0].id


# ---- values and statistics ----------------------------------------------------------------------

def test_one_iteration_is_kept_and_one_whose_graph_is_held_stays():
    model = mlp()
    with gg.trace(model) as t:
        train(model, 1)
        shown = t.graph  # as a widget holds the graph it shows
        linear = shown.find(op="linear")[0]
        train(model, 3)
    assert [it.number for it in t.iterations] == [3]  # keep=1: the latest only
    assert t.value(linear.id)._data is linear.outputs[0] and t.grad(linear.id) is not None  # the one shown stays
    gone = weakref.ref(shown._it)
    del shown
    gc.collect()
    assert gone() is None and [it.number for it in t._kept()] == [3]


def test_values_are_kept_by_reference():
    x = gg.randn(3, 3)
    with gg.trace() as t:
        y = x @ x
    assert t.value(y)._data is y._data and t.value(t.graph.find(kind="input")[0])._data is x._data


def test_stats_histogram_and_preview():
    data = np.array([0.0, 1.0, 2.0, np.nan, np.inf, -3.0, 0.0], np.float32)
    x = gg.tensor(data)
    with gg.trace() as t:
        y = x * 1
    s = t.stats(y)
    finite = np.array([0.0, 1.0, 2.0, -3.0, 0.0])
    assert s["nan"] == 1 and s["inf"] == 1 and s["zero_fraction"] == pytest.approx(2 / 7)
    assert s["min"] == -3.0 and s["max"] == 2.0
    assert s["mean"] == pytest.approx(finite.mean()) and s["std"] == pytest.approx(finite.std())
    counts, edges = np.histogram(finite, bins=32)
    np.testing.assert_array_equal(s["histogram"]["counts"], counts)
    np.testing.assert_allclose(s["histogram"]["edges"], edges)
    big = gg.randn(300, 500)
    with gg.trace() as t:
        z = big * 1
    p = t.preview(z, max_elements=4096)
    assert p.size <= 4096 and p.ndim == 2
    np.testing.assert_array_equal(p[0, :], big._data[0, ::-(-500 // p.shape[1])][:p.shape[1]])


# ---- bounded memory, structure hash ---------------------------------------------------------------

def test_memory_stays_flat_over_2000_steps():
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = gg.optim.SGD(model.parameters(), lr=0.01)
    x, y = gg.randn(16, 8), gg.randn(16, 1)
    first = []

    def step():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    with gg.trace(model, keep=2, history=64) as t:
        first.append(weakref.ref(step()))  # a tensor of iteration 0 (dropped once 2 newer are kept)
        for _ in range(199):
            step()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for _ in range(1800):
            step()
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert growth < 64 * 1024, f"memory grew by {growth} bytes over 1800 traced steps"
    assert len(t.iterations) == 2 and t.iteration == 1999 and first[0]() is None
    assert len(t.monitor.loss) <= 64 + 1 and t.monitor.loss.steps[-1] == 1999


def test_structure_hash_is_shared_by_identical_iterations():
    model = mlp()
    with gg.trace(model) as t:
        train(model, 3)
    hashes = [g.structure_hash for g in t.graphs]
    assert len(set(hashes)) == 1
    with gg.trace(model) as t2:
        model(gg.randn(7, 4)).sum()  # another batch size: another structure
    assert t2.graph.structure_hash != hashes[0]


# ---- views --------------------------------------------------------------------------------------

def test_networkx_and_fold():
    import networkx as nx
    model = mlp()
    with gg.trace(model) as t:
        train(model, 1)
    g = t.graph
    d = g.to_networkx()
    data = g.to_json()
    assert d.number_of_nodes() == len(data["nodes"]) and d.number_of_edges() == len(data["edges"])
    assert nx.is_directed_acyclic_graph(d)
    some = g.find(op="linear")[0]
    assert d.nodes[some.id]["module"] == "model.0" and d.nodes[some.id]["grad_fn"] == "AddmmBackward0"
    folded = g.fold(1)
    assert "model" in folded and folded.nodes["model"]["kind"] == "module" and folded.nodes["model"]["ops"] == 3
    assert folded.nodes["model"]["type"] == "Sequential"
    layers = g.fold(2)
    assert {"model.0", "model.1", "model.2"} <= set(layers) and layers.has_edge("model.0", "model.1")
    assert nx.is_directed_acyclic_graph(layers)


def test_live_trace_grows_and_stays_bounded():
    live = gg.tracing.live(max_nodes=50, keep=2)
    try:
        assert gg.trace(live=True) is live and live.active
        for _ in range(120):
            gg.ones(3) * 2  # a "cell" with no backward: the iteration is bounded by max_nodes
        with live:
            pass
        assert live.active  # leaving `with` does not stop the session-wide trace
        assert len(live.iterations) <= 2 and all(len(it.records) <= 51 for it in live.iterations)
        assert live.iteration >= 1
    finally:
        gg.tracing.live(False)
    assert not live.active


# ---- monitor ------------------------------------------------------------------------------------

def test_monitor_loss_metrics_grad_norms_update_ratios():
    model = mlp()
    with gg.trace(model, monitor_budget=None) as t:
        gg.manual_seed(1)
        opt = gg.optim.SGD(model.parameters(), lr=0.1)
        x, y = gg.randn(16, 4), gg.randint(0, 3, (16,))
        norms, ratios = [], []
        for i in range(3):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            before = model[0].weight._data.copy()
            norms.append(np.linalg.norm(model[0].weight.grad._data))
            opt.step()
            ratios.append(np.linalg.norm(model[0].weight._data - before) / np.linalg.norm(model[0].weight._data))
            t.log(accuracy=0.5 + i / 10)
    m = t.monitor
    assert m.loss.steps.tolist() == [0, 1, 2]
    assert m.metrics["accuracy"].values.tolist() == pytest.approx([0.5, 0.6, 0.7])
    assert m.grad_norms["model.0.weight"].values.tolist() == pytest.approx(norms, rel=1e-5)
    assert m.update_ratios["model.0.weight"].values.tolist() == pytest.approx(ratios, rel=1e-4)
    assert set(m.grad_norms) == {"model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"}


def test_monitor_budget_counts_what_measuring_costs_the_step(monkeypatch):
    """The budget keeps measuring under its fraction of the training time, counting the cache
    its measurements disturb (twice their own time): at 1%, measurements taking 1 ms per
    iteration of a 100 ms step are taken every second iteration."""
    from graphgrad.tracing import monitor
    clock = iter([0.0, 1.0, 2.0, 3.0])  # the first measured iteration ends at t=0, the next 10 later at 1.0
    monkeypatch.setattr(monitor.time, "perf_counter", lambda: next(clock))
    budget = monitor.Budget(0.01)
    budget.measured(0, 0.001)
    budget.measured(10, 0.001)
    assert budget.every == math.ceil(0.001 * monitor.Budget.CACHE_FACTOR / (0.01 * 0.1)) == 2
    assert budget.due(12) and not budget.due(13)


def test_diagnostics_name_what_is_wrong():
    gg.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.unused, self.fc2 = nn.Linear(4, 6), nn.Linear(6, 6), nn.Linear(6, 1)

        def forward(self, x):
            return self.fc2(self.fc1(x).relu())

    net = Net()
    with gg.no_grad():
        net.fc1.bias[:3] = -100.0  # units 0..2 never fire: dead across any batch
        net.fc2.weight.mul_(1e5)   # and a huge last layer: exploding gradients at fc1
    with gg.trace(net) as t:
        net(gg.randn(32, 4)).sum().backward()
    d = t.monitor.diagnostics()
    assert d["no_gradient"] == ["net.unused.weight", "net.unused.bias"]
    (label, dead), = d["dead_relu"].items()
    assert dead["dead"] == 3 and dead["units"] == 6 and dead["fraction"] == 0.5
    assert "net.fc1" in d["exploding"]
    assert d["layer_grad_norms"]["net.fc1"] > 1e3
    # an iteration the monitor did not measure: the norms come from the parameters' .grad
    with gg.trace(net, monitor_budget=1e-12) as t:
        for _ in range(3):
            net.zero_grad()
            net(gg.randn(32, 4)).sum().backward()
    assert not t._current.grad_norms
    expected = np.sqrt(sum(np.sum(p.grad._data.astype(np.float64) ** 2) for p in net.fc1.parameters()))
    assert t.monitor.diagnostics()["layer_grad_norms"]["net.fc1"] == pytest.approx(expected, rel=1e-5)


def test_anomaly_recorder_and_traces_leave_no_recorder():
    with gg.trace():
        with gg.autograd.detect_anomaly():
            assert len(recorders) == 2
        assert len(recorders) == 1


def test_a_debugger_left_half_way_elsewhere_does_not_relabel_a_later_trace():
    model = mlp()
    stale = gg.debug.backward(model(gg.randn(4, 4)).sum())  # a stepper left mid-pass (another cell)
    stale.step()
    with gg.trace(model) as t:
        for _ in range(2):
            model(gg.randn(4, 4)).sum().backward()
    assert {n.phase for n in t.graph.find(op="linear") if n.kind == "op"} == {"forward"}
    stale.finish()


def test_live_with_new_options_starts_a_new_session_trace():
    first = gg.tracing.live(max_nodes=100)
    try:
        second = gg.tracing.live(max_nodes=50)
        assert second is not first and not first.active and second.active and gg.tracing.live() is second
    finally:
        gg.tracing.live(False)


# ---- what recording must catch while the model runs (the rest is worked out when read) ----------

def test_a_tensor_made_before_the_trace_is_an_input_named_after_its_variable():
    w = gg.randn(3, requires_grad=True)
    h = w.exp()  # has a grad_fn, from an op no trace saw
    with gg.trace() as t:
        (h * 2).sum().backward()
    assert [(n.kind, n.name) for n in t.graph.nodes if n.kind in ("input", "param")] == [("input", "h")]
    assert t.value("h")._data is h._data


def test_input_names_hold_when_layers_are_frozen_then_unfrozen():
    gg.manual_seed(0)
    backbone = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    model = nn.Sequential(backbone, nn.Linear(8, 3))
    opt = gg.optim.SGD(model.parameters(), lr=0.1)
    with gg.trace(model, keep=4) as t:
        for epoch in range(4):
            backbone.requires_grad_(epoch >= 2)  # frozen at first: its outputs have no grad_fn
            xb, yb = gg.randn(5, 4), gg.randint(0, 3, (5,))
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    assert [sorted(n.name for n in g.find(kind="input")) for g in t.graphs] == [["xb", "yb"]] * 4


def test_no_grad_ops_in_a_loop_name_their_one_input_once():
    y = gg.ones(5)
    with gg.trace() as t:
        for _ in range(50):
            y = y * 1.5  # nothing requires grad: each output is the next op's input
    assert len(t._leaves.input_names) == 1
    assert [n.kind for n in t.graph.nodes].count("input") == 1


def test_each_iteration_shows_the_array_its_ops_read_after_data_is_reassigned():
    gg.manual_seed(0)
    model = nn.Linear(3, 1, bias=False)
    x = gg.randn(4, 3)
    used = []
    with gg.trace(model, keep=4) as t:
        for _ in range(3):
            used.append(model.weight._data)
            model(x).pow(2).mean().backward()
            with gg.no_grad():  # manual SGD that gives the weight a new array (opens the next iteration)
                model.weight.data = model.weight.data - 0.5 * model.weight.grad
            model.weight.grad = None
    weights = [next(n for n in g.nodes if n.name == "model.weight") for g in t.graphs[:3]]
    assert [w.outputs[0] is u for w, u in zip(weights, used)] == [True] * 3
    assert len({w.id for w in weights}) == 3  # a parameter's node is shared only while its array stays


def test_nested_traces_each_find_the_loss():
    model = mlp()
    x = gg.randn(4, 4)
    with gg.trace(model) as outer:
        with gg.trace(model) as inner:
            for _ in range(3):
                model(x).pow(2).mean().backward()
    assert len(outer.monitor.loss) == len(inner.monitor.loss) == 3
    assert np.array_equal(outer.monitor.loss.values, inner.monitor.loss.values)


def test_a_leaf_gradient_sink_is_described_after_an_earlier_iteration_was_read():
    from graphgrad.tracing.trace import describe_forward
    img = gg.randn(3, requires_grad=True)
    opt = gg.optim.SGD([img], lr=0.1)
    with gg.trace() as t:
        for i in range(5):
            opt.zero_grad()
            loss = (img * 2).sum()
            if i == 0:
                t.graph.nodes  # read once, early: that iteration is dropped later
            loss.backward()
            opt.step()
    sink = loss.grad_fn.next_functions[0][0].next_functions[0][0]
    assert describe_forward(sink).startswith("the forward op input 'img' at ")


def test_a_graph_kept_keeps_neither_the_model_nor_the_trace():
    import sys
    trace_module = sys.modules["graphgrad.tracing.trace"]

    def epoch():
        model = nn.Linear(30, 30)
        with gg.trace(model) as t:
            model(gg.randn(2, 30)).sum().backward()
        return t.graph, weakref.ref(model), weakref.ref(t)
    graph, model, trace = epoch()
    trace_module._latest = None
    gc.collect()
    assert model() is None and trace() is None
    assert [n.name for n in graph.find(kind="param")] == ["model.weight", "model.bias"]


def test_an_in_place_write_through_a_view_is_a_copy_slices_node_with_torch_gradient():
    a = gg.randn(4, requires_grad=True)
    ta = torch.tensor(a.tolist(), requires_grad=True)
    with gg.trace() as t:
        b = a * 1
        b[:2].mul_(10)
        b.sum().backward()
    tb = ta * 1
    tb.retain_grad()
    tb[:2].mul_(10)
    tb.sum().backward()
    node, _ = t._resolve(b)
    assert (node.op, node.grad_fn) == ("copy_slices", type(tb.grad_fn).__name__)
    assert t.grad(b).tolist() == tb.grad.tolist() and t.value(b).tolist() == tb.tolist()


def test_recorders_written_against_the_base_class_or_duck_typed_still_work():
    class ModuleCounter(gg.tracing.Recorder):  # overrides enter_module without saying it follows modules
        def __init__(self):
            self.entered = []

        def enter_module(self, module):
            self.entered.append(type(module).__name__)

    class Duck:  # not a Recorder, and from before record_write
        def record(self, *args):
            pass

        def enter_module(self, module):
            pass

        def exit_module(self, module):
            pass

    counter, duck = ModuleCounter(), Duck()
    recorders.extend([counter, duck])
    try:
        nn.Sequential(nn.Linear(2, 2), nn.ReLU())(gg.randn(1, 2)).add_(1)
    finally:
        recorders.remove(counter)
        recorders.remove(duck)
    assert counter.entered == ["Sequential", "Linear", "ReLU"]


def test_an_optimizer_step_is_fed_by_the_parameter_leaves_even_when_it_runs_tensor_ops():
    class ManualSGD(gg.optim.Optimizer):
        def __init__(self, params, lr):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            with gg.no_grad():
                for p in self.param_groups[0]["params"]:
                    p.sub_(p.grad * self.param_groups[0]["lr"])

    model = nn.Linear(3, 2)
    opt = ManualSGD(model.parameters(), lr=0.1)
    with gg.trace(model) as t:
        opt.zero_grad()
        model(gg.randn(4, 3)).pow(2).mean().backward()
        opt.step()
    g = t.graph
    step = g.find(op="step")[0]
    assert [g.node(i).name for i, _ in step.inputs] == ["model.weight", "model.bias"]
    assert [n.name for n in g.find(kind="input") if n.name] == ["model.weight.grad", "model.bias.grad"]


# ---- a second review: parameters written in place, arrays swapped, graphs held, iterations split -

def test_a_parameter_written_in_place_under_no_grad_stays_a_leaf():
    m = nn.Linear(3, 1)
    with gg.trace(m) as t:
        with gg.no_grad():
            m.weight.clamp_(-0.1, 0.1)  # as clipping, `p -= lr * p.grad` or load_state_dict do
        m(gg.randn(4, 3)).sum().backward()
    g = t.graph
    linear = g.find(op="linear")[0]
    assert [g.node(i).name for i, _ in linear.inputs[1:]] == ["m.weight", "m.bias"]
    assert [n.name for n in g.find(kind="backward") if n.grad_fn == "AccumulateGrad"] == ["m.weight", "m.bias"]
    assert t.grad("m.weight").tolist() == m.weight.grad.tolist()


def test_data_swapped_after_the_last_read_leaves_the_recorded_array():
    lin = nn.Linear(2, 1, bias=False)
    x = gg.ones(1, 2)
    with gg.trace(lin) as t:
        lin(x).sum().backward()
        shown = t.graph  # held, as a widget holds it
        read = lin.weight._data
        lin.weight.data = gg.full((1, 2), 5.0)  # re-initialised between steps
        for _ in range(3):
            lin(x).sum().backward()
    assert shown.find(name="lin.weight", kind="param")[0].outputs[0] is read
    lin.weight.data = gg.zeros(1, 2)  # after the trace too
    assert t.value("lin.weight")._data is not lin.weight._data


def test_naming_a_module_added_later_keeps_a_swap_not_yet_seen():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(1, 1, bias=False)

        def forward(self, x):
            return self.a(self.b(x) if hasattr(self, "b") else x)

    net, x = Net(), gg.ones(1, 1)
    with gg.trace(net, keep=2) as t:
        net(x).sum().backward()
        read = net.a.weight._data
        net.a.weight.data = gg.full((1, 1), 5.0)
        net.b = nn.Linear(1, 1, bias=False)  # runs first next time: the model is named again
        net(x).sum().backward()
    first = t.graphs[0].find(name="net.a.weight", kind="param")[0]
    assert first.outputs[0] is read


def test_the_widget_shows_the_gradients_of_the_iteration_it_shows():
    from graphgrad.viz.sources import TraceSource
    lin = nn.Linear(2, 1, bias=False)
    opt = gg.optim.SGD(lin.parameters(), lr=0.0)  # the weight's array and node id stay
    with gg.trace(lin) as t:
        opt.zero_grad()
        lin(gg.ones(1, 2)).sum().backward()
        opt.step()
        source = TraceSource(t)
        weight = next(n["id"] for n in source.graph["nodes"] if n["name"] == "lin.weight")
        for _ in range(3):
            opt.zero_grad()
            (lin(gg.ones(1, 2)) * 100).sum().backward()
            opt.step()
        t.graph.nodes
    assert source.tensor(weight, "grad")[0].tolist() == [[1.0, 1.0]]
    assert lin.weight.grad.tolist() == [[100.0, 100.0]]


def test_diagnostics_still_see_the_last_training_iteration_during_evaluation():
    model = mlp()
    opt = gg.optim.SGD(model.parameters(), lr=0.1)
    x, y = gg.randn(8, 4), gg.randint(0, 3, (8,))
    with gg.trace(model) as t:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        with gg.no_grad():
            model(x)  # evaluation: an iteration without backward
    assert [it.number for it in t.iterations] == [1] and t._last_with_backward().number == 0
    assert set(t.monitor.diagnostics()["layer_grad_norms"]) == {"model.0", "model.2"}
    with gg.trace(model) as t:  # and once a newer iteration trains, the old one goes
        for _ in range(2):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
    assert [it.number for it in t._kept()] == [1]


def test_an_input_another_trace_made_is_named():
    x = gg.randn(3, requires_grad=True)
    t = gg.trace()
    with gg.trace():
        h = x * 2
    with t:
        h + 1
    assert [(n.kind, n.name) for n in t.graph.nodes if n.kind == "input"] == [("input", "h")]


def test_an_iteration_split_by_max_nodes_keeps_a_write_with_its_op():
    w = gg.tensor([1.0, 2.0, 3.0, 4.0, 5.0], requires_grad=True)
    with gg.trace(max_nodes=2, keep=5) as t:
        a = w * 1
        b = a[1:]
        b.mul_(3)  # SPLIT-WRITE
        (a * a).sum().backward()
    copies = [n for g in t.graphs for n in g.find(op="copy_slices")]
    assert len(copies) == 1 and all(source is not None for source in copies[0].inputs)
    assert copies[0].source == (HERE, line_of("SPLIT-WRITE")) and copies[0].inputs[1][0] in {
        n.id for g in t.graphs for n in g.find(op="mul")}


def test_a_held_graph_read_late_has_the_gradients_its_backward_left():
    m = nn.Linear(3, 1)
    opt = gg.optim.SGD(m.parameters(), lr=0.1)
    x = gg.randn(4, 3)
    with gg.trace(m) as t:
        opt.zero_grad()
        m(x).sum().backward()
        first = m.weight.grad.tolist()
        opt.step()
        held = t.graph  # not read yet
        for _ in range(3):
            opt.zero_grad()
            (m(x) * 10).sum().backward()
            opt.step()
        opt.zero_grad()
    sink = next(n for n in held.nodes if n.grad_fn == "AccumulateGrad" and n.name == "m.weight")
    assert sink.array.tolist() == first
    assert t.grad(held.find(name="m.weight", kind="param")[0]).tolist() == first
