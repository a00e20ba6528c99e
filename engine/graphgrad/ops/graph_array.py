"""GraphArray: a tensor seen as an array, so that the ops' backward formulas, written once for
NumPy and CuPy arrays, record a graph when they run on tensors (create_graph=True, driven by
autograd.higher_order). `xp_of(graph_array)` gives a formula this module's Namespace: NumPy's
names, graphgrad's ops. It sits in the ops layer because ops' own formulas reach for it
(an op's regraph() puts its saved inputs back in the graph with saved_input)."""
import operator

import numpy as np

from .. import dtypes
from ..node import AccumulateGrad
from ..tensor import Tensor
from .dispatch import REGISTRY, apply
from .index import IndexPut


class GraphArray:
    """A tensor seen as an array by the ops' backward formulas.

    Writes (a[key] = v) replace the array's tensor by a new one, out of place: NumPy would write
    into memory that views share, so a write into a view (what reshape, transpose, moveaxis and
    indexing give) raises instead of silently missing the array it views."""
    __slots__ = ("tensor", "is_view")
    __hash__ = None  # pyright: ignore[reportAssignmentType]  # __eq__ is elementwise
    __array_ufunc__ = None  # `ndarray * GraphArray` asks GraphArray.__rmul__ instead of NumPy

    def __init__(self, tensor, is_view=False):
        self.tensor, self.is_view = tensor, is_view

    def __array__(self, *args, **kwargs):  # np.<fn>(graph_array): never an object array
        raise TypeError("a GraphArray is not a NumPy array")

    def __bool__(self):
        """A formula may branch on a value no derivative goes through (whether x has zeros): one
        that has a gradient would make the graph depend on it."""
        if self.tensor.requires_grad:
            raise TypeError("the truth value of a GraphArray that needs a gradient")
        return bool(self.tensor.item())

    def any(self):
        return GraphArray(self.tensor.any())

    shape = property(lambda self: self.tensor._data.shape)
    dtype = property(lambda self: self.tensor._data.dtype)
    ndim = property(lambda self: self.tensor._data.ndim)
    size = property(lambda self: self.tensor._data.size)
    T = property(lambda self: GraphArray(self.tensor.T, True))

    def sum(self, axis=None, keepdims=False, dtype=None):
        t = self.tensor if dtype is None else self.tensor.to(dtypes.from_numpy(np.dtype(dtype)))
        return GraphArray(t.sum() if axis is None and not keepdims else t.sum(dim=_dims(axis, t), keepdim=keepdims))

    def mean(self, axis=None, keepdims=False):
        t = self.tensor
        return GraphArray(t.mean() if axis is None and not keepdims else t.mean(dim=_dims(axis, t), keepdim=keepdims))

    def var(self, axis=None, keepdims=False, ddof=0):
        t = self.tensor
        return GraphArray(t.var(dim=_dims(axis, t), correction=ddof, keepdim=keepdims))

    def reshape(self, *shape):
        return GraphArray(self.tensor.reshape(*shape), True)

    def astype(self, dtype, copy=True):
        dtype = np.dtype(dtype)
        return self if dtype == self.dtype else GraphArray(self.tensor.to(dtypes.from_numpy(dtype)))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes
        return GraphArray(self.tensor.permute(*map(int, axes)) if len(axes) else self.tensor.T, True)

    def swapaxes(self, a, b):
        return GraphArray(self.tensor.transpose(a, b), True)

    def __getitem__(self, key):
        return GraphArray(self.tensor[_tensor(key) if isinstance(key, GraphArray) else key], True)

    def __setitem__(self, key, value):
        value = _tensor(value)
        if isinstance(value, Tensor) and value.dtype != self.tensor.dtype:
            value = value.to(self.tensor.dtype)
        self._replace(apply(IndexPut, self.tensor, value, key=key))

    def copy(self):
        return GraphArray(self.tensor)

    def _replace(self, tensor):
        """What a write (a[key] = v, a += b) does: the array holds the new tensor (aliases of this
        object see it, as with NumPy; views of it would not, so writing into a view raises)."""
        if self.is_view:
            raise NotImplementedError("its formula writes into a view")
        self.tensor = tensor
        return self

    def __array_namespace__(self):
        """What xp_of(graph_array) gives a backward formula (the array API's protocol)."""
        return namespace(self)

    def __repr__(self):
        return f"GraphArray({self.tensor!r})"


