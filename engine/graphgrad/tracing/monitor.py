"""Training monitor: the numbers a live chart wants, per iteration — loss, user metrics,
per-parameter gradient norms and update/weight ratios — and diagnostics by name (parameters
that got no gradient, dead ReLU units, vanishing or exploding gradients by layer).

Each iteration's scalars are taken when it closes (so they outlive the iteration's graph), and
the open iteration's on demand. Curves are NumPy arrays of bounded size."""
import contextlib
import math
import os
import time
from typing import Any

import numpy as np

from ..node import AccumulateGrad

from ..ops.util import has_nonfinite, xp_of
from ..random import default_generator
from .graph import Graph
from .leaves import keep_values

_cpu = time.process_time  # what the loop monitor's work costs: this process's CPU time


def _wall():
    return time.perf_counter()  # (looked up when called: a test may stand a clock in for it)
_schedstat = "/proc/thread-self/schedstat"  # None once it could not be read (not Linux)


def loop_time():
    """Seconds on a clock that stops while this thread waits for a CPU: what a training step takes
    on a machine with a core free for it, whether the step runs on the CPU or waits on something
    else (a GPU, data, a sleep). The loop monitor's budgets are shares of it: on a machine shared
    with other work, neither the monitor's share grows as the step waits for a CPU (wall-clock
    time would), nor does a loop that waits on a GPU get a share of its CPU time only. Linux's
    per-thread scheduler statistics (run-queue wait); elsewhere, the process's CPU time."""
    global _schedstat
    if _schedstat is not None:
        try:
            fd = os.open(_schedstat, os.O_RDONLY)
            try:
                waited = int(os.read(fd, 64).split()[1])
            finally:
                os.close(fd)
            return time.perf_counter() - waited * 1e-9
        except (OSError, ValueError, IndexError):
            _schedstat = None
    return _cpu()



class Series:
    """(step, value) points in growing float64 arrays. Past `capacity` points it keeps every
    other one and from then on takes every second point (then fourth, ...), so a chart of a
    million steps stays `capacity` points long and evenly spaced."""

    def __init__(self, capacity=100_000):
        self.capacity = capacity
        self._steps = np.empty(64, np.float64)
        self._values = np.empty(64, np.float64)
        self._n = 0
        self._stride = 1
        self.appended = 0  # points appended, kept or not (a view compares it with what it sent)
        self.thinned = 0  # how many times it has dropped every other point (a view of it redraws it whole)

    last = None  # (step, value) appended last, kept or not: a chart's latest value

    def append(self, step, value):
        self.last = (step, value)
        take = self.appended % self._stride == 0
        self.appended += 1
        if not take:
            return
        if self._n == self.capacity:
            half = self._n // 2
            self._steps[:half] = self._steps[:self._n:2][:half]
            self._values[:half] = self._values[:self._n:2][:half]
            self._n, self._stride = half, self._stride * 2
            self.thinned += 1
        elif self._n == len(self._steps):
            size = min(2 * self._n, self.capacity)
            self._steps = np.resize(self._steps, size)
            self._values = np.resize(self._values, size)
        self._steps[self._n] = step
        self._values[self._n] = value
        self._n += 1

    def extend(self, steps, values):
        """Append several points, as append() one by one would (in two array writes when no
        thinning falls among them)."""
        stride, first, n = self._stride, self.appended, self._n
        taken = range((-first) % stride, len(steps), stride)  # the points append() would keep
        if n + len(taken) > self.capacity:
            for step, value in zip(steps, values):
                self.append(step, value)
            return
        if n + len(taken) > len(self._steps):
            size = min(max(2 * len(self._steps), n + len(taken)), self.capacity)
            self._steps, self._values = np.resize(self._steps, size), np.resize(self._values, size)
        self._steps[n:n + len(taken)] = [steps[i] for i in taken]
        self._values[n:n + len(taken)] = [values[i] for i in taken]
        self._n = n + len(taken)
        self.appended += len(steps)
        self.last = (steps[-1], values[-1])

    @property
    def steps(self):
        return self._steps[:self._n].copy()

    @property
    def values(self):
        return self._values[:self._n].copy()

    def since(self, start):
        """(steps, values) of the points from index `start` on, as one interleaved float64 array
        x0, y0, x1, y1, ... (what a chart is sent)."""
        xy = np.empty(2 * max(self._n - start, 0), np.float64)
        xy[0::2], xy[1::2] = self._steps[start:self._n], self._values[start:self._n]
        return xy

    @property
    def nbytes(self):
        return self._steps.nbytes + self._values.nbytes

    def __len__(self):
        return self._n

    def __repr__(self):
        return f"Series({self._n} points)"


class Curve:
    """A snapshot of a series: `steps` and `values` arrays (plain, ready to send or plot)."""
    __slots__ = ("steps", "values")

    def __init__(self, steps, values):
        self.steps, self.values = steps, values

    @property
    def last(self):
        return float(self.values[-1]) if len(self.values) else None

    def __len__(self):
        return len(self.values)

    def __repr__(self):
        return f"Curve({len(self)} points, last={self.last})"


