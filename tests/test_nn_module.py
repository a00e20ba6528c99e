"""nn.Module behaviour against torch.nn.Module: registration, walking the tree, state_dict and its
errors, hooks, modes, dtype moves, printing, containers, Parameter; plus init and utils."""
import copy
import math
from collections import OrderedDict

import numpy as np
import pytest
import torch

import graphgrad as gg
from graphgrad.ops import dispatch
from nn_helpers import assert_close, graphgrad_repr, to_graphgrad


def make_net(nn):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
            self.head = nn.ModuleDict({"fc": nn.Linear(36, 10), "act": nn.LogSoftmax(dim=1)})
            self.scale = nn.Parameter(torch.ones(1) if nn is torch.nn else gg.ones(1))
            self.register_buffer("steps", (torch if nn is torch.nn else gg).zeros(1))
            self.register_buffer("scratch", (torch if nn is torch.nn else gg).zeros(2), persistent=False)

        def forward(self, x):
            x = self.features(x).flatten(1)
            return self.head["act"](self.head["fc"](x) * self.scale)
    return Net()


# ---- registration and walking ------------------------------------------------------------------

def test_names_and_order_match_torch():
    g, t = make_net(gg.nn), make_net(torch.nn)
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in g.named_children()] == [n for n, _ in t.named_children()]
    assert list(g.state_dict()) == list(t.state_dict())
    assert sum(p.numel() for p in g.parameters()) == sum(p.numel() for p in t.parameters())
    assert [n for n, _ in g.named_parameters(prefix="m", recurse=False)] == ["m.scale"]
    assert len(list(g.modules())) == len(list(t.modules()))


def test_shared_modules_and_parameters_are_listed_once():
    lin = gg.nn.Linear(2, 2)
    seq = gg.nn.Sequential(lin, gg.nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]


def test_setattr_registration_rules():
    m = gg.nn.Module()
    m.w = gg.nn.Parameter(gg.ones(2))
    m.child = gg.nn.Linear(1, 1)
    m.plain = 3
    assert "w" in m._parameters and "child" in m._modules and m.plain == 3
    m.w = None
    assert m.w is None and "w" in m._parameters
    with pytest.raises(TypeError, match="cannot assign 'graphgrad.FloatTensor' as parameter 'w'"):
        m.w = gg.ones(2)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'child'"):
        m.child = 5
    m.register_buffer("b", gg.zeros(1))
    m.b = gg.ones(1)  # assigning a tensor to a buffer name replaces the buffer
    assert m._buffers["b"].item() == 1
    m.buf = gg.nn.Buffer(gg.ones(3), persistent=False)
    assert "buf" in m._buffers and "buf" in m._non_persistent_buffers_set and "buf" not in m.state_dict()
    del m.child
    assert "child" not in m._modules
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'child'"):
        m.child
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", gg.zeros(1))
    with pytest.raises(KeyError, match=r'contain "\."'):
        m.register_buffer("a.b", gg.zeros(1))


def test_assign_before_init_errors_like_torch():
    class Bad(gg.nn.Module):
        def __init__(self):
            self.fc = gg.nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"cannot assign module before Module.__init__\(\) call"):
        Bad()

    class NoForward(gg.nn.Module):
        pass

    with pytest.raises(NotImplementedError, match=r'Module \[NoForward\] is missing the required "forward" function'):
        NoForward()(1)


def test_get_submodule_parameter_buffer():
    g = make_net(gg.nn)
    assert g.get_submodule("features.0") is g.features[0]
    assert g.get_parameter("head.fc.bias") is g.head["fc"].bias
    assert g.get_buffer("features.1.running_mean") is g.features[1].running_mean
    with pytest.raises(AttributeError, match="Sequential has no attribute `9`"):
        g.get_submodule("features.9")


# ---- state_dict ----------------------------------------------------------------------------------

