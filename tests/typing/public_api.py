"""What an editor or type checker sees of graphgrad's public API: checked by pyright (scripts/test's
static checks, [tool.pyright] in pyproject.toml), never run. Each assert_type fails the check when
the type a user's code gets is not the one written here (Any included)."""
from typing_extensions import assert_type

import graphgrad as gg
from graphgrad import nn, optim, viz
from graphgrad.debug import BackwardStepper, Break
from graphgrad.tracing import Graph, Trace
from graphgrad.utils.data import DataLoader, TensorDataset
from graphgrad.viz import GraphWidget

x = gg.randn(4, 3, requires_grad=True)
assert_type(x, gg.Tensor)
assert_type(x.exp().log().sum(0), gg.Tensor)          # Tensor's methods, from the generated stub
assert_type(x + 1, gg.Tensor)
assert_type(gg.matmul(x, x.T), gg.Tensor)              # the op functions
assert_type(x.shape, gg.Size)
assert_type(x.dtype, gg.dtype)
assert_type(x.device, gg.device)

model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
assert_type(model.train(), nn.Sequential)              # train/eval/to return the module's own type
layer = nn.Linear(3, 2)
assert_type(layer.forward(x), gg.Tensor)
assert_type(nn.functional.cross_entropy(layer(x), gg.tensor([0, 1, 1, 0])), gg.Tensor)
opt = optim.Adam(model.parameters(), lr=1e-3)
opt.zero_grad()

with gg.no_grad():
    y = x * 2
with gg.trace(model) as t:
    loss = model(x).sum()
assert_type(t, Trace)
assert_type(t.graph, Graph)
assert_type(gg.trace(x), gg.Tensor)                    # given one tensor, trace is torch.trace

stepper = gg.debug.backward(loss)
assert_type(stepper, BackwardStepper)
assert_type(stepper.break_on_nan().cont(), Break | None)
assert_type(viz.show(loss), GraphWidget)

loader = DataLoader(TensorDataset(x, y), batch_size=2)
step = gg.compile(lambda a: (a * 2).sum())
