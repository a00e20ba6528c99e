"""graphgrad beside PyTorch, in one process: the cost of drawing random numbers (torch's numbers, bit for bit).

    .venv/bin/python bench/random_numbers.py [--rounds 9] [--quick] [--only randn] [--numpy] [--floor]

Each case draws the same thing with both libraries in interleaved rounds (graphgrad, torch, ...);
the medians of CPU time per call are compared as graphgrad / torch. Small draws show the fixed
cost of a call, large ones the cost per value; building nn.Linear(784, 256) is the draw a model
makes when it starts (kaiming_uniform_ on the weight, uniform_ on the bias).

randn, rand, randint, normal_, uniform_, randperm and the init functions run their loops in
graphgrad's C kernels (graphgrad/native) where they are built; --numpy times the NumPy code that
draws the same numbers where they are not.

--floor times the parts of that NumPy code's randn(1e6) beside torch's whole randn(1e6): the MT19937
words alone (NumPy's generator, one call) and the float32 Box-Muller arithmetic alone (avx_mathfun's
log and sincos emulated bit for bit with NumPy's ufuncs, about 40 passes per value, the fused
multiply-adds through float64). Their sum is what randn and normal_ at 1e6 cannot go below without
the kernels (why they are compiled).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness

if __name__ == "__main__":
    harness.one_thread_blas()

import argparse
import gc
import statistics
import time

import torch

import graphgrad as gg

SMALL, LARGE = (8, 8), (1000, 1000)  # 64 and 1e6 values


_HALVES = {}


def _halves(lib, shape):
    """A tensor of 0.5 of the shape, made once per library and shape (bernoulli's probabilities; a
    setdefault would make a new one on every call, and time it)."""
    if (lib, shape) not in _HALVES:
        _HALVES[lib, shape] = lib.full(shape, 0.5)
    return _HALVES[lib, shape]


def _cases():
    """(name, a function of the library that draws once, calls per round at full size, target)."""
    def filled(method, *args):
        return lambda lib, shape: getattr(lib.empty(shape), method)(*args)
    draws = [
        ("randn", lambda lib, shape: lib.randn(shape)),
        ("rand", lambda lib, shape: lib.rand(shape)),
        ("randint", lambda lib, shape: lib.randint(0, 10, shape)),
        ("normal_", filled("normal_", 0.0, 0.02)),
        ("uniform_", filled("uniform_", -0.1, 0.1)),
        ("bernoulli", lambda lib, shape: lib.bernoulli(_halves(lib, shape))),
        ("randperm", lambda lib, shape: lib.randperm(shape[0] * shape[1])),
        ("kaiming_uniform_", lambda lib, shape: lib.nn.init.kaiming_uniform_(lib.empty(shape), a=5 ** 0.5)),
    ]
    cases = []
    for name, fn in draws:
        cases.append((f"{name} 64", lambda lib, fn=fn: fn(lib, SMALL), 400, 3.0))
        cases.append((f"{name} 1e6", lambda lib, fn=fn: fn(lib, LARGE), 2, 1.5))
    cases.append(("nn.Linear(784, 256)", lambda lib: lib.nn.Linear(784, 256), 10, 1.5))
    return cases


def _time_batch(fn, lib, calls):
    cpu = time.process_time()
    for _ in range(calls):
        fn(lib)
    return (time.process_time() - cpu) / calls


def measure(fn, rounds, calls):
    """Median CPU seconds per call for graphgrad and torch, in interleaved rounds, GC off while timed."""
    for lib in (gg, torch):
        _time_batch(fn, lib, max(1, calls // 4))
    times = {gg: [], torch: []}
    gc.disable()
    try:
        for _ in range(rounds):
            for lib in (gg, torch):
                times[lib].append(_time_batch(fn, lib, calls))
            gc.collect()
    finally:
        gc.enable()
    return statistics.median(times[gg]), statistics.median(times[torch])


def _floor_cases():
    """(name, graphgrad's part, torch's whole randn(1e6)) for --floor."""
    import numpy as np
    from graphgrad import random as grandom
    gen, n = grandom.Generator(), LARGE[0] * LARGE[1]
    words, out = gen._random32(n).copy(), np.empty(n, np.float32)

    def arithmetic():
        for i in range(0, n, grandom._CHUNK):
            blocks = grandom._float_units(words[i:i + grandom._CHUNK]).reshape(-1, 2, 8)
            grandom._normal_products(grandom._radii(blocks[:, 0]), *grandom._angles(blocks[:, 1]),
                                     out[i:i + grandom._CHUNK])
    parts = [("randn 1e6: MT19937 words", lambda: gen._draw(n)), ("randn 1e6: Box-Muller math", arithmetic)]
    return [(name, lambda lib, part=part: part() if lib is gg else torch.randn(LARGE)) for name, part in parts]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls (a smoke test)")
    parser.add_argument("--only", default="", help="only the cases whose name contains this")
    parser.add_argument("--floor", action="store_true", help="the parts of randn(1e6) beside torch's whole randn")
    parser.add_argument("--numpy", action="store_true", help="without graphgrad's C kernels (its NumPy code)")
    opts = parser.parse_args(argv)
    from graphgrad import native
    from graphgrad import random as grandom
    if opts.numpy:
        grandom._kernels = None
    kernels = "NumPy only" if grandom._kernels is None else "C kernels"
    if native.why_not:
        print(native.why_not)
    rounds = 3 if opts.quick else opts.rounds
    torch.set_num_threads(1)
    print(f"graphgrad ({kernels}) vs torch {torch.__version__} (1 thread); {rounds} interleaved rounds; "
          f"CPU-time medians per call")
    harness.header(24)
    results = []
    if opts.floor:
        for name, fn in _floor_cases():
            results.append(harness.row(name, *measure(fn, rounds, 1 if opts.quick else 2), 1.5, 24, 1e6, "us"))
        return results
    for name, fn, calls, target in _cases():
        if opts.only not in name:
            continue
        ours, theirs = measure(fn, rounds, max(1, calls // 10) if opts.quick else calls)
        results.append(harness.row(name, ours, theirs, target, 24, 1e6, "us"))
    return results


if __name__ == "__main__":
    main()
