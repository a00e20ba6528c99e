"""graphgrad.autograd: backward, grad, grad modes, anomaly detection."""
from .. import _hooks
from ..node import AccumulateGrad, Node
from . import function, functional
from .anomaly_mode import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from .engine import BackwardPass, Step
from .function import Function
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .._hooks import state
from .gradients import backward, backward_pass, grad

_hooks.backward = backward  # what Tensor.backward runs (the tensor layer sits below autograd)

__all__ = ["backward", "grad", "backward_pass", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled", "Node", "AccumulateGrad", "BackwardPass", "Step", "state", "Function",
           "function", "functional"]