def test_state_dict_round_trip_and_outputs_match():
    t = make_net(torch.nn).double()
    g = make_net(gg.nn).double()
    result = g.load_state_dict(to_graphgrad(t.state_dict()))
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8))
    assert_close(g(gg.tensor(x)), t(torch.tensor(x)), "output")
    sd = g.state_dict()
    assert not sd["head.fc.weight"].requires_grad and sd["head.fc.weight"].grad_fn is None
    sd["head.fc.bias"].zero_()  # state_dict shares memory with the parameters, as torch's
    assert g.head["fc"].bias.abs().sum().item() == 0
    assert g.state_dict(keep_vars=True)["scale"] is g.scale
    assert g.state_dict()._metadata["features.1"] == {"version": 2}


def _load_error(module_builder, state):
    with pytest.raises(RuntimeError) as t_err:
        module_builder(torch.nn).load_state_dict({k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                                  for k, v in state.items()})
    with pytest.raises(RuntimeError) as g_err:
        module_builder(gg.nn).load_state_dict({k: gg.tensor(v) if isinstance(v, np.ndarray) else v
                                               for k, v in state.items()})
    assert str(g_err.value).replace("graphgrad.", "torch.") == str(t_err.value)


def test_load_state_dict_errors_match_torch_text():
    _load_error(lambda nn: nn.Linear(2, 2), {"weight": np.ones((3, 3), np.float32), "x": 1,
                                             "y.z": np.ones(1, np.float32)})
    _load_error(lambda nn: nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)),
                {"0.weight": np.ones((2, 2), np.float32), "1.bias": np.ones(3, np.float32),
                 "2.weight": np.ones(1, np.float32)})
    _load_error(lambda nn: nn.Linear(2, 2), {"weight": [[1.0, 2.0], [3.0, 4.0]], "bias": np.ones(2, np.float32)})


def test_load_state_dict_not_strict_reports_keys():
    g = gg.nn.Linear(2, 2)
    t = torch.nn.Linear(2, 2)
    state = {"weight": np.full((2, 2), 3.0, np.float32), "extra": np.ones(1, np.float32)}
    g_res = g.load_state_dict({k: gg.tensor(v) for k, v in state.items()}, strict=False)
    t_res = t.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=False)
    assert repr(g_res) == repr(t_res) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['extra'])"
    assert g.weight.sum().item() == 12 and g.weight.requires_grad and isinstance(g.weight, gg.nn.Parameter)


def test_load_state_dict_copies_in_place_and_assign_replaces():
    g = gg.nn.Linear(2, 2)
    weight = g.weight
    g.load_state_dict({"weight": gg.ones(2, 2, dtype=gg.float64), "bias": gg.zeros(2)})
    assert g.weight is weight and g.weight.dtype is gg.float32 and g.weight.sum().item() == 4
    new = gg.full((2, 2), 2.0)
    g.load_state_dict({"weight": new, "bias": gg.zeros(2)}, assign=True)
    assert g.weight is not weight and isinstance(g.weight, gg.nn.Parameter) and g.weight.requires_grad


def test_batchnorm_old_state_dict_without_num_batches_tracked():
    bn = gg.nn.BatchNorm1d(2)
    state = OrderedDict((k, v) for k, v in bn.state_dict().items() if k != "num_batches_tracked")
    state._metadata = OrderedDict({"": {"version": 1}})
    assert repr(bn.load_state_dict(state)) == "<All keys matched successfully>"
    state._metadata[""]["version"] = 2
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "num_batches_tracked"'):
        bn.load_state_dict(state)


# ---- hooks and calling ---------------------------------------------------------------------------

def test_forward_hooks_like_torch():
    log = []
    for nn, lib in ((gg.nn, gg), (torch.nn, torch)):
        lin = nn.Linear(2, 2)
        calls = []
        h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
        h2 = lin.register_forward_hook(lambda m, args, out: calls.append(("post", type(m).__name__)) or out + 1)
        lin.register_forward_hook(lambda m, args, out: calls.append("first"), prepend=True)
        h3 = lin.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] + 1,), kwargs), with_kwargs=True)
        out = lin(lib.ones(1, 2))
        expected = lin.bias + 1 + lin.weight.sum(1)  # pre-hooks run in order: *0 then +1
        assert lib.allclose(out, expected)
        h1.remove()
        h2.remove()
        h3.remove()
        lin(lib.ones(1, 2))
        log.append(calls)
    assert log[0] == log[1] == ["first", ("post", "Linear"), "first"]


