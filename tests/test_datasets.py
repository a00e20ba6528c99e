"""graphgrad.datasets: IDX parsing (plain and gzip) on files written here, MNIST/FashionMNIST
folders as torchvision lays them out, the offline download error, transforms, digits."""
import gzip
import hashlib
import io
import os
import struct
import sys
import urllib.request

import numpy as np
import pytest

import graphgrad as gg
from graphgrad import datasets
from graphgrad.datasets import transforms as T
from graphgrad.utils.data import DataLoader

CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array):
    """The IDX encoding of an array, written out by hand (big-endian header and data)."""
    header = struct.pack(">BBBB", 0, 0, CODES[array.dtype.type], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, gz=False):
    data = idx_bytes(array)
    if gz:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx(tmp_path, dtype, gz):
    array = (np.arange(60).reshape(3, 4, 5) - 20).astype(dtype)
    if dtype is np.uint8:
        array = np.arange(60, dtype=np.uint8).reshape(3, 4, 5) * 4
    path = write_idx(tmp_path / ("a.idx" + (".gz" if gz else "")), array, gz)
    back = datasets.read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape and np.array_equal(back, array)
    assert back.dtype.isnative


def test_read_idx_errors(tmp_path):
    good = idx_bytes(np.arange(10, dtype=np.uint8))
    cases = {"truncated": good[:-3], "header": good[:6], "magic": b"\x01" + good[1:], "type": good[:2] + b"\x07" +
             good[3:], "empty": b""}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(RuntimeError, match=name if name in ("truncated",) else str(tmp_path / name)):
            datasets.read_idx(tmp_path / name)
    (tmp_path / "bad.gz").write_bytes(gzip.compress(good)[:-8])
    with pytest.raises(RuntimeError, match="truncated or corrupted"):
        datasets.read_idx(tmp_path / "bad.gz")


def make_mnist(root, cls="MNIST", n_train=6, n_test=4, side=5):
    """A small MNIST-layout folder: training files uncompressed, test files gzipped."""
    raw = root / cls / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, n, gz in (("train", n_train, False), ("t10k", n_test, True)):
        images = rng.integers(0, 256, (n, side, side)).astype(np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(raw / f"{prefix}-images-idx3-ubyte{suffix}", images, gz)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz)
        arrays[prefix] = (images, labels)
    return arrays


@pytest.mark.parametrize("cls", ["MNIST", "FashionMNIST"])
def test_mnist_layout_items_and_loader(tmp_path, cls):
    arrays = make_mnist(tmp_path, cls)
    Dataset = getattr(datasets, cls)
    train, test = Dataset(str(tmp_path), train=True), Dataset(tmp_path, train=False)
    assert len(train) == 6 and len(test) == 4 and len(train.classes) == 10
    assert train.data.dtype is gg.uint8 and train.targets.dtype is gg.int64
    image, label = test[1]
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8 and type(label) is int
    np.testing.assert_array_equal(image, arrays["t10k"][0][1])
    assert label == arrays["t10k"][1][1]
    images, labels = next(iter(DataLoader(train, batch_size=4)))
    assert images.dtype is gg.uint8 and images.shape == (4, 5, 5) and labels.tolist() == arrays["train"][1][:4].tolist()
    tensors = Dataset(tmp_path, transform=T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.25,))]),
                      target_transform=lambda y: y + 100)
    image, label = tensors[0]
    expected = (arrays["train"][0][0].astype(np.float32) / 255 - 0.5) / 0.25
    assert image.shape == (1, 5, 5) and label == arrays["train"][1][0] + 100
    np.testing.assert_allclose(image.numpy()[0], expected, rtol=1e-6)
    batch, labels = next(iter(DataLoader(tensors, batch_size=3)))
    assert batch.shape == (3, 1, 5, 5) and labels.tolist() == (arrays["train"][1][:3] + 100).tolist()
    text = repr(tensors)
    assert text.startswith(f"Dataset {cls}\n    Number of datapoints: 6\n    Root location: {tmp_path}\n    "
                           "Split: Train\n    StandardTransform\nTransform: Compose(\n")
    assert "Target transform: " in text


def test_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(RuntimeError) as e:
        datasets.MNIST(tmp_path / "data", download=False)
    message = str(e.value)
    assert "download=True" in message and os.path.join(str(tmp_path / "data"), "MNIST", "raw") in message
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        assert name in message


def test_offline_download_fails_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/", "http://127.0.0.1:9/other/"])
    with pytest.raises(RuntimeError) as e:
        datasets.FashionMNIST(tmp_path, download=True)
    message = str(e.value)
    assert "Downloading FashionMNIST failed" in message and "http://127.0.0.1:9/other/" in message
    assert os.path.join(str(tmp_path), "FashionMNIST", "raw") in message and "train-images-idx3-ubyte.gz" in message
    assert not [f for f in os.listdir(tmp_path / "FashionMNIST" / "raw")]  # nothing half-written


