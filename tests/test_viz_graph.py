"""What the graph view is sent: a tensor's graph named and grouped without being told the model,
where a NaN was born (not where it spread), and stepper messages in words, never node ids."""
import graphgrad as gg
from graphgrad import nn, viz
from graphgrad.viz.sources import TensorSource


def small_model():
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = gg.randn(5, 3)
    return model, x


def test_a_tensor_graph_names_parameters_and_input_from_the_callers_variables():
    model, x = small_model()
    loss = model(x).pow(2).mean()
    g = TensorSource(loss).graph
    params = {n["name"]: n for n in g["nodes"] if n["kind"] == "param"}
    assert set(params) == {"model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"}
    assert params["model.0.weight"]["shape"] == [4, 3] and params["model.0.weight"]["module"] == "model.0"
    assert {m["path"]: m["type"] for m in g["modules"]} == {"model": "Sequential", "model.0": "Linear", "model.2": "Linear"}
    (data,) = [n for n in g["nodes"] if n["kind"] == "input"]
    assert data["name"] == "x" and data["shape"] == [5, 3]
    ops = {n["op"]: n for n in g["nodes"] if n["kind"] == "op"}
    assert ops["linear"]["module"] in ("model.0", "model.2")
    assert ops["relu"]["module"] == "model"                  # between two layers of one Sequential
    assert ops["mean"]["module"] == ""
    assert all(n["shape"] is not None for n in g["nodes"])   # ops too, from saved tensors and shape rules
    order = [n["id"] for n in g["nodes"]]
    for e in g["edges"]:                                     # listed in the order they ran
        assert order.index(e["source"]) < order.index(e["target"])


def test_the_op_where_a_nan_is_born_is_told_from_those_it_spread_to():
    x = gg.tensor([[1.0, -4.0], [9.0, 16.0]], requires_grad=True)
    with gg.trace() as t:
        r = x.sqrt()          # NaN born: sqrt of -4
        y = (r * 2).sum()     # spread
    g = t.graph.to_json()
    flags = {n["op"]: n["flags"] for n in g["nodes"] if n["kind"] == "op"}
    assert flags["sqrt"]["nan"] and flags["sqrt"]["born"] is True
    assert flags["mul"]["nan"] and flags["mul"]["born"] is False
    assert flags["sum"]["nan"] and flags["sum"]["born"] is False
    assert y.isnan().item()


def test_a_backward_step_is_born_only_when_its_forward_values_were_finite():
    # a NaN input: every gradient computed from it is carried in (one birth: the input, not the
    # backward steps of the ops that read it)
    w = gg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    batch = gg.tensor([[float("nan"), 1.0]])
    with gg.trace() as t:
        ((batch @ w).relu() * 3).sum().backward()
    nodes = t.graph.to_json()["nodes"]
    assert not [n for n in nodes if n["kind"] == "backward" and n["flags"].get("born")]
    # sqrt at 0: finite forward values, an infinite gradient: born in the backward step
    x = gg.tensor([0.0, 4.0], requires_grad=True)
    with gg.trace() as t:
        x.sqrt().sum().backward()
    born = [n for n in t.graph.to_json()["nodes"] if n["flags"].get("born")]
    assert [(n["kind"], n["grad_fn"]) for n in born] == [("backward", "AccumulateGrad")]   # x's gradient


def test_stepper_messages_name_ops_and_modules_not_ids():
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2))
    x = gg.tensor([[1.0, 2.0]])
    loss = model(x).sqrt().sum() * gg.tensor(float("nan"))
    w = viz.show(loss)
    w._on_message(w, {"type": "command", "cmd": "continue", "node": None}, [])
    message = w.steps["message"]
    assert message == "stopped: NaN or Inf in the gradient from 'mul' (MulBackward0)", message
    assert "node " not in message
