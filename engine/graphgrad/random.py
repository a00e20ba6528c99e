"""Random numbers: a seedable Generator (NumPy's PCG64), drawn on the host so a seed gives the
same numbers on every device."""
import numpy as np


class Generator:
    def __init__(self, device="cpu"):
        self.device = device
        self.manual_seed(np.random.SeedSequence().entropy % (2 ** 63))

    def manual_seed(self, seed):
        self._seed = int(seed)
        self.rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self):
        return self.manual_seed(np.random.SeedSequence().entropy % (2 ** 63))._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from .creation import tensor
        return tensor(np.frombuffer(repr(self.rng.bit_generator.state).encode(), np.uint8).copy())

    def set_state(self, state):
        import ast
        self.rng.bit_generator.state = ast.literal_eval(bytes(state.numpy()).decode())
        return self


default_generator = Generator()


def manual_seed(seed):
    """Seed the default generator (and CuPy's when present), as torch.manual_seed does."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def rng(generator=None):
    return (generator or default_generator).rng
