"""Samplers: which indices a DataLoader reads, in which order, in which batches.

Samplers yield Python ints (and BatchSampler lists of them) as torch's do. The built-in ones
also give an epoch as index arrays (`_index_chunks`: usually one array, the whole epoch), so
BatchSampler can hand the DataLoader batches as array slices without a Python loop per index.
The random ones draw what torch's draw, when torch's do (at the first index of an epoch), so
seeded orders match torch's; RandomSampler draws lazily as torch's does, so an epoch of 10**10
samples costs nothing until it is read."""
import math
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np

from ...random import Generator, get_generator
from ...tensor import Tensor
from .dataset import Dataset


class Sampler:
    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError


_DRAW_BLOCK = 32 * 1024


class SequentialSampler(Sampler):
    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def _index_array(self):
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self) -> Iterator[Any]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation each epoch (or draws with replacement), from `generator` or the
    default generator, so `graphgrad.manual_seed` makes the order reproducible."""

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: Generator | None = None) -> None:
        self.data_source, self.replacement, self._num_samples, self.generator = (data_source, replacement,
                                                                                 num_samples, generator)
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_chunks(self):
        n, gen = len(self.data_source), self.generator
        if gen is None:  # torch seeds a generator of its own with a draw from the default one
            gen = Generator().manual_seed(int(get_generator().random(1, np.int64)[0]))
        if self.replacement:
            # torch draws 32 indices at a time; the draws are one stream however they are cut, so
            # a private generator draws bigger blocks (same numbers, fewer calls), while a
            # generator the caller holds stops where torch's would if the epoch is left early
            block = _DRAW_BLOCK if self.generator is None else 32
            whole, rest = divmod(self.num_samples, block)
            for _ in range(whole):
                yield gen.integers(block, 0, n, np.int64)
            yield gen.integers(rest, 0, n, np.int64)
            return
        for _ in range(self.num_samples // n):
            yield gen.permutation(n)
        yield gen.permutation(n)[:self.num_samples % n]  # torch draws it even when it keeps none of it

    def __iter__(self) -> Iterator[Any]:
        for chunk in self._index_chunks():
            yield from chunk.tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices, self.generator = indices, generator

    def _index_array(self):
        return np.asarray(self.indices, dtype=np.int64)[get_generator(self.generator).permutation(len(self.indices))]

    def __iter__(self) -> Iterator[Any]:
        yield from self._index_array().tolist()

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices drawn with probabilities proportional to weights."""

    def __init__(self, weights: Sequence[float] | Tensor, num_samples: int, replacement: bool = True,
                 generator: Generator | None = None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        tolist = getattr(weights, "tolist", None)   # a tensor or an array: its numbers
        array = np.asarray(tolist() if tolist is not None else weights, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(array.shape)}")
        self.weights, self.num_samples, self.replacement, self.generator = (array, num_samples, replacement,
                                                                            generator)

    def _index_array(self):
        return get_generator(self.generator).multinomial(self.weights[None], self.num_samples, self.replacement)[0]

    def __iter__(self) -> Iterator[Any]:
        yield from self._index_array().tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of batch_size (the last one shorter unless
    drop_last)."""
    sampler: Any   # a Sampler, or any iterable of indices with a length

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def _index_batches(self):
        """The batches as integer arrays: slices of one epoch-long index array when the sampler
        can give one."""
        if type(self.sampler) not in (SequentialSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler):
            # a sampler of the user's own: its __iter__ decides
            for batch in self:
                yield np.asarray(batch, dtype=np.int64)
            return
        chunks = (self.sampler._index_chunks() if type(self.sampler) is RandomSampler
                  else iter([self.sampler._index_array()]))
        size, pending = self.batch_size, np.empty(0, np.int64)
        for chunk in chunks:
            indices = np.concatenate([pending, chunk]) if len(pending) else chunk
            stop = len(indices) - len(indices) % size
            for start in range(0, stop, size):
                yield indices[start:start + size]
            pending = indices[stop:]
        if len(pending) and not self.drop_last:
            yield pending

    def __iter__(self) -> Iterator[Any]:
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


class DistributedSampler(Sampler):
    """This process's share of the dataset: every num_replicas-th index from `rank`, of one
    permutation per epoch (seeded by seed + epoch, the same in every process) padded to a
    multiple of num_replicas (or cut, with drop_last). graphgrad has no process group, so
    num_replicas and rank must be given."""

    def __init__(self, dataset: Dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            raise RuntimeError("Requires distributed package to be available (graphgrad has no process-group "
                               "backend: pass num_replicas and rank)")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank, self.epoch = dataset, num_replicas, rank, 0
        self.drop_last, self.shuffle, self.seed = drop_last, shuffle, seed
        if drop_last and len(dataset) % num_replicas != 0:  # drop the tail so every replica gets as many
            self.num_samples = math.ceil((len(dataset) - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(len(dataset) / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        if self.shuffle:
            indices = Generator().manual_seed(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """A new shuffle for each epoch: call it before each epoch's DataLoader iterator."""
        self.epoch = epoch
