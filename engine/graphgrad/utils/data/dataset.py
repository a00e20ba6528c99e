"""Datasets: the map-style base, TensorDataset, Subset, ConcatDataset and random_split.

A dataset may offer `_collated(indices)`: the batch that default_collate would build from
those items, made in one step (TensorDataset indexes each tensor once with the index array
instead of stacking one row at a time). It returns None when it cannot, and the DataLoader
then fetches items one by one."""
import bisect
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...creation import randperm
from ...ops.util import xp_of
from ...random import Generator
from ...tensor import Tensor


class Dataset:
    """A map-style dataset: `__getitem__(index)` and usually `__len__`."""
    if TYPE_CHECKING:   # most datasets have a length (samplers read it); the base class defines none
        def __len__(self) -> int: ...

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])

    def _collated(self, indices):
        return None


class IterableDataset(Dataset):
    """A dataset that is a stream: `__iter__` yields its samples."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        raise TypeError("IterableDataset does not support concatenation with +")


class TensorDataset(Dataset):
    """Sample i is (tensors[0][i], tensors[1][i], ...)."""

    def __init__(self, *tensors: Tensor) -> None:
        if any(tensors[0].shape[0] != t.shape[0] for t in tensors):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index: int) -> Any:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _collated(self, indices):
        if type(self).__getitem__ is not TensorDataset.__getitem__:
            return None  # a subclass changes what an item is: collate item by item
        return [take_rows(t, indices) for t in self.tensors]


def take_rows(tensor, indices):
    """tensor[indices] for an integer index array: a copy, as stacking the rows would make."""
    data = tensor._data
    idx = indices if type(data) is np.ndarray else xp_of(data).asarray(indices)
    if tensor.requires_grad:
        return tensor[Tensor._wrap(idx)]  # keep the graph, as torch.stack of the rows would
    return Tensor._wrap(data[idx])


class Subset(Dataset):
    """The items of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, idx: int) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems:
            return getitems([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def _collated(self, indices):
        inner = getattr(self.dataset, "_collated", None)
        if inner is None:
            return None
        return inner(np.asarray(self.indices, dtype=np.int64)[np.asarray(indices, dtype=np.int64)])


class ConcatDataset(Dataset):
    """Several datasets one after another."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


def random_split(dataset: Dataset, lengths: Sequence[int | float], generator: Generator | None = None) -> list[Subset]:
    """Split into non-overlapping Subsets of the given lengths, or fractions of the whole."""
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(math.floor(n * frac))
        for i in range(n - sum(sizes)):  # the remainder, one each, round robin
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=2)
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    # (whole-number float lengths fail in randperm, as torch's do)
    indices = randperm(sum(lengths), generator=generator).tolist()  # pyright: ignore[reportArgumentType]
    splits, offset = [], 0
    for length in lengths:
        splits.append(Subset(dataset, indices[offset:offset + length]))
        offset += length
    return splits
