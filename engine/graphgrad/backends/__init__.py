"""graphgrad.backends: torch.backends' switches. They store what a script sets and report it
back; graphgrad's kernels are NumPy's and CuPy's, so none of them changes a result. The
`is_available()`/`is_built()` answers are honest for this engine (no cuDNN, MPS or oneDNN)."""
from . import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp, opt_einsum

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp", "opt_einsum"]
