"""graphgrad's compiled kernels: C in this folder, built into an extension module on install
(scripts/build_native.py, run by the build hook; by hand after changing a .c file), and the
arithmetic built on them.

`kernels` is the module of kernels.c, or None where it was not built (no C compiler when
graphgrad was installed); `why_not` then says so. Every caller has a NumPy path that gives the
same numbers, so the kernels only make things faster. `fma` is torch's fused multiply-add on
arrays (through `kernels.axpy` where it can)."""
import os
import warnings

try:
    from . import _kernels as kernels
    why_not = None
except ImportError as error:
    kernels = None
    why_not = (f"graphgrad's C kernels are not built ({error}); random numbers and SGD's updates are computed "
               f"with NumPy instead: the same numbers, slower. Build them with `python scripts/build_native.py` in "
               f"a checkout, or reinstall where a C compiler is found.")


def stale(source, module):
    """Whether the module was built before its source last changed (a checkout where kernels.c
    was edited and not rebuilt: the module would run the old code)."""
    try:
        return os.stat(source).st_mtime > os.stat(module).st_mtime
    except OSError:
        return False


if kernels is not None and stale(os.path.join(os.path.dirname(__file__), "kernels.c"), kernels.__file__):
    warnings.warn("graphgrad/native/kernels.c changed since its module was built, which still runs the old code: "
                  "rebuild it with `python scripts/build_native.py`", stacklevel=2)

__all__ = ["kernels", "stale", "why_not"]