def _dims(axis, t):
    return tuple(range(t.ndim)) if axis is None else axis


def _tensor(x):
    """An operand as graphgrad sees it: a GraphArray's tensor, an array as a constant tensor."""
    if isinstance(x, GraphArray):
        return x.tensor
    if hasattr(x, "dtype") and not isinstance(x, Tensor):  # a NumPy or CuPy array, a NumPy scalar
        return Tensor._wrap(x)
    return x


def _lift(fn, view=False):
    """A graphgrad function taking tensors, as a function taking and giving array-likes."""
    def lifted(*args, **kwargs):
        return GraphArray(fn(*[_tensor(a) for a in args], **kwargs), view)
    return lifted


def _operators():
    ops = {}
    for name in ("add", "sub", "mul", "truediv", "pow", "matmul", "gt", "ge", "lt", "le", "eq", "ne", "and",
                 "or", "xor"):
        fn = getattr(operator, name + "_" if name in ("and", "or") else name)
        ops[f"__{name}__"] = (lambda fn: lambda self, other: GraphArray(fn(self.tensor, _tensor(other))))(fn)
        if name not in ("gt", "ge", "lt", "le", "eq", "ne"):
            ops[f"__r{name}__"] = (lambda fn: lambda self, other: GraphArray(fn(_tensor(other), self.tensor)))(fn)
        if name in ("add", "sub", "mul", "truediv"):
            ops[f"__i{name}__"] = (lambda fn: lambda self, other: self._replace(fn(self.tensor, _tensor(other))))(fn)
    ops["__neg__"] = lambda self: GraphArray(-self.tensor)
    ops["__abs__"] = lambda self: GraphArray(abs(self.tensor))
    ops["__invert__"] = lambda self: GraphArray(~self.tensor)
    return ops


for _name, _fn in _operators().items():
    setattr(GraphArray, _name, _fn)


class Namespace:
    """What `xp_of(grad)` gives a backward formula when grad is a GraphArray: NumPy's names,
    graphgrad's ops. Constants (zeros to write a gradient into, index arrays) are made by the
    array module of the tensors' device, `xp`."""

    def __init__(self, xp):
        # made on first use, by then the ops package is whole (its op files import this module)
        from .. import ops as gg
        for name in ("exp", "log", "log2", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh", "sinh",
                     "cosh", "sign", "abs", "maximum", "minimum", "outer", "logical_not", "floor", "trunc",
                     "isnan", "isfinite", "erf", "logaddexp"):
            setattr(self, name, _lift(getattr(gg, name)))
        self.where = _lift(gg.where)
        self.expand_dims = _lift(lambda a, axis: a.unsqueeze(axis), view=True)
        self.broadcast_to = _lift(lambda a, shape: a.expand(*shape), view=True)
        self.reshape = _lift(lambda a, shape: a.reshape(shape), view=True)
        self.swapaxes = _lift(lambda a, x, y: a.transpose(x, y), view=True)
        self.moveaxis = _lift(gg.movedim, view=True)
        self.cumsum = _lift(lambda a, axis: gg.cumsum(a, axis))
        self.clip = _lift(lambda a, lo, hi: gg.clamp(a, lo, hi))
        self.flip = _lift(lambda a, axis=None: gg.flip(a, tuple(range(a.ndim)) if axis is None else axis))
        self.tril = _lift(lambda a, k=0: gg.tril(a, k))
        self.triu = _lift(lambda a, k=0: gg.triu(a, k))
        self.roll = _lift(lambda a, shift, axis=None: gg.roll(a, shift, axis))
        self.take = _lift(_take)
        self.sum = lambda a, axis=None, keepdims=False, dtype=None: GraphArray(_tensor(a)).sum(axis, keepdims, dtype)
        self.concatenate = lambda arrays, axis=0: GraphArray(gg.cat([_tensor(a) for a in arrays], dim=axis))
        self.stack = lambda arrays, axis=0: GraphArray(gg.stack([_tensor(a) for a in arrays], dim=axis))
        self.einsum = lambda equation, *arrays: GraphArray(gg.einsum(equation, *[_tensor(a) for a in arrays]))
        self.split, self.put_along_axis, self.add = _split, _put_along_axis, _AddAt()
        self.pad = _pad
        self.linalg = _LinalgNamespace(gg.linalg)  # pyright: ignore[reportAttributeAccessIssue]  (ops/linalg.py)
        constant = lambda make: lambda *args, **kwargs: GraphArray(Tensor._wrap(make(*args, **kwargs)))
        self.zeros, self.ones = constant(xp.zeros), constant(xp.ones)  # a gradient is often written into zeros
        self.zeros_like = constant(lambda a, dtype=None: xp.zeros(a.shape, dtype or a.dtype))
        self.ones_like = constant(lambda a, dtype=None: xp.ones(a.shape, dtype or a.dtype))
        self.asarray, self.arange, self.eye = xp.asarray, xp.arange, constant(xp.eye)  # constants
        self.ascontiguousarray = lambda a: a  # a graph array's layout is the tensor's business
        self.cumprod = _lift(lambda a, axis: gg.cumprod(a, axis))

    def __getattr__(self, name):
        raise AttributeError(f"its formula uses NumPy's {name}, which graphgrad's array view of tensors lacks")


