"""graphgrad.utils.data against torch.utils.data: collation, batching, samplers, splits."""
import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import graphgrad as gg
from graphgrad.utils import data as gdata


def plain(x):
    """A structure both libraries' outputs can be compared as: tensors become (dtype, values)."""
    if isinstance(x, (gg.Tensor, torch.Tensor)):
        return ("tensor", str(x.dtype).split(".")[-1], list(x.shape), x.tolist())
    if isinstance(x, dict):
        return (type(x).__name__, {k: plain(v) for k, v in x.items()})
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return ("namedtuple", [plain(v) for v in x])
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [plain(v) for v in x])
    return x


Point = collections.namedtuple("Point", "x y")


def _samples(lib):
    return [
        [lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])],
        [lib.tensor(1), lib.tensor(2)],
        [1, 2, 3],
        [1.5, 2.5],
        [True, False],
        ["a", "b"],
        [np.array([1, 2], dtype=np.int32), np.array([3, 4], dtype=np.int32)],
        [np.float32(1.5), np.float32(2.5)],
        [(lib.tensor([1.0]), 0), (lib.tensor([2.0]), 1)],
        [[lib.tensor(1.0), "x"], [lib.tensor(2.0), "y"]],
        [{"image": lib.ones(2, 2), "label": 3}, {"image": lib.zeros(2, 2), "label": 4}],
        [collections.OrderedDict(a=1.0, b=[1, 2]), collections.OrderedDict(a=2.0, b=[3, 4])],
        [Point(lib.tensor(1.0), 2), Point(lib.tensor(3.0), 4)],
    ]


@pytest.mark.parametrize("case", range(len(_samples(torch))))
def test_default_collate_matches_torch(case):
    expected = plain(tdata.default_collate(_samples(torch)[case]))
    assert plain(gdata.default_collate(_samples(gg)[case])) == expected


def test_default_collate_errors_match_torch():
    for batch_fn in (lambda lib: [lib.ones(2), lib.ones(3)], lambda lib: [[1, 2], [1]],
                     lambda lib: [object(), object()], lambda lib: [np.array(["a"]), np.array(["b"])]):
        with pytest.raises(Exception) as expected:
            tdata.default_collate(batch_fn(torch))
        with pytest.raises(expected.type) as actual:
            gdata.default_collate(batch_fn(gg))
        assert str(actual.value).split(";")[0] == str(expected.value).split(";")[0]


def test_default_convert_matches_torch():
    for item in ((np.arange(3), 1.5, "s"), {"a": np.ones(2)}, [np.int64(3)]):
        assert plain(gdata.default_convert(item)) == plain(tdata.default_convert(item))


def _tensor_dataset(lib, n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return lib.utils.data.TensorDataset(lib.tensor(x), lib.tensor(np.arange(n)))


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (4, True), (10, False),
                                                   (32, False)])
def test_sequential_batches_match_torch(batch_size, drop_last):
    g = gdata.DataLoader(_tensor_dataset(gg), batch_size=batch_size, drop_last=drop_last)
    t = tdata.DataLoader(_tensor_dataset(torch), batch_size=batch_size, drop_last=drop_last)
    assert len(g) == len(t)
    assert [plain(b) for b in g] == [plain(b) for b in t]


def test_fast_tensor_dataset_path_equals_item_by_item():
    class Items(gdata.Dataset):  # the same data through the generic __getitem__ + collate path
        def __init__(self, base):
            self.base = base

        def __getitem__(self, i):
            return self.base[i]

        def __len__(self):
            return len(self.base)

    base = _tensor_dataset(gg, 23)
    fast = list(gdata.DataLoader(base, batch_size=5, shuffle=True, generator=gg.Generator().manual_seed(3)))
    slow = list(gdata.DataLoader(Items(base), batch_size=5, shuffle=True, generator=gg.Generator().manual_seed(3)))
    assert [plain(b) for b in fast] == [plain(b) for b in slow]
    assert fast[0][0]._data.base is None or fast[0][0]._data.base is not base.tensors[0]._data  # a copy, not a view


def test_shuffle_is_a_permutation_and_seedable():
    ds = _tensor_dataset(gg, 50)
    order = lambda loader: [i for _, y in loader for i in y.tolist()]
    first = order(gdata.DataLoader(ds, batch_size=8, shuffle=True, generator=gg.Generator().manual_seed(1)))
    again = order(gdata.DataLoader(ds, batch_size=8, shuffle=True, generator=gg.Generator().manual_seed(1)))
    assert sorted(first) == list(range(50)) and first == again and first != list(range(50))
    gg.manual_seed(7)
    loader = gdata.DataLoader(ds, batch_size=8, shuffle=True)
    epoch1, epoch2 = order(loader), order(loader)
    assert epoch1 != epoch2  # a new order each epoch
    gg.manual_seed(7)
    assert order(loader) == epoch1  # the default generator makes it reproducible


