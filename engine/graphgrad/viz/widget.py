"""The anywidget classes: GraphWidget (graph, inspector, step controls) and Monitor (live training
curves, per-layer gradient norms and the latest iteration's graph). Messages: see protocol.py."""
import hashlib
import pathlib
import threading
import time
import weakref
from typing import Any

import anywidget
import numpy as np
import traitlets

from .._version import __version__
from . import protocol, snapshot
from ..tracing.monitor import Budget, LoopMonitor, graph_values, loop_time, structure_key
from .inspect import sent_gradient
from .sources import TraceSource
from .stepper import StepControls
from .tensors import summarize
from .throttle import Throttle

STATIC = pathlib.Path(__file__).parent / "static"
_UNBUILT = ("export default { render({ el }) { el.textContent = 'graphgrad: the widget bundle is not built; "
            "run `npm run build` (or pip install -e .) in the graphgrad checkout.'; } }")


BUNDLE_MESSAGE = "graphgrad:bundle"   # the loader's request for the front end (loader.js), outside protocol.py:
                                      # it only delivers the code that speaks the protocol
PUSH_AFTER = (1.0, 4.0)               # seconds: see GraphWidget._push_front_end


def _asset(name, fallback):
    path = STATIC / name
    return path if path.exists() else fallback


_BUNDLE = {}   # the bundle's bytes and stamp, read again when the file changes (npm run build)


def _bundle():
    """(the front end's bytes, their stamp); (None, None) when it is not built."""
    path = STATIC / "widget.js"
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None, None
    if _BUNDLE.get("key") != (stat.st_mtime_ns, stat.st_size):
        code = path.read_bytes()
        _BUNDLE.update(key=(stat.st_mtime_ns, stat.st_size), code=code,
                       stamp=hashlib.sha256(code).hexdigest()[:16])   # the stamp src/build.mjs computes
    return _BUNDLE["code"], _BUNDLE["stamp"]


def _loader():
    """The widget's _esm: the small loader (loader.js), not the 1.7 MB front end itself, so that a saved
    notebook's widget state stays small; it fetches the front end from the JupyterLab extension or this
    kernel. With a bundle that is not built: a message saying so."""
    _, stamp = _bundle()
    if stamp is None:
        return _UNBUILT
    return (pathlib.Path(__file__).parent / "loader.js").read_text().replace("__STAMP__", stamp)