def test_download_tries_mirrors_and_checks_md5(tmp_path, monkeypatch):
    source = tmp_path / "source"
    source.mkdir()
    arrays = make_mnist(source)
    files = {}
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        path = source / "MNIST" / "raw" / name
        data = path.read_bytes() if path.exists() else gzip.decompress((source / "MNIST" / "raw" / (name + ".gz"))
                                                                         .read_bytes())
        files[name + ".gz"] = gzip.compress(data)
    resources = [(name, hashlib.md5(data).hexdigest()) for name, data in files.items()]
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://bad.invalid/", "http://good.invalid/"])
    asked = []

    def urlopen(url, timeout=None):
        asked.append(url)
        name = url.rsplit("/", 1)[1]
        if url.startswith("http://bad.invalid/"):
            return io.BytesIO(b"corrupted " + files[name])  # wrong checksum: the next mirror is tried
        return io.BytesIO(files[name])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    ds = datasets.MNIST(tmp_path, train=False, download=True)
    assert len(asked) == 8 and ds.targets.tolist() == arrays["t10k"][1].tolist()
    assert sorted(os.listdir(tmp_path / "MNIST" / "raw")) == sorted(files)
    asked.clear()
    datasets.MNIST(tmp_path, download=True)
    assert asked == []  # present files are not fetched again


def test_to_tensor():
    hwc = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    t = T.ToTensor()(hwc)
    assert t.dtype is gg.float32 and t.shape == (3, 2, 3)
    np.testing.assert_array_equal(t.numpy(), hwc.transpose(2, 0, 1).astype(np.float32) / 255)
    assert T.ToTensor()(hwc[:, :, 0]).shape == (1, 2, 3)
    floats = np.full((2, 2, 1), 7.0)
    assert T.ToTensor()(floats).dtype is gg.float64 and T.ToTensor()(floats).tolist() == [[[7.0, 7.0], [7.0, 7.0]]]
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()(gg.zeros(2, 2))
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 1 dimensions."):
        T.ToTensor()(np.zeros(3, np.uint8))


def test_normalize_compose_lambda():
    image = gg.arange(12.0).reshape(3, 2, 2)
    out = T.Normalize([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])(image)
    expected = (np.arange(12.0).reshape(3, 2, 2) - np.array([1, 2, 3.0])[:, None, None]) / np.array(
        [1, 2, 4.0])[:, None, None]
    np.testing.assert_allclose(out.numpy(), expected)
    assert image.tolist()[0][0] == [0.0, 1.0]  # not in place by default
    T.Normalize([1.0], [2.0], inplace=True)(image)
    assert image.tolist()[0][0] == [-0.5, 0.0]
    assert T.Normalize([0.0], [1.0])(gg.ones(2, 1, 2, 2)).shape == (2, 1, 2, 2)
    with pytest.raises(TypeError, match="Input tensor should be a float tensor"):
        T.Normalize([0], [1])(gg.ones(1, 2, 2, dtype=gg.int64))
    with pytest.raises(ValueError, match="Expected tensor to be a tensor image"):
        T.Normalize([0], [1])(gg.ones(2, 2))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize([0], [0])(gg.ones(1, 2, 2))
    pipeline = T.Compose([T.ToTensor(), T.Lambda(lambda x: x * 2), T.Normalize((0.1307,), (0.3081,))])
    assert repr(pipeline) == "Compose(\n    ToTensor()\n    Lambda()\n    Normalize(mean=(0.1307,), std=(0.3081,))\n)"
    assert pipeline(np.full((2, 2), 255, np.uint8)).shape == (1, 2, 2)
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)


def test_digits():
    from sklearn.datasets import load_digits
    train, test = datasets.digits(train=True), datasets.digits(train=False)
    assert (len(train), len(test)) == (1438, 359)
    image, label = train[0]
    assert image.shape == (1, 8, 8) and image.dtype is gg.float32 and type(label) is int
    assert train.data.dtype is gg.float32 and train.targets.dtype is gg.int64
    assert float(train.data.min()) == 0.0 and float(train.data.max()) == 1.0
    again = datasets.digits(train=True)
    assert train.targets.tolist() == again.targets.tolist()  # the split is fixed
    everything = np.concatenate([train.data.numpy(), test.data.numpy()]).reshape(-1, 64) * 16
    reference = load_digits().data
    assert sorted(map(bytes, everything.astype(np.uint8))) == sorted(map(bytes, reference.astype(np.uint8)))
    images, labels = next(iter(DataLoader(train, batch_size=64, shuffle=True)))
    assert images.shape == (64, 1, 8, 8) and labels.dtype is gg.int64
    flipped = datasets.digits(transform=lambda x: 1 - x)
    assert float(flipped[0][0].sum()) == pytest.approx(64 - float(train[0][0].sum()))


def test_digits_without_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install graphgrad\[examples\]"):
        datasets.digits()
