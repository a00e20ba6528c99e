"""What the inspector shows and where it comes from: the two source locations a traced op keeps
(the innermost frame that ran it, a library model's forward included, and the user's line that
called it), and the tensor slices the inspector asks for (a batch element and channel of a 4-D
tensor, the gradients a node sent to its inputs). PyTorch is the oracle for the gradients."""
import graphgrad as gg
import numpy as np
import pytest
import torch
from graphgrad import nn
from graphgrad.tracing import source as _source

HERE = __file__
RESNET = _source.PACKAGE_DIR + "models/resnet.py"


def line_of(text, path=HERE):
    """The line number of the (first) line of `path` containing `text`."""
    return next(i for i, line in enumerate(open(path), 1) if text in line)


def traced_resnet(batch=2, side=32):
    gg.manual_seed(0)
    model = gg.models.resnet18()
    x = gg.randn(batch, 3, side, side)
    with gg.trace(model) as t:
        loss = model(x).logsumexp(1).mean()  # RESNET-CALL
        loss.backward()
    return t, model, x, loss


# ---- source and caller -----------------------------------------------------------------------
def test_ops_in_a_library_model_show_its_forward_and_the_users_call():
    t, *_ = traced_resnet(batch=2, side=16)
    g = t.graph
    call = (HERE, line_of("# RESNET-CALL"))
    by_module = {n.module: n for n in g.find(kind="op")}
    conv = by_module["model.layer1.0.conv1"]
    assert conv.source == (RESNET, line_of("out = self.relu(self.bn1(self.conv1(x)))", RESNET), call)
    add = next(n for n in g.find(op="add") if n.module == "model.layer1.0")   # the residual sum, in the block itself
    assert add.source[:2] == (RESNET, line_of("return self.relu(out + identity)", RESNET)) and add.source[2] == call
    stem = by_module["model.conv1"]
    assert stem.source[:2] == (RESNET, line_of("x = self.maxpool(self.relu(self.bn1(self.conv1(x))))", RESNET))
    js = conv.to_json()
    assert js["source"] == {"file": "graphgrad/models/resnet.py".replace("/", _source.os.sep),
                            "line": conv.source[1], "code": "out = self.relu(self.bn1(self.conv1(x)))"}
    assert js["caller"]["line"] == call[1] and js["caller"]["code"].endswith("# RESNET-CALL")
    # ops outside the model: one place, no caller; their backward nodes keep both of their forward op's
    top = g.find(op="mean")[0]
    assert top.source == call and top.to_json()["caller"] is None
    back = next(n for n in g.find(kind="backward") if n.forward_id == conv.id)
    assert back.to_json()["caller"] == js["caller"]
    # messages that describe a node name both places
    assert "(called from " in conv.describe() and "RESNET-CALL" in conv.describe()


def test_a_user_model_keeps_one_place_per_op():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x).tanh()  # USER-FORWARD

    net = Net()
    with gg.trace() as t:
        net(gg.randn(3, 4))  # USER-CALL
    for op in ("linear", "tanh"):
        n = t.graph.find(op=op)[0]
        assert n.source == (HERE, line_of("# USER-FORWARD")) and n.to_json()["caller"] is None


def test_a_library_model_inside_a_user_model_is_called_from_the_users_forward():
    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = gg.models.resnet18(num_classes=3)

        def forward(self, x):
            return self.body(x)  # WRAPPER-LINE

    gg.manual_seed(0)
    net = Wrapper()
    with gg.trace() as t:
        net(gg.randn(2, 3, 16, 16))
    fc = t.graph.find(op="linear")[0]
    assert fc.source[:2] == (RESNET, line_of("return self.fc(x)", RESNET))
    assert fc.source[2] == (HERE, line_of("# WRAPPER-LINE"))