def test_full_backward_hooks_like_torch():
    logs = []
    for lib in (gg, torch):
        lin = lib.nn.Linear(3, 2).double()
        with lib.no_grad():
            lin.weight.copy_(lib.arange(6, dtype=lib.float64).reshape(2, 3))
        log = []
        lin.register_full_backward_pre_hook(lambda m, go: log.append(("pre", [g.tolist() for g in go])))
        handle = lin.register_full_backward_hook(
            lambda m, gi, go: log.append(("full", [None if g is None else g.tolist() for g in gi],
                                          [g.tolist() for g in go])) or (None if gi[0] is None else (gi[0] * 2,)))
        x = lib.ones(1, 3, dtype=lib.float64, requires_grad=True)
        out = lin(x)
        log.append(out.grad_fn.name())
        (out * lib.tensor([[1.0, 3.0]], dtype=lib.float64)).sum().backward()
        log.append(x.grad.tolist())
        with pytest.warns(UserWarning, match="Full backward hook is firing when gradients are computed with respect "
                                             "to module outputs since no inputs require gradients"):
            lin(lib.ones(1, 3, dtype=lib.float64)).sum().backward()
        handle.remove()
        lin(x).sum().backward()
        relu = lib.nn.ReLU()
        relu.register_full_backward_pre_hook(lambda m, go: (go[0] * 10,))
        y = lib.tensor([1.0, -1.0], requires_grad=True)
        relu(y).sum().backward()
        logs.append(log + [y.grad.tolist()])
    assert logs[0] == logs[1]


def test_hook_handle_as_context_manager():
    lin = gg.nn.Linear(2, 2)
    seen = []
    with lin.register_forward_hook(lambda m, a, o: seen.append(1)):
        lin(gg.ones(2))
    lin(gg.ones(2))
    assert seen == [1]


class _Recorder:
    """A tracer stand-in: records module paths entered while an op runs."""

    def __init__(self):
        self.stack, self.ops = [], []

    def enter_module(self, module):
        self.stack.append(type(module).__name__)

    def exit_module(self, module):
        self.stack.pop()

    def record(self, node, inputs, outputs, attrs, seconds):
        self.ops.append((type(node).__name__, "/".join(self.stack)))


def test_module_stack_only_while_a_recorder_listens():
    from graphgrad.tracing import scope, source
    net = gg.nn.Sequential(gg.nn.Linear(3, 2), gg.nn.ReLU())
    net(gg.ones(1, 3))
    assert scope.module_stack == []
    recorder = _Recorder()
    dispatch.recorders.append(recorder)
    try:
        net(gg.ones(1, 3))
        with pytest.raises(RuntimeError):
            net(gg.ones(1, 4))  # a forward that raises leaves the stacks as they were
    finally:
        dispatch.recorders.remove(recorder)
    assert recorder.ops[:2] == [("AddmmBackward0", "Sequential/Linear"), ("ReluBackward0", "Sequential/ReLU")]
    assert scope.module_stack == [] and source.boundaries == [] and recorder.stack == []


# ---- modes, gradients, dtypes ----------------------------------------------------------------------

