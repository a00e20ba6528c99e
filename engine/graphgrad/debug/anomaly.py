"""Anomaly mode's "where did this op run": autograd checks the gradients and raises; this module
tells it which forward op made the failing node and the line of user code that ran it, from a
trace that recorded the op or, without one, from a recorder active while the mode is on. It is
plugged in through `_hooks.anomaly_source` when graphgrad.debug is imported (graphgrad imports it),
so autograd, below tracing, never imports the tracer."""
from .. import _hooks
from .._hooks import AnomalySource, Recorder
from ..tracing.source import location
from ..tracing.trace import describe_forward, forward_of


class SourceRecorder(Recorder):
    """Keeps, on each node that will run in backward, where its forward op was called."""

    def record(self, node, inputs, outputs, attrs, seconds):
        if "next_functions" in node.__dict__:
            node.anomaly_source = location()


class TracedSource(AnomalySource):
    """The forward op as a trace recorded it, else where SourceRecorder saw it run."""
    recorder = SourceRecorder()

    def describe(self, node):
        return describe_forward(node), forward_of(node)[0]


_hooks.anomaly_source = TracedSource()
