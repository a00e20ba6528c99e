"""What the training monitor costs: one MLP training step (784-256-128-10, batch 64, SGD with
momentum) with `mon.log(loss=loss)` after every step vs the same step without a monitor, in one
process. Target: <= 1.03x.

    .venv/bin/python bench/monitor.py [--steps 4000] [--batch 64] [--tries 3]

The monitor is the notebook's (`viz.monitor(model, display=False)`): it keeps every logged loss,
measures gradient norms and update ratios under its 0.5% budget, records whole steps (a trace
switched on for one step, their values and the graph sent to the panel) under its other 0.5%,
and builds its messages at the rate it would send them.

The two modes alternate step by step (which goes first alternates too), each step timed in the
process's CPU time (every thread: the throttle's timer thread too); the ratio is the sum of one
mode's times over the other's. On a machine shared with other work, whole rounds of one mode and
then the other differ by up to 5% with no monitor at all (an A/A run); pairs of steps, by under
1%. Both modes train the same model; around each plain step the monitor is paused
(`mon.loop.pause()`: that step is no step of its, and a trace on for its next step does not record
it). The wall-clock ratio is printed beside. BLAS runs on one thread, as in the other bench scripts."""
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

import graphgrad as gg
from graphgrad import viz


def measure(steps=4000, batch=64):
    """{"plain": [...], "monitored": [...]} CPU seconds of each step, the same in wall-clock
    seconds, and the monitor."""
    model, step = harness.mlp_step(gg, batch)
    mon = viz.monitor(model, display=False)

    def monitored():
        mon.log(loss=step())

    for _ in range(30):  # warm up: first-touch allocations, the monitor's first recorded step
        step()
        monitored()
    cpu, wall = {"plain": [], "monitored": []}, {"plain": [], "monitored": []}
    cpu_clock, wall_clock = time.process_time, time.perf_counter
    pause, resume = mon.loop.pause, mon.loop.resume
    gc.collect()
    gc.disable()
    try:
        for i in range(steps):
            for name in (("plain", "monitored") if i % 2 else ("monitored", "plain")):
                if name == "plain":
                    pause()
                c0, w0 = cpu_clock(), wall_clock()
                if name == "plain":
                    step()
                else:
                    monitored()
                cpu[name].append(cpu_clock() - c0)
                wall[name].append(wall_clock() - w0)
                if name == "plain":
                    resume()
            if i % 500 == 499:
                gc.collect()
    finally:
        gc.enable()
    mon.flush()
    return cpu, wall, mon


def ratio(times):
    """Monitored over plain: the sum of each mode's step times."""
    return sum(times["monitored"]) / sum(times["plain"])


def main(steps=4000, batch=64, tries=3):
    print(f"MLP 784-256-128-10, batch {batch}, SGD step, {steps} steps each mode, alternating; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    results = []
    for _ in range(tries):
        cpu, wall, mon = measure(steps, batch)
        loop = mon.loop
        results.append(ratio(cpu))
        mean = {name: statistics.fmean(t) * 1e3 for name, t in cpu.items()}
        print(f"  CPU time: without {mean['plain']:.3f} ms, with mon.log {mean['monitored']:.3f} ms   "
              f"ratio {ratio(cpu):.3f}x   (wall clock {ratio(wall):.3f}x)   target <= 1.03x")
        points = sum(len(s) for s in loop.series.values())
        print(f"    gradient statistics every {loop.grad_budget.every} step(s), a step recorded whole every "
              f"{loop.graph_budget.every} ({loop.grad_budget.fraction:.1%} and {loop.graph_budget.fraction:.1%} "
              f"budgets, at most one per {loop.graph_interval * 1e3:.0f} ms); messages every "
              f"{mon.throttle.interval * 1e3:.0f} ms ({mon.FLUSH_BUDGET:.2%} budget, a flush "
              f"{mon._flush_cost * 1e6:.0f} us with the caches); {len(loop.series)} series, {points} points; "
              f"steps kept whole: {sorted({s for s, _, _ in loop.kept.values()})}")
        mon.close()
    print(f"  median of {tries}: {statistics.median(results):.3f}x")
    return statistics.median(results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--tries", type=int, default=3)
    args = parser.parse_args()
    main(args.steps, args.batch, args.tries)