_namespaces = {}  # array module -> Namespace, made on first use


def namespace(array):
    xp = array.tensor._xp()
    space = _namespaces.get(xp)
    if space is None:
        space = _namespaces[xp] = Namespace(xp)
    return space


class _LinalgNamespace:
    def __init__(self, linalg):
        self.inv, self.det, self.solve = _lift(linalg.inv), _lift(linalg.det), _lift(linalg.solve)

    def __getattr__(self, name):
        raise AttributeError(f"its formula uses NumPy's linalg.{name}, which graphgrad's array view lacks")


def _constant(values, like):
    """values (a number, an array) as a tensor of like's dtype on like's device."""
    values = _tensor(values)
    return values if isinstance(values, Tensor) else Tensor._wrap(like.tensor._xp().asarray(values, like.dtype))


def _take(a, indices, axis):
    indices = a._xp().asarray(indices)
    picked = a.index_select(axis, Tensor._wrap(indices.reshape(-1)))
    return picked.reshape(a.shape[:axis] + indices.shape + a.shape[axis + 1:])


def _pad(a, widths, mode="constant", constant_values=0):
    """np.pad's constant mode: (before, after) for every dim, as the constant_pad_nd op takes them."""
    if mode != "constant":
        raise AttributeError(f"np.pad(mode={mode!r})")
    pads = [(int(before), int(after)) for before, after in widths]
    return GraphArray(apply(REGISTRY["constant_pad_nd"], _tensor(a), pads=pads, value=constant_values))


def _split(a, sections, axis=0):
    t = _tensor(a)
    if isinstance(sections, int):
        return [GraphArray(p) for p in t.chunk(sections, axis)]
    bounds = [0, *sections, t.shape[axis]]
    return [GraphArray(p) for p in t.split([hi - lo for lo, hi in zip(bounds, bounds[1:])], axis)]


def _put_along_axis(a, indices, values, axis):
    """In place in NumPy; here `a` takes the scattered result (its tensor is replaced)."""
    a.tensor = a.tensor.scatter(axis, Tensor._wrap(indices), _constant(values, a).expand(*indices.shape))


class _AddAt:
    """xp.add.at(a, key, values), the scatter-add that indexing's backward writes: a becomes
    a with the values added at its flat positions a[key] (index_add, which differentiates)."""

    @staticmethod
    def at(a, key, values):
        positions = a.tensor._xp().arange(a.size).reshape(a.shape)[key]
        values = _constant(values, a)
        if tuple(values.shape) != positions.shape:
            values = values.expand(*positions.shape)
        flat = a.tensor.reshape(-1).index_add(0, Tensor._wrap(positions.reshape(-1)), values.reshape(-1))
        a.tensor = flat.reshape(a.shape)


def saved_input(node, i, array):
    """Input i's saved array as a graph array in the forward graph again (a constant input stays
    an array): what an op's regraph() uses for inputs it keeps in a container."""
    fn, nr = node.next_functions[i]
    if fn is None:
        return array  # a constant: it stays an array
    if type(fn) is AccumulateGrad:
        leaf = fn.variable
        if leaf._data is array:
            return GraphArray(leaf)
        if leaf._data.shape != array.shape:
            raise NotImplementedError(f"it keeps input {i} in another shape")
        return GraphArray(leaf.to(dtypes.from_numpy(array.dtype)))  # promoted by the op
    t = Tensor._wrap(array, requires_grad=True)
    t.grad_fn, t._output_nr = fn, nr
    return GraphArray(t)
