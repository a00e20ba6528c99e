"""The anywidget classes: GraphWidget (graph, inspector, step controls) and Monitor (live training
curves, per-layer gradient norms and the latest iteration's graph). Messages: see protocol.py."""
import hashlib
import math
import pathlib

import anywidget
import numpy as np
import traitlets

from .._version import __version__
from . import protocol, snapshot
from .inspect import sent_gradient
from .sources import source_of
from .stepper import Stepper
from .tensors import summarize
from .throttle import Throttle

STATIC = pathlib.Path(__file__).parent / "static"
_UNBUILT = ("export default { render({ el }) { el.textContent = 'graphgrad: the widget bundle is not built; "
            "run `npm run build` (or pip install -e .) in the graphgrad checkout.'; } }")


BUNDLE_MESSAGE = "graphgrad:bundle"   # the loader's request for the front end (loader.js), outside protocol.py:
                                      # it only delivers the code that speaks the protocol


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
    _esm = _loader()
    _css = _asset("widget.css", "")

    protocol_version = traitlets.Int(protocol.VERSION).tag(sync=True)
    graph = traitlets.Dict().tag(sync=True)
    steps = traitlets.Dict().tag(sync=True)
    panels = traitlets.List(["graph", "inspector", "steps"]).tag(sync=True)
    fold_depth = traitlets.Int(0).tag(sync=True)   # see viz.show
    height = traitlets.Int(560).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    version = traitlets.Unicode(__version__).tag(sync=True)   # shown in the footer

    def __init__(self, source=None, stepper=None, **kwargs):
        super().__init__(**kwargs)
        self.source, self.stepper = source, stepper
        if source is not None:
            self.graph = source.graph
        self._sync_steps()
        self.on_msg(self._on_message)

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

    def curves(self):
        """[(chart, series name, steps, values)] of the training curves this view draws (a Monitor's)."""
        return []

    def refresh(self):
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

    def _on_hello(self, content):
        if content["version"] != protocol.VERSION:
            raise ValueError(f"the browser speaks widget protocol {content['version']}, Python "
                             f"{protocol.VERSION}: rebuild the front end (npm run build)")

    def _on_inspect(self, content):
        node, what = content["node"], content["what"]
        tensor, reason = (sent_gradient(self, node, content.get("input", 0)) if what == "sent" else
                          self.tensor(node, what))
        header = dict(request=content["request"], node=node, what=what, available=tensor is not None,
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

    def tensor(self, node, what):
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


class Monitor(GraphWidget):
    """Training curves (several series, log scale, smoothing), per-layer gradient norms and the latest
    iteration's graph. `log()` is cheap: points are batched and sent at most 1/interval times a second."""

    def __init__(self, model=None, interval=0.05, clock=None, timer=None, graph=True, **kwargs):
        super().__init__(panels=["charts", "graph", "inspector"] if graph else ["charts"], **kwargs)
        self.model = model
        self.series = {}          # name -> {"chart", "x": [], "y": [], "sent": int}
        self.count = 0
        self._root = None         # the latest loss tensor whose graph to show
        extra = {k: v for k, v in (("clock", clock), ("timer", timer)) if v is not None}
        self.throttle = Throttle(self._flush, interval, **extra)

    def log(self, step=None, **metrics):
        """Record metrics (numbers or scalar tensors) at `step` (default: the number of calls so far)."""
        x = float(self.count if step is None else step)
        self.count += 1
        for name, value in metrics.items():
            if getattr(value, "grad_fn", None) is not None and self._root is None:
                self._root = value
            self._add(name, "loss" if "loss" in name else "metrics", x, _number(value))
        if self.model is not None:
            for layer, norm in grad_norms(self.model).items():
                self._add(f"grad_norm/{layer}", "grad norms", x, norm)
        self.throttle.poke()

    def flush(self):
        """Send everything logged so far now (also happens by itself shortly after the last log)."""
        self.throttle.flush()

    def curves(self):
        return [(s["chart"], name, s["x"], s["y"]) for name, s in list(self.series.items())]

    def _add(self, name, chart, x, y):
        s = self.series.get(name)
        if s is None:
            s = self.series[name] = {"chart": chart, "x": [], "y": [], "sent": 0}
        s["x"].append(x)
        s["y"].append(y)

    def _points(self, reset):
        meta, buffers = [], []
        for name, s in self.series.items():
            start = 0 if reset else s["sent"]
            xy = np.empty(2 * (len(s["x"]) - start))
            xy[0::2], xy[1::2] = s["x"][start:], s["y"][start:]
            s["sent"] = len(s["x"])
            meta.append({"name": name, "chart": s["chart"], "count": len(xy) // 2})
            buffers.append(xy.tobytes())
        return protocol.message("points", reset=reset, series=meta), buffers

    def _flush(self):
        header, buffers = self._points(reset=False)
        if any(s["count"] for s in header["series"]):
            self.send(header, buffers)
        root, self._root = self._root, None
        if root is not None and "graph" in self.panels:
            params = dict(self.model.named_parameters()) if hasattr(self.model, "named_parameters") else None
            self.source = source_of(root, params)
            if self.source.graph["structure_hash"] != self.graph.get("structure_hash"):
                self.graph = self.source.graph

    def _on_hello(self, content):
        super()._on_hello(content)
        with self.throttle.lock:
            header, buffers = self._points(reset=True)
            self.send(header, buffers)


def grad_norms(model):
    """The L2 norm of each layer's gradient (a layer: the module that owns the parameters)."""
    squares = {}
    for name, p in model.named_parameters():
        if p.grad is not None:
            g = p.grad._data
            layer = name.rsplit(".", 1)[0] if "." in name else name
            squares[layer] = squares.get(layer, 0.0) + float((g * g).sum())
    return {layer: math.sqrt(v) for layer, v in squares.items()}


def _number(value):
    return float(value.item() if hasattr(value, "item") else value)


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
