"""The DataLoader: batches of a dataset in sampler order, collated into tensors.

Loading runs in the calling process (num_workers is accepted and ignored: the arrays are in
memory already). With the default collate and a dataset that can collate itself
(TensorDataset, Subsets of it), a batch is one fancy-index per tensor."""
import collections.abc
import copy
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ... import dtypes
from ...ops.shape import stack
from ...ops.util import xp_of
from ...random import Generator, get_generator
from ...tensor import Tensor
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

_STRING_ARRAY = re.compile(r"[SaUO]")
_COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def get_worker_info() -> None:
    """None: loading always happens in the main process."""
    return None


def _stack_tensors(batch):
    first = batch[0]
    if any(t.requires_grad for t in batch) or any(type(t._data) is not type(first._data) for t in batch):
        return stack(batch)  # the op, for its graph and its device check
    for i, t in enumerate(batch):
        if t._data.shape != first._data.shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first.shape)} at entry 0 "
                               f"and {list(t.shape)} at entry {i}")
    data = xp_of(first._data).stack([t._data for t in batch])
    if any(t._data.dtype != data.dtype for t in batch):
        common = dtypes.result_type(*batch)
        assert common is not None   # (a batch has tensors)
        data = data.astype(common.np)
    return Tensor._wrap(data)


def default_collate(batch: Any) -> Any:
    """A list of samples -> one batch: tensors, arrays and numbers stacked along a new first
    dimension; dicts, tuples and lists collated field by field (tuples become lists, as torch's)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if _STRING_ARRAY.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return _stack_tensors([Tensor._wrap(np.asarray(b)) for b in batch])
    if isinstance(elem, (np.bool_, np.number)):
        return Tensor._wrap(np.asarray(batch))
    if isinstance(elem, bool):
        return Tensor._wrap(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, float):
        return Tensor._wrap(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):
        return Tensor._wrap(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(collated)
            return clone
        try:
            return type(elem)(collated)  # pyright: ignore[reportCallIssue]  (a Mapping type taking a dict)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        collated = [default_collate(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple) or not isinstance(elem, collections.abc.MutableSequence):
            return collated
        clone = copy.copy(elem)
        clone[:] = collated
        return clone
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """What a DataLoader without batching yields: numpy arrays become tensors, containers are
    converted element by element, anything else is left as it is."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _STRING_ARRAY.search(data.dtype.str) is not None else Tensor._wrap(data)
    if isinstance(data, (np.bool_, np.number)):
        return Tensor._wrap(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()}) if isinstance(  # pyright: ignore[reportCallIssue]
            data, collections.abc.MutableMapping) else {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]
    return data


class DataLoader:
    sampler: Any         # a Sampler, or any iterable of indices
    batch_sampler: Any   # a BatchSampler, or any iterable of index lists; None without automatic batching
    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable[int] | None = None,
                 batch_sampler: Sampler | Iterable[list[int]] | None = None, num_workers: int = 0,
                 collate_fn: Callable[[list[Any]], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if isinstance(dataset, IterableDataset):
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 f"got batch_sampler={batch_sampler}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")
        if sampler is None and not isinstance(dataset, IterableDataset):
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and sampler is not None:  # (an IterableDataset has none)
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.prefetch_factor, self.persistent_workers = (worker_init_fn, prefetch_factor,
                                                                            persistent_workers)
        self._auto_collation = batch_sampler is not None or (isinstance(dataset, IterableDataset)
                                                             and batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._iterated = False

    def __iter__(self) -> Iterator[Any]:
        if isinstance(self.dataset, IterableDataset):
            epoch = self._iter_stream()
        elif not self._auto_collation:
            epoch = (self.collate_fn(self.dataset[i]) for i in self.sampler)
        elif type(self.batch_sampler) is BatchSampler:
            epoch = self._iter_batches(self.batch_sampler._index_batches())
        else:
            epoch = self._iter_batches(iter(self.batch_sampler))
        # torch's iterator draws a seed for worker processes once its sampler iterator is made (every
        # epoch unless the workers persist): a draw the sampler's own draws come after
        if not (self.persistent_workers and self._iterated):
            get_generator(self.generator).random(1, np.int64)
        self._iterated = True
        return epoch

    def _iter_batches(self, batches):
        dataset, collate = self.dataset, self.collate_fn
        collated = getattr(dataset, "_collated", None) if collate is default_collate else None
        getitems = getattr(dataset, "__getitems__", None)
        for indices in batches:
            if collated is not None:
                batch = collated(np.asarray(indices, dtype=np.int64))
                if batch is not None:
                    yield batch
                    continue
            indices = indices.tolist() if isinstance(indices, np.ndarray) else indices
            yield collate(getitems(indices) if getitems else [dataset[i] for i in indices])

    def _iter_stream(self):
        if self.batch_size is None:
            for item in self.dataset:
                yield self.collate_fn(item)
            return
        batch = []
        for item in self.dataset:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self._auto_collation else self.sampler)