class Budget:
    """Keeps optional measurements (gradient norms, update ratios) under `fraction` of the
    training time: it times them and the iterations, and when measuring every iteration would
    cost more, measures every k-th one (a curve's steps say which). fraction=None: always.
    Only measured iterations tell it anything: the others cost nothing to account for.

    `clock` is what time means: wall-clock by default; the training-loop monitor gives it the
    process's CPU time, so that other processes on a shared machine slow neither side of the
    ratio. `cache_factor` scales what the measurements took into what they cost the steps."""

    # What measuring costs a training step is about twice the time the measurements themselves
    # take: they read every gradient and copy samples of every weight, evicting the step's own
    # data from the caches (bench/tracing.py, stop 9: every-k measuring cost 2% with the budget at 1%).
    CACHE_FACTOR = 2.0

    def __init__(self, fraction: float | None = 0.01, clock=None, cache_factor=CACHE_FACTOR, period_clock=None):
        self.fraction = fraction
        self.every = 1
        self.period = 0.0       # seconds per iteration on period_clock, between the last two measured
        self.cost_period = 0.0  # the same on `clock` (what the measurements' costs are counted in)
        self.cache_factor = cache_factor
        self._clock = clock or _wall
        self._period_clock = period_clock or self._clock
        self._cost = 0.0        # seconds one iteration's measurements take (smoothed)
        self._last = None       # (clock, period clock, number) when the last measured iteration ended
        self._paused = None

    def due(self, number):
        return number % self.every == 0

    def measured(self, number, seconds):
        """Iteration `number`, measured in `seconds`, ended: how often measuring fits in the
        budget, from the time per iteration since the last one measured."""
        now = self._now()
        seconds *= self.cache_factor
        self._cost = seconds if not self._cost else 0.8 * self._cost + 0.2 * seconds
        if self._last is not None and self.fraction and number > self._last[2]:
            steps = number - self._last[2]
            self.cost_period = (now[0] - self._last[0]) / steps
            self.period = (now[1] - self._last[1]) / steps
            self.every = max(1, math.ceil(self._cost / (self.fraction * self.period))) if self.period > 0 else 1
        self._last = (*now, number)

    def _now(self):
        """(clock, period clock) now; one reading when they are one clock."""
        now = self._clock()
        return now, (now if self._period_clock is self._clock else self._period_clock())

    def pause(self):
        """Recording stopped: the time until resume() is not the iterations'."""
        self._paused = self._now()

    def resume(self):
        if self._paused is not None and self._last is not None:
            (last, last_period, number), (paused, paused_period) = self._last, self._paused
            now, now_period = self._now()
            self._last = (last + now - paused, last_period + now_period - paused_period, number)
        self._paused = None


class Monitor:
    """Reads a Trace's iterations. `loss`, `metrics`, `grad_norms`, `update_ratios` are Curves
    over every iteration so far (closed ones and the open one); `diagnostics()` looks at the
    latest iterations kept whole."""

    def __init__(self, trace, capacity: int = 100_000, budget: float | None = 0.01):
        self._trace = trace
        self._capacity = capacity
        self._series = {}  # (group, name) -> Series
        self._waiting = [] # closed iterations' scalars not in the series yet
        self.budget = Budget(budget)

    def log(self, **metrics):
        """Scalars of the current iteration (tensors or numbers): `t.log(accuracy=acc)`."""
        it = self._trace._current
        it.metrics = {**it.metrics, **metrics}

    def absorb(self, it):
        """Keep a closing iteration's scalars (gradient norms when the budget allowed measuring
        it). Turning them into floats waits until someone reads a curve (or 64 are waiting):
        a float() of a GPU scalar waits for the GPU."""
        if it.measuring:
            self.budget.measured(it.number, it.measure_seconds)
        self._waiting.append((it.number, it.metrics.get("loss", it.loss), it.metrics, it.update_ratios,
                              it.grad_norms))
        if len(self._waiting) >= 64:
            self._flush()

    def _flush(self):
        for number, *values in self._waiting:
            for key, value in scalars(*values):
                series = self._series.get(key)
                if series is None:
                    series = self._series[key] = Series(self._capacity)
                series.append(number, value)
        self._waiting.clear()

    def _curves(self, group):
        self._flush()
        current = self._trace._current
        tail = {name: v for (g, name), v in scalars(current.metrics.get("loss", current.loss), current.metrics,
                                                     current.update_ratios, current.grad_norms) if g == group}
        curves = {}
        for (g, name), series in self._series.items():
            if g == group:
                steps, values = series.steps, series.values
                if name in tail:
                    steps, values = np.append(steps, current.number), np.append(values, tail.pop(name))
                curves[name] = Curve(steps, values)
        for name, v in tail.items():
            curves[name] = Curve(np.array([current.number], np.float64), np.array([v], np.float64))
        return curves

    @property
    def loss(self):
        return self._curves("loss").get(None, Curve(np.zeros(0), np.zeros(0)))

    @property
    def metrics(self):
        return self._curves("metric")

    @property
    def grad_norms(self):
        return self._curves("grad_norm")

    @property
    def update_ratios(self):
        return self._curves("update_ratio")

    def layer_grad_norms(self, it=None):
        """{module path: norm of all its parameters' gradients} for one iteration (the latest
        with a backward by default; its measured gradients, or else the parameters' .grad now)."""
        it = it or self._trace._last_with_backward()
        if it is None:
            return {}
        norms = it.grad_norms or {
            name: norm(p.grad._data) for name, p in self._trace._named_parameters() if p.grad is not None}
        layers = {}
        for name, value in norms.items():
            layer = name.rpartition(".")[0]
            layers[layer] = layers.get(layer, 0.0) + value * value
        return {layer: math.sqrt(s) for layer, s in layers.items()}

    def diagnostics(self, vanishing=1e-7, exploding=1e3, relative=1e-4):
        """What looks wrong in the latest iteration with a backward pass, by name:

        no_gradient  parameters of the traced modules that require grad but got no gradient
        dead_relu    {relu node label: {"module", "node", "dead", "units", "fraction"}} for relu
                     outputs with units that are zero across the whole batch
        vanishing    layers whose gradient norm is below `vanishing`, or below `relative` times
                     the largest layer's
        exploding    layers whose gradient norm is above `exploding`
        """
        it = self._trace._last_with_backward()
        norms = self.layer_grad_norms(it)
        top = max(norms.values(), default=0.0)
        reached = {id(node.variable) for node in it.steps() if type(node) is AccumulateGrad} if it else set()
        return {
            "no_gradient": [name for name, p in self._trace._named_parameters()
                            if p.requires_grad and id(p) not in reached] if it else [],
            "dead_relu": dead_relu(it or self._trace._current),
            "vanishing": sorted(layer for layer, n in norms.items() if n < vanishing or n < relative * top),
            "exploding": sorted(layer for layer, n in norms.items() if n > exploding),
            "layer_grad_norms": norms,
        }