# ---- the planes a preview shows ----------------------------------------------------------------
def test_a_4d_preview_is_the_picked_batch_element_and_channel():
    from graphgrad.viz.tensors import summarize
    a = np.random.default_rng(0).standard_normal((4, 64, 8, 8)).astype(np.float32)
    header, (stats, _, preview) = summarize(a, [1, 3])
    assert header["preview_kind"] == "heatmap" and header["index"] == [1, 3] and header["preview_shape"] == [8, 8]
    np.testing.assert_array_equal(preview.reshape(8, 8), a[1, 3])
    assert not header["truncated"]            # every point of the plane is there: not "downsampled"
    assert stats[0] == a.size and stats[2] == a.max()   # the figures are the whole tensor's
    assert summarize(a)[0]["index"] == [0, 0]
    assert summarize(a, [9, -5])[0]["index"] == [3, 0]  # clamped into the shape
    big = summarize(np.zeros((2, 2, 300, 200)), [1, 1])[0]
    assert big["truncated"] and big["preview_shape"] == [100, 100]
    # a batch of pictures: RGB by default, one channel when asked
    pictures = np.random.default_rng(1).random((4, 3, 16, 16))
    rgb = summarize(pictures, [2, -1])
    assert rgb[0]["preview_kind"] == "images" and rgb[0]["preview_shape"] == [1, 3, 16, 16]
    np.testing.assert_allclose(rgb[1][2].reshape(3, 16, 16), pictures[2], rtol=1e-6)
    assert summarize(pictures)[0]["index"] == [0, -1]
    assert summarize(pictures, [0, 2])[0]["preview_kind"] == "heatmap"
    # 3-D: one index (a sequence's batch element); below 3-D: none
    assert summarize(np.zeros((5, 7, 9)), [4])[0]["index"] == [4]
    assert summarize(np.zeros((30, 20)))[0]["index"] is None
    with pytest.raises(ValueError, match="index must be a list of integers"):
        summarize(a, ["1", 2])


def test_long_vectors_say_they_are_cut_and_small_ones_do_not():
    from graphgrad.viz.tensors import summarize
    assert summarize(np.arange(10_000.0))[0]["truncated"]
    assert not summarize(np.arange(100.0))[0]["truncated"]
    assert not summarize(np.zeros((128, 128)))[0]["truncated"]
    assert summarize(np.zeros((129, 10)))[0]["truncated"]


