"""graphgrad.viz: see what the engine runs, in a notebook (anywidget; JupyterLab or any Jupyter).

    from graphgrad import viz
    viz.show(loss)            # the autograd graph behind a tensor, clickable; step its backward
    viz.show(trace)           # a recorded trace (graphgrad.tracing)
    mon = viz.monitor(model)  # live loss curves and gradient norms: call mon.log(loss=loss) in the loop
"""
from .protocol import VERSION as PROTOCOL_VERSION
from .sources import source_of
from .stepper import Stepper
from .widget import GraphWidget, Monitor


def show(x, params=None, title="", height=560, fold_depth=0):
    """A live, clickable view of `x`: a Tensor (its autograd graph, with a backward stepper when x
    needs a gradient), a trace, a backward debugger, or a graph dict (schema v1).

    params: {name: tensor} (model.named_parameters()) to name leaves and group them by module.
    fold_depth: 0 unfolds modules outermost first while about 200 boxes are shown; n > 0 unfolds at
    most n levels; -1 unfolds everything. Click a folded module to unfold it, its title to fold it."""
    backward = None
    if hasattr(x, "steps") and hasattr(x, "ready_nodes"):      # a backward scheduler / debugger
        backward, x = x, getattr(x, "trace", None) or getattr(x, "root", None)
    source = source_of(x, params)
    stepper = None
    if backward is not None:
        stepper = Stepper(source, backward=backward)
    elif getattr(x, "grad_fn", None) is not None and x.numel() == 1:
        stepper = Stepper(source, root=x)
    else:
        stepper = Stepper(source)   # forward replay over the recorded ops
    return GraphWidget(source, stepper, title=title, height=height, fold_depth=fold_depth)


def monitor(model=None, display=True, interval=0.05, **kwargs):
    """A training monitor; `mon.log(loss=loss, acc=acc)` each iteration (numbers or scalar tensors)."""
    widget = Monitor(model, interval=interval, **kwargs)
    if display:
        try:
            from IPython import get_ipython
            from IPython.display import display as show_it
            if get_ipython() is not None:
                show_it(widget)
        except ImportError:
            pass
    return widget


__all__ = ["show", "monitor", "GraphWidget", "Monitor", "Stepper", "PROTOCOL_VERSION"]
