"""Catch a NaN gradient where it is born.

An MLP with an RMS normalisation trains fine until one sample's hidden units are all dead:
its RMS is 0, the forward pass stays finite (thanks to the epsilon) and so does the loss, but
sqrt has an infinite slope at 0 and the gradients come back NaN. Stepping backward through the
real scheduler stops at the first non-finite gradient and names the forward op and source line
where it was born; anomaly mode says the same as an error.

    .venv/bin/python examples/debug_nan.py
"""
import graphgrad as torch
from graphgrad import nn


class RMSNormMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        h = self.fc1(x).relu()
        rms = h.pow(2).mean(dim=1, keepdim=True).sqrt()  # the slope of sqrt at 0 is infinite
        return self.fc2(h / (rms + 1e-6))


torch.manual_seed(0)
model = RMSNormMLP()
x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
with torch.no_grad():  # plant the NaN: sample 3 is all zeros and no hidden unit fires for it
    model.fc1.bias.copy_(-model.fc1.bias.abs())
    x[3] = 0.0

with torch.trace(model) as t:
    loss = nn.functional.cross_entropy(model(x), y)
print(f"loss = {loss.item():.4f}: finite, yet backward would fill the gradients with NaN\n")

dbg = torch.debug.backward(loss).break_on_nan()
hit = dbg.cont()
print("breakpoint:", hit)
step = hit.step
received, sent = step.grad_outputs[0], step.grad_inputs[0]
received_finite = "a finite" if bool(received.isfinite().all()) else "a non-finite"
print(f"  at step {step.index} ({step.name}): it received {received_finite} gradient "
      f"and sent on {int(sent.isnan().sum())} NaN of {sent.numel()}")
print(f"  still to run: {[n.name() for n in dbg.ready]}")
grads = dbg.finish()
print(f"  after finishing: NaN in {[name for name, g in grads.items() if bool(g.isnan().any())]}\n")

with torch.autograd.detect_anomaly():
    loss = nn.functional.cross_entropy(model(x), y)
    try:
        loss.backward()
    except RuntimeError as error:
        print("anomaly mode:", error)