class GraphWidget(anywidget.AnyWidget):
    @property
    def _esm(self):   # per widget (anywidget reads it once, at __init__): the stamp of the bundle built now
        return _loader()

    _greeted = False   # a view said hello (see _push_front_end)
    _pushed = 0

    _css = _asset("widget.css", "")

    protocol_version = traitlets.Int(protocol.VERSION).tag(sync=True)
    graph = traitlets.Dict().tag(sync=True)
    steps = traitlets.Dict().tag(sync=True)
    panels = traitlets.List(["graph", "inspector", "steps"]).tag(sync=True)
    fold_depth = traitlets.Int(0).tag(sync=True)   # see viz.show
    height = traitlets.Int(0).tag(sync=True)   # px of the graph area; 0: grow with the first view
    title = traitlets.Unicode("").tag(sync=True)
    version = traitlets.Unicode(__version__).tag(sync=True)   # shown in the footer

    def __init__(self, source: Any = None, stepper: StepControls | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source, self.stepper = source, stepper
        if source is not None:
            self.graph = source.graph
        self._sync_steps()
        self.on_msg(self._on_message)
        self._born = time.monotonic()

    def _repr_mimebundle_(self, **kwargs):
        # beside the live view, what a saved notebook keeps showing where the widget's model is gone
        # (reopened without its kernel, untrusted): the saved view (snapshot.MIME) that graphgrad's
        # JupyterLab extension draws, and a static picture (text/html) for nbconvert and nbviewer
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return bundle
        data, metadata = bundle
        curves = self.curves()
        if not self.graph.get("nodes") and not curves:
            return bundle
        saved = snapshot.view(self.graph, self.title, self.height, self.fold_depth, self.panels, curves, self.tensor)
        data = {**data, snapshot.MIME: saved}
        if self.graph.get("nodes"):
            data["text/html"] = snapshot.html(self.graph, self.title)
        return data, metadata

    def curves(self) -> list[tuple[str, str, Any, Any]]:
        """[(chart, series name, steps, values)] of the training curves this view draws (a Monitor's)."""
        return []

    def close(self) -> None:
        LIVE_CELLS.discard(self)
        super().close()

    def refresh(self) -> None:
        """Redraw from the source again (a trace that went on recording); the layout is kept when
        the structure is the same."""
        if hasattr(self.source, "refresh"):
            graph = self.source.refresh()
            if graph.get("structure_hash") != self.graph.get("structure_hash") or graph != self.graph:
                self.graph = graph
            if self.stepper is not None and self.stepper.mode == "forward":
                self.stepper.forward_order = [n["id"] for n in graph["nodes"] if n.get("phase") == "forward"]
        self._sync_steps()

    def _sync_steps(self):
        self.steps = self.stepper.state() if self.stepper else {"available": False, "mode": "none"}

    # ---- browser -> Python ----------------------------------------------------------------
    def _on_message(self, _widget, content, _buffers):
        if isinstance(content, dict) and content.get("type") == BUNDLE_MESSAGE:
            return self._send_bundle(content)
        try:
            kind = protocol.check_request(content)
            getattr(self, "_on_" + kind)(content)
        except Exception as e:  # a bad request must not kill the kernel's comm handling: report it
            self.send(protocol.message("error", message=f"{type(e).__name__}: {e}"))

    def _send_bundle(self, content):
        code, stamp = _bundle()
        if code is None or content.get("stamp") != stamp:
            error = ("the widget bundle is not built (npm run build)" if code is None else
                     "the widget's front end changed since this view was made: run the cell again")
            return self.send({"type": BUNDLE_MESSAGE, "stamp": stamp, "error": error})
        self.send({"type": BUNDLE_MESSAGE, "stamp": stamp}, [code])

    def _push_front_end(self):
        """Send the front end unasked while no view has said hello: a cell still running (a training
        loop after viz.monitor) cannot answer the loader's request before it ends, and a front end with no
        graphgrad extension (VS Code, Colab) would show nothing until then. Twice at most, PUSH_AFTER
        seconds after the widget was made (the loader may not be listening yet the first time)."""
        if self._greeted or self._pushed >= len(PUSH_AFTER):
            return
        if time.monotonic() - self._born >= PUSH_AFTER[self._pushed]:
            self._pushed += 1
            code, stamp = _bundle()
            if code is not None:
                self.send({"type": BUNDLE_MESSAGE, "stamp": stamp}, [code])

    def _on_hello(self, content):
        self._greeted = True   # a view runs: no more pushing the front end
        if content["version"] != protocol.VERSION:
            raise ValueError(f"the browser speaks widget protocol {content['version']}, Python "
                             f"{protocol.VERSION}: rebuild the front end (npm run build)")

    def _on_inspect(self, content):
        node, what = content["node"], content["what"]
        tensor, reason = (sent_gradient(self, node, content.get("input", 0)) if what == "sent" else
                          self.tensor(node, what))
        header: dict[str, Any] = dict(request=content["request"], node=node, what=what, available=tensor is not None,
                                      reason=reason or "", device=str(getattr(tensor, "device", "cpu")))
        if tensor is None:
            header.update(shape=None, dtype=None, device=None, preview_kind="none", preview_shape=[],
                          truncated=False, index=None)
            return self.send(protocol.message("tensor", **header), [])
        fields, buffers = summarize(tensor, content.get("index"))
        self.send(protocol.message("tensor", **header, **fields), [b.tobytes() for b in buffers])

    def _on_command(self, content):
        if self.stepper is None:
            raise ValueError("this view has no stepper: show a loss tensor or a debugger to step")
        if content["cmd"] == "run_to":
            self._check_node(content["node"])
        self.stepper.command(content["cmd"], content.get("node"))
        self._sync_steps()

    def _on_breakpoint(self, content):
        if self.stepper is not None:
            self._check_node(content["node"])
            (self.stepper.breakpoints.add if content["on"] else self.stepper.breakpoints.discard)(content["node"])
            self._sync_steps()

    def _check_node(self, node):
        """Before acting on a node id the browser sent: it must be one of the graph's."""
        if not any(n["id"] == node for n in self.graph.get("nodes", ())):
            raise ValueError(f"there is no node {node!r} in this graph")

    def tensor(self, node: int, what: str) -> tuple[Any, str | None]:
        """(tensor or None, why not) for a node's value or gradient at the stepper's cursor."""
        if what == "grad" and self.stepper is not None and self.stepper.history:
            grad = self.stepper.grad(node)
            if grad is not None:
                return grad, None
            if not self.stepper.finished:
                return None, "backward has not reached this node yet"
        if self.source is None:
            return None, "nothing to inspect yet"
        return self.source.tensor(node, what)


class LiveCells:
    """Views of the session's live trace, redrawn after every cell by one post_run_cell callback,
    registered while there is a view and removed when the last one is closed."""

    def __init__(self):
        self.views = weakref.WeakSet()
        self._shell = None

    def add(self, view):
        if self._shell is None:
            try:
                from IPython import get_ipython
            except ImportError:
                return
            self._shell = get_ipython()
            if self._shell is None:
                return
            self._shell.events.register("post_run_cell", self.refresh)
        self.views.add(view)

    def discard(self, view):
        self.views.discard(view)
        if not self.views and self._shell is not None:
            self._shell.events.unregister("post_run_cell", self.refresh)
            self._shell = None

    def open_view(self):
        """A live view still open, if any."""
        return next((v for v in self.views if v.comm is not None), None)

    def refresh(self, *_):
        for view in list(self.views):
            view.refresh()


LIVE_CELLS = LiveCells()


class Monitor(GraphWidget):
    """Training curves, gradient diagnostics and the graphs of a few whole steps, live: the widget
    over graphgrad.tracing.monitor.LoopMonitor (what log() keeps, its time budgets and its memory
    bound). log() is cheap; points, markers and the latest recorded step go out at most 1/interval
    times a second, less often when building and sending them would take more than FLUSH_BUDGET of
    the loop's time."""

    def __init__(self, model=None, interval=0.05, clock=None, timer=None, graph=True, capacity=4096,
                 budget=0.0025, graph_budget=0.005, snapshot_limit=64 << 20, **kwargs):
        super().__init__(panels=["charts", "graph", "inspector"] if graph else ["charts"], **kwargs)
        self.model = model
        # a step recorded whole at most once per message: one recorded more often would never be shown
        self.loop = LoopMonitor(model, capacity=capacity, budget=budget, graph_budget=graph_budget, graphs=graph,
                                graph_interval=interval, snapshot_limit=snapshot_limit)
        self._sent = {}           # (chart, series) -> (times thinned, points sent)
        self._pinned = None       # the step the graph panel shows, None: the latest recorded
        self._drawn = None        # the step the graph panel shows now
        self._values = None       # its graph_values message, when the `graph` trait holds another step of its structure
        self._structure = None    # (structure_key, structure_hash) of the graph the `graph` trait holds
        self._flushed = None      # (monotonic clock, loop_time) when the last flush ended
        self._flush_cost = 0.0    # CPU seconds a flush takes (smoothed)
        self._resent = 0          # times everything went again while no view had said hello
        self.interval = interval  # the shortest; FLUSH_BUDGET may stretch the throttle's
        extra = {k: v for k, v in (("clock", clock), ("timer", timer)) if v is not None}
        # flushes come from log() itself while the loop runs; the timer that sends the last state
        # after it stops is a thread, started at most about every `linger` seconds (bench/monitor.py)
        self.throttle = Throttle(self._flush, interval, linger=1.0, **extra)

    def log(self, step=None, run="train", total=None, **metrics):
        """Scalars (numbers or one-element tensors) of one step, call it after optimizer.step():
        mon.log(loss=loss, acc=acc). run="eval" draws on the same charts as a series of its own;
        total= the loop's length (steps per second and time left are shown)."""
        throttle = self.throttle
        with throttle.lock:  # a trailing flush (another thread) reads what log() writes
            self.loop.log_dict(metrics, step, run, total)
            throttle.poke()

    def track(self, iterable, total=None):
        """`for x, y in mon.track(loader):` — like tqdm, the monitor learns the loop's length."""
        yield from self.loop.track(iterable, total)
        self.throttle.poke()

    def flush(self):
        """Send everything logged so far now (also happens by itself shortly after the last log)."""
        self.throttle.flush()

    def curves(self):
        return [(chart, name, series.steps, series.values) for (chart, name), series in list(self.loop.series.items())]

    def close(self):
        self.throttle.cancel()
        self.loop.close()
        super().close()

    def _points(self, reset):
        meta, buffers = [], []
        for key, series in list(self.loop.series.items()):
            appended, thinned, sent = self._sent.get(key, (None, None, 0))
            if appended == series.appended and not reset:
                continue
            replace = reset or thinned != series.thinned
            xy = series.since(0 if replace else sent)
            self._sent[key] = (series.appended, series.thinned, len(series))
            # the buffer ends with the latest point, which a thinned series may not keep (as numbers:
            # a NaN loss is no JSON)
            meta.append({"name": key[1], "chart": key[0], "count": len(xy) // 2, "replace": replace, "tail": True})
            buffers.append(xy.tobytes() + np.array(series.last, np.float64).tobytes())
        return protocol.message("points", reset=reset, series=meta), buffers

    def _status(self):
        loop = self.loop
        return protocol.message("monitor", markers=loop.markers(), shown=self._drawn, pinned=self._pinned is not None,
                                step=loop.step, rate=loop.rate, done=loop.done, total=loop.total, left=loop.left,
                                flags=loop.flags())

    # What building and sending messages may take of the process's CPU time. At a fixed interval it
    # would be a fixed cost per second: a larger share of a loop that gets less of the CPU (a shared
    # machine) or of a notebook kernel's slower sends. Past it, the interval grows (up to a second).
    FLUSH_BUDGET = 0.0025

    def _flush(self):
        start = time.process_time()
        self._push_front_end()
        if self.loop._last is not None:
            self.loop.idle(time.perf_counter() - self.loop._last)
        if self.loop._recording is not None:  # a trace on for the next step: look again when the loop may have stopped
            self.throttle.touch()
        reset = self._unheard()
        header, buffers = self._points(reset=reset)
        if header["series"] or reset:
            self.send(header, buffers)
        if reset and self._values is not None:
            self.send(protocol.message("graph_values", **self._values))
        drawing = time.process_time()
        self._draw_graph()   # (counted against the graph budget)
        drawn = time.process_time()
        self.send(self._status())
        self._fit_interval(start, time.process_time() - start - (drawn - drawing))

    # While no view has said hello (a cell still running cannot hear one), what was sent before a view
    # began listening is lost to it: everything goes again at these seconds after the widget was made.
    RESEND_AFTER = (1.0, 2.0, 4.0, 8.0)

    def _unheard(self):
        """Whether this flush resends everything (see RESEND_AFTER)."""
        if self._greeted or self._resent >= len(self.RESEND_AFTER):
            return False
        if time.monotonic() - self._born < self.RESEND_AFTER[self._resent]:
            return False
        self._resent += 1
        return True

    def _fit_interval(self, start, cost):
        """After a flush that took `cost` CPU seconds: the interval that keeps flushes in FLUSH_BUDGET
        of the loop's time since the last one (tracing.monitor.loop_time: less its waits for a CPU)."""
        self.loop.aside(cost)  # not the time of a step being recorded
        if isinstance(threading.current_thread(), threading.Timer):
            # the throttle's timer flushes once the loop may have stopped: no rate of its to go by
            self.throttle.interval, self._flushed = self.interval, None
            return
        now = time.monotonic()
        last, self._flushed = self._flushed, (now, loop_time())
        if last is None or self._flushed[1] <= last[1]:
            return
        # what a flush costs the loop: its own time, and as much again refilling the caches it evicted
        cost *= Budget.CACHE_FACTOR
        self._flush_cost = cost if not self._flush_cost else 0.8 * self._flush_cost + 0.2 * cost
        # flushes per CPU second may be at most FLUSH_BUDGET / cost: the wall time that takes at this CPU rate
        seconds = (now - last[0]) * self._flush_cost / (self.FLUSH_BUDGET * (self._flushed[1] - last[1]))
        self.throttle.interval = min(max(self.interval, seconds), 1.0)
        self.loop.graph_interval = self.throttle.interval

    def _draw_graph(self):
        """Show the pinned step, else the latest recorded. A step of the structure the `graph`
        trait holds goes as its ids, times and flags alone (graph_values: the view relabels the
        graph it has), so following the latest step costs a few hundred bytes a message; another
        structure goes whole, through the trait."""
        if "graph" not in self.panels:
            return
        latest = self.loop.kept.get("latest")
        step = self._pinned if self._pinned is not None else (latest[0] if latest else None)
        if step is None or step == self._drawn:
            return
        graph = self.loop.graph_of(step)
        if graph is None:
            return
        with self.loop.drawing():  # its time counts against the monitor's graph budget
            self._drawn = step
            key = structure_key(graph)
            if self._structure is not None and key == self._structure[0]:
                self._values = graph_values(graph, step, self._structure[1], clean=self.loop.is_clean(step))
                self.source = KeptSource(self.loop._trace, graph, self.graph)
                self.send(protocol.message("graph_values", **self._values))
                return
            data = graph.to_json()
            data["iteration"] = step
            self._values, self._structure = None, (key, data["structure_hash"])
            self.source = KeptSource(self.loop._trace, graph, data)
            self.graph = data

    # ---- browser -> Python ----------------------------------------------------------------
    def _on_hello(self, content):
        super()._on_hello(content)
        with self.throttle.lock:
            header, buffers = self._points(reset=True)
            self.send(header, buffers)
            if self._values is not None:  # the step shown is newer than the trait's graph
                self.send(protocol.message("graph_values", **self._values))
            self.send(self._status())

    def _on_show_step(self, content):
        """A marked point was clicked: show that step's graph (step None: follow the latest again)."""
        step = content["step"]
        with self.throttle.lock:
            if step is not None and self.loop.graph_of(step) is None:
                raise ValueError(f"step {step} is not kept whole (only the marked steps are)")
            self._pinned = step
            self._draw_graph()
            self.send(self._status())


class KeptSource(TraceSource):
    """One recorded step the monitor keeps (its Graph held): values and gradients as recorded."""

    def __init__(self, trace, shown, graph):
        self.trace, self.shown, self.graph = trace, shown, graph

    def refresh(self):
        return self.graph


def display_saved_fresh(widget):
    """Display a monitor so that its output's saved view (the curves a notebook keeps, snapshot.view)
    is brought up to date after each cell that logged to it: displayed before the loop, it would
    otherwise keep no points. The live view is redrawn once then, at the cell's end."""
    from IPython import get_ipython
    from IPython.display import display
    shell = get_ipython()
    if shell is None:
        return
    handle = display(widget, display_id=True)
    if handle is None:   # (display_id=True always gives one)
        return

    def logged():
        return sum(len(values) for *_, values in widget.curves()), getattr(getattr(widget, "loop", None), "step", None)

    seen = logged()

    def update(*_):
        nonlocal seen
        if widget.comm is None:   # closed
            shell.events.unregister("post_run_cell", update)
        elif logged() != seen:
            seen = logged()
            handle.update(widget)

    shell.events.register("post_run_cell", update)
