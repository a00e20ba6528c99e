"""Debugging (DESIGN §4): the backward stepper drives the real scheduler (stepping to the end
gives exactly loss.backward()'s gradients), forward replay with real values, breakpoints on a
node / the first NaN or Inf / a large gradient, and anomaly mode naming the forward op and line.
PyTorch is the oracle for gradients and anomaly messages."""
import subprocess
import sys
import os

import numpy as np
import pytest
import torch

import graphgrad as gg
from graphgrad import nn
from graphgrad.ops.dispatch import recorders

HERE = __file__
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def line_of(text):
    return next(i for i, line in enumerate(open(HERE), 1) if text in line)


def mlp(seed=0):
    gg.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def forward(model, seed=1):
    gg.manual_seed(seed)
    x, y = gg.randn(16, 4), gg.randint(0, 3, (16,))
    return nn.functional.cross_entropy(model(x), y)


@pytest.fixture(autouse=True)
def no_recorder_left():
    yield
    assert not recorders, "a test left a recorder active"


# ---- backward stepper ------------------------------------------------------------------------------

def test_stepping_to_the_end_gives_the_grads_of_backward_bit_for_bit():
    a, b = mlp(), mlp()
    forward(a).backward()
    dbg = gg.debug.backward(forward(b))
    assert all(p.grad is None for p in b.parameters())  # nothing runs until you step
    dbg.step()
    dbg.step(3)
    assert len(dbg.history) == 4 and not dbg.finished
    dbg.finish()
    assert dbg.finished and dbg.ready == []
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p.grad._data, q.grad._data)


def test_stepper_grads_match_torch_and_name_parameters():
    model = mlp()
    twin = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for p, q in zip(model.parameters(), twin.parameters()):
            q.copy_(torch.from_numpy(p._data.copy()))
    with gg.trace(model):
        loss = forward(model)
    gg.manual_seed(1)
    x, y = gg.randn(16, 4), gg.randint(0, 3, (16,))
    torch.nn.functional.cross_entropy(twin(torch.from_numpy(x._data)), torch.from_numpy(y._data)).backward()
    grads = gg.debug.backward(loss).finish()
    assert set(grads) == {"model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"}
    for (name, q) in twin.named_parameters():
        np.testing.assert_allclose(grads[f"model.{name}"]._data, q.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_each_step_shows_node_gradients_and_ready_queue():
    model = mlp()
    with gg.trace(model) as t:
        loss = forward(model)
        dbg = gg.debug.backward(loss)
        assert dbg.ready == [loss.grad_fn] and dbg.current is None
        s = dbg.step()
        assert s.node is loss.grad_fn and s.name == "NllLossBackward0"
        assert s.grad_outputs[0].item() == 1.0 and len(s.grad_inputs) == len(loss.grad_fn.next_functions)
        assert dbg.current is s and s.ready == dbg.ready
        assert dbg.ready == [loss.grad_fn.next_functions[0][0]]  # LogSoftmaxBackward0 is next
        assert s.forward is not None and s.forward.op == "nll_loss" and s.forward.id == loss.grad_fn.forward_id
        # run_to a module's output tensor, a leaf by name, a recorded node
        relu_node = t.graph.find(op="relu")[0]
        s = dbg.run_to(relu_node)
        assert s.name == "ReluBackward0" and s.forward is relu_node
        s = dbg.run_to("model.2.weight")
        assert s.name == "AccumulateGrad" and "model.2.weight" in dbg.grads
        assert "model.0.weight" not in dbg.grads  # not reached yet
        dbg.finish()
    # the trace recorded the stepped pass like any backward
    assert [b.grad_fn for b in t.graph.find(kind="backward")] == [s.name for s in dbg.history]


def test_run_to_and_grad_of_a_tensor():
    a = gg.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    c = b.sum()
    dbg = gg.debug.backward(c)
    assert dbg.grad(b) is None
    dbg.run_to(b)
    np.testing.assert_array_equal(dbg.grad(b)._data, [1.0, 1.0])
    dbg.finish()
    np.testing.assert_array_equal(dbg.grad(a)._data, [3.0, 3.0])
    with pytest.raises(ValueError, match="not part of this backward pass"):
        dbg.run_to(gg.tensor([1.0], requires_grad=True))


def test_break_on_the_first_nan_in_a_gradient_names_the_forward_op_and_line():
    x = gg.tensor([0.0, 4.0], requires_grad=True)
    with gg.trace() as t:
        r = x.sqrt()  # GRAD-NAN-LINE
        loss = (r * 2).sum()
        dbg = gg.debug.backward(loss).break_on_nan()
        hit = dbg.cont()
        dbg.finish()
    assert hit.reason == "inf" and hit.step.name == "SqrtBackward0"
    assert f"test_debug.py:{line_of('# GRAD-NAN-LINE')}" in hit.message and "'sqrt'" in hit.message
    assert hit.step.forward.op == "sqrt"
    assert gg.debug.find_nan(t).message == hit.message  # found again in the trace, after the fact


def test_break_on_grad_norm_and_on_node():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 100).sum()
    dbg = gg.debug.backward(y).break_on_grad_norm(10.0)
    hit = dbg.cont()
    assert hit.reason == "grad_norm" and hit.step.name == "MulBackward0" and "141.4" in hit.message
    z = (x * 2).exp().sum()
    dbg = gg.debug.backward(z).break_on(z.grad_fn.next_functions[0][0])
    assert dbg.cont().step.name == "ExpBackward0" and dbg.cont() is None and dbg.finished


