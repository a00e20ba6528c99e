"""graphgrad.linalg: torch.linalg's inverse, determinant, linear solve and norms."""
from .ops.linalg import LinAlgError, det, inv, solve
from .ops.reduce import norm as _norm


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    return _norm(x if dtype is None else x.to(dtype), p=ord, dim=dim, keepdim=keepdim)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """The 2-norm of all elements by default (a matrix's Frobenius norm); vector ords over `dim`."""
    if ord == "fro" or ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if isinstance(ord, str) or (dim is None and A.ndim == 2) or (isinstance(dim, (tuple, list)) and len(dim) == 2):
        raise NotImplementedError(f"graphgrad: linalg.norm(ord={ord!r}) of a matrix (spectral and nuclear norms) "
                                  "is not supported; vector norms are")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    if ord != "fro":
        raise NotImplementedError(f"graphgrad: linalg.matrix_norm(ord={ord!r}) is not supported; 'fro' is")
    return vector_norm(A, 2, dim, keepdim, dtype=dtype)


__all__ = ["LinAlgError", "det", "inv", "solve", "norm", "vector_norm", "matrix_norm"]
