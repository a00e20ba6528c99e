"""What the training monitor costs: one MLP training step (784-256-128-10, batch 64, SGD with
momentum) with `mon.log(loss=loss)` after every step vs the same step without a monitor, in one
process, in interleaved rounds, medians (best-of in brackets). Target: <= 1.03x.

    .venv/bin/python bench/monitor.py [--rounds 16] [--steps 200] [--batch 64]

The monitor is the notebook's (`viz.monitor(model, display=False)`): it keeps every logged loss,
measures gradient norms and update ratios under its 0.5% budget, records whole steps (a trace
switched on for one step, their graphs turned into JSON for the panel) under its other 0.5%, and
builds its messages at the rate it would send them. Both modes train the same model (two copies
differ by a few percent in BLAS speed, from where their arrays lie); between its rounds the monitor
is paused (`mon.loop.pause()`: the other mode's round is no step of its, and a trace on for its next
step does not record the other mode).

CPU time of the process (every thread: the throttle's timer thread too) is the measure; the
wall-clock ratio is printed beside it. BLAS runs on one thread, as in the other bench scripts."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  first: it may re-run this script with the BLAS settings it needs

if __name__ == "__main__":
    harness.one_thread_blas()

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import graphgrad as gg  # noqa: E402
from graphgrad import viz  # noqa: E402


def measure(rounds=16, steps=200, batch=64):
    """{"plain": [...], "monitored": [...]} CPU seconds per step, and the same in wall-clock
    seconds, one per round; and the monitor."""
    model, step = harness.mlp_step(gg, batch)
    mon = viz.monitor(model, display=False)

    def monitored():
        mon.log(loss=step())

    modes = {"plain": step, "monitored": monitored}
    for run in modes.values():  # warm up: first-touch allocations, the monitor's first recorded step
        for _ in range(30):
            run()
    mon.loop.pause()
    cpu, wall = {name: [] for name in modes}, {name: [] for name in modes}
    names = list(modes)
    for r in range(rounds):
        for name in names[r % 2:] + names[:r % 2]:
            gc.collect()
            gc.disable()
            if name == "monitored":
                mon.loop.resume()
            c0, w0 = time.process_time(), time.perf_counter()
            run = modes[name]
            for _ in range(steps):
                run()
            cpu[name].append((time.process_time() - c0) / steps)
            wall[name].append((time.perf_counter() - w0) / steps)
            if name == "monitored":
                mon.loop.pause()
            gc.enable()
    mon.flush()
    return cpu, wall, mon


def ratios(times):
    """(median ratio, best-of ratio) monitored / plain."""
    return (statistics.median(times["monitored"]) / statistics.median(times["plain"]),
            min(times["monitored"]) / min(times["plain"]))


def main(rounds=16, steps=200, batch=64):
    cpu, wall, mon = measure(rounds, steps, batch)
    loop = mon.loop
    print(f"MLP 784-256-128-10, batch {batch}, SGD step: {rounds} rounds x {steps} steps, median (best); "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    for label, times in (("CPU time", cpu), ("wall clock", wall)):
        med, best = ratios(times)
        print(f"  {label:10s}: without {statistics.median(times['plain']) * 1e3:.3f} ms, "
              f"with mon.log {statistics.median(times['monitored']) * 1e3:.3f} ms   "
              f"ratio {med:.3f}x ({best:.3f}x)   target <= 1.03x")
    points = sum(len(s) for s in loop.series.values())
    print(f"  {loop.step} steps logged; gradient statistics every {loop.grad_budget.every} step(s), a step "
          f"recorded whole every {loop.graph_budget.every} ({loop.grad_budget.fraction:.1%} and "
          f"{loop.graph_budget.fraction:.1%} budgets); {len(loop.series)} series, "
          f"{points} points; steps kept whole: {sorted({s for s, _, _ in loop.kept.values()})}")
    return ratios(cpu)[0]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    main(args.rounds, args.steps, args.batch)
