"""Data sets: MNIST and FashionMNIST from their IDX files (as torchvision reads them), the
8x8 handwritten digits that ship with scikit-learn (`digits`, the default for examples), and
`transforms` (ToTensor, Normalize, Compose, Lambda)."""
from . import transforms
from .digits import Digits, digits
from .mnist import MNIST, FashionMNIST, read_idx
from .vision import VisionDataset

__all__ = ["Digits", "FashionMNIST", "MNIST", "VisionDataset", "digits", "read_idx", "transforms"]