# ---- forward replay --------------------------------------------------------------------------------

def test_replay_walks_ops_with_real_inputs_and_outputs():
    model = mlp()
    with gg.trace(model) as t:
        loss = forward(model)
        loss.backward()
    r = gg.debug.replay(t)
    ops = list(r)
    assert [s.node.op for s in ops] == ["linear", "relu", "linear", "log_softmax", "nll_loss"]
    first = ops[0]
    assert first.inputs[1]._data is model[0].weight._data and first.inputs[2]._data is model[0].bias._data
    assert first.outputs[0]._data is ops[1].inputs[0]._data  # one op's output is the next one's input
    assert ops[-1].outputs[0].item() == loss.item()
    assert r.step().node.op == "linear" and r.step(2).node.op == "linear" and r.position == 3
    s = r.run_to(t.graph.find(op="nll_loss")[0])
    assert s.node.op == "nll_loss" and r.finished


def test_replay_breaks_where_a_nan_was_born():
    x = gg.tensor([1.0, -1.0, 2.0])
    with gg.trace() as t:
        a = x * 2
        b = a.log()  # VALUE-NAN-LINE
        b + 1
    hit = gg.debug.replay(t).break_on_nan().cont()
    assert hit.reason == "nan" and hit.step.node.op == "log"
    assert f"test_debug.py:{line_of('# VALUE-NAN-LINE')}" in hit.message and "b = a.log()" in hit.message
    bad = gg.tensor([1.0, float("nan")])
    with gg.trace() as t:
        bad * 2
    hit = gg.debug.find_nan(t)
    assert "came in through input 'bad'" in hit.message


# ---- anomaly mode ----------------------------------------------------------------------------------

def torch_anomaly_message(fn):
    with pytest.warns(UserWarning):
        with pytest.raises(RuntimeError) as err, torch.autograd.detect_anomaly():
            fn(torch).backward()
    return str(err.value)


def nan_backward(lib):
    x = lib.tensor([0.0, 1.0], requires_grad=True)
    return (x.sqrt() * 0).sum()  # ANOMALY-LINE


def test_anomaly_mode_names_the_forward_op_and_line_as_well_as_torch_does():
    expected = torch_anomaly_message(nan_backward)
    loss = None
    with gg.autograd.detect_anomaly():
        loss = nan_backward(gg)
        with pytest.raises(RuntimeError) as err:
            loss.backward()
    message = str(err.value)
    assert message.startswith(expected)
    assert "'sqrt' (SqrtBackward0) at " in message and f"test_debug.py:{line_of('# ANOMALY-LINE')}" in message
    assert isinstance(err.value, gg.debug.AnomalyError) and err.value.node.name() == "SqrtBackward0"
    assert not gg.autograd.is_anomaly_enabled() and not recorders


def test_set_detect_anomaly_and_debug_alias():
    assert gg.debug.detect_anomaly is gg.autograd.detect_anomaly
    gg.autograd.set_detect_anomaly(True)
    try:
        assert gg.autograd.is_anomaly_enabled() and len(recorders) == 1
        loss = nan_backward(gg)
    finally:
        gg.autograd.set_detect_anomaly(False)
    assert not recorders
    with pytest.raises(RuntimeError, match="ANOMALY-LINE"):  # the source was kept while the mode was on
        with gg.autograd.set_detect_anomaly(True):
            loss.backward()
    loss = nan_backward(gg)
    loss.backward()  # off: no check


def test_anomaly_without_source_says_so():
    loss = nan_backward(gg)  # recorded while nothing was on
    with gg.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="neither a trace nor anomaly detection"):
        loss.backward()


def test_example_debug_nan_catches_the_planted_nan():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "debug_nan.py")], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "SqrtBackward0" in out.stdout and "debug_nan.py:" in out.stdout and ".sqrt()" in out.stdout