def norm(array):
    """The 2-norm of a whole array, as a float."""
    flat = array.reshape(-1)
    if flat.dtype.itemsize < 4:  # float16 squares overflow
        flat = flat.astype(np.float32)
    return math.sqrt(float(flat @ flat))


def _scalar(value):
    data = getattr(value, "_data", value)
    return float(data.item() if hasattr(data, "item") else data)


def scalars(loss, metrics, update_ratios, grad_norms):
    """((group, name), float) for one iteration's loss, metrics, update ratios, gradient norms."""
    if loss is not None:
        yield ("loss", None), _scalar(loss)
    for name, value in metrics.items():
        if name != "loss":
            yield ("metric", name), _scalar(value)
    for name, ratio in update_ratios.items():
        yield ("update_ratio", name), ratio
    for name, value in grad_norms.items():
        yield ("grad_norm", name), value


def dead_relu(it, every=False):
    """relu outputs with units (dimension 1, or the only dimension) that are zero across the batch
    (every=True: every relu output, those with no dead unit too)."""
    found = {}
    for n in it.nodes:
        if n.op != "relu" or n.phase != "forward" or not hasattr(n.array, "ndim") or n.array.ndim < 2:
            continue
        out = n.array
        axes = tuple(a for a in range(out.ndim) if a != 1)
        dead = int((out == 0).all(axis=axes).sum())
        if dead or every:
            units = out.shape[1]
            label = f"{n.module}.relu#{n.id}" if n.module else f"relu#{n.id}"
            found[label] = {"module": n.module, "node": n.id, "dead": dead, "units": units,
                            "fraction": dead / units}
    return found


def sample(array, limit=16384, blocks=16):
    """What an update ratio is measured on: the whole array when small, else `blocks` evenly
    spaced contiguous runs of it (a copy of at most `limit` elements per parameter per step,
    read as whole cache lines)."""
    flat = array.reshape(-1)
    if flat.size <= limit:
        return flat.copy()
    run = limit // blocks
    step = (flat.size - run) // (blocks - 1)
    return xp_of(array).concatenate([flat[i * step:i * step + run] for i in range(blocks)])


def update_ratio(before, after):
    """|after - before| / |after| over a parameter's `sample`: how far one optimizer step moved
    it, relative to its size. `before` is a copy taken before the step (reused for the difference)."""
    after = sample(after)
    before -= after  # both are copies
    scale = norm(after)
    return norm(before) / scale if scale else math.inf


# ---- a training loop's monitor (what viz.monitor draws) --------------------------------------

ROLES = {"first": "first step", "latest": "latest step", "spike": "loss spike", "nan": "first NaN/Inf",
         "grad": "largest gradient norm"}


