"""graphgrad.cpu.amp: torch.cpu.amp's deprecated spellings of amp.autocast("cpu") (bfloat16 by
default) and amp.GradScaler("cpu"), with torch's FutureWarnings."""
from .. import dtypes
from .deprecated import autocast_for, grad_scaler_for

autocast = autocast_for("cpu", dtypes.bfloat16)
GradScaler = grad_scaler_for("cpu")
