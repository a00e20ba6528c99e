"""Data types: PyTorch's names over NumPy's dtypes, and PyTorch's promotion rules."""
import ml_dtypes
import numpy as np


class dtype:
    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_legacy")

    def __init__(self, name, np_dtype, legacy):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f" or self.np == ml_dtypes.bfloat16  # (NumPy's kind: "V")
        self.is_signed = self.is_floating_point or self.np.kind == "i"
        self.itemsize = self.np.itemsize
        self._legacy = legacy  # "FloatTensor", as PyTorch names tensor types in errors

    def __repr__(self):
        return "graphgrad." + self.name

    def __reduce__(self):
        return (from_name, (self.name,))

    @property
    def category(self):  # bool < integer < floating: the order promotion climbs
        return 2 if self.is_floating_point else (0 if self.np.kind == "b" else 1)


bool_ = dtype("bool", np.bool_, "BoolTensor")
uint8 = dtype("uint8", np.uint8, "ByteTensor")
int8 = dtype("int8", np.int8, "CharTensor")
int16 = dtype("int16", np.int16, "ShortTensor")
int32 = dtype("int32", np.int32, "IntTensor")
int64 = dtype("int64", np.int64, "LongTensor")
float16 = dtype("float16", np.float16, "HalfTensor")
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, "BFloat16Tensor")
float32 = dtype("float32", np.float32, "FloatTensor")
float64 = dtype("float64", np.float64, "DoubleTensor")

all_dtypes = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
_by_np = {d.np: d for d in all_dtypes}
_by_name = {d.name: d for d in all_dtypes}
_by_name.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64)

_default_float = float32


def from_name(name):
    return _by_name[name]


def from_numpy(np_dtype):
    try:
        return _by_np[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types are: "
                        "float64, float32, float16, int64, int32, int16, int8, uint8, and bool.") from None


def get_default_dtype():
    return _default_float


def set_default_dtype(d):
    global _default_float
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default_float = d


def promote_types(a, b):
    """PyTorch's table: within a category NumPy agrees; across categories the higher one wins."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    if a is bfloat16 or b is bfloat16:  # bfloat16 with float16 needs float32 to hold both
        other = b if a is bfloat16 else a
        return float32 if other is float16 else other
    return _by_np[np.promote_types(a.np, b.np)]


def scalar_dtype(value) -> "dtype":
    """The dtype a Python number takes part in promotion as (a 'wrapped number')."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    return _default_float


def result_type(*operands):
    """torch.result_type: tensors with dimensions outrank 0-d tensors, which outrank Python
    numbers, unless a lower rank brings a higher category (float over int over bool)."""
    ranks: list[dtype | None] = [None, None, None]  # dimensioned tensors, 0-d tensors, Python numbers
    for x in operands:
        if isinstance(x, (bool, int, float)):
            r, d = 2, scalar_dtype(x)
        else:
            r, d = (0 if x.ndim else 1), x.dtype
        ranks[r] = d if ranks[r] is None else promote_types(ranks[r], d)
    return _combine(ranks[0], _combine(ranks[1], ranks[2]))


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None or higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher
