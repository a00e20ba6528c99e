"""Training monitor: the numbers a live chart wants, per iteration — loss, user metrics,
per-parameter gradient norms and update/weight ratios — and diagnostics by name (parameters
that got no gradient, dead ReLU units, vanishing or exploding gradients by layer).

Each iteration's scalars are taken when it closes (so they outlive the iteration's graph), and
the open iteration's on demand. Curves are NumPy arrays of bounded size."""
import math
import time

import numpy as np

from ..autograd.node import AccumulateGrad

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

    def append(self, step, value):
        take = self._seen % self._stride == 0
        self._seen += 1
        if not take:
            return
        if self._n == self.capacity:
            half = self._n // 2
            self._steps[:half] = self._steps[:self._n:2][:half]
            self._values[:half] = self._values[:self._n:2][:half]
            self._n, self._stride = half, self._stride * 2
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


def dead_relu(it):
    """relu outputs with units (dimension 1, or the only dimension) that are zero across the batch."""
    found = {}
    for n in it.nodes:
        if n.op != "relu" or n.phase != "forward" or not hasattr(n.array, "ndim") or n.array.ndim < 2:
            continue
        out = n.array
        axes = tuple(a for a in range(out.ndim) if a != 1)
        dead = int((out == 0).all(axis=axes).sum())
        if dead:
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
