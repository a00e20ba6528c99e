"""Captured training steps (graphgrad.compile) beside torch's eager steps, in one process.

    .venv/bin/python bench/capture.py [--rounds 9] [--steps 200] [--quick]

Each case is a whole training step (zero_grad, forward, loss, backward, SGD step) on the same
data and weights: graphgrad eagerly, graphgrad captured (`graphgrad.compile(step)`, captured
before the timing starts) and torch eagerly, in interleaved rounds. The ratio is captured /
torch; graphgrad's eager ratio is printed beside it. CPU time of the process, medians over
rounds, GC off while timed; one thread for torch and for NumPy's BLAS.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # first: it may re-run this script with the BLAS settings it needs

if __name__ == "__main__":
    harness.one_thread_blas()

import argparse
import gc
import statistics
import time

import numpy as np
import torch

import graphgrad as gg
from nn import cnn, mlp


def tiny(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))


CASES = [  # name, model builder, input shape, classes (None: a tanh-sum loss), steps per round, target
    ("tiny MLP 8-8-8 step, batch 8", tiny, (8, 8), None, 1.0, 0.5),
    ("MLP 784-128-10 step, batch 64", mlp, (64, 1, 28, 28), 10, 0.1, 0.7),
    ("CNN conv3x3x32-pool-fc step, batch 64", cnn, (64, 1, 28, 28), 10, 0.02, 0.8),
]


def make_step(lib, build, x, y, seed=0):
    lib.manual_seed(seed)
    model = build(lib)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01)
    x = lib.tensor(x)
    y = None if y is None else lib.tensor(y)

    def step():
        optimizer.zero_grad()
        out = model(x)
        loss = out.tanh().sum() if y is None else lib.nn.functional.cross_entropy(out, y)
        loss.backward()
        optimizer.step()
        return loss
    return step


def _time(fn, steps):
    start = time.process_time()
    for _ in range(steps):
        fn()
    return (time.process_time() - start) / steps


def measure(build, shape, classes, rounds, steps):
    """Median CPU seconds per step: graphgrad eager, graphgrad captured, torch eager."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    y = None if classes is None else rng.integers(0, classes, shape[0])
    fns = {"eager": make_step(gg, build, x, y), "captured": gg.compile(make_step(gg, build, x, y)),
           "torch": make_step(torch, build, x, y)}
    for fn in fns.values():
        _time(fn, max(3, steps // 4))
    assert fns["captured"].counts["replayed"] > 0, fns["captured"].explain()
    times = {name: [] for name in fns}
    gc.disable()
    try:
        for _ in range(rounds):
            for name, fn in fns.items():
                times[name].append(_time(fn, steps))
            gc.collect()
    finally:
        gc.enable()
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=400,
                        help="steps per round of the tiny case (scaled down for the others)")
    parser.add_argument("--quick", action="store_true")
    opts = parser.parse_args(argv)
    rounds, steps = (3, 20) if opts.quick else (opts.rounds, opts.steps)
    torch.set_num_threads(1)
    print(f"graphgrad {gg.__version__} vs torch {torch.__version__} (threads: {torch.get_num_threads()}); "
          f"{rounds} interleaved rounds; CPU-time medians per training step")
    harness.header(40, "   eager/torch")
    results = []
    for name, build, shape, classes, scale, target in CASES:
        t = measure(build, shape, classes, rounds, max(2, int(steps * scale)))
        results.append(harness.row(name, t["captured"], t["torch"], target, 40, 1e6, "us",
                                   f"   {t['eager'] / t['torch']:.2f} ({t['eager'] * 1e6:.0f}us)"))
    return results


if __name__ == "__main__":
    main()
