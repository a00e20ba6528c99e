"""Whether ops record history: no_grad, enable_grad, set_grad_enabled, inference_mode."""
import functools


class state:
    """Read by every op dispatch, so it is one class attribute, not a lookup chain."""
    grad_enabled = True
    anomaly = False


def is_grad_enabled():
    return state.grad_enabled


class _GradMode:
    """A context manager that is also a decorator, as torch's are."""
    mode = True

    def __enter__(self):
        self._prev = state.grad_enabled
        state.grad_enabled = self.mode

    def __exit__(self, *exc):
        state.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    mode = False


class enable_grad(_GradMode):
    mode = True


class inference_mode(_GradMode):
    def __init__(self, mode=True):
        self.mode = not mode


class set_grad_enabled(_GradMode):
    def __init__(self, mode):
        self.mode = bool(mode)
        self._prev = state.grad_enabled
        state.grad_enabled = self.mode  # like torch: takes effect when called, not only in `with`

    def __call__(self, fn):
        state.grad_enabled = self._prev
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper
