"""torch.backends.openmp: graphgrad starts no OpenMP threads of its own."""


def is_available():
    return False
