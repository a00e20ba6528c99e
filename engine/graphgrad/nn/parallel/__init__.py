"""graphgrad.nn.parallel: DataParallel (and its pieces: scatter, replicate, parallel_apply,
gather) and DistributedDataParallel's name."""
from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel
from .functions import gather, parallel_apply, replicate, scatter, scatter_kwargs

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel", "gather", "parallel_apply", "replicate",
           "scatter", "scatter_kwargs"]
