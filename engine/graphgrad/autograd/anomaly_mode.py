"""Anomaly detection, as torch.autograd's: while it is on, every backward node's results are
checked for NaN and Inf, and the error names the forward op that made the node and the line of
user code that ran it (kept for each op by a small recorder while the mode is on).

    with gg.autograd.detect_anomaly():
        loss.backward()   # RuntimeError: Function 'LogBackward0' returned nan values in its 0th
                          # output. It was made by the forward op 'log' at train.py:14: `y = x.log()`
"""
import functools

from .grad_mode import state


class AnomalyError(RuntimeError):
    """A backward node returned NaN or Inf. `node` is the autograd node, `forward` the recorded
    forward op (a tracing GNode) when a trace recorded it."""

    def __init__(self, message, node=None, forward=None):
        super().__init__(message)
        self.node, self.forward = node, forward


class _mode:
    check_nan = True


def is_anomaly_enabled():
    return state.anomaly


def is_anomaly_check_nan_enabled():
    return state.anomaly and _mode.check_nan


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly detection on inside it."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = (state.anomaly, _mode.check_nan)
        _set(True, self.check_nan)

    def __exit__(self, *exc):
        _set(*self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """Turns anomaly detection on or off now (and back at the end when used with `with`)."""

    def __init__(self, mode, check_nan=True):
        self._prev = (state.anomaly, _mode.check_nan)
        _set(bool(mode), check_nan)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _set(*self._prev)
        return False


_recorder = None


def _set(mode, check_nan):
    global _recorder
    from ..ops.dispatch import recorders
    state.anomaly, _mode.check_nan = bool(mode), bool(check_nan)
    if _recorder is None:
        from ..tracing.recorder import Recorder
        from ..tracing.source import location

        class SourceRecorder(Recorder):
            """Keeps, on each node that will run in backward, where its forward op was called."""

            def record(self, node, inputs, outputs, attrs, seconds):
                if "next_functions" in node.__dict__:
                    node.anomaly_source = location()

        _recorder = SourceRecorder()
    if state.anomaly and _recorder not in recorders:
        recorders.append(_recorder)
    elif not state.anomaly and _recorder in recorders:
        recorders.remove(_recorder)


def check_gradients(node, grad_inputs):
    """Raise AnomalyError if a gradient the node computed holds NaN or Inf (the scheduler calls
    this in anomaly mode): one dot product per gradient, the elementwise check only when needed."""
    if not _mode.check_nan:
        return
    from ..tracing.stats import has_nonfinite
    for i, grad in enumerate(grad_inputs):
        if has_nonfinite(grad):
            from ..ops.util import xp_of
            what = "nan" if bool(xp_of(grad).isnan(grad).any()) else "inf"
            raise anomaly_error(node, f"Function '{node.name()}' returned {what} values in its {i}th output.")


def anomaly_error(node, message):
    """AnomalyError(message + where the node's forward op ran)."""
    from ..tracing.trace import describe_forward, forward_of
    return AnomalyError(f"{message} It was made by {describe_forward(node)}.", node, forward_of(node)[0])