class LoopMonitor:
    """What `mon.log(loss=loss)` keeps, cheap enough to call on every step of a training loop:

    - every logged scalar as a bounded `Series` (chart = the metric's name, series = the run:
      "train", "eval", ...), `capacity` points each, thinned evenly past it;
    - gradient norms and update/weight ratios per parameter (named by module path, `fc1.weight`),
      and the parameters that got no gradient, measured every k-th step so that they take at
      most `budget` of the training time (the trace's Budget: costs in CPU time, steps on
      `loop_time`, the time a step takes less the time it waited for a CPU);
    - steps recorded whole (graph, values, gradients) by a Trace switched on for that one step,
      at most `graph_budget` of the time and at most one per `graph_interval` seconds (a view's
      message interval: a step recorded more often would never be shown). Kept: the first, the
      latest, and the notable ones (ROLES: a loss spike, the first NaN/Inf, the largest gradient
      norm) — at most len(ROLES) steps, plus the one being recorded. A NaN/Inf in the model's
      output on a step not recorded has that forward run again under the recorder, so the first
      NaN/Inf step is kept itself (_watch_output); another notable step that ran unrecorded (a
      spike, a NaN born after the model) has the next step recorded whatever the budget (its note
      says so). Dead-ReLU fractions are read from the recorded steps.

    Memory: each series at most `capacity` points (16 bytes each); each step kept whole holds
    what its ops made (activations, gradients: arrays the next step would have freed) and copies
    of the arrays later steps overwrite in place — parameters and buffers as the step read them,
    their gradients, its inputs — up to `snapshot_limit` bytes of copies per step (a parameter
    past it keeps its reference and shows today's values). So at most len(ROLES) + 1 steps'
    activations and gradients, and (len(ROLES) + 1) * snapshot_limit bytes of copies.

    `log` marks the end of a step of the main run (the first run logged): call it after
    `optimizer.step()`, so that each recorded step is one whole iteration. The first step is
    recorded from the model's first call (or from `track()`'s first item). When the loop stops,
    `idle()` switches off a trace left on for a step that never came."""

    def __init__(self, model: Any = None, capacity=4096, budget=0.005, graph_budget=0.005, graphs=True,
                 clock=time.perf_counter, graph_interval=0.0, snapshot_limit=64 << 20):
        self.model = model
        self.params = list(model.named_parameters()) if hasattr(model, "named_parameters") else []
        buffers = list(model.named_buffers()) if hasattr(model, "named_buffers") else []
        self._buffers = [t for _, t in buffers]
        self.capacity = capacity
        self._series = {}           # (chart, series name) -> Series (`series`: brought up to date)
        self._points = []           # (chart, series name, step, value) logged since, not in the Series yet
        self._loss_name = None      # the main run's metric that spikes are looked for in: "loss", else the first
        self._notable = math.inf    # a loss past this is a spike (or not finite: no loss is below it)
        self._mark = None           # (clock, step) at the last _tick
        self.step = 0               # the main run's next step
        self.main = None            # the main run's name
        self.total = None           # the loop's length, when known (log(total=) or track())
        self.done = 0               # steps done of `total`
        self.kept = {}              # role -> (step, Graph, note)
        self._clean = set()         # kept steps whose loss and gradient norms were all finite
        self._grads_rewritten = None  # whether the loop writes the same gradient arrays again (None: not seen yet)
        self._grad_arrays = None    # (step, {id(parameter): its gradient array}) of a kept step, to tell that
        self.no_gradient = []       # parameters that required grad but got none, at the last measurement
        self.dead_relu = {}         # relu module -> fraction of its units dead, in the latest recorded step
        self.grad_budget = Budget(budget, clock=_cpu, period_clock=loop_time)
        # a recorded step's cost is measured as the whole step's extra CPU time: caches included
        self.graph_budget = Budget(graph_budget, clock=_cpu, cache_factor=1.0, period_clock=loop_time)
        self.graph_interval = graph_interval
        self.snapshot_limit = snapshot_limit
        self.graphs = graphs and model is not None
        self._clock = clock
        self._trace: Any = None     # the Trace switched on for the steps recorded whole (made at the first)
        self._overwritten = [t for _, t in self.params + buffers]  # what an optimizer or a forward writes in place
        self._recording = None      # clock when the trace was switched on for this step, or None
        self._recorded = (-1, -math.inf)  # (step, clock) of the last step recorded whole
        self._measured = -math.inf  # the last step whose gradient statistics were taken
        self._next_plan = 0         # the next step _plan has anything to do for
        self._setup_seconds = 0.0   # CPU time switching the trace on and copying the weights took
        self._first_iteration = 0   # the trace's iteration number when it was switched on for this step
        self._record_cpu = 0.0      # CPU time when this step's recording began
        self._copies = None         # {id(array): (array, copy)} of parameters and buffers before the step recorded
        self._force = None          # a note: record the next step whole whatever the budget
        self._before = None         # (step, [(name, parameter, sample)]) weights before the next step
        self._last = None           # clock at the main run's last log
        self._interval = 0.0        # seconds per step, all steps (smoothed): steps/s, time left
        self._paused = None         # clock at pause()
        self._paused_cpu = 0.0      # CPU time at pause()
        self._sample_seconds = 0.0  # CPU time the last weights' samples took
        self._measure_seconds = 0.0 # CPU time gradient statistics took in the step being recorded
        self._side_seconds = 0.0    # CPU time showing recorded steps took (their JSON, sending it)
        self._loss = [0.0, 0.0, 0]  # running mean, variance, count of the main run's loss (spikes)
        self._worst = {"spike": 0.0, "grad": 0.0}
        # the first step is recorded whole from the model's first call (track() starts it earlier)
        register = getattr(model, "register_forward_pre_hook", None) if self.graphs else None
        self._first_call = register(self._first_forward) if register is not None else None
        # until a first NaN/Inf step is kept, the outputs of every forward not recorded are looked at
        self._nan_watch = None
        if register is not None and self.model is not None:
            self._nan_watch = self.model.register_forward_hook(self._watch_output, with_kwargs=True)
        self._rerunning = False     # the model's forward is being run again (a NaN step kept): not a step's

    def __repr__(self):
        kept = sorted({s for s, _, _ in self.kept.values()})
        return (f"<LoopMonitor: {self.step} steps, {len(self.series)} series of at most {self.capacity} points; "
                f"steps kept whole {kept} (at most {len(ROLES)} + 1, each with at most "
                f"{self.snapshot_limit / 2**20:g} MiB of copied parameters, gradients and inputs)>")

    # ---- logging -----------------------------------------------------------------------------
    # log() runs between one step's last array op and the next one's first, with the caches full of
    # the step's arrays: every line of it runs cold (a few microseconds a line, where it would take
    # tens of nanoseconds in a loop of its own). So it reads the scalars, puts them in a list and
    # compares a few numbers; the Series, the loss statistics and the rate are brought up to date
    # from that list every POINTS_BUFFERED points or when read, and the rest runs only on the steps
    # something is due: gradient statistics, a recording, a loss past the spike threshold or not finite.
    POINTS_BUFFERED = 32

    def log(self, step=None, run="train", total=None, **metrics):
        """Scalars (numbers or one-element tensors) of one step; returns the step used."""
        return self.log_dict(metrics, step, run, total)

    def log_dict(self, metrics, step=None, run="train", total=None):
        """log(), its metrics as a dict (a caller that has them so: no second keyword dict made)."""
        if run != self.main:
            if self.main is not None:
                return self._log_other(step, run, metrics)
            self._first_log(run, metrics)
        if step is None:
            step = self.step
        self.step = step + 1
        self._last = self._clock()
        loss = None
        points = self._points
        for name, value in metrics.items():
            value = _scalar(value)
            points.append((name, run, step, value))
            if name == self._loss_name:
                loss = value
        if total is not None or self.total is not None:
            self._count(step, total)
        if (self._before is not None or step + 1 >= self._next_plan or len(points) >= self.POINTS_BUFFERED
                or (loss is not None and not loss < self._notable)):
            self._end_step(step, loss)
        return step

    def _first_log(self, run, metrics):
        self.main = run
        self._loss_name = "loss" if "loss" in metrics else next(iter(metrics), None)
        self._unhook()

    def _log_other(self, step, run, metrics):
        """A run other than the main one (eval): its points at the main run's latest step."""
        if step is None:
            step = max(self.step - 1, 0)
        for name, value in metrics.items():
            self._points.append((name, run, step, _scalar(value)))
        return step

    def _count(self, step, total):
        if total is not None:
            self.total, self.done = total, step + 1
        elif self._tracking is None:
            self.done = step + 1

    @property
    def series(self):
        """{(chart, series name): Series}, up to date."""
        if self._points:
            self._settle()
        return self._series

    def put(self, chart, name, step, value):
        series = self._series.get((chart, name))
        if series is None:
            series = self._series[chart, name] = Series(self.capacity)
        series.append(step, value)

    def _settle(self):
        """Move the points logged since into their Series, the main run's losses into the spike
        statistics, and set the loss past which a step is notable."""
        points, self._points = self._points, []
        grouped = {}
        for name, run, step, value in points:
            xy = grouped.get((name, run))
            if xy is None:
                xy = grouped[name, run] = ([], [])
            xy[0].append(step)
            xy[1].append(value)
        for key, (steps, values) in grouped.items():
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = Series(self.capacity)
            series.extend(steps, values)
        mean, var, n = self._loss
        for value in grouped.get((self._loss_name, self.main), ((), ()))[1]:
            if math.isfinite(value):
                a = 0.05 if n >= 20 else 1.0 / (n + 1)
                delta = value - mean
                mean, var, n = mean + a * delta, (1 - a) * (var + a * delta * delta), n + 1
        self._loss = [mean, var, n]
        mean, var, n = self._loss
        self._notable = (mean + max(self.SPIKE, self._worst["spike"]) * math.sqrt(var)
                         if n >= 20 and var > 0 else math.inf)

    def _end_step(self, step, loss):
        if len(self._points) >= self.POINTS_BUFFERED:
            self._settle()
        recorded = self._recording is not None
        # the weights were sampled before this step (its gradient statistics are due, or it was recorded)
        # (and the first step logged: its gradient norms, with no weights sampled before it)
        norm_total = self._measure(step) if self._before is not None or self._measured == -math.inf else None
        if recorded:
            self._keep(step, loss, norm_total)
        if loss is not None and not loss < self._notable:
            self._notice(step, loss, recorded)
        if step + 1 >= self._next_plan:
            self._plan(step + 1)

    _tracking = None  # the iterable track() is going through

    def track(self, iterable, total=None):
        """Go through `iterable` as tqdm does, so that the monitor knows the loop's length (time
        left): `for x, y in mon.track(loader): ...`."""
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.done, self._tracking = 0, iterable
        if self.main is None:
            self._unhook()
            self._plan(0)  # the loop starts here: its first step is recorded whole
        try:
            for item in iterable:
                yield item
                self.done += 1
        finally:
            self._tracking = None

    def _first_forward(self, module, args):
        """The model's first call (no step logged yet): the first step is recorded from here."""
        self._unhook()
        if self.main is None and self._recording is None:
            self._plan(0)

    def _unhook(self):
        if self._first_call is not None:
            self._first_call.remove()
            self._first_call = None

    def _tick(self):
        """Seconds per step from the steps logged since the last tick (a read of the rate, a plan,
        a view's flush): log() itself only notes the clock."""
        mark = (self._last, self.step)
        if mark[0] is None:
            return
        last = self._mark
        if last is None or mark[1] > last[1]:
            if last is not None and mark[0] > last[0]:
                period = (mark[0] - last[0]) / (mark[1] - last[1])
                self._interval = period if not self._interval else 0.5 * self._interval + 0.5 * period
            self._mark = mark

    @property
    def rate(self):
        """Steps per second (smoothed), or None before two steps."""
        self._tick()
        return 1.0 / self._interval if self._interval else None

    @property
    def left(self):
        """Seconds left in the loop (None when its length is not known)."""
        self._tick()
        if self.total is None or not self._interval:
            return None
        return max(self.total - self.done, 0) * self._interval

    # ---- gradient statistics, under the budget ---------------------------------------------
    def _measure(self, step):
        """Gradient norms, update/weight ratios and parameters without a gradient, now; the
        total gradient norm (None when no parameter has one: zero_grad(set_to_none) ran)."""
        start = _cpu()
        if self._grad_arrays is not None and step > self._grad_arrays[0]:
            # the arrays a kept step's gradients were: still the parameters' (zeroed in place, or
            # summed into), or new ones (set_to_none)? Only then are they copied when a step is kept
            kept = self._grad_arrays[1]
            self._grads_rewritten = any(p.grad is not None and p.grad._data is kept.get(id(p)) for _, p in self.params)
            self._grad_arrays = None
        squares, missing = 0.0, []
        norms = []
        for name, p in self.params:
            g = p.grad
            if g is None:
                if p.requires_grad:
                    missing.append(name)
                continue
            n = norm(g._data)
            squares += n * n
            norms.append((name, n))
        before, self._before = self._before, None
        if before is not None and before[0] == step - 1:
            for name, p, sampled in before[1]:
                self.put("update/weight", name, step, update_ratio(sampled, p._data))
        if norms:
            for name, n in norms:
                self.put("grad norm", name, step, n)
            self.no_gradient = missing
        self._measured = max(self._measured, step)
        self._measure_seconds = _cpu() - start + self._sample_seconds
        self.grad_budget.measured(step, self._measure_seconds)
        self._sample_seconds = 0.0
        return math.sqrt(squares) if norms else None

    def _plan(self, step):
        """Before `step` runs: take the weights' samples it will be compared with, and switch the
        trace on when it is to be recorded whole (copying first what its step will overwrite).
        Sets `_next_plan`, the next step that has anything to do here."""
        self._tick()
        last_step, last_time = self._recorded
        # a step recorded whole: the budget's every-k since the last, and not more often than a view
        # shows them (graph_budget None: every step)
        interval = self.graph_interval if self.graph_budget.fraction else 0.0
        every = max(self.graph_budget.every, math.ceil(interval / self._interval) if self._interval and interval else 1)
        record = self.graphs and (self._force is not None or (
            step - last_step >= every and (not interval or self._clock() - last_time >= interval)))
        grads = bool(self.params) and step - self._measured >= self.grad_budget.every
        if record or grads:
            start = _cpu()
            self._before = (step - 1, [(name, p, sample(p._data)) for name, p in self.params if p.requires_grad])
            self._sample_seconds = _cpu() - start  # counted with the next measurement
            self._measured = step
        if record:
            start = _cpu()
            self._copies = self._copy_overwritten()
            self._trace_on()
            self._first_iteration = self._trace._current.number
            self._recording = self._clock()
            self._recorded = (step, self._recording)
            last_step = step
            self._record_cpu = _cpu()
            self._setup_seconds = self._record_cpu - start
        self._next_plan = min(self._measured + self.grad_budget.every if self.params else math.inf,
                              last_step + every if self.graphs else math.inf)

    def _trace_on(self):
        """Switch the trace on for an iteration of its own (the trace is made the first time)."""
        if self._trace is None:
            from .trace import Trace  # (trace.py builds on this module)
            # its own monitor measures nothing: this one measures the gradients
            self._trace = Trace(keep=1, update_ratios=False, monitor_budget=1e-9, history=16, model=self.model)
        elif self._trace._current.records:
            self._trace.next_iteration()
        self._trace.start()

    def _copy_overwritten(self):
        """{id(array): (array, copy)} of the parameters and buffers, before a recorded step's
        optimizer (and forward: running statistics) writes them in place, up to snapshot_limit."""
        copies, room = {}, self.snapshot_limit
        for t in self._overwritten:
            a = t._data
            if a.nbytes <= room:
                copies[id(a)] = (a, a.copy())
                room -= a.nbytes
        return copies

    # ---- steps kept whole ------------------------------------------------------------------------
    def _keep(self, step, loss, norm_total):
        """The step just recorded: stop the trace, give its graph copies of what later steps
        overwrite, keep it in the roles it fills."""
        self._trace.stop()
        self._recording = None
        # the iteration with the step's backward pass: ops run after optimizer.step() (an accuracy
        # for this log) began the trace's next one
        it = self._trace._last_with_backward()
        if it is None or it.number < self._first_iteration:  # no backward this step (an evaluation loop)
            it = self._trace._current
        self._trace._read.add(it)  # kept whole while the Graph is held
        graph = Graph(it)
        copies, self._copies = self._copies or {}, None
        keep_values(graph._it, copies, max(self.snapshot_limit - sum(c.nbytes for _, c in copies.values()), 0),
                    grads=self._grads_rewritten is not False)
        if self._grads_rewritten is None:  # does the loop zero its gradients in place? (a later step tells)
            self._grad_arrays = (step, {id(p): p.grad._data for _, p in self.params if p.grad is not None})
        note, self._force = self._force or "", None
        kept = (step, graph, note)
        if loss is not None and math.isfinite(loss) and norm_total is not None and math.isfinite(norm_total):
            self._clean.add(step)
        self.kept["latest"] = kept
        self.kept.setdefault("first", kept)
        nonfinite = loss is not None and not math.isfinite(loss)
        if "nan" not in self.kept and (nonfinite or note.startswith("first NaN")):
            self.kept["nan"] = kept
            self._unwatch()
        z = self._spike(loss)
        if note.startswith("loss spike") or (z > self.SPIKE and z > self._worst["spike"]):
            self._worst["spike"] = max(z, self._worst["spike"])
            self.kept["spike"] = kept
        if norm_total is not None and math.isfinite(norm_total) and norm_total > self._worst["grad"]:
            self._worst["grad"] = norm_total
            self.kept["grad"] = kept
        self._clean.intersection_update(s for s, _, _ in self.kept.values())
        self.dead_relu = dead_relu_fractions(graph)
        for name, fraction in self.dead_relu.items():
            self.put("dead ReLU fraction", name, step, fraction)
        # what recording cost: the CPU time from switching the trace on to here, less one
        # unrecorded step's and the gradient statistics' (their own budget's), plus showing it
        spent = _cpu() - self._record_cpu - self._measure_seconds
        step_cpu = self.grad_budget.cost_period or self.graph_budget.cost_period
        cost = (spent - step_cpu if step_cpu else 0.1 * spent) + self._setup_seconds + self._side_seconds
        self._side_seconds = 0.0
        if kept is not self.kept["first"]:  # the first recorded step also set the trace up: not what the next ones cost
            self.graph_budget.measured(step, max(cost, 0.0))

    # ---- the first NaN/Inf step, kept itself -------------------------------------------------------
    def _watch_output(self, module, args, kwargs, output):
        """After the model's forward on a step not recorded: a NaN/Inf in its outputs (one dot product
        per output array) has that forward run again under the recorder, so that the step kept as
        the first NaN/Inf one is the step it was born in, not the next (where it came in through the
        weights). Only until that step is kept. The default generator is put back as the real
        forward left it.

        A run again that gives the step's output bit for bit (no random draws) is returned in its
        place, and the rest of the step (loss, backward, optimizer) is recorded too. One that does
        not (dropout's masks differ) is kept as the forward alone, and the step goes on with its
        real output, unrecorded."""
        if self._recording is not None or self._paused is not None or self._rerunning:
            return None
        if not any(has_nonfinite(a) for a in _arrays_of(output)):
            return None
        step, generator = self.step, default_generator
        state = generator.get_state()  # (replays the words drawn since a checkpoint: once)
        self._force = f"first NaN/Inf in the model's output at step {step}: recorded from its forward, run again"
        self._plan(step)
        try:
            again = self._run_again(module, args, kwargs)
        finally:
            generator.set_state(state)
        if _same(output, again):
            return again
        self._keep_forward_alone(step)
        return None

    def _run_again(self, module, args, kwargs):
        """The model's forward, run again on the same inputs, the buffers it writes (running
        statistics, num_batches_tracked) put back as the real forward left them."""
        buffers = [(t, t._data.copy()) for t in self._buffers]
        self._rerunning = True
        try:
            return module(*args, **kwargs)
        finally:
            self._rerunning = False
            for t, saved in buffers:
                t._data[...] = saved

    def _keep_forward_alone(self, step):
        """The recording of a NaN/Inf step whose forward, run again, differed from the step's: stop
        it there and keep that forward as the first NaN/Inf step's graph."""
        self._trace.stop()
        self._recording, self._force = None, None
        it = self._trace._current
        self._trace._read.add(it)  # kept whole while the Graph is held
        graph = Graph(it)
        copies, self._copies = self._copies or {}, None  # the parameters, before this step's optimizer
        keep_values(graph._it, copies, max(self.snapshot_limit - sum(c.nbytes for _, c in copies.values()), 0),
                    grads=False)
        note = (f"first NaN/Inf in the model's output at step {step}: its forward alone, run again under the "
                "recorder (its output differed from the step's: dropout masks and other random draws are its own)")
        self.kept["nan"] = (step, graph, note)
        self._unwatch()

    def _unwatch(self):
        if self._nan_watch is not None:
            self._nan_watch.remove()
            self._nan_watch = None

    def _spike(self, loss):
        """How far `loss` is above the running mean, in running standard deviations (0 early on)."""
        mean, var, n = self._loss
        if loss is None or not math.isfinite(loss) or n < 20 or var <= 0:
            return 0.0
        return (loss - mean) / math.sqrt(var)

    SPIKE = 4.0  # standard deviations above the running mean

    def _notice(self, step, loss, recorded):
        """A loss past the spike threshold or not finite: when its step ran unrecorded, record the
        next one whatever the budget."""
        if recorded or self._force is not None:
            return
        if not math.isfinite(loss):
            if "nan" not in self.kept:
                self._force = f"first NaN/Inf in the loss at step {step}, which ran unrecorded"
        else:
            self._force = f"loss spike at step {step}, which ran unrecorded"
            self._worst["spike"] = self._spike(loss)
            self._settle()  # a new threshold
        if self._force is not None:
            self._next_plan = step + 1

    def markers(self):
        """[{step, role, label, note}] for the steps kept whole, by role."""
        return [{"step": step, "role": role, "label": ROLES[role], "note": note}
                for role, (step, _, note) in self.kept.items()]

    def graph_of(self, step):
        """The Graph of a step kept whole (None if none is)."""
        for s, graph, _ in self.kept.values():
            if s == step:
                return graph
        return None

    def is_clean(self, step):
        """Whether a kept step's loss and gradient norms were all finite (no NaN/Inf to look for)."""
        return step in self._clean

    @contextlib.contextmanager
    def drawing(self):
        """Time spent showing a kept step (its JSON, sending it) counts against the graph budget."""
        start = _cpu()
        try:
            yield
        finally:
            self._side_seconds += _cpu() - start

    def aside(self, seconds):
        """CPU time spent beside the steps (a view's flush) while a step is being recorded: not that step's."""
        if self._recording is not None:
            self._record_cpu += seconds

    def flags(self):
        """Parameters that got no gradient, and the dead-ReLU fractions of the latest recorded step."""
        return {"no_gradient": list(self.no_gradient), "dead_relu": dict(self.dead_relu)}

    def pause(self):
        """Something else runs now (an evaluation, a benchmark's other loop): its time is not a step's,
        and a trace on for the next step stops recording until resume()."""
        self._paused = self._clock()
        self._paused_cpu = _cpu()
        self.grad_budget.pause()
        self.graph_budget.pause()
        if self._recording is not None:
            self._trace.stop()

    def resume(self):
        if self._paused is None:
            return
        gap, self._paused = self._clock() - self._paused, None
        if self._last is not None:
            self._last += gap
        if self._mark is not None:
            self._mark = (self._mark[0] + gap, self._mark[1])
        if self._recording is not None:
            self._recording += gap
            self._record_cpu += _cpu() - self._paused_cpu
            self._trace.start()
        self.grad_budget.resume()
        self.graph_budget.resume()

    def idle(self, seconds):
        """No step ended for `seconds`: when that is far longer than a step, the loop has stopped,
        and a trace switched on for its next step would record whatever runs next: off."""
        self._tick()
        if self._recording is not None and seconds > max(1.0, 10 * self._interval):
            self.close()

    def close(self):
        self._unhook()
        self._unwatch()
        if self._trace is not None:
            self._trace.stop()
        self._recording = None
        self._copies = None


def _arrays_of(output):
    """The arrays of a forward's output: a tensor, or tensors in tuples, lists and dicts."""
    if isinstance(output, (tuple, list)):
        for item in output:
            yield from _arrays_of(item)
    elif isinstance(output, dict):
        for item in output.values():
            yield from _arrays_of(item)
    else:
        data = getattr(output, "_data", None)
        if data is not None:
            yield data


def _same(output, again):
    """Whether two forward outputs hold the same arrays bit for bit (NaN where NaN)."""
    arrays, others = list(_arrays_of(output)), list(_arrays_of(again))
    return len(arrays) == len(others) and all(
        a.shape == b.shape and a.dtype == b.dtype and bool(xp_of(a).array_equal(a, b, equal_nan=True))
        for a, b in zip(arrays, others))


def dead_relu_fractions(graph):
    """{relu module path below the root (or "relu i"): fraction of its units dead} in a recorded step."""
    found = sorted(dead_relu(graph._it, every=True).values(), key=lambda d: d["node"])
    return {(d["module"].partition(".")[2] or d["module"]) if d["module"] else f"relu {i}": d["fraction"]
            for i, d in enumerate(found)}


def structure_key(graph):
    """What a graph is, as a tuple to compare (ops, kinds, names, modules, phases, shapes, dtypes,
    wiring by position): equal for recorded steps a view can draw on one layout. Cheaper than the
    graph's structure_hash, which a view is sent once per structure."""
    nodes = graph.nodes
    position = {n.id: i for i, n in enumerate(nodes)}
    key = []
    for n in nodes:
        a = n.outputs[0] if n.outputs else None
        key.append((n.kind, n.op, n.name, n.module, n.phase, getattr(a, "shape", None), getattr(a, "dtype", None),
                    tuple(edge and (position.get(edge[0], -1), edge[1]) for edge in n.inputs)))
    return tuple(key)


def graph_values(graph, step, structure_hash, clean=False):
    """What changes between recorded steps of one structure, per node in the graph's order:
    ids, op times, and the NaN/Inf flags of the nodes that have one ([position, {nan, inf,
    born}]; born: made there, not carried in). A view that holds a graph of the same structure
    relabels it with these (the widget's `graph_values` message) instead of being sent it whole.
    clean: the step's loss and gradient norms were finite, so no node is looked at for NaN/Inf
    (each look reads a whole array; a NaN/Inf that reached neither goes unflagged here)."""
    nodes = graph.nodes
    flagged = []
    for i, n in enumerate(() if clean else nodes):
        flags = n.flags()
        if flags["nan"] or flags["inf"]:
            flags["born"] = graph.born_here(n)
            flagged.append([i, flags])
    return {"iteration": step, "structure_hash": structure_hash, "ids": [n.id for n in nodes],
            "seconds": [n.seconds for n in nodes], "flags": flagged}