def test_train_eval_propagate():
    g = make_net(gg.nn)
    assert g.training and all(m.training for m in g.modules())
    assert g.eval() is g and not any(m.training for m in g.modules())
    g.train()
    assert all(m.training for m in g.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        g.train("yes")


def test_zero_grad_and_requires_grad():
    lin = gg.nn.Linear(2, 1)
    lin(gg.ones(1, 2)).sum().backward()
    assert lin.weight.grad is not None
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad.abs().sum().item() == 0
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None
    lin.requires_grad_(False)
    assert not any(p.requires_grad for p in lin.parameters())


def test_to_and_dtype_moves_keep_parameter_identity():
    g = make_net(gg.nn)
    params = list(g.parameters())
    g(gg.randn(2, 1, 8, 8)).sum().backward()
    assert g.double() is g
    assert [p is q for p, q in zip(params, g.parameters())] == [True] * len(params)
    assert all(p.dtype is gg.float64 and p.grad.dtype is gg.float64 for p in g.parameters())
    assert g.features[1].running_mean.dtype is gg.float64
    assert g.features[1].num_batches_tracked.dtype is gg.int64  # integer buffers keep their dtype
    g.to(gg.float32)
    assert g.head["fc"].weight.dtype is gg.float32
    g.to("cpu", dtype=gg.float64)
    assert g.scale.dtype is gg.float64 and g.to(device="cpu") is g and g.cpu() is g
    g.float()
    assert g.scale.dtype is gg.float32
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex dtypes, but got "
                                        "desired dtype=graphgrad.int64"):
        g.to(gg.int64)


def test_apply_and_deepcopy():
    net = gg.nn.Sequential(gg.nn.Linear(2, 2), gg.nn.Linear(2, 2))

    def init(m):
        if isinstance(m, gg.nn.Linear):
            gg.nn.init.constant_(m.weight, 0.5)
    net.apply(init)
    assert all(float(m.weight.sum()) == 2.0 for m in net)
    clone = copy.deepcopy(net)
    gg.nn.init.zeros_(clone[0].weight)
    assert float(net[0].weight.sum()) == 2.0 and isinstance(clone[0].weight, gg.nn.Parameter)


# ---- printing --------------------------------------------------------------------------------------

REPRS = [
    lambda nn: make_net(nn),
    lambda nn: nn.Sequential(),
    lambda nn: nn.Sequential(OrderedDict([("conv", nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)),
                                          ("pool", nn.MaxPool2d(2)), ("avg", nn.AvgPool2d(3, 2, 1))])),
    lambda nn: nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU(), nn.ReLU(), nn.Tanh()]),
    lambda nn: nn.ModuleList(),
    lambda nn: nn.ModuleList([nn.Sequential(nn.Linear(1, 1), nn.ReLU()) for _ in range(2)]),
    lambda nn: nn.ParameterList([nn.Parameter((torch if nn is torch.nn else gg).ones(2, 3))]),
    lambda nn: nn.ParameterDict({"a": nn.Parameter((torch if nn is torch.nn else gg).ones(2))}),
    lambda nn: nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=1, bias=False,
                         padding_mode="reflect"),
    lambda nn: nn.Conv2d(4, 8, 3, groups=2, padding="same"),
    lambda nn: nn.Conv1d(3, 8, 5, stride=2),
    lambda nn: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    lambda nn: nn.MaxPool1d(2),
    lambda nn: nn.AvgPool1d(2),
    lambda nn: nn.AdaptiveAvgPool2d((1, 1)),
    lambda nn: nn.AdaptiveAvgPool2d(7),
    lambda nn: nn.BatchNorm2d(4, momentum=None, affine=False),
    lambda nn: nn.BatchNorm1d(3, eps=1e-3, track_running_stats=False),
    lambda nn: nn.LayerNorm([4, 5], elementwise_affine=False),
    lambda nn: nn.GroupNorm(2, 4),
    lambda nn: nn.Dropout(0.2),
    lambda nn: nn.Dropout2d(),
    lambda nn: nn.Embedding(10, 3, padding_idx=0, max_norm=1.0),
    lambda nn: nn.Flatten(0),
    lambda nn: nn.Unflatten(1, (2, 5)),
    lambda nn: nn.Identity(),
    lambda nn: nn.ReLU(inplace=True),
    lambda nn: nn.LeakyReLU(0.2, inplace=True),
    lambda nn: nn.GELU(approximate="tanh"),
    lambda nn: nn.ELU(),
    lambda nn: nn.CELU(),
    lambda nn: nn.SELU(),
    lambda nn: nn.SiLU(),
    lambda nn: nn.Mish(),
    lambda nn: nn.Softplus(),
    lambda nn: nn.Hardtanh(-2.0, 2.0),
    lambda nn: nn.ReLU6(),
    lambda nn: nn.Hardswish(),
    lambda nn: nn.Hardsigmoid(),
    lambda nn: nn.Sigmoid(),
    lambda nn: nn.Tanh(),
    lambda nn: nn.LogSigmoid(),
    lambda nn: nn.Softsign(),
    lambda nn: nn.Softmax(dim=-1),
    lambda nn: nn.LogSoftmax(),
    lambda nn: nn.Softmin(1),
    lambda nn: nn.PReLU(3),
    lambda nn: nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bias=False, batch_first=True, dropout=0.5),
    lambda nn: nn.LSTM(3, 4, bidirectional=True),
    lambda nn: nn.GRU(3, 4),
    lambda nn: nn.RNNCell(3, 4, nonlinearity="relu"),
    lambda nn: nn.LSTMCell(3, 4, bias=False),
    lambda nn: nn.GRUCell(3, 4),
    lambda nn: nn.CrossEntropyLoss(label_smoothing=0.1),
    lambda nn: nn.SmoothL1Loss(),
]


