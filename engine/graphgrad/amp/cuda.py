"""graphgrad.cuda.amp: torch.cuda.amp's deprecated spellings of amp.autocast("cuda") and
amp.GradScaler("cuda"), with torch's FutureWarnings. Without a GPU both are disabled (with
torch's warnings), so a script written for a GPU runs unchanged on the CPU in float32."""
import warnings

from .. import dtypes
from . import autocast_mode
from .deprecated import autocast_for, grad_scaler_for

autocast = autocast_for("cuda", dtypes.float16)
GradScaler = grad_scaler_for("cuda")


def custom_fwd(fwd=None, *, cast_inputs=None):
    warnings.warn("`torch.cuda.amp.custom_fwd(args...)` is deprecated. Please use `torch.amp.custom_fwd(args..., "
                  "device_type='cuda')` instead.", FutureWarning, stacklevel=2)
    return autocast_mode.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd):
    warnings.warn("`torch.cuda.amp.custom_bwd(args...)` is deprecated. Please use `torch.amp.custom_bwd(args..., "
                  "device_type='cuda')` instead.", FutureWarning, stacklevel=2)
    return autocast_mode.custom_bwd(bwd, device_type="cuda")
