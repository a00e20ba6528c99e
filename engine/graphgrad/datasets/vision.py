"""The base of image data sets: transforms applied per item, and torchvision's repr."""
from typing import Any

from ..tensor import Tensor
from ..utils.data import Dataset
from ..utils.data.dataset import take_rows


class StandardTransform:
    def __init__(self, transform=None, target_transform=None):
        self.transform, self.target_transform = transform, target_transform

    def __call__(self, image, target):
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self):
        body = [type(self).__name__]
        for head, transform in (("Transform: ", self.transform), ("Target transform: ", self.target_transform)):
            if transform is not None:
                lines = repr(transform).splitlines()
                body += [head + lines[0]] + [" " * len(head) + line for line in lines[1:]]
        return "\n".join(body)


class VisionDataset(Dataset):
    _repr_indent = 4

    def __init__(self, root=None, transform=None, target_transform=None):
        self.root: Any = root
        self.transform, self.target_transform = transform, target_transform
        self.transforms = StandardTransform(transform, target_transform)

    def extra_repr(self):
        return ""

    def __repr__(self):
        body = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if self.transform is not None or self.target_transform is not None:
            body.append(repr(self.transforms))
        return "\n".join(["Dataset " + type(self).__name__] + [" " * self._repr_indent + line for line in body])


class LabelledImages(VisionDataset):
    """A split held as two tensors, `data` (images) and `targets` (labels): items by index,
    transforms per item, and whole batches by one indexing when there are no transforms."""
    train = True
    data: Tensor       # set by each data set's __init__
    targets: Tensor

    def _image(self, index):
        """One image as the data set hands it out (before the transform)."""
        return self.data._data[index].copy()

    def __getitem__(self, index):
        return self.transforms(self._image(index), int(self.targets._data[index]))

    def __len__(self):
        return len(self.data)

    def _collated(self, indices):
        if self.transform is not None or self.target_transform is not None:
            return None
        return [take_rows(self.data, indices), take_rows(self.targets, indices)]

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"