@pytest.mark.parametrize("build", REPRS, ids=[str(i) for i in range(len(REPRS))])
def test_repr_matches_torch(build):
    assert repr(build(gg.nn)) == graphgrad_repr(build(torch.nn))


def test_parameter_is_a_tensor_and_prints_like_torch():
    p = gg.nn.Parameter(gg.tensor([1.0, 2.0]))
    assert isinstance(p, gg.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p) == graphgrad_repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert type(p * 2) is gg.Tensor and type(p.detach()) is gg.Tensor
    assert repr(gg.nn.Parameter(gg.ones(2), requires_grad=False)) == "Parameter containing:\ntensor([1., 1.])"
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype can require gradients"):
        gg.nn.Parameter(gg.tensor([1, 2]))
    base = gg.zeros(2)
    shared = gg.nn.Parameter(base)
    base += 1
    assert shared.sum().item() == 2


# ---- containers ------------------------------------------------------------------------------------

def test_sequential_indexing_and_editing():
    layers = [gg.nn.Linear(2, 2), gg.nn.ReLU(), gg.nn.Linear(2, 3)]
    seq = gg.nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2] and list(seq) == layers
    head = seq[:2]
    assert isinstance(head, gg.nn.Sequential) and list(head) == layers[:2]
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    seq.append(gg.nn.Tanh())
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2", "3"]
    del seq[1]
    assert [type(m).__name__ for m in seq] == ["Linear", "Linear", "Tanh"]
    assert list(seq._modules) == ["0", "1", "2"]
    seq.insert(1, gg.nn.ReLU())
    seq[0] = gg.nn.Identity()
    assert [type(m).__name__ for m in seq] == ["Identity", "ReLU", "Linear", "Tanh"]
    both = seq + gg.nn.Sequential(gg.nn.Sigmoid())
    assert len(both) == 5 and seq.pop(-1).__class__.__name__ == "Tanh"
    assert seq(gg.ones(1, 2)).shape == (1, 3)


def test_module_list_and_dict():
    ml = gg.nn.ModuleList([gg.nn.Linear(1, 1)])
    ml.append(gg.nn.ReLU())
    ml.extend([gg.nn.Tanh()])
    ml += [gg.nn.Sigmoid()]
    assert len(ml) == 4 and isinstance(ml[-1], gg.nn.Sigmoid) and len(ml[1:]) == 3
    assert len(list(ml.parameters())) == 2
    ml.insert(0, gg.nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "ReLU", "Tanh", "Sigmoid"]
    md = gg.nn.ModuleDict({"a": gg.nn.Linear(1, 1)})
    md["b"] = gg.nn.ReLU()
    assert list(md) == ["a", "b"] and "a" in md and len(md) == 2 and list(md.keys()) == ["a", "b"]
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    assert isinstance(md.pop("b"), gg.nn.ReLU) and len(md) == 1


# ---- init and utils --------------------------------------------------------------------------------

