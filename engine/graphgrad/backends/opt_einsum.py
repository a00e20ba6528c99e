"""torch.backends.opt_einsum: graphgrad does not call the opt_einsum package; the switches are
stored and read back."""
enabled = True
strategy = "auto"


def is_available():
    return False


def get_opt_einsum():
    return None
