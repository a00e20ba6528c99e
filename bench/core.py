"""graphgrad beside PyTorch, in one process, on the same inputs: the cost of the dispatch path.

    .venv/bin/python bench/core.py [--rounds 15] [--quick]

Each case runs as interleaved rounds (graphgrad, torch, graphgrad, torch, ...), each round a
batch of calls timed together; the medians per call are compared as graphgrad / torch. Time is
the process's CPU time (time.process_time), so other programs sharing the machine's cores do
not land in one library's rounds and not the other's; wall-clock medians are printed beside.
torch runs on one thread (these tensors are far too small for threads to help, and graphgrad
uses one). OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, set on some machines here for old OpenBLAS
builds, slow a current NumPy down, so this script re-runs itself without them (only itself).
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


def _inputs(lib, shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [lib.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes]


def small_op_mul_add(lib, a, b):
    return a * b + a


def small_op_add(lib, a, b):
    return a + b


def tiny_forward_backward(lib, x, w1, b1, w2, b2):
    """An MLP-like chain on 8x8: two affine layers, relu, a scalar loss, backward."""
    for p in (x, w1, b1, w2, b2):
        p.grad = None
    loss = ((x @ w1 + b1).relu() @ w2 + b2).tanh().sum()
    loss.backward()
    return loss


CASES = [
    # name, function, input shapes, target ratio (graphgrad / torch): issue 19's for the eager path
    # (below 1.0 for the tiny MLP is graphgrad.compile's job: bench/capture.py)
    ("a * b + a  (4x4, requires_grad)", small_op_mul_add, [(4, 4), (4, 4)], 1.3),
    ("a + b      (4x4, requires_grad)", small_op_add, [(4, 4), (4, 4)], 1.3),
    ("tiny MLP forward+backward (8x8)", tiny_forward_backward, [(8, 8), (8, 8), (8,), (8, 8), (8,)], 1.0),
]


def _time_batch(fn, lib, args, calls):
    """(CPU seconds, wall seconds) per call."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        fn(lib, *args)
    return (time.process_time() - cpu) / calls, (time.perf_counter() - wall) / calls


def measure(fn, shapes, rounds, calls):
    args = {gg: _inputs(gg, shapes), torch: _inputs(torch, shapes)}
    for lib in (gg, torch):  # warm up: imports, caches, first allocations
        _time_batch(fn, lib, args[lib], calls // 4 + 1)
    times = {gg: [], torch: []}
    gc_was = gc.isenabled()
    gc.disable()  # collections would land in whichever library happened to be running
    try:
        for _ in range(rounds):
            for lib in (gg, torch):
                times[lib].append(_time_batch(fn, lib, args[lib], calls))
            gc.collect()
    finally:
        if gc_was:
            gc.enable()
    return ({lib: statistics.median(t[0] for t in times[lib]) for lib in times},
            {lib: statistics.median(t[1] for t in times[lib]) for lib in times})


def profile(calls, top=15):
    """Where graphgrad's time goes in each case: cProfile's functions by own time."""
    import cProfile
    import pstats
    for name, fn, shapes, _ in CASES:
        args = _inputs(gg, shapes)
        _time_batch(fn, gg, args, 50)
        profiler = cProfile.Profile()
        profiler.runcall(_time_batch, fn, gg, args, calls)
        print(f"==== {name}: {calls} calls")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def _blas():
    """Which BLAS kernel NumPy runs (threadpoolctl, where installed): what the OPENBLAS_* variables change."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS unknown"
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(f"{i['internal_api']} {i.get('architecture')} x{i['num_threads']}" for i in blas) or "no BLAS"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=2000, help="calls per round for each case")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls (a smoke test)")
    parser.add_argument("--profile", action="store_true", help="cProfile graphgrad's side of each case instead")
    opts = parser.parse_args(argv)
    if opts.profile:
        return profile(opts.calls)
    rounds, calls = (3, 200) if opts.quick else (opts.rounds, opts.calls)
    torch.set_num_threads(1)
    print(f"graphgrad {gg.__version__} vs torch {torch.__version__} (torch threads: {torch.get_num_threads()}); "
          f"numpy {np.__version__} ({_blas()}); {rounds} interleaved rounds x {calls} calls; medians per call")
    harness.header(34, "      (wall-clock ratio)")
    results = []
    for name, fn, shapes, target in CASES:
        cpu, wall = measure(fn, shapes, rounds, calls)
        results.append(harness.row(name, cpu[gg], cpu[torch], target, 34, 1e6, "us",
                                   f" ({wall[gg] / wall[torch]:.2f})"))
    return results


if __name__ == "__main__":
    main()
