"""MNIST and FashionMNIST, read from their IDX files in `root/<ClassName>/raw/` (plain or .gz),
where torchvision keeps them, so an existing torchvision download works as is."""
import gzip
import hashlib
import os
import struct
import tempfile
import urllib.request

import numpy as np

from ..tensor import Tensor
from .vision import LabelledImages

# IDX type codes -> big-endian dtypes (the format: 0, 0, type code, ndim, then ndim uint32 sizes)
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """The array in an IDX file (gzipped when the name ends in .gz)."""
    path = os.fspath(path)
    try:
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
            data: bytes = f.read()  # pyright: ignore[reportAssignmentType]  ("rb": bytes)
    except (OSError, EOFError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise RuntimeError(f"{path}: cannot be read ({e}); the file is truncated or corrupted") from None
    if len(data) < 4 or data[:2] != b"\0\0":
        raise RuntimeError(f"{path}: not an IDX file (an IDX file starts with two zero bytes, a type code and the "
                           "number of dimensions)")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_TYPES:
        raise RuntimeError(f"{path}: unknown IDX type code {type_code:#04x}")
    start = 4 + 4 * ndim
    if len(data) < start:
        raise RuntimeError(f"{path}: the IDX header is cut short: the file is truncated")
    shape = struct.unpack(f">{ndim}I", data[4:start])
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - start != expected:
        raise RuntimeError(f"{path}: the header promises {expected} bytes of data (shape {list(shape)}) but the file "
                           f"holds {len(data) - start}: it is truncated or corrupted")
    return np.frombuffer(data, dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(LabelledImages):
    """60,000 training and 10,000 test 28x28 grayscale digits. Items are (image, label): the
    image an HxW uint8 array (what transforms.ToTensor takes), the label an int."""
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = [("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                 ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                 ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        root = os.path.expanduser(os.fspath(root)) if root is not None else root
        super().__init__(root, transform, target_transform)
        self.train = train
        missing = [name for name, _ in self.resources if self._find(name) is None]
        if missing:
            if not download:
                raise RuntimeError("Dataset not found. You can use download=True to download it, or "
                                   + self._where(missing))
            self._download(missing)
        prefix = "train" if train else "t10k"
        self.data = Tensor._wrap(self._read(f"{prefix}-images-idx3-ubyte", 3).astype(np.uint8, copy=False))
        self.targets = Tensor._wrap(self._read(f"{prefix}-labels-idx1-ubyte", 1).astype(np.int64))
        if len(self.data) != len(self.targets):
            raise RuntimeError(f"{self.raw_folder}: {len(self.data)} images but {len(self.targets)} labels")

    @property
    def raw_folder(self):
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self):
        return {name: i for i, name in enumerate(self.classes)}

    def _find(self, gz_name):
        """The file as it is on disk: uncompressed (as torchvision leaves it) or gzipped."""
        plain = os.path.join(self.raw_folder, gz_name[:-3])
        for path in (plain, plain + ".gz"):
            if os.path.isfile(path):
                return path
        return None

    def _read(self, name, ndim):
        path = self._find(name + ".gz")
        array = read_idx(path)
        if array.ndim != ndim:
            raise RuntimeError(f"{path}: expected a {ndim}-dimensional IDX array, found shape {list(array.shape)}")
        return array

    def _where(self, missing):
        folder = os.path.abspath(self.raw_folder)
        return (f"put these {type(self).__name__} files in {folder} (gzipped as downloaded, or uncompressed without "
                f"the .gz):\n" + "\n".join(f"    {name}" for name in missing))

    def _download(self, missing):
        os.makedirs(self.raw_folder, exist_ok=True)
        md5s = dict(self.resources)
        for name in list(missing):
            failures = []
            for mirror in self.mirrors:
                try:
                    _fetch(mirror + name, os.path.join(self.raw_folder, name), md5s[name])
                    break
                except Exception as e:  # offline, refused, moved, or a bad checksum: try the next mirror
                    failures.append(f"{mirror + name}: {e}")
            else:
                raise RuntimeError(f"Downloading {type(self).__name__} failed:\n" + "\n".join(
                    "    " + f for f in failures) + "\nWithout a connection, " + self._where(missing))
            missing.remove(name)


class FashionMNIST(MNIST):
    """Zalando's 28x28 grayscale clothing images, in MNIST's format."""
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


def _fetch(url, path, md5):
    """Download url to path (via a temporary file, so a broken download leaves nothing behind)
    and check its MD5."""
    with urllib.request.urlopen(url, timeout=30) as response:
        data = response.read()
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if digest != md5:
        raise RuntimeError(f"checksum mismatch (MD5 {digest}, expected {md5})")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
