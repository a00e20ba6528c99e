"""Debugging: step through backward on the real scheduler, replay the forward pass with its
real values, stop on a node, on the first NaN/Inf or on a large gradient (DESIGN §4).

    dbg = gg.debug.backward(loss); dbg.break_on_nan(); hit = dbg.cont()
    r = gg.debug.replay(t); r.break_on_nan(); hit = r.cont()
    with gg.debug.detect_anomaly(): loss.backward()
"""
from ..autograd.anomaly_mode import (AnomalyError, detect_anomaly, is_anomaly_check_nan_enabled,
                                     is_anomaly_enabled, set_detect_anomaly)
from . import anomaly as _anomaly  # plugs "where did this op run" into anomaly mode's errors
from .replay import Replay, ReplayStep, find_nan, replay
from .report import Break
from .stepper import BackwardDebugger, BackwardStepper, DebugStep, backward

__all__ = ["backward", "replay", "find_nan", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled", "AnomalyError", "BackwardStepper", "BackwardDebugger", "DebugStep",
           "Replay", "ReplayStep", "Break"]