def test_init_fans_and_gains_match_torch():
    for shape in [(3, 4), (8, 3, 3, 3), (5, 2, 7)]:
        assert gg.nn.init._calculate_fan_in_and_fan_out(gg.empty(shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    for args in [("relu",), ("tanh",), ("leaky_relu", 0.2), ("leaky_relu",), ("selu",), ("conv2d",), ("sigmoid",)]:
        assert gg.nn.init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed"):
        gg.nn.init.xavier_uniform_(gg.empty(3))


def test_init_distributions():
    gg.manual_seed(0)
    w = gg.empty(200, 300)
    gg.nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = math.sqrt(6 / ((1 + 5) * 300))
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.99 * bound
    gg.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(float(w.std()) - math.sqrt(2 / 200)) < 0.003
    gg.nn.init.xavier_uniform_(w)
    assert float(w.abs().max()) <= math.sqrt(6 / 500)
    gg.nn.init.xavier_normal_(w, gain=2.0)
    assert abs(float(w.std()) - 2 * math.sqrt(2 / 500)) < 0.003
    gg.nn.init.normal_(w, 3.0, 0.5)
    assert abs(float(w.mean()) - 3) < 0.01
    gg.nn.init.trunc_normal_(w, std=2.0, a=-1.0, b=1.5)
    assert float(w.min()) >= -1 and float(w.max()) <= 1.5
    gg.nn.init.orthogonal_(w)
    np.testing.assert_allclose(w.numpy() @ w.numpy().T, np.eye(200), atol=1e-5)
    for fn, args in [("constant_", (0.3,)), ("zeros_", ()), ("ones_", ()), ("eye_", ())]:
        g, t = gg.empty(3, 4), torch.empty(3, 4)
        getattr(gg.nn.init, fn)(g, *args)
        getattr(torch.nn.init, fn)(t, *args)
        np.testing.assert_array_equal(g.numpy(), t.numpy())
    g, t = gg.empty(4, 2, 3, 3), torch.empty(4, 2, 3, 3)
    gg.nn.init.dirac_(g, groups=2)
    torch.nn.init.dirac_(t, groups=2)
    np.testing.assert_array_equal(g.numpy(), t.numpy())


def test_init_uses_the_seeded_generator_and_no_history():
    gg.manual_seed(3)
    a = gg.nn.Linear(4, 4)
    gg.manual_seed(3)
    b = gg.nn.Linear(4, 4)
    assert gg.equal(a.weight, b.weight) and gg.equal(a.bias, b.bias)
    assert a.weight.grad_fn is None and a.weight.is_leaf


def test_clip_grad_norm_and_value_match_torch():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)) * 5, rng.standard_normal(4)]
    for norm_type in (2.0, 1.0, math.inf):
        g_params = [gg.nn.Parameter(gg.zeros(*a.shape, dtype=gg.float64)) for a in grads]
        t_params = [torch.nn.Parameter(torch.zeros(*a.shape, dtype=torch.float64)) for a in grads]
        for gp, tp, a in zip(g_params, t_params, grads):
            gp.grad, tp.grad = gg.tensor(a), torch.tensor(a)
        g_norm = gg.nn.utils.clip_grad_norm_(g_params, 1.5, norm_type)
        t_norm = torch.nn.utils.clip_grad_norm_(t_params, 1.5, norm_type)
        np.testing.assert_allclose(g_norm.item(), t_norm.item(), rtol=1e-12)
        for gp, tp in zip(g_params, t_params):
            np.testing.assert_allclose(gp.grad.numpy(), tp.grad.numpy(), rtol=1e-12)
    p = gg.nn.Parameter(gg.zeros(3))
    p.grad = gg.tensor([-3.0, 0.5, 2.0])
    gg.nn.utils.clip_grad_value_([p], 1.0)
    assert p.grad.tolist() == [-1.0, 0.5, 1.0]


def test_parameters_to_vector_round_trip():
    lin = gg.nn.Linear(3, 2)
    vec = gg.nn.utils.parameters_to_vector(lin.parameters())
    assert vec.shape == (8,)
    gg.nn.utils.vector_to_parameters(vec * 0 + 1, lin.parameters())
    assert lin.weight.sum().item() == 6 and lin.bias.sum().item() == 2
