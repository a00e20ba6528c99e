"""torch.backends.mkldnn: oneDNN, which graphgrad does not use."""
enabled = False
deterministic = False


def is_available():
    return False
