"""torch.cuda.amp and torch.cpu.amp: the per-device spellings of amp.autocast and
amp.GradScaler that torch keeps with a FutureWarning naming the new spelling."""
import warnings

from . import autocast_mode, grad_scaler


def _warn(device, name, new):
    warnings.warn(f"`torch.{device}.amp.{name}(args...)` is deprecated. Please use `{new}` instead.", FutureWarning,
                  stacklevel=3)


def autocast_for(device, default_dtype):
    """torch.<device>.amp.autocast(enabled=True, dtype=..., cache_enabled=True)."""
    class autocast(autocast_mode.autocast):
        def __init__(self, enabled=True, dtype=None, cache_enabled=True):
            _warn(device, "autocast", f"torch.amp.autocast('{device}', args...)")
            super().__init__(device, dtype=default_dtype if dtype is None else dtype, enabled=enabled,
                             cache_enabled=cache_enabled)
    return autocast


def grad_scaler_for(device):
    """torch.<device>.amp.GradScaler(init_scale, growth_factor, backoff_factor, growth_interval, enabled)."""
    class GradScaler(grad_scaler.GradScaler):
        def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                     enabled=True):
            _warn(device, "GradScaler", f"torch.amp.GradScaler('{device}', args...)")
            super().__init__(device, init_scale, growth_factor, backoff_factor, growth_interval, enabled)
    return GradScaler
