"""Recording overhead: one MLP training step (forward, backward, SGD step) with a trace
recording vs without, in one process, interleaved, medians (and best-of, which shared
machines disturb least). Target: <= 1.10x.

    .venv/bin/python bench/tracing.py [--rounds 40] [--batch 64]

Also measures anomaly mode (gg.autograd.detect_anomaly) on the same step."""
import argparse
import statistics
import time

import graphgrad as gg
from graphgrad import nn


def make(batch, seed=0):
    """An MNIST-sized MLP training step (the PyTorch quickstart's shape and batch)."""
    gg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = gg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = gg.randn(batch, 784), gg.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return step


def timed(step, n):
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


def main(rounds=40, batch=64, inner=5):
    step = make(batch)
    for _ in range(20):  # warm up: first-touch allocations, BLAS threads
        step()
    trace = gg.trace()
    modes = {"plain": lambda: timed(step, inner)}

    def traced():
        with trace:
            return timed(step, inner)

    def anomaly():
        with gg.autograd.detect_anomaly():
            return timed(step, inner)
    modes.update(traced=traced, anomaly=anomaly)
    times = {name: [] for name in modes}
    for r in range(rounds):  # interleaved (order rotating), so drifts in machine load hit all alike
        names = list(modes)
        for name in names[r % 3:] + names[:r % 3]:
            times[name].append(modes[name]())
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    print(f"MLP 784-256-128-10, batch {batch}, SGD step: {rounds} rounds x {inner} steps, median (best)")
    print(f"  without recorder : {med['plain'] * 1e3:7.3f} ms ({best['plain'] * 1e3:.3f})")
    for name, label, target in (("traced", "with gg.trace()", "  target <= 1.10x"), ("anomaly", "anomaly mode", "")):
        print(f"  {label:17s}: {med[name] * 1e3:7.3f} ms ({best[name] * 1e3:.3f})   ratio {med[name] / med['plain']:.3f}x "
              f"({best[name] / best['plain']:.3f}x){target}")
    print(f"  nodes per iteration: {len(trace.graph)}; gradient norms measured every "
          f"{trace.monitor.budget.every} iteration(s) (1% budget)")
    return med["traced"] / med["plain"], med["anomaly"] / med["plain"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    main(args.rounds, args.batch)
