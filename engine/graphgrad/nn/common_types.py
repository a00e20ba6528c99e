"""The types nn's signatures share (as torch.nn.common_types): sizes given as one int or one per
spatial dimension, shapes, and what a device or dtype argument may be."""
from collections.abc import Sequence

from ..device import DeviceLike as DeviceLike   # "cuda:0", 0, gg.device("cpu"): defined beside device
from ..dtypes import dtype

_size_any_t = int | tuple[int, ...]                             # kernel_size=3 or (3, 5)
_size_any_opt_t = int | None | tuple[int | None, ...]           # an adaptive pool's output size (None: keep)
_shape_t = int | Sequence[int]                                  # LayerNorm's normalized_shape
DTypeLike = dtype                                               # gg.float32
