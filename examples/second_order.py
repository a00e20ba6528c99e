"""Derivatives of derivatives: the second derivative of x^3, Newton's method with the Hessian, and
a custom autograd.Function stepped through in the backward debugger.

    .venv/bin/python examples/second_order.py
"""
import graphgrad as torch
from graphgrad.autograd.functional import hessian

# d/dx x^3 = 3x^2 and d2/dx2 = 6x: create_graph=True keeps the first derivative's graph
x = torch.tensor(2.0, requires_grad=True)
(dy,) = torch.autograd.grad(x ** 3, x, create_graph=True)
(d2y,) = torch.autograd.grad(dy, x)
print(f"x = 2: dy/dx = {dy.item():.0f}, d2y/dx2 = {d2y.item():.0f}")


# Newton's method on Rosenbrock's function: step = H^-1 g, with g and H from autograd
def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


p = torch.tensor([-1.2, 1.0], dtype=torch.float64)
for step in range(6):
    q = p.clone().requires_grad_()
    (g,) = torch.autograd.grad(rosenbrock(q), q)
    p = p - torch.linalg.solve(hessian(rosenbrock, p), g)
    print(f"newton step {step + 1}: p = [{p[0].item():.6f}, {p[1].item():.6f}], f = {rosenbrock(p).item():.3e}")


# A custom function: rounding whose backward lets the gradient straight through (the
# "straight-through estimator" of quantized networks), one node in the backward pass
class RoundStraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        return input.round()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


t = torch.tensor([0.4, 1.6], requires_grad=True)
with torch.trace():  # so the debugger can name the line each backward node comes from
    loss = (RoundStraightThrough.apply(t * 3) ** 2).sum()
    dbg = torch.debug.backward(loss)
    print("\nthe backward pass, one node per debugger step:")
    while dbg.step() is not None:
        print(f"  {dbg.current.describe()}")
print(loss, "t.grad =", t.grad)
