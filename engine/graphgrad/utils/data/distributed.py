"""torch.utils.data.distributed: DistributedSampler, for scripts that import it from here."""
from .sampler import DistributedSampler

__all__ = ["DistributedSampler"]
