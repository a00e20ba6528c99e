"""Tracing: every dispatched op recorded into a live graph (see DESIGN §3).

    with graphgrad.trace() as t: ...      # t.graph, t.value(node), t.grad(node), t.stats(node)
    graphgrad.tracing.live()              # the session-wide trace, growing as cells run
"""
from .graph import GNode, Graph, SCHEMA
from .monitor import Curve, Monitor, Series
from .._hooks import Recorder
from .scope import enter_module, exit_module, phase_scope
from .stats import histogram, preview, stats
from .iteration import Iteration
from .trace import Trace, find_node, live, trace

__all__ = ["trace", "live", "Trace", "Graph", "GNode", "Iteration", "Monitor", "Series", "Curve", "Recorder",
           "enter_module", "exit_module", "phase_scope", "stats", "histogram", "preview", "find_node", "SCHEMA"]
