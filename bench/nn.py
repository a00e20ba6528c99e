"""graphgrad.nn beside torch.nn, in one process: a full training step (forward, loss, zero_grad,
backward, SGD step) of an MLP and of a small CNN, on the same data.

    .venv/bin/python bench/nn.py [--rounds 9] [--quick]

Rounds are interleaved (graphgrad, torch, graphgrad, ...); the fastest round's time per step is
compared as graphgrad / torch. Both run on one thread (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1
unless set otherwise)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # first: it may re-run this script with the BLAS settings it needs

if __name__ == "__main__":
    harness.one_thread_blas()

import argparse
import gc
import time

import numpy as np
import torch

import graphgrad as gg


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 13 * 13, 10))


CASES = [  # name, model builder, target ratio (graphgrad / torch)
    ("MLP 784-128-10, batch 64", mlp, 1.0),
    ("CNN conv3x3x32-pool-fc, batch 64", cnn, 1.5),
]


def make_step(lib, build, x, y):
    model = build(lib)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = lib.nn.CrossEntropyLoss()
    x, y = lib.tensor(x), lib.tensor(y)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


def measure(build, rounds, steps, device=None):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    fns = {gg: make_step(gg, build, x, y), torch: make_step(torch, build, x, y)}
    times = {gg: [], torch: []}
    for fn in fns.values():
        for _ in range(max(2, steps // 4)):
            fn()
    gc.disable()
    try:
        for _ in range(rounds):
            for lib, fn in fns.items():
                start = time.perf_counter()
                for _ in range(steps):
                    fn()
                times[lib].append((time.perf_counter() - start) / steps)
            gc.collect()
    finally:
        gc.enable()
    # other processes on a shared machine only ever add time: the fastest round is the cost
    return min(times[gg]), min(times[torch])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--quick", action="store_true")
    opts = parser.parse_args(argv)
    rounds, steps = (3, 5) if opts.quick else (opts.rounds, opts.steps)
    torch.set_num_threads(1)
    print(f"graphgrad {gg.__version__} vs torch {torch.__version__} (threads: {torch.get_num_threads()}); "
          f"{rounds} rounds x {steps} steps; best round's time per training step")
    harness.header(36)
    results = []
    for name, build, target in CASES:
        ours, theirs = measure(build, rounds, steps)
        results.append(harness.row(name, ours, theirs, target, 36, 1e3, "ms"))
    return results


if __name__ == "__main__":
    main()
