"""The widget's Python half: protocol spec, sources (tensor graph walk), stepper, tensor summaries,
widget message handling. Gradients the stepper shows are checked against PyTorch's."""
import json

import numpy as np
import pytest
import torch

import graphgrad as gg
from graphgrad import viz
from graphgrad.viz import protocol, synthetic
from graphgrad.viz.sources import StaticSource, TensorSource
from graphgrad.viz.tensors import summarize


def test_protocol_spec_file_is_current():
    # js/test/protocol.test.ts checks the browser half against the same file
    assert json.loads(protocol.SPEC_PATH.read_text()) == protocol.spec()


def test_messages_are_checked():
    with pytest.raises(ValueError, match="needs fields"):
        protocol.message("tensor", request=1)
    assert protocol.check_request({"type": "command", "cmd": "next", "node": None}) == "command"
    with pytest.raises(ValueError, match="unknown stepper command"):
        protocol.check_request({"type": "command", "cmd": "rm -rf", "node": None})
    with pytest.raises(ValueError, match="lacks"):
        protocol.check_request({"type": "inspect", "node": 1})


def mlp():
    gg.manual_seed(0)
    w1 = gg.randn(4, 3, requires_grad=True)
    b1 = gg.zeros(4, requires_grad=True)
    w2 = gg.randn(1, 4, requires_grad=True)
    x = gg.randn(5, 3)
    loss = ((x @ w1.t() + b1).relu() @ w2.t()).pow(2).mean()
    return loss, {"fc1.weight": w1, "fc1.bias": b1, "fc2.weight": w2}, x


def torch_grads(params, x):
    t = {k: torch.tensor(v._data, requires_grad=True) for k, v in params.items()}
    loss = ((torch.tensor(x._data) @ t["fc1.weight"].t() + t["fc1.bias"]).relu() @ t["fc2.weight"].t()).pow(2).mean()
    loss.backward()
    return {k: v.grad.numpy() for k, v in t.items()}