def test_subset_random_split_and_concat():
    ds = _tensor_dataset(gg, 10)
    sub = gdata.Subset(ds, [9, 2, 4])
    assert len(sub) == 3 and sub[0][1].item() == 9
    assert [plain(b) for b in gdata.DataLoader(sub, batch_size=2)] == [
        plain(b) for b in tdata.DataLoader(tdata.Subset(_tensor_dataset(torch, 10), [9, 2, 4]), batch_size=2)]
    for lengths in ([3, 7], [0.3, 0.3, 0.4], [0.33, 0.33, 0.34], [0.5, 0.5]):
        parts = gdata.random_split(range(11) if sum(lengths) == 1 else range(10), lengths,
                                   generator=gg.Generator().manual_seed(0))
        expected = tdata.random_split(range(11) if sum(lengths) == 1 else range(10), lengths,
                                      generator=torch.Generator().manual_seed(0))
        assert [len(p) for p in parts] == [len(p) for p in expected]
        assert sorted(i for p in parts for i in p) == sorted(i for p in expected for i in p)
    a, b = gdata.random_split(range(10), [4, 6], generator=gg.Generator().manual_seed(5))
    c, d = gdata.random_split(range(10), [4, 6], generator=gg.Generator().manual_seed(5))
    assert list(a) == list(c)
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        gdata.random_split(range(10), [3, 3])
    both = ds + gdata.Subset(ds, [0])
    assert len(both) == 11 and both[10][1].item() == 0 and both[-1][1].item() == 0


def test_samplers():
    ds = list(range(10))
    assert list(gdata.SequentialSampler(ds)) == list(range(10))
    r = list(gdata.RandomSampler(ds, generator=gg.Generator().manual_seed(0)))
    assert sorted(r) == list(range(10))
    assert len(list(gdata.RandomSampler(ds, replacement=True, num_samples=25))) == 25
    assert len(list(gdata.RandomSampler(ds, num_samples=25))) == 25
    b = gdata.BatchSampler(gdata.SequentialSampler(ds), 4, False)
    assert list(b) == list(tdata.BatchSampler(tdata.SequentialSampler(ds), 4, False)) and len(b) == 3
    assert len(gdata.BatchSampler(ds, 4, True)) == 2
    assert sorted(gdata.SubsetRandomSampler([1, 5, 7])) == [1, 5, 7]
    w = list(gdata.WeightedRandomSampler([0, 0, 1.0], 5))
    assert w == [2] * 5
    loader = gdata.DataLoader(ds, batch_sampler=gdata.BatchSampler(gdata.SequentialSampler(ds), 3, True))
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        gdata.BatchSampler(ds, 0, False)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        gdata.RandomSampler(ds, num_samples=0)


def test_dataloader_options_and_errors_match_torch():
    ds = list(range(5))
    assert [x for x in gdata.DataLoader(ds, batch_size=None)] == [x for x in tdata.DataLoader(ds, batch_size=None)]
    assert plain(list(gdata.DataLoader([np.ones(2)] * 3, batch_size=None))) == plain(
        list(tdata.DataLoader([np.ones(2)] * 3, batch_size=None)))
    loader = gdata.DataLoader(ds, batch_size=2, collate_fn=lambda batch: sum(batch), num_workers=2)
    assert list(loader) == [1, 5, 4]
    for kwargs in (dict(sampler=gdata.SequentialSampler(ds), shuffle=True), dict(batch_size=None, drop_last=True),
                   dict(batch_sampler=[[0]], batch_size=2), dict(num_workers=-1), dict(prefetch_factor=2),
                   dict(persistent_workers=True)):
        tkwargs = dict(kwargs)
        if "sampler" in kwargs:
            tkwargs["sampler"] = tdata.SequentialSampler(ds)
        with pytest.raises(ValueError) as expected:
            tdata.DataLoader(ds, **tkwargs)
        with pytest.raises(ValueError) as actual:
            gdata.DataLoader(ds, **kwargs)
        assert str(actual.value) == str(expected.value)


def test_iterable_dataset():
    class Stream(gdata.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    loader = gdata.DataLoader(Stream(), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        gdata.DataLoader(Stream(), shuffle=True)


def test_tensor_dataset_errors_and_items():
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        gdata.TensorDataset(gg.zeros(3), gg.zeros(4))
    ds = _tensor_dataset(gg, 4)
    x, y = ds[1]
    assert x.tolist() == [3.0, 4.0, 5.0] and y.item() == 1 and len(ds) == 4


@pytest.mark.cuda
def test_cuda_tensor_dataset_batches_stay_on_the_gpu():
    cpu = _tensor_dataset(gg, 20)
    gpu = gdata.TensorDataset(*(t.cuda() for t in cpu.tensors))
    for kwargs in (dict(batch_size=6), dict(batch_size=6, shuffle=True, generator=gg.Generator().manual_seed(0))):
        if "generator" in kwargs:
            expected = list(gdata.DataLoader(cpu, **dict(kwargs, generator=gg.Generator().manual_seed(0))))
        else:
            expected = list(gdata.DataLoader(cpu, **kwargs))
        got = list(gdata.DataLoader(gpu, **kwargs))
        assert all(t.device.type == "cuda" for batch in got for t in batch)
        assert [plain([t.cpu() for t in b]) for b in got] == [plain(b) for b in expected]
    assert gdata.default_collate([gpu[0][0], gpu[1][0]]).device.type == "cuda"
