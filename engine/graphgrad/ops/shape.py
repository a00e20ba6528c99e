"""Shape ops. Views share memory and the version counter with their input (is_view);
cat, stack, split and friends copy or slice."""
import numpy as np

from .. import dtypes
from ..tensor import Tensor
from .dispatch import Op, apply, op
from .index import getitem
from .public import public
from .util import broadcast_shapes, int_sizes, shape_arg, sum_to, variant, wrap_dim, xp_of


class View(Op):
    in_shape: tuple
    is_view = True

    def backward(self, grad):
        return (grad.reshape(self.in_shape),)


def infer_shape(shape, numel):
    """Resolve one -1, with PyTorch's errors."""
    shape = list(shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s} at index {shape.index(s)} of shape {_fmt(shape)}")
            known *= s
    if unknown:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{_fmt(shape)}' is invalid for input of size {numel}")
        shape[unknown[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{_fmt(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _fmt(shape):
    return "[" + ", ".join(map(str, shape)) + "]"


def _view_of(x, shape):
    """A view of x with a new shape, or None when the strides do not allow one."""
    if x.flags.c_contiguous:
        return x.reshape(shape)
    if type(x) is np.ndarray:
        try:
            return np.reshape(x, shape, copy=False)
        except ValueError:
            return None
    return None


@op("view", "ViewBackward0", category="shape")
class ViewOp(View):
    def forward(self, x, shape):
        self.in_shape = x.shape
        shape = infer_shape(shape, x.size)
        out = _view_of(x, shape)
        if out is None:
            raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                               "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return out


@op("reshape_copy", "UnsafeViewBackward0", category="shape")
class ReshapeCopy(Op):
    """reshape of memory that cannot be viewed that way: PyTorch clones (CloneBackward0), then
    reshapes the private copy (UnsafeViewBackward0); `reshape` does the same, node for node."""

    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    backward = View.backward


@public(method=True)
def view(input: Tensor, *shape) -> Tensor:
    shape = _dtype_or_shape(shape)
    return apply(ViewOp, input, shape=shape)


def _dtype_or_shape(shape):
    return int_sizes(shape, "view")


@public(method=True)
def reshape(input: Tensor, *shape) -> Tensor:
    shape = infer_shape(int_sizes(shape, "reshape", "shape"), input._data.size)
    if _view_of(input._data, shape) is not None:
        return apply(ViewOp, input, shape=shape)
    return apply(ReshapeCopy, apply(Clone, input), shape=shape)


@public(method=True)
def flatten(input: Tensor, start_dim=0, end_dim=-1) -> Tensor:
    nd = input._data.ndim
    if nd == 0:
        return reshape(input, 1)
    start, end = wrap_dim(start_dim, nd), wrap_dim(end_dim, nd)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    s = input._data.shape
    return reshape(input, s[:start] + (-1,) + s[end + 1:])


@public(method=True)
def unflatten(input: Tensor, dim, sizes) -> Tensor:
    dim = wrap_dim(dim, input.ndim)
    s = input._data.shape
    return reshape(input, s[:dim] + int_sizes(tuple(sizes), "unflatten", "sizes") + s[dim + 1:])


@op("squeeze", "SqueezeBackward0", category="shape")
class Squeeze(View):
    def forward(self, x, dims=None):
        self.in_shape = x.shape
        if dims is None:
            return x.reshape(tuple(s for s in x.shape if s != 1))
        return x.reshape(tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


@op("squeeze_dim", "SqueezeBackward1", category="shape")
class SqueezeDim(Squeeze):
    pass


@op("squeeze_dims", "SqueezeBackward2", category="shape")
class SqueezeDims(Squeeze):
    pass


@public(method=True)
def squeeze(input: Tensor, dim=None) -> Tensor:
    nd = input._data.ndim
    if dim is None:
        return apply(Squeeze, input)
    if isinstance(dim, (tuple, list)):
        return apply(SqueezeDims, input, dims=tuple(wrap_dim(d, nd) for d in dim))
    return apply(SqueezeDim, input, dims=(wrap_dim(dim, nd),))


@op("unsqueeze", "UnsqueezeBackward0", category="shape")
class Unsqueeze(View):
    def forward(self, x, dim):
        self.in_shape = x.shape
        return xp_of(x).expand_dims(x, dim)


@public(method=True)
def unsqueeze(input: Tensor, dim) -> Tensor:
    return apply(Unsqueeze, input, dim=wrap_dim(dim, input._data.ndim + 1))


@op("transpose", "TransposeBackward0", category="shape")
class Transpose(View):
    def forward(self, x, dim0, dim1):
        self.dims = (dim0, dim1)
        return xp_of(x).swapaxes(x, dim0, dim1) if x.ndim else x[...]

    def backward(self, grad):
        return (xp_of(grad).swapaxes(grad, *self.dims) if grad.ndim else grad,)


@public(method=True, aliases=("swapaxes", "swapdims"))
def transpose(input: Tensor, dim0, dim1) -> Tensor:
    nd = input._data.ndim
    return apply(Transpose, input, dim0=wrap_dim(dim0, nd), dim1=wrap_dim(dim1, nd))




@op("t", "TBackward0", category="shape")
class T(Transpose):
    pass


@public(method=True)
def t(input: Tensor) -> Tensor:
    nd = input._data.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return apply(T, input, dim0=0, dim1=nd - 1 if nd else 0)


@op("permute", "PermuteBackward0", category="shape")
class Permute(View):
    def forward(self, x, dims):
        self.dims = dims
        return x.transpose(dims)

    def backward(self, grad):
        return (grad.transpose(np.argsort(self.dims)),)


@public(method=True)
def permute(input: Tensor, *dims) -> Tensor:
    dims = int_sizes(dims, "permute", "dims")
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal to "
                           f"len(dims) = {len(dims)}")
    dims = tuple(wrap_dim(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return apply(Permute, input, dims=dims)


@public(method=True, aliases=("moveaxis",))
def movedim(input: Tensor, source, destination) -> Tensor:
    nd = input.ndim
    src = [wrap_dim(d, nd) for d in (source if isinstance(source, (tuple, list)) else [source])]
    dst = [wrap_dim(d, nd) for d in (destination if isinstance(destination, (tuple, list)) else [destination])]
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, order)


@op("expand", "ExpandBackward0", category="shape")
class Expand(View):
    def forward(self, x, shape):
        self.in_shape = x.shape
        return xp_of(x).broadcast_to(x, shape)

    def backward(self, grad):
        return (sum_to(grad, self.in_shape),)


@public(method=True)
def expand(input: Tensor, *sizes) -> Tensor:
    return apply(Expand, input, shape=expanded_shape(input._data.shape, int_sizes(sizes, "expand"),
                                                     input._type_name()))


def expanded_shape(s, sizes, type_name):
    """The shape `expand(sizes)` gives a tensor of shape s (-1 keeps a size), with PyTorch's errors."""
    if len(sizes) < len(s):
        raise RuntimeError(f"expand({type_name}{{{list(s)}}}, size={list(sizes)}): the number of sizes "
                           f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
                           f"tensor ({len(s)})")
    lead = len(sizes) - len(s)
    target = []
    for i, want in enumerate(sizes):
        have = s[i - lead] if i >= lead else None
        if want == -1:
            if have is None:
                raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                                   f"non-existing dimension {i}")
            want = have
        elif have is not None and have != want and have != 1:
            raise RuntimeError(f"The expanded size of the tensor ({want}) must match the existing size ({have}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(s)}")
        target.append(want)
    return tuple(target)


@public(method=True)
def expand_as(input: Tensor, other) -> Tensor:
    return expand(input, other.shape)


@public(method=True)
def broadcast_to(input: Tensor, shape) -> Tensor:
    return expand(input, shape)


@op("clone", "CloneBackward0", category="shape")
class Clone(Op):
    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return (grad,)


@public(method=True)
def clone(input: Tensor, *, memory_format=None) -> Tensor:
    return apply(Clone, input)


@public(method=True)
def contiguous(input: Tensor, memory_format=None) -> Tensor:
    if input._data.flags.c_contiguous:
        return input
    return apply(Clone, input)


@op("cat", "CatBackward0", category="shape")
class Cat(Op):
    def forward(self, *xs, dim, dtype):
        self.dim = dim
        self.shapes = [x.shape for x in xs]
        self.dtypes = [x.dtype for x in xs]
        xs = [x.astype(dtype, copy=False) for x in xs if not (x.ndim == 1 and x.shape[0] == 0)] or [xs[0]]
        return xp_of(xs[0]).concatenate(xs, axis=dim)

    def backward(self, grad):
        xp = xp_of(grad)
        skipped = [s == (0,) and grad.ndim != 1 for s in self.shapes]  # empty 1-d tensors cat allows
        bounds = np.cumsum([0 if skip else s[self.dim] for s, skip in zip(self.shapes, skipped)])[:-1].tolist()
        parts = xp.split(grad, bounds, axis=self.dim)
        return tuple(xp.zeros((0,), d) if skip else p.astype(d, copy=False)
                     for p, d, skip in zip(parts, self.dtypes, skipped))


@public(aliases=("concat", "concatenate"))
def cat(tensors, dim=0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    dt = dtypes.result_type(*tensors)
    ref = next((x for x in tensors if not (x.ndim == 1 and x.shape[0] == 0)), tensors[0])
    if ref.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, ref.ndim)
    for i, x in enumerate(tensors):
        if x.ndim == 1 and x.shape[0] == 0:
            continue
        if x.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {x.ndim}")
        for k in range(ref.ndim):
            if k != d and x.shape[k] != ref.shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{ref.shape[k]} but got size {x.shape[k]} for tensor number {i} in the list.")
    return apply(Cat, *tensors, dim=d, dtype=dt.np)




@op("stack", "StackBackward0", category="shape")
class Stack(Op):
    def forward(self, *xs, dim, dtype):
        self.dim = dim
        self.dtypes = [x.dtype for x in xs]
        return xp_of(xs[0]).stack([x.astype(dtype, copy=False) for x in xs], axis=dim)

    def backward(self, grad):
        xp = xp_of(grad)
        return tuple(xp.take(grad, i, axis=self.dim).astype(d, copy=False) for i, d in enumerate(self.dtypes))


@public
def stack(tensors, dim=0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, x in enumerate(tensors):
        if x.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                               f"entry 0 and {list(x.shape)} at entry {i}")
    return apply(Stack, *tensors, dim=wrap_dim(dim, tensors[0].ndim + 1), dtype=dtypes.result_type(*tensors).np)


@public
def hstack(tensors) -> Tensor:
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


@public
def vstack(tensors) -> Tensor:
    return cat([x.reshape(1, -1) if x.ndim == 1 else x for x in tensors], 0)


@op("split", "SplitBackward0", category="shape")
class Split(Op):
    is_view = "all"

    def forward(self, x, sizes, dim):
        self.dim, self.shape, self.n_outputs = dim, x.shape, len(sizes)
        bounds = np.cumsum(sizes)[:-1].tolist()
        return tuple(xp_of(x).split(x, bounds, axis=dim))

    def backward(self, grads):
        grads = grads if self.n_outputs > 1 else (grads,)  # the scheduler passes one output's grad bare
        return (xp_of(grads[0]).concatenate(grads, axis=self.dim),)


@op("split_with_sizes", "SplitWithSizesBackward0", category="shape")
class SplitWithSizes(Split):
    pass


@public(method=True)
def split(tensor, split_size_or_sections, dim=0) -> tuple[Tensor, ...]:
    dim = wrap_dim(dim, tensor.ndim)
    n = tensor._data.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        sizes = [min(step, n - i) for i in range(0, n, step)] if step > 0 else [n]
        cls = Split
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                               f"dimension {dim}), but got split_sizes={sizes}")
        cls = SplitWithSizes
    return apply(cls, tensor, sizes=sizes or [0], dim=dim)


@public(method=True)
def chunk(input: Tensor, chunks, dim=0) -> tuple[Tensor, ...]:
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = input._data.shape[wrap_dim(dim, input.ndim)]
    step = -(-n // chunks) if n else 1
    return split(input, step, dim)


@op("unbind", "UnbindBackward0", category="shape")
class Unbind(Op):
    is_view = "all"

    def forward(self, x, dim):
        self.dim, self.n_outputs = dim, x.shape[dim]
        return tuple(xp_of(x).moveaxis(x, dim, 0))

    def backward(self, grads):
        grads = grads if self.n_outputs > 1 else (grads,)
        return (xp_of(grads[0]).stack(grads, axis=self.dim),)


@public(method=True)
def unbind(input: Tensor, dim=0) -> tuple[Tensor, ...]:
    if input._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return apply(Unbind, input, dim=wrap_dim(dim, input.ndim))


@op("narrow", "SliceBackward0", category="shape")
class Narrow(View):
    def forward(self, x, dim, start, length):
        self.in_shape, self.dim, self.start = x.shape, dim, start
        index = [slice(None)] * x.ndim
        index[dim] = slice(start, start + length)
        self.index = tuple(index)
        return x[self.index]

    def backward(self, grad):
        out = xp_of(grad).zeros(self.in_shape, grad.dtype)
        out[self.index] = grad
        return (out,)


@public(method=True)
def narrow(input: Tensor, dim, start, length) -> Tensor:
    dim = wrap_dim(dim, input.ndim)
    n = input._data.shape[dim]
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    start = start % n if start < 0 else start
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return apply(Narrow, input, dim=dim, start=start, length=length)


@op("repeat", "RepeatBackward0", category="shape")
class Repeat(Op):
    def forward(self, x, repeats):
        self.in_shape = x.shape
        lead = len(repeats) - x.ndim
        self.shape = (1,) * lead + x.shape
        return xp_of(x).tile(x.reshape(self.shape), repeats)

    def backward(self, grad):
        interleaved = []
        for r, s in zip(grad.shape, self.shape):
            interleaved += [r // s, s]
        g = grad.reshape(interleaved).sum(axis=tuple(range(0, len(interleaved), 2)))
        return (g.reshape(self.in_shape),)


@public(method=True)
def repeat(input: Tensor, *repeats) -> Tensor:
    repeats = shape_arg(repeats, "repeat", "repeats")
    if len(repeats) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                           "tensor")
    return apply(Repeat, input, repeats=repeats)


@op("flip", "FlipBackward0", category="shape")
class Flip(Op):
    def forward(self, x, dims):
        self.dims = dims
        return xp_of(x).flip(x, dims).copy()

    def backward(self, grad):
        return (xp_of(grad).flip(grad, self.dims),)


@public(method=True)
def flip(input: Tensor, dims) -> Tensor:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return apply(Flip, input, dims=tuple(wrap_dim(d, input.ndim) for d in dims))


@op("tril", "TrilBackward0", category="shape")
class Tril(Op):
    def forward(self, x, diagonal):
        self.k = diagonal
        return xp_of(x).tril(x, diagonal)

    def backward(self, grad):
        return (xp_of(grad).tril(grad, self.k),)


@op("triu", "TriuBackward0", category="shape")
class Triu(Op):
    def forward(self, x, diagonal):
        self.k = diagonal
        return xp_of(x).triu(x, diagonal)

    def backward(self, grad):
        return (xp_of(grad).triu(grad, self.k),)


@public(method=True)
def tril(input: Tensor, diagonal=0) -> Tensor:
    return apply(Tril, input, diagonal=diagonal)


@public(method=True)
def triu(input: Tensor, diagonal=0) -> Tensor:
    return apply(Triu, input, diagonal=diagonal)


@public(method=True)
def view_as(input: Tensor, other) -> Tensor:
    return view(input, other.shape)


@public(method=True)
def reshape_as(input: Tensor, other) -> Tensor:
    return reshape(input, other.shape)


@public
def atleast_1d(x):
    return reshape(x, 1) if x.ndim == 0 else x



@public(method=True)
def ravel(input: Tensor) -> Tensor:
    return view(contiguous(input), -1)  # PyTorch's ravel: a contiguous copy if needed, then a view


@public(method=True)
def tile(input: Tensor, dims) -> Tensor:
    dims = int_sizes((dims,) if isinstance(dims, int) else tuple(dims), "tile", "dims")
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)




@public
def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*(t._data.shape for t in tensors))
    return tuple(t if t._data.shape == shape else expand(t, shape) for t in tensors)


@public
def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    sizes = [t.numel() for t in tensors]
    swap = indexing == "xy" and len(tensors) >= 2   # xy: the first two axes trade places
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, t in enumerate(tensors):
        axis = {0: 1, 1: 0}.get(i, i) if swap else i
        out.append(expand(reshape(t, [-1 if k == axis else 1 for k in range(len(sizes))]), sizes))
    return tuple(out)


@op("roll", "RollBackward0", category="shape")
class Roll(Op):
    def forward(self, x, shifts, dims):
        self.shifts, self.dims = shifts, dims
        return xp_of(x).roll(x, shifts, axis=dims)

    def backward(self, grad):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return (xp_of(grad).roll(grad, back, axis=self.dims),)


@public(method=True)
def roll(input: Tensor, shifts, dims=None) -> Tensor:
    if dims is None:
        return apply(Roll, input, shifts=shifts, dims=None)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    return apply(Roll, input, shifts=shifts, dims=tuple(wrap_dim(d, input.ndim) for d in dims))


def _diagonal_index(xp, shape, offset, dim1, dim2):
    """(rows, cols) of the diagonal `offset` of the (dim1, dim2) planes of an array of `shape`."""
    n = max(0, min(shape[dim1] + min(offset, 0), shape[dim2] - max(offset, 0)))
    i = xp.arange(n)
    return i - min(offset, 0), i + max(offset, 0)


@op("diagonal", "DiagonalBackward0", category="shape")
class Diagonal(Op):
    """The diagonal of each (dim1, dim2) plane, as the last dim."""

    def forward(self, x, offset, dim1, dim2):
        self.args, self.in_shape = (offset, dim1, dim2), x.shape
        rows, cols = _diagonal_index(xp_of(x), x.shape, offset, dim1, dim2)
        return xp_of(x).moveaxis(x, (dim1, dim2), (-2, -1))[..., rows, cols]

    def backward(self, grad):
        xp = xp_of(grad)
        offset, dim1, dim2 = self.args
        rest = tuple(s for d, s in enumerate(self.in_shape) if d not in (dim1, dim2))
        out = xp.zeros(rest + (self.in_shape[dim1], self.in_shape[dim2]), grad.dtype)  # the planes last
        rows, cols = _diagonal_index(xp, self.in_shape, offset, dim1, dim2)
        out[..., rows, cols] = grad
        return (xp.moveaxis(out, (-2, -1), (dim1, dim2)),)


DiagCopy = variant(Diagonal, "diag", "DiagonalBackward0_copy")  # torch.diag of a matrix


@public(method=True)
def diagonal(input: Tensor, offset=0, dim1=0, dim2=1) -> Tensor:
    nd = input.ndim
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return apply(Diagonal, input, offset=offset, dim1=d1, dim2=d2)


@op("diag_embed", "DiagEmbedBackward0", category="shape")
class DiagEmbed(Op):
    """A vector as the diagonal `offset` of a square matrix (torch.diag of a vector)."""

    def forward(self, x, offset):
        xp = xp_of(x)
        n = x.shape[0] + abs(offset)
        self.offset, self.index = offset, _diagonal_index(xp, (n, n), offset, 0, 1)
        out = xp.zeros((n, n), x.dtype)
        out[self.index] = x
        return out

    def backward(self, grad):
        return (grad[self.index],)


@public(method=True)
def diag(input: Tensor, diagonal=0) -> Tensor:
    if input.ndim == 1:
        return apply(DiagEmbed, input, offset=diagonal)
    if input.ndim != 2:
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got %dD" % input.ndim)
    return apply(DiagCopy, input, offset=diagonal, dim1=0, dim2=1)


@op("trace", "TraceBackward0", category="shape")
class Trace(Op):
    def forward(self, x):
        self.in_shape = x.shape
        dtype = np.int64 if x.dtype.kind in "biu" else x.dtype
        return xp_of(x).trace(x).astype(dtype)

    def backward(self, grad):
        xp = xp_of(grad)
        out = xp.zeros(self.in_shape, grad.dtype)
        rows, cols = _diagonal_index(xp, self.in_shape, 0, 0, 1)
        out[rows, cols] = grad
        return (out,)


@public(method=True)
def trace(input: Tensor) -> Tensor:
    if input.ndim != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim %d" % input.ndim)
    return apply(Trace, input)


@public(method=True)
def select(input: Tensor, dim, index) -> Tensor:
    d = wrap_dim(dim, input.ndim)
    n = input._data.shape[d] if input.ndim else 0
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
                         f"dimension {dim}")
    return getitem(input, (slice(None),) * d + (index,))
