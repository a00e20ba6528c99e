"""torch.backends.mkl: graphgrad calls MKL only if NumPy was built with it; it never asks."""


def is_available():
    return False
