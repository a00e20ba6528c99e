"""The default data set of the examples: scikit-learn's bundled 8x8 handwritten digits (1,797
images, no download), as 1x8x8 float32 images in [0, 1] with int64 labels."""
import numpy as np

from ..tensor import Tensor
from ..utils.data.dataset import take_rows
from .vision import VisionDataset

TRAIN_SIZE = 1438  # a fixed split, about 80/20: the first 1,438 images train, the other 359 test
SPLIT_SEED = 0


def _load():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ModuleNotFoundError("graphgrad.datasets.digits reads the digits that ship with scikit-learn, which is "
                                  "not installed: pip install graphgrad[examples]") from None
    bunch = load_digits()
    return bunch.images, bunch.target


class Digits(VisionDataset):
    """Items are (image, label): a 1x8x8 float32 tensor in [0, 1] and an int. The split is the
    same on every machine: a permutation seeded with SPLIT_SEED, its first TRAIN_SIZE images
    for training."""
    classes = [str(i) for i in range(10)]

    def __init__(self, train=True, transform=None, target_transform=None):
        super().__init__(None, transform, target_transform)
        self.train = train
        images, labels = _load()
        order = np.random.default_rng(SPLIT_SEED).permutation(len(images))
        order = order[:TRAIN_SIZE] if train else order[TRAIN_SIZE:]
        self.data = Tensor._wrap((images[order] / 16).astype(np.float32)[:, None])
        self.targets = Tensor._wrap(labels[order].astype(np.int64))

    def __getitem__(self, index):
        image, target = Tensor._wrap(self.data._data[index].copy()), int(self.targets._data[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self):
        return len(self.data)

    def _collated(self, indices):
        if self.transform is not None or self.target_transform is not None:
            return None
        return [take_rows(self.data, indices), take_rows(self.targets, indices)]

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"


def digits(train=True, transform=None, target_transform=None):
    """The digits data set: `digits(train=True)` (1,438 images) or `digits(train=False)` (359)."""
    return Digits(train, transform, target_transform)
