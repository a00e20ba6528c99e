"""graphgrad's compiled kernels: C in this folder, built into extension modules on install
(scripts/build_native.py, run by the build hook; by hand after changing a .c file).

`random_kernels` is the module of random_kernels.c, or None where it was not built (no C compiler
when graphgrad was installed); `why_not` then says so. Every caller has a NumPy path that gives
the same numbers, so the kernels only make things faster."""
try:
    from . import _random_kernels as random_kernels
    why_not = None
except ImportError as error:
    random_kernels = None
    why_not = (f"graphgrad's C kernels are not built ({error}); randn and randperm are drawn with NumPy, "
               f"the same numbers, slower. Build them with `python scripts/build_native.py` in a checkout, "
               f"or reinstall where a C compiler is found.")

__all__ = ["random_kernels", "why_not"]
