"""Image transforms as torchvision.transforms has them: ToTensor, Normalize, Compose, Lambda."""
import numpy as np

from .. import dtypes
from ..tensor import Tensor


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return type(self).__name__ + "(" + "".join(f"\n    {t}" for t in self.transforms) + "\n)"


class ToTensor:
    """An HxWxC (or HxW) image, uint8 or PIL, -> a CxHxW float tensor in [0, 1]. Arrays of
    other dtypes keep their values (as torchvision's)."""

    def __call__(self, pic):
        if not isinstance(pic, np.ndarray):
            if isinstance(pic, Tensor) or not hasattr(pic, "getbands"):  # a PIL image has getbands
                raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
            pic = np.asarray(pic)
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = pic[:, :, None]
        img = np.array(pic.transpose(2, 0, 1), order="C")
        if img.dtype == np.uint8:
            return Tensor._wrap(img.astype(dtypes.get_default_dtype().np) / 255)
        return Tensor._wrap(img)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """(image - mean) / std per channel of a CxHxW (or NxCxHxW) float tensor."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
        if not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor.ndim < 3:
            raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = "
                             f"{tensor.size()}")
        xp, dt = tensor._xp(), tensor._data.dtype
        mean = xp.asarray(self.mean, dtype=dt).reshape(-1, 1, 1)
        std = xp.asarray(self.std, dtype=dt).reshape(-1, 1, 1)
        if (std == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero.")
        out = (tensor - Tensor._wrap(mean)) / Tensor._wrap(std)
        return tensor.copy_(out) if self.inplace else out

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"
