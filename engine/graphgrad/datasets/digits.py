"""The default data set of the examples: scikit-learn's bundled 8x8 handwritten digits (1,797
images, no download), as 1x8x8 float32 images in [0, 1] with int64 labels."""
from typing import Any

import numpy as np

from ..tensor import Tensor
from .vision import LabelledImages

TRAIN_SIZE = 1438  # a fixed split, about 80/20: the first 1,438 images train, the other 359 test
SPLIT_SEED = 0


def _load():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ModuleNotFoundError("graphgrad.datasets.digits reads the digits that ship with scikit-learn, which is "
                                  "not installed: pip install graphgrad[examples]") from None
    bunch: Any = load_digits()   # (a Bunch; sklearn's stubs say it may be a tuple)
    return bunch.images, bunch.target


class Digits(LabelledImages):
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

    def _image(self, index):
        return Tensor._wrap(self.data._data[index].copy())


def digits(train=True, transform=None, target_transform=None):
    """The digits data set: `digits(train=True)` (1,438 images) or `digits(train=False)` (359)."""
    return Digits(train, transform, target_transform)
