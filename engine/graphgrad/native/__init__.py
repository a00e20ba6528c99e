"""graphgrad's compiled kernels: C in this folder, built into an extension module on install
(scripts/build_native.py, run by the build hook; by hand after changing a .c file), and the
arithmetic built on them.

`kernels` is the module of kernels.c, or None where it was not built (no C compiler when
graphgrad was installed); `why_not` then says so. Every caller has a NumPy path that gives the
same numbers, so the kernels only make things faster. `fma` is torch's fused multiply-add on
arrays (through `kernels.axpy` where it can)."""
try:
    from . import _kernels as kernels
    why_not = None
except ImportError as error:
    kernels = None
    why_not = (f"graphgrad's C kernels are not built ({error}); random numbers and SGD's updates are computed "
               f"with NumPy instead: the same numbers, slower. Build them with `python scripts/build_native.py` in "
               f"a checkout, or reinstall where a C compiler is found.")

__all__ = ["kernels", "why_not"]
