"""Training monitor: the numbers a live chart wants, per iteration — loss, user metrics,
per-parameter gradient norms and update/weight ratios — and diagnostics by name (parameters
that got no gradient, dead ReLU units, vanishing or exploding gradients by layer).

Each iteration's scalars are taken when it closes (so they outlive the iteration's graph), and
the open iteration's on demand. Curves are NumPy arrays of bounded size."""
import contextlib
import math
import time

import numpy as np

from ..node import AccumulateGrad

from ..ops.util import xp_of



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
        self._seen = 0
        self.thinned = 0  # how many times it has dropped every other point (a view of it redraws it whole)

    last = None  # (step, value) appended last, kept or not: a chart's latest value

    def append(self, step, value):
        self.last = (step, value)
        take = self._seen % self._stride == 0
        self._seen += 1
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
    Only measured iterations tell it anything: the others cost nothing to account for."""

    def __init__(self, fraction=0.01):
        self.fraction = fraction
        self.every = 1
        self._cost = 0.0        # seconds one iteration's measurements take (smoothed)
        self._last = None       # (time, number) when the last measured iteration ended
        self._paused = None

    def due(self, number):
        return number % self.every == 0

    # What measuring costs a training step is about twice the time the measurements themselves
    # take: they read every gradient and copy samples of every weight, evicting the step's own
    # data from the caches (bench/tracing.py, stop 9: every-k measuring cost 2% with the budget at 1%).
    CACHE_FACTOR = 2.0

    def measured(self, number, seconds):
        """Iteration `number`, measured in `seconds`, ended: how often measuring fits in the
        budget, from the time per iteration since the last one measured."""
        now = time.perf_counter()
        seconds *= self.CACHE_FACTOR
        self._cost = seconds if not self._cost else 0.8 * self._cost + 0.2 * seconds
        if self._last is not None and self.fraction and number > self._last[1]:
            period = (now - self._last[0]) / (number - self._last[1])
            self.every = max(1, math.ceil(self._cost / (self.fraction * period)))
        self._last = (now, number)

    def pause(self):
        """Recording stopped: the time until resume() is not the iterations'."""
        self._paused = time.perf_counter()

    def resume(self):
        if self._paused is not None and self._last is not None:
            self._last = (self._last[0] + time.perf_counter() - self._paused, self._last[1])
        self._paused = None


class Monitor:
    """Reads a Trace's iterations. `loss`, `metrics`, `grad_norms`, `update_ratios` are Curves
    over every iteration so far (closed ones and the open one); `diagnostics()` looks at the
    latest iterations kept whole."""

    def __init__(self, trace, capacity=100_000, budget=0.01):
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
      most `budget` of the training time (the trace's Budget);
    - a few steps recorded whole (graph, values, gradients) by a Trace switched on for that one
      step, at most `graph_budget` of the time: the first, the latest, and the notable ones
      (ROLES: a loss spike, the first NaN/Inf, the largest gradient norm) — at most len(ROLES)
      iterations kept, plus the one being recorded. A notable step that ran unrecorded has the
      next step recorded whatever the budget (its note says so). Dead-ReLU fractions are read
      from the recorded steps.

    `log` marks the end of a step of the main run (the first run logged): call it after
    `optimizer.step()`, so that each recorded step is one whole iteration. The first step is
    recorded when the loop goes through `track()` (else the first after a log is). When the loop
    stops, `idle()` switches off a trace left on for a step that never came."""

    def __init__(self, model=None, capacity=4096, budget=0.005, graph_budget=0.005, graphs=True,
                 clock=time.perf_counter):
        self.model = model
        self.params = list(model.named_parameters()) if hasattr(model, "named_parameters") else []
        self.capacity = capacity
        self.series = {}            # (chart, series name) -> Series
        self.step = 0               # the main run's next step
        self.main = None            # the main run's name
        self.total = None           # the loop's length, when known (log(total=) or track())
        self.done = 0               # steps done of `total`
        self.kept = {}              # role -> (step, Graph, note)
        self.no_gradient = []       # parameters that required grad but got none, at the last measurement
        self.dead_relu = {}         # relu module -> fraction of its units dead, in the latest recorded step
        self.grad_budget = Budget(budget)
        self.graph_budget = Budget(graph_budget)
        self.graphs = graphs and model is not None
        self._clock = clock
        self._trace = None
        self._recording = None      # clock when the trace was switched on for this step, or None
        self._force = None          # a note: record the next step whole whatever the budget
        self._before = None         # (step, [(name, parameter, sample)]) weights before the next step
        self._last = None           # clock at the main run's last log
        self._period = 0.0          # seconds per unrecorded step (smoothed)
        self._interval = 0.0        # seconds per step, all steps (smoothed): steps/s, time left
        self._paused = None         # clock at pause()
        self._sample_seconds = 0.0  # time the last weights' samples took
        self._side_seconds = 0.0    # time recorded steps cost beside the step: switching the trace, keeping, drawing
        self._loss = [0.0, 0.0, 0]  # running mean, variance, count of the main run's loss (spikes)
        self._worst = {"spike": 0.0, "grad": 0.0}

    # ---- logging -----------------------------------------------------------------------------
    def log(self, step=None, run="train", total=None, **metrics):
        """Scalars (numbers or one-element tensors) of one step; returns the step used."""
        if self.main is None:
            self.main = run
        main = run == self.main
        if step is None:
            step = self.step if main else max(self.step - 1, 0)
        loss = None
        for name, value in metrics.items():
            value = _scalar(value)
            self.put(name, run, step, value)
            if loss is None or name == "loss":
                loss = value
        if main:
            self._end_step(step, loss, total)
        return step

    def put(self, chart, name, step, value):
        series = self.series.get((chart, name))
        if series is None:
            series = self.series[chart, name] = Series(self.capacity)
        series.append(step, value)

    def _end_step(self, step, loss, total):
        now = self._clock()
        period = now - self._last if self._last is not None else 0.0
        self._last = now
        self.step = step + 1
        if total is not None:
            self.total, self.done = total, step + 1
        elif self.total is not None and self._tracking is None:
            self.done = step + 1
        if period:
            self._interval = period if not self._interval else 0.9 * self._interval + 0.1 * period
        recorded = self._recording is not None
        if not recorded and period:
            self._period = period if not self._period else 0.9 * self._period + 0.1 * period
        norm_total = self._measure(step) if recorded or self.grad_budget.due(step) else None
        if recorded:
            self._keep(step, loss, norm_total, period)
        self._notice(step, loss, recorded)
        self._plan(step + 1)

    _tracking = None  # the iterable track() is going through

    def track(self, iterable, total=None):
        """Go through `iterable` as tqdm does, so that the monitor knows the loop's length (time
        left): `for x, y in mon.track(loader): ...`."""
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.done, self._tracking = 0, iterable
        if self.main is None:
            self._plan(0)  # the loop starts here: its first step is recorded whole
        try:
            for item in iterable:
                yield item
                self.done += 1
        finally:
            self._tracking = None

    @property
    def rate(self):
        """Steps per second (smoothed), or None before two steps."""
        return 1.0 / self._interval if self._interval else None

    @property
    def left(self):
        """Seconds left in the loop (None when its length is not known)."""
        if self.total is None or not self._interval:
            return None
        return max(self.total - self.done, 0) * self._interval

    # ---- gradient statistics, under the budget ---------------------------------------------
    def _measure(self, step):
        """Gradient norms, update/weight ratios and parameters without a gradient, now; the
        total gradient norm (None when no parameter has one: zero_grad(set_to_none) ran)."""
        start = time.perf_counter()
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
        self.grad_budget.measured(step, time.perf_counter() - start + self._sample_seconds)
        self._sample_seconds = 0.0
        return math.sqrt(squares) if norms else None

    def _plan(self, step):
        """Before `step` runs: take the weights' samples it will be compared with, and switch the
        trace on when it is to be recorded whole."""
        record = self.graphs and (self._force is not None or self.graph_budget.due(step))
        if record or self.grad_budget.due(step):
            start = time.perf_counter()
            self._before = (step - 1, [(name, p, sample(p._data)) for name, p in self.params if p.requires_grad])
            self._sample_seconds = time.perf_counter() - start  # counted with the next measurement
        if record:
            start = time.perf_counter()
            if self._trace is None:
                from .trace import Trace
                # its own monitor measures nothing: this one measures the gradients
                self._trace = Trace(keep=1, update_ratios=False, monitor_budget=1e-9, history=16, model=self.model)
            elif self._trace._current.records:
                self._trace.next_iteration()
            self._trace.start()
            self._recording = self._clock()
            self._side_seconds += time.perf_counter() - start

    # ---- steps kept whole ------------------------------------------------------------------------
    def _keep(self, step, loss, norm_total, period):
        """The step just recorded: stop the trace, keep its graph in the roles it fills."""
        start = time.perf_counter()
        self._trace.stop()
        self._recording = None
        graph = self._trace.graph
        # what recording cost: the step's time beyond an unrecorded one, and its views' JSON
        extra = period - self._period if self._period else 0.0
        cost = max(extra, 0.1 * period) + self._side_seconds
        note, self._force = self._force or "", None
        kept = (step, graph, note)
        self.kept["latest"] = kept
        self.kept.setdefault("first", kept)
        nonfinite = loss is not None and not math.isfinite(loss)
        if "nan" not in self.kept and (nonfinite or note.startswith("first NaN")):
            self.kept["nan"] = kept
        z = self._spike(loss)
        if note.startswith("loss spike") or (z > self.SPIKE and z > self._worst["spike"]):
            self._worst["spike"] = max(z, self._worst["spike"])
            self.kept["spike"] = kept
        if norm_total is not None and math.isfinite(norm_total) and norm_total > self._worst["grad"]:
            self._worst["grad"] = norm_total
            self.kept["grad"] = kept
        self.dead_relu = dead_relu_fractions(graph)
        for name, fraction in self.dead_relu.items():
            self.put("dead ReLU fraction", name, step, fraction)
        cost += time.perf_counter() - start
        self._side_seconds = 0.0
        if kept is not self.kept["first"]:  # the first recorded step also set the trace up: not what the next ones cost
            self.graph_budget.measured(step, cost / Budget.CACHE_FACTOR)

    def _spike(self, loss):
        """How far `loss` is above the running mean, in running standard deviations (0 early on)."""
        mean, var, n = self._loss
        if loss is None or not math.isfinite(loss) or n < 20 or var <= 0:
            return 0.0
        return (loss - mean) / math.sqrt(var)

    SPIKE = 4.0  # standard deviations above the running mean

    def _notice(self, step, loss, recorded):
        """A notable loss on a step that ran unrecorded: record the next one whatever the budget."""
        if loss is None:
            return
        if not math.isfinite(loss):
            if "nan" not in self.kept and not recorded and self._force is None:
                self._force = f"first NaN/Inf in the loss at step {step}, which ran unrecorded"
            return
        z = self._spike(loss)
        if z > self.SPIKE and z > self._worst["spike"] and not recorded and self._force is None:
            self._force = f"loss spike at step {step}, which ran unrecorded"
            self._worst["spike"] = z
        mean, var, n = self._loss
        a = 0.05 if n >= 20 else 1.0 / (n + 1)
        delta = loss - mean
        self._loss = [mean + a * delta, (1 - a) * (var + a * delta * delta), n + 1]

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

    @contextlib.contextmanager
    def drawing(self):
        """Time spent showing a kept step (its JSON, sending it) counts against the graph budget."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self._side_seconds += time.perf_counter() - start

    def flags(self):
        """Parameters that got no gradient, and the dead-ReLU fractions of the latest recorded step."""
        return {"no_gradient": list(self.no_gradient), "dead_relu": dict(self.dead_relu)}

    def pause(self):
        """Something else runs now (an evaluation, a benchmark's other loop): its time is not a step's,
        and a trace on for the next step stops recording until resume()."""
        self._paused = self._clock()
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
        if self._recording is not None:
            self._recording += gap
            self._trace.start()
        self.grad_budget.resume()
        self.graph_budget.resume()

    def idle(self, seconds):
        """No step ended for `seconds`: when that is far longer than a step, the loop has stopped,
        and a trace switched on for its next step would record whatever runs next: off."""
        if self._recording is not None and seconds > max(1.0, 10 * self._interval):
            self.close()

    def close(self):
        if self._trace is not None:
            self._trace.stop()
        self._recording = None


def dead_relu_fractions(graph):
    """{relu module path below the root (or "relu i"): fraction of its units dead} in a recorded step."""
    found = sorted(dead_relu(graph._it, every=True).values(), key=lambda d: d["node"])
    return {(d["module"].partition(".")[2] or d["module"]) if d["module"] else f"relu {i}": d["fraction"]
            for i, d in enumerate(found)}
