"""Anomaly detection, as torch.autograd's: while it is on, every backward node's results are
checked for NaN and Inf, and the error names the forward op that made the node and the line of
user code that ran it. Where an op ran is graphgrad.debug's to say (from a trace, or from a small
recorder it keeps active while the mode is on), through the hook `_hooks.anomaly_source`.

    with gg.autograd.detect_anomaly():
        loss.backward()   # RuntimeError: Function 'LogBackward0' returned nan values in its 0th
                          # output. It was made by the forward op 'log' at train.py:14: `y = x.log()`
"""
import functools

from .. import _hooks
from .._hooks import recorders, state
from ..ops.util import nonfinite_kind


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


def _set(mode, check_nan):
    state.anomaly, _mode.check_nan = bool(mode), bool(check_nan)
    recorder = _hooks.anomaly_source.recorder
    if recorder is None:
        return
    if state.anomaly and recorder not in recorders:
        recorders.append(recorder)
    elif not state.anomaly and recorder in recorders:
        recorders.remove(recorder)


def check_gradients(node, grad_inputs):
    """Raise AnomalyError if a gradient the node computed holds NaN or Inf (the scheduler calls
    this in anomaly mode): one dot product per gradient, the elementwise check only when needed."""
    if not _mode.check_nan:
        return
    for i, grad in enumerate(grad_inputs):
        what = nonfinite_kind(grad)
        if what is not None:
            raise anomaly_error(node, f"Function '{node.name()}' returned {what} values in its {i}th output.")


def anomaly_error(node, message):
    """AnomalyError(message + where the node's forward op ran)."""
    where, forward = _hooks.anomaly_source.describe(node)
    return AnomalyError(f"{message} It was made by {where}.", node, forward)
