"""graphgrad.viz: see what the engine runs, in a notebook (anywidget; JupyterLab or any Jupyter).

    from graphgrad import viz
    viz.show(loss)            # the autograd graph behind a tensor, clickable; step its backward
    viz.show(trace)           # a recorded trace (graphgrad.tracing)
    mon = viz.monitor(model)  # live loss curves and gradient norms: call mon.log(loss=loss) in the loop
    viz.save(t, "run.ggtrace")  # a file JupyterLab opens with a double-click; viz.load reads it back
"""
import os
from typing import Any

from ..debug import BackwardStepper
from ..tracing import live as live_trace
from . import document
from .protocol import VERSION as PROTOCOL_VERSION
from .sources import source_of
from .stepper import StepControls
from .widget import LIVE_CELLS, GraphWidget, Monitor, display_saved_fresh


def show(x: Any = None, params: dict[str, Any] | None = None, backward: Any = None, title: str = "",
         height: int | None = None, fold_depth: int = 0) -> GraphWidget:
    """A live, clickable view of `x`:

    - a Tensor: its autograd graph (like torchviz's make_dot); a scalar one can be stepped backward;
    - a trace (`with graphgrad.trace(model) as t: ...`): its latest iteration, every value and gradient;
    - a backward debugger (`graphgrad.debug.backward(loss)`): the graph it runs, stepped from the widget;
    - a graph dict (schema v1); nothing: the session's live trace (graphgrad.tracing.live()), redrawn
      after every cell.

    params: {name: tensor} (model.named_parameters()) names a tensor graph's leaves and groups them by
    module. backward: a loss tensor or debugger to step beside a trace (else a trace replays forward).
    height: the graph area's height in pixels; by default it grows with the first view (360-860 px).
    fold_depth: 0 opens every module down to the depth whose boxes fit the widget (resnet18: its stem,
    layer1..layer4 and head); n > 0 opens at most n levels; -1 unfolds everything. Click a folded
    module's chevron or title to unfold it, an unfolded module's title to fold it."""
    live = x is None
    if live:
        x = live_trace()
        view = LIVE_CELLS.open_view() if backward is None else None
        if view is not None:  # one live view per session, however often a cell asks for it
            view.set_trait("title", title)
            view.set_trait("height", height or 0)
            view.set_trait("fold_depth", fold_depth)
            view.refresh()
            return view
    if isinstance(x, BackwardStepper):
        x, backward = _root_of(x), x
    source = source_of(x, params)
    if isinstance(backward, BackwardStepper):
        stepper = StepControls(source, debugger=backward)
    elif backward is not None:
        stepper = StepControls(source, root=backward)
    elif getattr(x, "grad_fn", None) is not None and x.numel() == 1:
        stepper = StepControls(source, root=x)
    else:
        stepper = StepControls(source)   # forward replay over the recorded ops
    widget = GraphWidget(source, stepper, title=title, height=height or 0, fold_depth=fold_depth)
    if live:
        LIVE_CELLS.add(widget)
    return widget


def save(x: Any, path: str | os.PathLike[str], tensors: list[int] | None = None, max_bytes: int = document.MAX_BYTES,
         title: str | None = None) -> str:
    """Write a trace, tensor, widget (a monitor's curves too) or graph dict to a .ggtrace file: the graph,
    the inspector's statistics of every value and gradient still at hand, the chosen tensors' values
    (`tensors`: node ids, None: all that fit in max_bytes) and the curves. Double-click it in JupyterLab
    (graphgrad's extension) to open it; viz.load reads it back. The format: graphgrad.viz.document."""
    return document.save(x, path, tensors=tensors, max_bytes=max_bytes, title=title)


def load(path: str | os.PathLike[str]) -> document.TraceDocument:
    """The TraceDocument in a file written by save() (or a graph file of older versions): .graph,
    .curves, .stats, .values; viz.show(viz.load(path)) draws it again, its stored values inspectable."""
    return document.load(path)


def _root_of(debugger):
    """The autograd node a debugger's backward pass starts from."""
    return debugger.history[0].node if debugger.history else debugger.ready[0]


def monitor(model: Any = None, display: bool = True, interval: float = 0.05, **kwargs: Any) -> Monitor:
    """A live training monitor: `mon.log(loss=loss, acc=acc)` after each optimizer step (numbers or
    scalar tensors; run="eval" for another series on the same charts; total= the loop's length), or
    `for batch in mon.track(loader)` for steps/s and time left as tqdm shows them.

    Charts: raw and smoothed curves, the latest value in each legend, one cursor across charts, log
    scale; gradient norm and update/weight ratio per parameter (fc1.weight), dead-ReLU fractions and
    parameters that got no gradient (measured every k-th step, at most `budget` of the time). The
    graph panel follows the latest step recorded whole (at most `graph_budget` of the time), values
    and gradients included; the first, a loss spike, the first NaN/Inf and the largest gradient norm
    stay kept (with copies of the weights, gradients and inputs they read, at most `snapshot_limit`
    bytes each) and marked on the curves: click a mark to see that step's graph. Options: Monitor's."""
    widget = Monitor(model, interval=interval, **kwargs)
    if display:
        try:
            display_saved_fresh(widget)
        except ImportError:
            pass
    return widget


Stepper = StepControls   # its earlier name, kept for code that imports it

__all__ = ["show", "monitor", "save", "load", "GraphWidget", "Monitor", "StepControls", "Stepper", "PROTOCOL_VERSION"]