def test_tensor_graph_matches_grad_fn_walk():
    loss, params, _ = mlp()
    g = TensorSource(loss, params).graph
    names = {n["grad_fn"] for n in g["nodes"]}
    assert names >= {"MeanBackward0", "PowBackward0", "ReluBackward0", "AccumulateGrad", "AddBackward0"}
    assert g["schema"] == 1 and len(g["structure_hash"]) == 16
    leaves = {n["name"]: n for n in g["nodes"] if n["kind"] == "param"}
    assert leaves["fc1.weight"]["shape"] == [4, 3] and leaves["fc1.weight"]["module"] == "fc1"
    assert {m["path"] for m in g["modules"]} == {"fc1", "fc2"}
    ids = {n["id"] for n in g["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in g["edges"])
    # the same computation again has the same structure hash; a different one does not
    again, again_params, _ = mlp()
    assert TensorSource(again, again_params).graph["structure_hash"] == g["structure_hash"]
    assert TensorSource(loss * 2, params).graph["structure_hash"] != g["structure_hash"]
    json.dumps(g)   # JSON-able as the schema says


def test_stepper_runs_one_real_node_per_next_and_matches_torch():
    loss, params, x = mlp()
    w = viz.show(loss, params=params)
    sent = []
    w.send = lambda content, buffers=None: sent.append((content, buffers))
    total = len([n for n in w.graph["nodes"] if n["kind"] != "input"])   # the data runs no backward step
    root = w.steps["ready"]
    assert w.steps["position"] == 0 and w.steps["done"] == []
    w._on_message(w, {"type": "command", "cmd": "next", "node": None}, [])
    assert w.steps["done"] == root and w.steps["current"] == root[0]
    assert params["fc1.weight"].grad is None          # one node ran: nothing reached the leaves yet
    w._on_message(w, {"type": "command", "cmd": "prev", "node": None}, [])
    assert w.steps["position"] == 0
    w._on_message(w, {"type": "command", "cmd": "last", "node": None}, [])
    assert w.steps["finished"] and w.steps["position"] == total == w.steps["total"]
    expected = torch_grads(params, x)
    for name, p in params.items():
        np.testing.assert_allclose(p.grad._data, expected[name], rtol=1e-5, atol=1e-6)
    # the inspector's gradient of a leaf is the one torch computes
    leaf = next(n["id"] for n in w.graph["nodes"] if n["name"] == "fc1.weight")
    w._on_message(w, {"type": "inspect", "request": 9, "node": leaf, "what": "grad"}, [])
    header, buffers = sent[-1]
    assert header["available"] and header["shape"] == [4, 3] and header["request"] == 9
    preview = np.frombuffer(buffers[2], np.float32).reshape(header["preview_shape"])
    np.testing.assert_allclose(preview, expected["fc1.weight"], rtol=1e-5, atol=1e-6)


def test_run_to_and_breakpoints():
    loss, params, _ = mlp()
    w = viz.show(loss, params=params)
    relu = next(n["id"] for n in w.graph["nodes"] if n["op"] == "relu")
    w._on_message(w, {"type": "command", "cmd": "run_to", "node": relu}, [])
    assert w.steps["current"] == relu and not w.steps["finished"]
    leaf = next(n["id"] for n in w.graph["nodes"] if n["name"] == "fc1.bias")
    w._on_message(w, {"type": "breakpoint", "node": leaf, "on": True}, [])
    w._on_message(w, {"type": "command", "cmd": "continue", "node": None}, [])
    assert w.steps["current"] == leaf and w.steps["breakpoints"] == [leaf]


def test_continue_stops_where_a_gradient_turns_nan():
    x = gg.tensor([1.0, 0.0, 2.0], requires_grad=True)
    loss = (x.sqrt() * 0).sum() + (x.log() * x).sum()   # log'(0) = inf: the gradient there is not finite
    w = viz.show(loss)
    w._on_message(w, {"type": "command", "cmd": "continue", "node": None}, [])
    assert w.steps["flagged"] and w.steps["current"] == w.steps["flagged"][0]
    assert "NaN or Inf" in w.steps["message"]


def test_forward_replay_walks_ops_in_order():
    w = viz.show(synthetic.transformer(1, nan_at=9))
    assert w.steps["mode"] == "forward"
    w._on_message(w, {"type": "command", "cmd": "next", "node": None}, [])
    assert w.steps["done"] == [0]
    w._on_message(w, {"type": "command", "cmd": "continue", "node": None}, [])   # stops at the NaN node
    assert w.steps["current"] == 9
    w._on_message(w, {"type": "command", "cmd": "last", "node": None}, [])
    assert w.steps["finished"]


def test_second_backward_reports_freed_graph_instead_of_crashing():
    loss, params, _ = mlp()
    loss.backward()
    w = viz.show(loss, params=params)
    w._on_message(w, {"type": "command", "cmd": "last", "node": None}, [])
    assert "second time" in w.steps["message"]


def test_bad_requests_answer_with_an_error_message():
    w = viz.show(synthetic.transformer(1))
    sent = []
    w.send = lambda content, buffers=None: sent.append(content)
    w._on_message(w, {"type": "nope"}, [])
    assert sent[-1]["type"] == "error" and "unknown widget message" in sent[-1]["message"]
    w._on_message(w, {"type": "inspect", "request": 1, "node": 3, "what": "value"}, [])
    assert sent[-1]["type"] == "tensor" and not sent[-1]["available"] and "saved without tensors" in sent[-1]["reason"]


def test_summary_stats_histogram_and_previews():
    a = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
    a[0, 0] = np.nan
    a[0, 1] = np.inf
    header, (stats, hist, preview) = summarize(gg.tensor(a))
    s = dict(zip(protocol.STATS, stats))
    finite = a[np.isfinite(a)].astype(np.float64)
    assert (s["nan"], s["inf"], s["numel"], s["zeros"]) == (1, 1, 12, 1)
    assert s["min"] == finite.min() and s["max"] == finite.max() and np.isclose(s["std"], finite.std())
    assert hist.sum() == finite.size and len(hist) == protocol.HIST_BINS
    assert header["preview_kind"] == "heatmap" and not header["truncated"]
    flat = preview.reshape(-1)
    assert np.isnan(flat[0]) and flat[1] == np.inf and flat.size == 12
    big = summarize(np.random.rand(1000, 300).astype(np.float32))[0]
    assert big["preview_kind"] == "heatmap" and big["truncated"] and max(big["preview_shape"]) <= 128
    images = summarize(np.random.rand(32, 3, 100, 100))[0]
    assert images["preview_kind"] == "images" and images["preview_shape"] == [1, 3, 100, 100]   # batch 0 in RGB
    long = summarize(np.arange(10_000.0))[0]
    assert long["preview_kind"] == "values" and long["preview_shape"] == [256] and long["truncated"]
    assert summarize(np.array([True, False]))[0]["dtype"] == "uint8"


def test_html_in_names_stays_data():
    """Python never turns strings into markup: they travel as JSON strings (the browser test checks
    they are shown as text)."""
    evil = "<img src=x onerror=alert(1)>"
    g = synthetic.transformer(1)
    g["nodes"][3]["module"] = evil
    w = viz.show(g)
    assert w.graph["nodes"][3]["module"] == evil
    with pytest.raises(ValueError, match="schema"):
        StaticSource({"schema": 99})


def traced_mlp():
    from graphgrad import nn
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    x = gg.randn(5, 3)
    with gg.trace(model) as t:
        loss = model(x).pow(2).mean()
    return t, loss, model, x


def test_trace_stepped_by_the_debugger_lights_up_forward_ops():
    t, loss, model, x = traced_mlp()
    w = viz.show(t, backward=loss)
    graph = w.graph
    by_id = {n["id"]: n for n in graph["nodes"]}
    assert any(n["op"] == "linear" and n["module"] == "model.0" for n in graph["nodes"])
    sent = []
    w.send = lambda content, buffers=None: sent.append((content, buffers))
    w._on_message(w, {"type": "command", "cmd": "next", "node": None}, [])
    assert by_id[w.steps["current"]]["op"] == "mean"       # the backward of mean ran first
    w._on_message(w, {"type": "command", "cmd": "last", "node": None}, [])
    assert w.steps["finished"]
    weight = next(n["id"] for n in graph["nodes"] if n["name"] == "model.0.weight")
    assert weight in w.steps["done"]
    # inspector: the traced value of the weight, and the gradient the stepper delivered, as torch has them
    tw = torch.tensor(model[0].weight._data, requires_grad=True)
    tb, tw2, tb2 = (torch.tensor(p._data, requires_grad=True) for p in (model[0].bias, model[2].weight, model[2].bias))
    (torch.relu(torch.tensor(x._data) @ tw.t() + tb) @ tw2.t() + tb2).pow(2).mean().backward()
    for what, expected in (("value", tw.detach().numpy()), ("grad", tw.grad.numpy())):
        w._on_message(w, {"type": "inspect", "request": 1, "node": weight, "what": what}, [])
        header, buffers = sent[-1]
        assert header["available"], header
        got = np.frombuffer(buffers[2], np.float32).reshape(header["preview_shape"])
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_show_a_debugger_stepped_in_python_picks_up_where_it_is():
    loss, params, _ = mlp()
    dbg = gg.debug.backward(loss)
    dbg.step(2)
    w = viz.show(dbg, params=params)
    assert w.steps["position"] == 2 and len(w.steps["done"]) == 2
    w._on_message(w, {"type": "command", "cmd": "next", "node": None}, [])
    assert len(dbg.history) == 3 and w.steps["position"] == 3


def test_live_trace_view_refreshes():
    t = gg.tracing.live()
    try:
        a = gg.ones(2, requires_grad=True)
        (a * 2).sum()
        w = viz.show()
        before = len(w.graph["nodes"])
        (a.exp() + 1).sum()
        w.refresh()
        assert len(w.graph["nodes"]) >= before and w.graph["schema"] == 1
    finally:
        gg.tracing.live(False)
    assert t is not None


def test_save_and_load_round_trip(tmp_path):
    t, loss, _, _ = traced_mlp()
    viz.save(t, tmp_path / "mlp.ggtrace")
    graph = viz.load(tmp_path / "mlp.ggtrace").graph   # the format's own tests: tests/test_document.py
    assert graph == t.graph.to_json()
    assert viz.show(graph).graph == graph
    (tmp_path / "other.json").write_text('{"format": "something"}')
    with pytest.raises(ValueError, match="not a graphgrad trace"):
        viz.load(tmp_path / "other.json")