# ---- inspect requests: planes and the gradients a node received and sent ----------------------------
def small_cnn():
    gg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 5, 3), nn.Flatten())
    twin = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(6, 5, 3),
                               torch.nn.Flatten())
    with torch.no_grad():
        for (_, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
            q.copy_(torch.from_numpy(p.detach().numpy().copy()))
    return model, twin


def torch_oracle(twin, x):
    """torch's gradients: of the first conv's output and relu's, and the first conv's weight."""
    conv1 = twin[0](torch.from_numpy(x._data.copy()))
    conv1.retain_grad()
    relu = twin[1](conv1)
    relu.retain_grad()
    twin[3](twin[2](relu)).pow(2).mean().backward()
    return {"conv1": conv1.grad.numpy(), "relu": relu.grad.numpy(), "weight": twin[0].weight.grad.numpy()}


def ask(w, node, what, **extra):
    sent = []
    w.send = lambda content, buffers=None: sent.append((content, buffers))
    w._on_message(w, {"type": "inspect", "request": 5, "node": node, "what": what, **extra}, [])
    header, buffers = sent[-1]
    assert header["type"] == "tensor", header
    preview = np.frombuffer(buffers[2], np.float32).reshape(header["preview_shape"]) if header["available"] else None
    return header, preview


def test_the_widget_answers_planes_and_the_gradients_sent_while_stepping():
    from graphgrad import viz
    model, twin = small_cnn()
    x = gg.randn(2, 3, 6, 6)
    with gg.trace(model) as t:
        loss = model(x).pow(2).mean()
    expected = torch_oracle(twin, x)
    w = viz.show(t, backward=loss)
    conv1 = next(n["id"] for n in w.graph["nodes"] if n["op"] == "conv2d" and n["module"] == "model.0")
    header, _ = ask(w, conv1, "sent", input=1)
    assert not header["available"] and "not reached" in header["reason"]
    w._on_message(w, {"type": "command", "cmd": "last", "node": None}, [])
    value, plane = ask(w, conv1, "value", index=[1, 4])
    assert value["index"] == [1, 4] and value["shape"] == [2, 6, 6, 6]
    np.testing.assert_allclose(plane, t.value(conv1)._data[1, 4], rtol=1e-6)
    _, plane = ask(w, conv1, "grad", index=[1, 4])           # what flowed into conv1 from above
    np.testing.assert_allclose(plane, expected["conv1"][1, 4], rtol=1e-4, atol=1e-7)
    weight, plane = ask(w, conv1, "sent", input=1, index=[5, 2])   # what conv1 passed on to its weight
    assert weight["shape"] == [6, 3, 3, 3]
    np.testing.assert_allclose(plane, expected["weight"][5, 2], rtol=1e-4, atol=1e-7)
    header, _ = ask(w, conv1, "sent", input=0)                # x needs no gradient
    assert not header["available"] and "no gradient went to this input" in header["reason"]
    with pytest.raises(ValueError, match="what must be one of"):
        from graphgrad.viz import protocol
        protocol.check_request({"type": "inspect", "request": 1, "node": conv1, "what": "grads"})


def test_the_gradients_sent_come_from_a_trace_that_recorded_backward():
    from graphgrad import viz
    model, twin = small_cnn()
    x = gg.randn(2, 3, 6, 6)
    with gg.trace(model) as t:
        model(x).pow(2).mean().backward()
    expected = torch_oracle(twin, x)
    w = viz.show(t)
    nodes = w.graph["nodes"]
    conv1 = next(n["id"] for n in nodes if n["op"] == "conv2d" and n["module"] == "model.0")
    conv2 = next(n["id"] for n in nodes if n["op"] == "conv2d" and n["module"] == "model.2")
    _, plane = ask(w, conv2, "sent", input=0, index=[1, 5])   # to relu's output: kept by the trace
    np.testing.assert_allclose(plane, expected["relu"][1, 5], rtol=1e-4, atol=1e-7)
    _, plane = ask(w, conv1, "sent", input=1, index=[3, 0])   # to a parameter: its .grad
    np.testing.assert_allclose(plane, expected["weight"][3, 0], rtol=1e-4, atol=1e-7)
    back = next(n["id"] for n in nodes if n["kind"] == "backward" and n["forward_id"] == conv2)
    _, plane = ask(w, back, "sent", input=0, index=[1, 5])    # the backward node itself says the same
    np.testing.assert_allclose(plane, expected["relu"][1, 5], rtol=1e-4, atol=1e-7)


def test_a_notebook_cell_is_named_as_ipython_names_it(monkeypatch):
    import types

    import IPython
    shell = types.SimpleNamespace(compile=types.SimpleNamespace(_filename_map={"/tmp/ipykernel_9/123.py": 3}))
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    assert _source.display_file("/tmp/ipykernel_9/123.py") == "Cell In[3]"
    assert _source.as_json(("/tmp/ipykernel_9/123.py", 4))["file"] == "Cell In[3]"
    assert _source.display_file("/elsewhere/train.py") == "/elsewhere/train.py"


def test_a_tensor_graph_stepped_backward_tells_what_each_node_sent():
    from graphgrad import viz
    w = gg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    x = gg.tensor([0.5, 4.0, -1.0])
    loss = (w * x).sum()
    view = viz.show(loss, params={"w": w})
    mul = next(n["id"] for n in view.graph["nodes"] if n["op"] == "mul")
    view._on_message(view, {"type": "command", "cmd": "last", "node": None}, [])
    header, sent = ask(view, mul, "sent", input=0)      # d(sum(w * x))/dw = x
    np.testing.assert_array_equal(sent, [0.5, 4.0, -1.0])
    assert header["index"] is None and header["shape"] == [3]
    header, _ = ask(view, mul, "sent", input=1)         # x needs none
    assert not header["available"]
