"""Recording overhead: one MLP training step (forward, backward, SGD step) with a trace
recording vs without, in one process, interleaved, medians (best-of in brackets: shared
machines disturb it least). Target: <= 1.10x.

    .venv/bin/python bench/tracing.py [--rounds 30] [--batch 64] [--keep 1]

To say where the time goes it also runs the step under two stand-in recorders — one that does
nothing (the cost of the hooks: dispatch timing each op, module and backward notifications)
and one that only keeps what a trace keeps alive (the last iterations' outputs and gradients),
so the rest is the recording itself — and under anomaly mode (gg.autograd.detect_anomaly),
beside torch's own step with and without torch.autograd.detect_anomaly, for scale. Each
comparison runs in rounds of its own (the target's: the step with and without the trace).

NumPy's BLAS runs on one thread, as in the other bench scripts (OPENBLAS_NUM_THREADS=1 unless
set otherwise): on a shared 2-core machine a second BLAS thread spins beside the recording and
makes the rounds disagree; `OPENBLAS_NUM_THREADS=2` measures that case."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # first: it may re-run this script with the BLAS settings it needs

if __name__ == "__main__":
    harness.one_thread_blas()

import argparse
import collections
import statistics
import time
import warnings

import torch

import graphgrad as gg
from graphgrad.node import AccumulateGrad
from graphgrad.ops.dispatch import recorders
from graphgrad.tracing import Recorder


def make(batch, seed=0, lib=gg):
    """An MNIST-sized MLP training step (the PyTorch quickstart's shape and batch), in graphgrad
    or torch (the same code)."""
    return harness.mlp_step(lib, batch, seed)[1]


class Keeper(Recorder):
    """Keeps alive what a trace keeps (outputs, gradients received, for `keep` iterations) and
    nothing else."""

    def __init__(self, keep=1):
        self.iterations = collections.deque([[]], maxlen=keep)
        self.stepped = False

    def record(self, node, inputs, outputs, attrs, seconds):
        if self.stepped:
            self.iterations.append([])
            self.stepped = False
        self.iterations[-1].append(outputs)

    def record_backward(self, step, seconds):
        self.stepped = True
        if type(step.node) is not AccumulateGrad:
            self.iterations[-1].append(step.grad_outputs)


def timed(step, n):
    step()  # the first step after switching: not timed
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


def interleaved(modes, rounds):
    """{name: [seconds per step, one per round]}: the modes take turns, in an order that rotates,
    so drifts in machine load hit all alike."""
    times = {name: [] for name in modes}
    names = list(modes)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            times[name].append(modes[name]())
    return times


def main(rounds=30, batch=64, inner=5, keep=1):
    step = make(batch)
    for _ in range(20):  # warm up: first-touch allocations, BLAS threads
        step()
    trace = gg.trace(keep=keep)

    def under(recorder):
        def run():
            recorders.append(recorder)
            try:
                return timed(step, inner)
            finally:
                recorders.remove(recorder)
        return run

    def traced():
        with trace:
            return timed(step, inner)

    def anomaly():
        with gg.autograd.detect_anomaly():
            return timed(step, inner)

    torch.set_num_threads(1)
    torch_step = make(batch, lib=torch)

    def torch_anomaly():
        with warnings.catch_warnings():  # it warns, on every entry, that it is slow
            warnings.simplefilter("ignore")
            with torch.autograd.detect_anomaly():
                return timed(torch_step, inner)

    plain = lambda: timed(step, inner)
    # each comparison in rounds of its own: between the two steps compared, a third's working set
    # (anomaly mode's checks, torch's step) would leave the next one's data out of the caches
    pair = interleaved({"plain": plain, "traced": traced}, rounds)
    parts = interleaved({"plain": plain, "hooks": under(Recorder()), "keeping": under(Keeper(keep)),
                         "anomaly": anomaly}, rounds)
    theirs = interleaved({"torch": lambda: timed(torch_step, inner), "torch anomaly": torch_anomaly}, rounds)
    print(f"MLP 784-256-128-10, batch {batch}, SGD step: {rounds} rounds x {inner} steps, median (best); "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")

    def show(label, times, name, base, note=""):
        med, best = statistics.median(times[name]), min(times[name])
        ratio = med / statistics.median(times[base])
        print(f"  {label:26s}: {med * 1e3:7.3f} ms ({best * 1e3:.3f})   ratio {ratio:.3f}x "
              f"({best / min(times[base]):.3f}x){note}")
        return ratio
    show("without recorder", pair, "plain", "plain")
    traced_ratio = show("with gg.trace()", pair, "traced", "plain", "   target <= 1.10x")
    print("  in rounds of their own, against the step without recorder:")
    show("  a do-nothing recorder", parts, "hooks", "plain")
    show("  one keeping its tensors", parts, "keeping", "plain")
    anomaly_ratio = show("  anomaly mode", parts, "anomaly", "plain")
    show(f"  torch {torch.__version__} anomaly mode", theirs, "torch anomaly", "torch",
         f"   (torch's step: {statistics.median(theirs['torch']) * 1e3:.3f} ms)")
    print(f"  nodes per iteration: {len(trace.graph)}; gradient norms and update ratios measured every "
          f"{trace.monitor.budget.every} iteration(s) (1% time budget)")
    return traced_ratio, anomaly_ratio


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--keep", type=int, default=1, help="iterations the trace keeps whole (its default: 1)")
    args = parser.parse_args()
    main(args.rounds, args.batch, keep=args.keep)
