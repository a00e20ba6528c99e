"""The op table (in the manner of PyTorch's OpInfo): for every op in graphgrad's registry, how
to call it in graphgrad and in torch, and sample inputs to call it with.

An entry's `fn(lib, *args, **kwargs)` runs with `lib` = graphgrad or torch; the arguments are
the sample's, with NumPy arrays turned into that library's tensors (floating ones requiring
grad) and `D("float64")` into its dtype. Samples are drawn for each dtype the entry lists, from
the `make` helper, which draws arrays of that dtype. test_ops.py generates its tests from here.

A new op (`@op(...)` anywhere in the engine) fails test_every_registered_op_has_an_entry until an
entry here names it in `ops`; the entry's samples are then checked against torch for values and
result dtypes, gradients, grad_fn names and float64 finite differences. For example:

    OpInfo("hypot", lambda make: binary(make, scalars=()))         # graphgrad.hypot vs torch.hypot
    _nn("log_sigmoid", _activation("logsigmoid"), fn=F("logsigmoid"))  # nn.functional.logsigmoid
"""
import numpy as np

FLOAT = ("float32", "float64")
INT = ("int64", "int32")
BOOL = ("bool",)
ALL = FLOAT + INT + BOOL


class D:
    """A dtype named in a sample, e.g. sum(x, dtype=D("float64")); each library gets its own."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"D({self.name!r})"


class Sample:
    def __init__(self, args, kwargs, grad=True, const=()):
        self.args, self.kwargs, self.grad, self.const = args, kwargs, grad, const

    def __repr__(self):
        def show(a):
            if isinstance(a, np.ndarray):
                return f"{a.dtype}{list(a.shape)}"
            if isinstance(a, (list, tuple)):
                inner = ", ".join(show(x) for x in a)
                return f"[{inner}]" if isinstance(a, list) else f"({inner})"
            return repr(a)
        parts = [show(a) for a in self.args] + [f"{k}={show(v)}" for k, v in self.kwargs.items()]
        return f"({', '.join(parts)})"


def S(*args, _grad=True, _const=(), **kwargs):
    """One sample: the call's arguments. _grad=False: compare values only; _const: positions or
    names of float arguments that take no gradient (running statistics, targets)."""
    return Sample(args, kwargs, _grad, _const)


class Make:
    """Draws arrays of one dtype: normal floats, small integers, random bools."""

    def __init__(self, dtype, seed=0):
        self.dtype = np.dtype(dtype)
        self.rng = np.random.default_rng(seed)
        self.floating = self.dtype.kind == "f"

    def __call__(self, *shape, low=None, high=None, nonzero=False):
        rng, kind = self.rng, self.dtype.kind
        if kind == "f":
            a = rng.uniform(low, high, shape) if low is not None else rng.standard_normal(shape)
            if nonzero:
                a = np.where(np.abs(a) < 0.1, 0.5, a)
        elif kind in "iu":
            a = rng.integers(-9 if low is None else low, 10 if high is None else high, shape)
            if nonzero:
                a = np.where(a == 0, 3, a)
        else:
            a = rng.random(shape) < 0.5
            if nonzero:
                a = np.ones(shape, bool)
        return np.asarray(a, self.dtype)

    def positive(self, *shape):
        return self(*shape, low=0.5, high=2.0) if self.floating else self(*shape, low=1, high=10)

    def distinct(self, *shape):
        """No ties (for max/min/sort, whose indices are only defined without ties)."""
        n = int(np.prod(shape))
        if self.dtype.kind == "b":
            return self(*shape)
        values = self.rng.permutation(n) - n // 2
        return (values * 0.37 if self.floating else values).reshape(shape).astype(self.dtype)

    def index(self, high, *shape):
        return self.rng.integers(0, high, shape).astype(np.int64)

    def mask(self, *shape):
        return np.asarray(self.rng.random(shape) < 0.5)


class OpInfo:
    """fn: how to call it (default: lib.<name>); method: the Tensor method that is the same op
    (default: <name> where the first argument is a tensor); ops: the registry entries it runs."""

    def __init__(self, name, samples, ops=None, fn=None, method="", dtypes=FLOAT, grad=True, gradcheck=True,
                 atol=None, rtol=None, grad_atol=None, check_grad_fn=True):
        self.name = name
        self.samples = samples
        self.ops = tuple(ops) if ops is not None else (name,)
        self.fn = fn or (lambda lib, *args, **kwargs: getattr(lib, name)(*args, **kwargs))
        self.method = (name if fn is None else None) if method == "" else method
        self.dtypes = dtypes
        self.grad = grad
        self.gradcheck = grad and gradcheck
        self.atol, self.rtol, self.grad_atol = atol, rtol, grad_atol
        self.check_grad_fn = check_grad_fn

    def __repr__(self):
        return self.name


def method(name):
    """fn for ops torch has only as a Tensor method (x.view(...), x.expand(...))."""
    return lambda lib, x, *args, **kwargs: getattr(x, name)(*args, **kwargs)


def nnf(lib):
    """torch.nn.functional, or graphgrad's ops where graphgrad has no nn.functional yet."""
    if lib.__name__ == "torch":
        return lib.nn.functional
    try:
        from graphgrad.nn import functional
        return functional
    except ImportError:
        return lib


# ---- sample generators ---------------------------------------------------------------------------

def unary(make, positive=False, low=None, high=None):
    draw = make.positive if positive else (lambda *s: make(*s, low=low, high=high))
    yield S(draw(2, 3))
    yield S(draw(4))
    yield S(draw())
    yield S(draw(2, 1, 3))
    yield S(draw(0, 3))


def binary(make, nonzero=False, positive=False, scalars=(2.5, 3, True)):
    def draw(*shape):
        return make.positive(*shape) if positive else make(*shape, nonzero=nonzero)
    yield S(make(2, 3), draw(2, 3))
    yield S(make(2, 3), draw(3))              # broadcast one side
    yield S(make(4, 1, 3), draw(2, 1))        # broadcast both sides
    yield S(make(2, 3), draw())               # 0-d operand
    yield S(make(), draw(2, 3))
    yield S(make(), draw())
    yield S(make(0, 3), draw(1, 3))           # empty
    for s in scalars:                         # Python numbers
        yield S(make(2, 3), s)


def reduction(make, all_dims=True, tuple_dims=True):
    x = make(2, 3, 4)
    yield S(make(2, 3))
    yield S(make())
    yield S(x, 1)
    yield S(x, -1, keepdim=True)
    yield S(x, dim=0)
    if tuple_dims:
        yield S(x, (0, 2))
        yield S(x, (-1, 0), keepdim=True)
    yield S(make(3), 0)
    yield S(make(), 0)                        # dim 0 of a 0-d tensor is allowed
    yield S(make(), -1, keepdim=True)




# ---- the table ------------------------------------------------------------------------------------

def _unary_entries():
    spec = [  # name, sample keywords, dtypes
        ("exp", {}, ALL), ("log", dict(positive=True), ALL), ("log2", dict(positive=True), ALL),
        ("log1p", dict(positive=True), ALL), ("expm1", {}, ALL), ("sqrt", dict(positive=True), ALL),
        ("rsqrt", dict(positive=True), ALL), ("sin", {}, ALL), ("cos", {}, ALL), ("tan", dict(low=-1, high=1), ALL),
        ("tanh", {}, ALL), ("sigmoid", {}, ALL), ("reciprocal", dict(positive=True), ALL),
        ("atan", {}, ALL), ("asin", dict(low=-0.9, high=0.9), FLOAT), ("acos", dict(low=-0.9, high=0.9), FLOAT),
        ("sinh", {}, ALL), ("cosh", {}, ALL),
        ("neg", {}, FLOAT + INT), ("abs", {}, FLOAT + INT), ("relu", {}, FLOAT + INT),
        ("sign", {}, ALL), ("floor", {}, FLOAT + INT), ("ceil", {}, FLOAT + INT), ("round", {}, FLOAT + INT),
        ("trunc", {}, FLOAT + INT),
    ]
    for name, kw, dts in spec:
        yield OpInfo(name, lambda make, kw=kw: unary(make, **kw), dtypes=dts)


def _special_values(make):
    x = make(2, 4)
    if make.floating:
        x[0, 0], x[0, 1], x[1, 2] = np.inf, np.nan, -np.inf
    yield S(x)
    yield S(make())


def _getitem_samples(make):
    x = make(4, 3)
    yield S(x, 1)
    yield S(x, -1)
    yield S(x, (1, 2))
    yield S(x, (slice(None), 0))
    yield S(x, (Ellipsis, 1))
    yield S(x, (slice(1, None), slice(None, None, 2)))
    yield S(x, (None, slice(0, 2)))
    yield S(x, (slice(0, 2), None))
    yield S(x, (slice(None), slice(0, 3)))         # whole dims: PyTorch records an alias
    yield S(x, Ellipsis)
    yield S(x, None)
    yield S(x, slice(None))
    yield S(x, slice(1, 3))
    yield S(make(2, 3, 4), (0, slice(None), slice(1, 3)))


def _index_samples(make):
    x = make(4, 3)
    yield S(x, np.array([0, 2, 2]))                 # repeated index: gradients add up
    yield S(x, (np.array([0, 3]), np.array([1, 2])))
    yield S(x, (slice(None), np.array([2, 0])))
    yield S(x, make.mask(4, 3))
    yield S(x, make.mask(4))
    yield S(x, np.array([[0, 1], [3, 3]]))
    yield S(x, [0, 1])                              # a list is an integer index, as in NumPy


def _setitem(lib, x, key, value):
    y = x.clone()
    y[key] = value
    return y


def _setitem_samples(make):
    x = make(4, 3)
    yield S(x, np.array([0, 2]), make(2, 3))
    yield S(x, make.mask(4, 3), 7)
    yield S(x, (np.array([1, 3]), np.array([0, 2])), make(2))
    yield S(x, np.array([1]), make(3))             # value broadcasts


def _basic_setitem_samples(make):
    x = make(4, 3)
    yield S(x, 0, make(3))
    yield S(x, (slice(1, 3), 1), make(2))
    yield S(x, (Ellipsis, 0), 5)
    yield S(x, slice(None), make(1, 3))


def _matmul_samples(make):
    yield S(make(3, 4), make(4, 2))     # mm
    yield S(make(3, 4), make(4))        # mv
    yield S(make(4), make(4))           # dot
    yield S(make(2, 3, 4), make(2, 4, 5))
    yield S(make(2, 3, 4), make(4, 5))
    yield S(make(3, 4), make(2, 4, 5))
    yield S(make(1, 3, 4), make(2, 4, 5))
    yield S(make(2, 1, 3, 4), make(2, 4, 2))
    yield S(make(4), make(2, 4, 3))
    yield S(make(2, 3, 4), make(4))
    yield S(make(4), make(4, 3))
    yield S(make(0, 4), make(4, 2))


def _linear_samples(make):
    yield S(make(3, 4), make(5, 4), make(5))
    yield S(make(3, 4), make(5, 4))
    yield S(make(2, 3, 4), make(5, 4), make(5))
    yield S(make(2, 3, 4), make(5, 4))
    yield S(make(4), make(5, 4), make(5))
    yield S(make(4), make(5, 4))


def _cat_samples(make):
    yield S([make(2, 3), make(1, 3)])
    yield S([make(2, 3), make(2, 2)], 1)
    yield S([make(2, 3), make(2, 3), make(2, 3)], dim=-1)
    yield S([make(2, 3)])
    yield S([make(2, 3), make(0)])                   # legacy: empty 1-d tensors are skipped
    yield S([make(0, 3), make(2, 3)])


def _stack_samples(make):
    yield S([make(2, 3), make(2, 3)])
    yield S([make(2, 3), make(2, 3)], 1)
    yield S([make(2, 3), make(2, 3), make(2, 3)], dim=-1)
    yield S([make(), make()])


def _split_samples(make):
    x = make(5, 4)
    yield S(x, 2)
    yield S(x, 3, 1)
    yield S(x, 5, dim=-1)
    yield S(x, 1)


def _split_sizes_samples(make):
    x = make(5, 4)
    yield S(x, [2, 3])
    yield S(x, [1, 0, 3], 1)
    yield S(x, (4, 1), dim=0)


def _view_samples(make):
    x = make(2, 3, 4)
    yield S(x, 6, 4)
    yield S(x, (4, -1))
    yield S(x, -1)
    yield S(make(), 1)
    yield S(make(1), ())
    yield S(make(0, 3), 3, 0)


def _reshape_copy(lib, x, *shape):
    return x.transpose(0, 1).reshape(*shape)


def _squeeze_samples(make):
    x = make(2, 1, 3, 1)
    yield S(x)
    yield S(make())
    yield S(make(1, 1))


def _squeeze_dim_samples(make):
    x = make(2, 1, 3, 1)
    yield S(x, 1)
    yield S(x, -1)
    yield S(x, 0)                                   # a dim of size > 1 stays
    yield S(make(), 0)


def _permute_samples(make):
    x = make(2, 3, 4)
    yield S(x, 2, 0, 1)
    yield S(x, (1, 0, 2))
    yield S(x, [-1, -2, -3])
    yield S(make(), ())


def _expand_samples(make):
    yield S(make(3, 1), 3, 4)
    yield S(make(3, 1), (2, 3, 4))
    yield S(make(3, 1), -1, 5)
    yield S(make(), 2, 2)
    yield S(make(1), 0)




def _extreme_dim_samples(make):
    x = make.distinct(2, 3, 4)
    yield S(x, 1)
    yield S(x, -1, True)
    yield S(x, dim=0, keepdim=True)
    yield S(make.distinct(5), 0)
    yield S(make(), 0)


def _extreme_samples(make):
    yield S(make.distinct(2, 3))
    yield S(make())
    if make.floating:
        tie = make(2, 3)
        tie[0, 1] = tie[1, 2] = tie.max() + 1       # ties share the gradient evenly
        yield S(tie)


def _amax_samples(make):
    x = make.distinct(2, 3, 4)
    yield S(make.distinct(2, 3))
    yield S(x, 1)
    yield S(x, (0, 2), True)
    yield S(x, dim=-1, keepdim=True)
    yield S(make())
    if make.floating:
        tie = make(2, 3)
        tie[0, 1] = tie[0, 2] = tie.max() + 1
        yield S(tie, 1)


def _arg_samples(make):
    x = make.distinct(2, 3, 4)
    yield S(x)
    yield S(x, 1)
    yield S(x, -1, True)
    yield S(x, dim=0)
    yield S(make())
    yield S(make(), 0)
    yield S(x, keepdim=True)


def _var_samples(make):
    x = make(3, 4)
    yield S(x)
    yield S(x, 1)
    yield S(x, (0, 1), keepdim=True)
    yield S(x, -1, correction=0)
    yield S(x, 0, unbiased=False)
    yield S(x, False)
    yield S(x, dim=None, correction=2)
    yield S(make(2, 3, 4), (0, 2))


def _norm_samples(make):
    x = make(3, 4)
    yield S(x)
    yield S(x, 1)
    yield S(x, float("inf"))
    yield S(x, 3, 1)
    yield S(x, 2, (0, 1), True)
    yield S(x, p=1, dim=-1, keepdim=True)
    yield S(make(4), 0.5)


def _logical_reduce_samples(make):
    x = make(2, 3, 4)
    if make.floating:
        x[0, 0, 0] = 0
    yield S(x)
    yield S(x, 1)
    yield S(x, -1, True)
    yield S(make.mask(3, 2) | True)
    yield S(make(0, 2), 0)
    yield S(make())


def _clamp_samples(make):
    x = make(3, 4)
    yield S(x, -0.5, 0.5) if make.floating else S(x, -3, 3)
    yield S(x, min=0)
    yield S(x, max=1)
    yield S(x, -1.5, 2.5)
    yield S(make(), 0)


def _clamp_tensor_samples(make):
    yield S(make(3, 4), make(4), make(3, 1) + 1)
    yield S(make(3, 4), min=make(3, 4))
    yield S(make(3, 4), max=make(4))


def _where_samples(make):
    yield S(make.mask(2, 3), make(2, 3), make(2, 3))
    yield S(make.mask(2, 3), make(3), make(2, 1))
    yield S(make.mask(3), make(2, 3), 0.0)
    yield S(make.mask(2, 3), 1.5, make(2, 3))
    yield S(make.mask(), make(), make(2))


def _softmax_samples(make):
    x = make(3, 4)
    yield S(x, 1)
    yield S(x, 0)
    yield S(x, -1)
    yield S(make(2, 3, 4), 1)
    yield S(make(), 0)
    yield S(make(0, 3), 1)
    yield S(x, 1, dtype=D("float64"))


def _gather_samples(make):
    yield S(make(3, 4), 1, make.index(4, 3, 2))
    yield S(make(3, 4), 0, make.index(3, 2, 4))
    yield S(make(3, 4), -1, make.index(4, 3, 6))    # repeated indices: gradients add up
    yield S(make(3, 4), 1, make.index(4, 2, 2))     # index smaller than input in dim 0


def _scatter_samples(make):
    yield S(make(3, 4), 1, np.array([[0, 1], [2, 3], [1, 0]]), make(3, 2))
    # a src larger than the index: torch's own backward rejects it, so values only
    yield S(make(3, 4), 0, np.array([[0, 1, 2, 0]]), make(2, 5), _grad=False)
    yield S(make(3, 4), -1, np.array([[3], [2], [1]]), make(3, 1))


def _scatter_value_samples(make):
    yield S(make(3, 4), 1, np.array([[0, 1], [2, 3], [1, 0]]), value=1.5 if make.floating else 2)


def _scatter_add_samples(make):
    yield S(make(3, 4), 1, np.array([[0, 0], [2, 3], [1, 1]]), make(3, 2))
    yield S(make(3, 4), 0, np.array([[0, 1, 2, 0], [0, 1, 0, 0]]), make(2, 4))
    yield S(make(3, 4), 0, np.array([[0, 1, 2, 0], [0, 1, 0, 0]]), make(2, 5), _grad=False)


def _index_select_samples(make):
    yield S(make(3, 4), 0, np.array([2, 0, 2]))
    yield S(make(3, 4), -1, np.array([1]))
    yield S(make(3, 4), 1, np.zeros(0, np.int64))
    yield S(make(5), 0, np.array([4, 1]))


def _masked_fill_samples(make):
    fill = 2.5 if make.floating else 2
    yield S(make(3, 4), make.mask(3, 4), fill)
    yield S(make(3, 4), make.mask(4), fill)
    yield S(make(3, 4), make.mask(3, 1), float("-inf") if make.floating else -7)
    yield S(make(), make.mask(), fill)


def _cumsum_samples(make):
    x = make(3, 4)
    yield S(x, 0)
    yield S(x, 1)
    yield S(x, -1)
    yield S(make(), 0)
    yield S(make(0, 2), 0)


def _prod_samples(make):
    x = make(3, 4)
    yield S(x)
    yield S(x, 1)
    yield S(x, -1, True)
    yield S(make())
    zeros = make(3, 4)
    zeros[0, 1] = zeros[2, 2] = zeros[2, 3] = 0     # one zero, and two zeros in a row
    yield S(zeros)
    yield S(zeros, 1)
    yield S(zeros, 0, keepdim=True)


def _transpose_samples(make):
    x = make(2, 3, 4)
    yield S(x, 0, 1)
    yield S(x, -1, 0)
    yield S(x, 1, 1)
    yield S(make(), 0, -1)


def _narrow_samples(make):
    x = make(4, 5)
    yield S(x, 0, 1, 2)
    yield S(x, -1, 2, 3)
    yield S(x, 1, -2, 2)
    yield S(x, 0, 0, 0)


def _repeat_samples(make):
    yield S(make(2, 3), 2, 1)
    yield S(make(2, 3), (1, 2, 2))
    yield S(make(3), 2, 3)
    yield S(make(), 3)


def _flip_samples(make):
    yield S(make(2, 3, 4), (0,))
    yield S(make(2, 3, 4), (0, 2))
    yield S(make(2, 3, 4), [-1])
    yield S(make(), ())


def _tri_samples(make):
    yield S(make(3, 4))
    yield S(make(3, 4), 1)
    yield S(make(4, 3), -1)
    yield S(make(2, 3, 3), diagonal=0)


def _unbind_samples(make):
    yield S(make(3, 2))
    yield S(make(3, 2), 1)
    yield S(make(2, 3, 2), -1)


def _chunk_samples(make):
    yield S(make(5, 2), 2)
    yield S(make(5, 2), 3)
    yield S(make(6, 4), 2, 1)
    yield S(make(2, 4), 4, -1)


def _to_samples(make):
    for name in ("float64", "float32", "int64", "bool"):
        yield S(make(2, 3), D(name), _grad=name.startswith("float"))




def _logsumexp_samples(make):
    x = make(3, 4)
    yield S(x, 1)
    yield S(x, -1, True)
    yield S(x, (0, 1))
    yield S(make(), 0)
    if make.floating:
        big = make(2, 3) + 200
        big[0] = -np.inf
        yield S(big, 1, _grad=False)


def _outer_samples(make):
    yield S(make(3), make(4))
    yield S(make(1), make(2))


def _mm_samples(make):
    yield S(make(3, 4), make(4, 2))
    yield S(make(1, 4), make(4, 1))
    yield S(make(0, 4), make(4, 2))


def _bmm_samples(make):
    yield S(make(2, 3, 4), make(2, 4, 5))
    yield S(make(1, 1, 4), make(1, 4, 1))


def _nonzero_samples(make):
    x = make(3, 4)
    yield S(x)
    yield S(make(5))
    yield S(make())
    yield S(make(0, 3))


def _comparison(name):
    return OpInfo(name, binary, dtypes=ALL, grad=False)


def _ops(names):
    return tuple(names.split())


def _div_trunc(lib, a, b):
    return lib.div(a, b, rounding_mode="trunc")


def _div_floor(lib, a, b):
    return lib.div(a, b, rounding_mode="floor")


def _rsub(lib, x, s):
    return s - x


def _rdiv(lib, x, s):
    return s / x


def _rpow(lib, x, s):
    return s ** x


def _radd(lib, x, s):
    return s + x


def _rmul(lib, x, s):
    return s * x


def _scalar_pow_samples(make):
    x = make.positive(2, 3)
    for e in (2, 3, 0.5, -1, 0, -2.5, 1):
        if make.floating or e != -1:      # integers to negative integer powers: an error
            yield S(x, e, _grad=make.floating)
    yield S(make.positive(), 2)


def _pow_samples(make):
    if make.floating:
        yield S(make.positive(2, 3), make(2, 3))
        yield S(make.positive(2, 3), make(3))
        yield S(make.positive(2, 1), make(1, 3))
        yield S(make.positive(), make(2))
    else:
        yield S(make(2, 3, low=0, high=4), make(2, 3, low=0, high=4))


def _reflected_samples(make):
    x = make.positive(2, 3)
    for s in (2.5, 3, 0.5):
        yield S(x, s)
    yield S(make.positive(), 2)




TABLE = [
    *_unary_entries(),
    OpInfo("logical_not", unary, dtypes=ALL, grad=False),
    OpInfo("bitwise_not", unary, dtypes=INT + BOOL, grad=False),
    OpInfo("isnan", _special_values, dtypes=ALL, grad=False),
    OpInfo("isinf", _special_values, dtypes=ALL, grad=False),
    OpInfo("isfinite", _special_values, dtypes=ALL, grad=False),

    OpInfo("add", binary, dtypes=ALL),
    OpInfo("sub", lambda make: binary(make, scalars=(2.5, 3)), dtypes=FLOAT + INT),
    OpInfo("mul", binary, dtypes=ALL),
    OpInfo("div", lambda make: binary(make, nonzero=True), dtypes=ALL),
    OpInfo("div_trunc", lambda make: binary(make, nonzero=True, scalars=(2.5, 3)), ops=("div_rounding",),
           fn=_div_trunc, dtypes=FLOAT + INT, gradcheck=False),
    OpInfo("div_floor", lambda make: binary(make, nonzero=True, scalars=(2.5, 3)), ops=("div_rounding",),
           fn=_div_floor, dtypes=FLOAT + INT, gradcheck=False),
    OpInfo("floor_divide", lambda make: binary(make, nonzero=True, scalars=(2.5, 3)), dtypes=FLOAT + INT,
           grad=False),
    OpInfo("remainder", lambda make: binary(make, nonzero=True, scalars=(2.5, 3)),
           ops=_ops("remainder remainder_scalar"), dtypes=FLOAT + INT),
    OpInfo("fmod", lambda make: binary(make, nonzero=True, scalars=(2.5, 3)), ops=_ops("fmod fmod_scalar"),
           dtypes=FLOAT + INT),
    OpInfo("pow", _pow_samples, dtypes=FLOAT + INT),
    OpInfo("pow_scalar", _scalar_pow_samples, ops=("pow_scalar",), fn=lambda lib, x, e: x ** e, dtypes=ALL),
    OpInfo("maximum", lambda make: binary(make, scalars=()), dtypes=ALL),
    OpInfo("minimum", lambda make: binary(make, scalars=()), dtypes=ALL),
    OpInfo("rsub", _reflected_samples, fn=_rsub, dtypes=FLOAT + INT),
    OpInfo("rdiv", _reflected_samples, ops=("reciprocal", "mul"), fn=_rdiv, dtypes=FLOAT + INT),
    OpInfo("rpow", _reflected_samples, fn=_rpow, dtypes=FLOAT),
    OpInfo("radd", _reflected_samples, ops=("add",), fn=_radd, dtypes=FLOAT + INT),
    OpInfo("rmul", _reflected_samples, ops=("mul",), fn=_rmul, dtypes=FLOAT + INT),
    *(_comparison(n) for n in ("eq", "ne", "lt", "le", "gt", "ge")),
    OpInfo("bitwise_and", lambda make: binary(make, scalars=(3, True)), dtypes=INT + BOOL, grad=False),
    OpInfo("bitwise_or", lambda make: binary(make, scalars=(3, True)), dtypes=INT + BOOL, grad=False),
    OpInfo("bitwise_xor", lambda make: binary(make, scalars=(3, True)), dtypes=INT + BOOL, grad=False),
    OpInfo("logical_and", lambda make: binary(make, scalars=()), ops=("bitwise_and", "to"), dtypes=ALL,
           grad=False),
    OpInfo("logical_or", lambda make: binary(make, scalars=()), ops=("bitwise_or", "to"), dtypes=ALL, grad=False),
    OpInfo("logical_xor", lambda make: binary(make, scalars=()), ops=("bitwise_xor", "to"), dtypes=ALL,
           grad=False),
    OpInfo("clamp", _clamp_samples, dtypes=FLOAT + INT),
    OpInfo("clamp_min", lambda make: [S(make(3, 4), 0), S(make(3, 4), -0.5)], dtypes=FLOAT + INT),
    OpInfo("clamp_max", lambda make: [S(make(3, 4), 0), S(make(3, 4), -0.5)], dtypes=FLOAT + INT),
    OpInfo("clamp_tensor", _clamp_tensor_samples, fn=lambda lib, *a, **k: lib.clamp(*a, **k)),
    OpInfo("where", _where_samples, method=None, dtypes=FLOAT + INT),

    OpInfo("sum", lambda make: reduction(make), ops=_ops("sum sum_dim"), dtypes=ALL),
    OpInfo("sum_dtype", lambda make: [S(make(2, 3), dtype=D("float64")), S(make(2, 3), 1, dtype=D("float64"))],
           ops=_ops("sum sum_dim"), fn=lambda lib, *a, **k: lib.sum(*a, **k)),
    OpInfo("mean", lambda make: reduction(make), ops=_ops("mean mean_dim")),
    OpInfo("prod", _prod_samples, ops=_ops("prod prod_dim"), dtypes=FLOAT + INT),
    OpInfo("max", _extreme_samples, dtypes=ALL),
    OpInfo("min", _extreme_samples, dtypes=ALL),
    OpInfo("max_dim", _extreme_dim_samples, ops=("max_dim",), fn=lambda lib, *a, **k: lib.max(*a, **k),
           dtypes=FLOAT + INT),
    OpInfo("min_dim", _extreme_dim_samples, ops=("min_dim",), fn=lambda lib, *a, **k: lib.min(*a, **k),
           dtypes=FLOAT + INT),
    OpInfo("max_binary", lambda make: binary(make, scalars=()), ops=("maximum",), fn=lambda lib, a, b: lib.max(a, b),
           dtypes=FLOAT + INT),
    OpInfo("amax", _amax_samples, dtypes=FLOAT + INT),
    OpInfo("amin", _amax_samples, dtypes=FLOAT + INT),
    OpInfo("argmax", _arg_samples, dtypes=FLOAT + INT, grad=False),
    OpInfo("argmin", _arg_samples, dtypes=FLOAT + INT, grad=False),
    OpInfo("var", _var_samples),
    OpInfo("std", _var_samples),
    OpInfo("logsumexp", _logsumexp_samples),
    OpInfo("norm", _norm_samples),
    OpInfo("cumsum", _cumsum_samples, dtypes=ALL),
    OpInfo("all", _logical_reduce_samples, dtypes=ALL, grad=False),
    OpInfo("any", _logical_reduce_samples, dtypes=ALL, grad=False),
    OpInfo("softmax", _softmax_samples),
    OpInfo("log_softmax", _softmax_samples),

    OpInfo("to", _to_samples, fn=lambda lib, x, dtype: x.to(dtype), dtypes=ALL),
    OpInfo("getitem", _getitem_samples, ops=_ops("select slice index_none alias"), fn=lambda lib, x, key: x[key], dtypes=ALL),
    OpInfo("index", _index_samples, fn=lambda lib, x, key: x[key], dtypes=ALL),
    OpInfo("index_put", _setitem_samples, fn=_setitem, dtypes=FLOAT + INT),
    OpInfo("setitem_basic", _basic_setitem_samples, ops=_ops("copy_slices copy_all"), fn=_setitem, dtypes=FLOAT + INT),
    OpInfo("gather", _gather_samples, dtypes=FLOAT + INT),
    OpInfo("scatter", _scatter_samples, dtypes=FLOAT + INT),
    OpInfo("scatter_value", _scatter_value_samples, ops=("scatter_value",),
           fn=lambda lib, *a, **k: lib.scatter(*a, **k), dtypes=FLOAT + INT),
    OpInfo("scatter_add", _scatter_add_samples, dtypes=FLOAT + INT),
    OpInfo("index_select", _index_select_samples, dtypes=ALL),
    OpInfo("masked_fill", _masked_fill_samples, dtypes=FLOAT + INT),
    OpInfo("masked_select", lambda make: [S(make(3, 4), make.mask(3, 4)), S(make(4), make.mask(3, 4)),
                                          S(make(3, 4), make.mask(4)), S(make(), make.mask())], dtypes=ALL),
    OpInfo("take", lambda make: [S(make(3, 4), np.array([[0, 11], [5, 5]])), S(make(3, 4).T, np.array([1, -1]))],
           dtypes=ALL),
    OpInfo("nonzero", _nonzero_samples, dtypes=ALL, grad=False),

    OpInfo("matmul", _matmul_samples, ops=_ops("matmul mm mv dot vecmat matmul_copy")),
    OpInfo("mm", _mm_samples),
    OpInfo("mv", lambda make: [S(make(3, 4), make(4))]),
    OpInfo("dot", lambda make: [S(make(4), make(4)), S(make(0), make(0))]),
    OpInfo("bmm", _bmm_samples),
    OpInfo("outer", _outer_samples),
    OpInfo("linear", _linear_samples, ops=_ops("linear linear_mm linear_vec linear_fold linear_view"),
           fn=lambda lib, *a: nnf(lib).linear(*a)),

    OpInfo("view", _view_samples, fn=method("view"), method=None, dtypes=ALL),
    OpInfo("reshape", lambda make: [S(make(2, 3, 4), 4, -1), S(make(2, 3), (6,))], ops=("view",),
           fn=method("reshape"), method=None, dtypes=ALL),
    OpInfo("reshape_copy", lambda make: [S(make(2, 3, 4), -1), S(make(2, 3, 4), 3, 8)], fn=_reshape_copy,
           dtypes=ALL),
    OpInfo("flatten", lambda make: [S(make(2, 3, 4)), S(make(2, 3, 4), 1), S(make(2, 3, 4), 0, 1), S(make())],
           ops=("view",), dtypes=ALL),
    OpInfo("squeeze", _squeeze_samples, dtypes=ALL),
    OpInfo("squeeze_dim", _squeeze_dim_samples, fn=lambda lib, x, d: x.squeeze(d), dtypes=ALL),
    OpInfo("squeeze_dims", lambda make: [S(make(2, 1, 3, 1), (1, 3)), S(make(2, 1, 3, 1), (0, -1))],
           fn=lambda lib, x, d: x.squeeze(d), dtypes=ALL),
    OpInfo("unsqueeze", lambda make: [S(make(2, 3), 0), S(make(2, 3), -1), S(make(2, 3), 1), S(make(), 0)],
           dtypes=ALL),
    OpInfo("transpose", _transpose_samples, dtypes=ALL),
    OpInfo("t", lambda make: [S(make(2, 3)), S(make(3)), S(make())], dtypes=ALL),
    OpInfo("permute", _permute_samples, fn=method("permute"), method=None, dtypes=ALL),
    OpInfo("expand", _expand_samples, fn=method("expand"), method=None, dtypes=ALL),
    OpInfo("clone", unary, dtypes=ALL),
    OpInfo("contiguous", lambda make: [S(make(2, 3))], ops=("clone", "transpose"),
           fn=lambda lib, x: x.transpose(0, 1).contiguous(), dtypes=ALL),
    OpInfo("cat", _cat_samples, dtypes=ALL),
    OpInfo("stack", _stack_samples, dtypes=ALL),
    OpInfo("split", _split_samples, dtypes=ALL),
    OpInfo("split_with_sizes", _split_sizes_samples, fn=lambda lib, *a, **k: lib.split(*a, **k), dtypes=ALL),
    OpInfo("chunk", _chunk_samples, ops=("split",), dtypes=ALL),
    OpInfo("unbind", _unbind_samples, dtypes=ALL),
    OpInfo("narrow", _narrow_samples, dtypes=ALL),
    OpInfo("repeat", _repeat_samples, fn=lambda lib, x, *r: x.repeat(*r), dtypes=ALL),
    OpInfo("flip", _flip_samples, dtypes=ALL),
    OpInfo("tril", _tri_samples, dtypes=ALL),
    OpInfo("triu", _tri_samples, dtypes=ALL),
    OpInfo("movedim", lambda make: [S(make(2, 3, 4), 0, -1), S(make(2, 3, 4), (0, 1), (2, 0))],
           ops=("permute",), dtypes=ALL),
]


# ---- ops beyond the first set ----------------------------------------------------------------------

def _lerp_samples(make):
    yield S(make(2, 3), make(2, 3), 0.3)
    yield S(make(2, 3), make(3), 0.7)
    yield S(make(), make(2), -0.5)


def _lerp_tensor_samples(make):
    yield S(make(2, 3), make(2, 3), make(2, 3))
    yield S(make(2, 3), make(3), make(2, 1))


def _addc_samples(make, nonzero=False):
    yield S(make(2, 3), make(2, 3), make(2, 3, nonzero=nonzero))
    yield S(make(2, 3), make(3), make(2, 1, nonzero=nonzero), value=0.5)
    yield S(make(), make(2), make(2, nonzero=nonzero), value=-2)


def _addmm_samples(make):
    yield S(make(3, 5), make(3, 4), make(4, 5))
    yield S(make(5), make(3, 4), make(4, 5))
    yield S(make(3, 5), make(3, 4), make(4, 5), beta=0.5, alpha=2)


def _einsum_samples(make):
    for equation, shapes in [("ij,jk->ik", [(3, 4), (4, 2)]), ("ij,j->i", [(3, 4), (4,)]), ("ii->", [(3, 3)]),
                             ("ii->i", [(3, 3)]), ("ij->ji", [(3, 4)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
                             ("...ij,...jk", [(2, 3, 4), (4, 2)]), ("i,j->ij", [(3,), (4,)]), ("ij,kj", [(3, 4), (2, 4)]),
                             ("iij->j", [(3, 3, 2)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
                             ("...i,...i->...", [(2, 3, 4), (3, 4)])]:
        yield S(equation, *(make(*shape) for shape in shapes))


def _sort_samples(make):
    x = make.distinct(3, 4)
    yield S(x)
    yield S(x, 0)
    yield S(x, -1, True)
    yield S(x, dim=0, descending=True)
    yield S(make())


def _topk_samples(make):
    x = make.distinct(3, 4)
    yield S(x, 2)
    yield S(x, 1, 0)
    yield S(x, 3, largest=False)
    yield S(x, 2, dim=0, largest=True, sorted=True)


def _median_samples(make):
    yield S(make.distinct(3, 4))
    yield S(make.distinct(2, 3))
    yield S(make())
    if make.floating:
        tie = make.distinct(5)
        tie[[1, 3]] = np.median(tie)  # the median value twice: the gradient is shared
        yield S(tie)


def _median_dim_samples(make):
    x = make.distinct(3, 4)
    yield S(x, 1)
    yield S(x, 0, True)
    yield S(x, dim=-1)


def _nan_samples(make):
    x = make(3, 4)
    x[0, 1] = x[2, 2] = np.nan
    yield S(x)
    yield S(x, 1)
    yield S(x, (0, 1), keepdim=True)
    yield S(make(2, 3), 0)


def _roll_samples(make):
    x = make(3, 4)
    yield S(x, 1)
    yield S(x, 1, 0)
    yield S(x, (1, -2), (0, 1))
    yield S(x, -1, -1)


def _diagonal_samples(make):
    yield S(make(3, 4))
    yield S(make(3, 4), 1)
    yield S(make(3, 4), -2)
    yield S(make(2, 3, 4), 0, 1, 2)
    yield S(make(2, 3, 4), 1, -1, 0)


def _diag_samples(make):
    yield S(make(3))
    yield S(make(3), 1)
    yield S(make(3), -2)
    yield S(make(3, 4))
    yield S(make(3, 4), -1)


def _index_add_samples(make):
    yield S(make(4, 3), 0, np.array([0, 2, 0]), make(3, 3))
    yield S(make(4, 3), 1, np.array([2]), make(4, 1), alpha=2)


def _unique_samples(make):
    x = make(3, 4, low=0, high=4) if not make.floating else np.round(make(3, 4)).astype(make.dtype)
    yield S(x)
    yield S(x, return_inverse=True)
    yield S(x, return_counts=True)
    yield S(x, return_inverse=True, return_counts=True)
    yield S(x, dim=0)


TABLE += [
    OpInfo("log10", lambda make: unary(make, positive=True), dtypes=ALL),
    OpInfo("exp2", unary, dtypes=ALL),
    OpInfo("erf", unary, dtypes=ALL),
    OpInfo("frac", unary),
    OpInfo("sgn", unary, dtypes=ALL),
    OpInfo("logit", lambda make: [S(make(2, 3, low=0.05, high=0.95)), S(make(2, 3, low=0.05, high=0.95), 0.2),
                                  S(make(4, low=0.1, high=0.9), eps=0.3)]),
    OpInfo("nan_to_num", lambda make: [S(x.args[0]) for x in _special_values(make)] + [
        S(next(_special_values(make)).args[0], 0.5, 10.0, -10.0)], dtypes=ALL),
    OpInfo("atan2", lambda make: binary(make, scalars=()), dtypes=FLOAT + INT),
    OpInfo("logaddexp", lambda make: binary(make, scalars=())),
    OpInfo("xlogy", lambda make: [S(make(2, 3), make.positive(2, 3)), S(make(2, 1), make.positive(3)),
                                  S(np.zeros((2, 3), make.dtype), make.positive(2, 3))]),
    OpInfo("lerp", _lerp_samples),
    OpInfo("lerp_tensor", _lerp_tensor_samples, fn=lambda lib, *a: lib.lerp(*a)),
    OpInfo("addcmul", _addc_samples),
    OpInfo("addcdiv", lambda make: _addc_samples(make, nonzero=True)),
    OpInfo("addmm", _addmm_samples),
    # one node where PyTorch records the permutes, views and bmm einsum is made of: its name differs
    OpInfo("einsum", _einsum_samples, method=None, check_grad_fn=False),
    OpInfo("sort", _sort_samples, dtypes=FLOAT + INT),
    OpInfo("argsort", _sort_samples, ops=("sort",), dtypes=FLOAT + INT, grad=False),
    OpInfo("msort", lambda make: [S(make.distinct(3, 4))], ops=("sort",), dtypes=FLOAT + INT),
    OpInfo("topk", _topk_samples, dtypes=FLOAT + INT),
    OpInfo("cumprod", lambda make: [*_cumsum_samples(make), *(S(x.args[0], d) for x in _prod_samples(make)
                                                              if x.args[0].ndim == 2 for d in (0, 1))],
           dtypes=ALL),
    OpInfo("median", _median_samples, dtypes=FLOAT + INT),
    OpInfo("median_dim", _median_dim_samples, fn=lambda lib, *a, **k: lib.median(*a, **k), dtypes=FLOAT + INT),
    OpInfo("var_mean", _var_samples, method=None),
    OpInfo("std_mean", _var_samples, method=None),
    OpInfo("nansum", _nan_samples),
    OpInfo("nanmean", _nan_samples, ops=_ops("nansum sum div")),
    OpInfo("count_nonzero", lambda make: [S(make(3, 4)), S(make(3, 4), 1), S(make(2, 3, 4), (0, 2))],
           ops=_ops("ne sum_dim"), dtypes=ALL, grad=False),
    OpInfo("roll", _roll_samples, dtypes=ALL),
    OpInfo("diagonal", _diagonal_samples, dtypes=ALL),
    OpInfo("diag", _diag_samples, ops=_ops("diag diag_embed"), dtypes=ALL),
    # graphgrad.trace is the graph tracer, so the matrix trace is called as a method here
    OpInfo("trace", lambda make: [S(make(3, 4)), S(make(3, 3)), S(make(4, 2))], fn=method("trace"),
           dtypes=FLOAT + INT),
    OpInfo("tile", lambda make: [S(make(2, 3), (2,)), S(make(2, 3), (2, 1, 2)), S(make(3), (2, 2))],
           ops=("repeat",), dtypes=ALL),
    OpInfo("ravel", lambda make: [S(make(2, 3))], ops=("view",), dtypes=ALL),
    OpInfo("ravel_transposed", lambda make: [S(make(2, 3))], ops=_ops("t clone view"),
           fn=lambda lib, x: x.t().ravel(), dtypes=ALL),
    OpInfo("moveaxis", lambda make: [S(make(2, 3, 4), 0, -1), S(make(2, 3, 4), (0, 1), (2, 0))],
           ops=("permute",), dtypes=ALL),
    OpInfo("select", lambda make: [S(make(3, 4), 0, 1), S(make(3, 4), -1, -2), S(make(2, 3, 4), 1, 0)],
           ops=("select",), dtypes=ALL),
    OpInfo("repeat_interleave", lambda make: [S(make(2, 3), 2), S(make(2, 3), 2, 0), S(make(2, 3), 3, dim=-1),
                                              S(make(3, 2), np.array([1, 0, 2]), 0)],
           ops=_ops("repeat_interleave repeat_interleave_by_tensor view"), dtypes=ALL),
    OpInfo("take_along_dim", lambda make: [S(make(3, 4), np.array([[0, 3], [1, 1], [2, 0]]), 1),
                                           S(make(3, 4), np.array([5, 0, 11]))], ops=_ops("gather view"),
           dtypes=ALL),
    OpInfo("index_add", _index_add_samples, dtypes=FLOAT + INT),
    OpInfo("index_fill", lambda make: [S(make(4, 3), 0, np.array([0, 2]), -1.5 if make.floating else 7),
                                       S(make(4, 3), -1, np.array([1]), 2)], dtypes=FLOAT + INT),
    OpInfo("argwhere", _nonzero_samples, ops=("nonzero",), dtypes=ALL, grad=False),
    OpInfo("unique", _unique_samples, dtypes=FLOAT + INT + BOOL, grad=False),
    OpInfo("isin", lambda make: [S(make(3, 4), make(5)), S(make(3, 4), make(2, 2))], ops=_ops("eq any"),
           method=None, dtypes=FLOAT + INT, grad=False),
    OpInfo("broadcast_tensors", lambda make: [S(make(2, 3), make(3)), S(make(2, 1), make(1, 3), make())],
           ops=("expand",), method=None, dtypes=ALL),
    OpInfo("meshgrid", lambda make: [S(make(2), make(3), indexing="ij"), S(make(2), make(3), make(4), indexing="xy"),
                                     S(make(3), indexing="ij")], ops=_ops("view expand"), method=None, dtypes=ALL),
]


# ---- nn.functional ---------------------------------------------------------------------------------

def F(name):
    """fn calling nn.functional.<name> in either library."""
    return lambda lib, *args, **kwargs: getattr(nnf(lib), name)(*args, **kwargs)


def _nn(name, samples, ops=None, fn=None, **kw):
    return OpInfo(name, samples, ops=ops, fn=fn or F(name), method=None, **kw)


def _conv_samples(make):
    yield S(make(1, 1, 3, 3), make(1, 1, 2, 2), make(1))                  # small enough to gradcheck
    yield S(make(2, 3, 5, 5), make(4, 3, 3, 3), make(4))
    yield S(make(2, 3, 5, 5), make(4, 3, 3, 3), None, stride=2, padding=1)
    yield S(make(1, 4, 6, 5), make(4, 2, 2, 3), make(4), stride=(1, 2), padding=(2, 0), dilation=(2, 1), groups=2)
    yield S(make(3, 5, 5), make(2, 3, 3, 3), make(2), padding="same")


def _conv_transpose_samples(make):
    yield S(make(1, 1, 2, 2), make(1, 1, 2, 2), make(1))                  # small enough to gradcheck
    yield S(make(2, 4, 4, 4), make(4, 3, 3, 3), make(6), stride=2, padding=1, output_padding=1, groups=2)
    yield S(make(2, 4, 3, 4), make(4, 1, 2, 3), None, stride=(2, 1), padding=(0, 1), output_padding=(1, 0), groups=4,
            dilation=(1, 2))
    yield S(make(1, 2, 3, 3), make(2, 2, 3, 3), make(2), dilation=2, output_padding=1)
    yield S(make(3, 4, 4), make(3, 2, 2, 2), make(2), stride=2)           # unbatched


def _conv_transpose1d_samples(make):
    yield S(make(1, 1, 3), make(1, 2, 2), make(2))
    yield S(make(2, 4, 5), make(4, 3, 3), make(6), stride=3, padding=1, output_padding=2, groups=2)
    yield S(make(3, 6), make(3, 2, 3), None, dilation=2)                 # unbatched


def _sdpa_samples(make):
    yield S(make(1, 1, 3, 4), make(1, 1, 3, 4), make(1, 1, 3, 4))          # small enough to gradcheck
    yield S(make(2, 3, 4, 8), make(2, 3, 5, 8), make(2, 3, 5, 8), attn_mask=make.mask(4, 5))
    yield S(make(2, 3, 4, 8), make(2, 3, 4, 8), make(2, 3, 4, 8), is_causal=True, scale=0.5)
    yield S(make(1, 2, 4, 3), make(1, 2, 5, 3), make(1, 2, 5, 3), attn_mask=make(4, 5), _const=("attn_mask",))


def _invertible(make, *shape):
    """A well-conditioned square matrix (or batch of them): random plus n on the diagonal."""
    n = shape[-1]
    return make(*shape) + (n * np.eye(n)).astype(make.dtype)


def _square_samples(make):
    yield S(_invertible(make, 3, 3))
    yield S(_invertible(make, 2, 4, 4))                                     # a batch


def _solve_samples(make):
    yield S(_invertible(make, 3, 3), make(3, 2))
    yield S(_invertible(make, 2, 3, 3), make(2, 3, 1))                      # a batch
    yield S(_invertible(make, 3, 3), make(3))                               # B a vector


def _linalg(name):
    return lambda lib, *args, **kwargs: getattr(lib.linalg, name)(*args, **kwargs)


def _unfold_samples(make):
    yield S(make(1, 1, 3, 3), 2)                                            # small enough to gradcheck
    yield S(make(2, 3, 5, 5), (2, 3), dilation=1, padding=1, stride=2)
    yield S(make(3, 5, 4), 2, dilation=(2, 1))                             # unbatched


def _fold_samples(make):
    yield S(make(1, 4, 4), (3, 3), 2)                                       # small enough to gradcheck
    yield S(make(2, 18, 9), (5, 5), (2, 3), padding=1, stride=2)
    yield S(make(12, 16), (5, 5), 2)                                        # unbatched


def _pool_samples(make):
    yield S(make.distinct(1, 1, 4, 4), 2)
    yield S(make.distinct(2, 2, 5, 5), 3, stride=1, padding=1)
    yield S(make.distinct(1, 2, 5, 4), (2, 3), stride=(2, 1))
    yield S(make.distinct(2, 4, 4), 2, ceil_mode=True)


def _avg_pool_samples(make):
    yield S(make(1, 1, 4, 4), 2)
    yield S(make(2, 2, 5, 5), 3, stride=1, padding=1)
    yield S(make(2, 2, 5, 5), 3, stride=2, padding=1, count_include_pad=False)
    yield S(make(1, 2, 5, 4), (2, 3), stride=(2, 1), ceil_mode=True)


def _adaptive_samples(make):
    yield S(make(1, 1, 4, 4), 2)
    yield S(make(2, 2, 5, 7), (2, 3))
    yield S(make(2, 3, 3), 1)


def _batch_norm_samples(make):
    x = make(4, 3, 2)
    yield S(make(4, 2), None, None, make(2), make(2), training=True)
    yield S(x, None, None, make(3), make(3), training=True)
    yield S(x, make(3), make.positive(3), make(3), make(3), training=False, _const=(1, 2))
    yield S(make(2, 3, 2, 2), None, None, None, None, True, 0.1, 1e-3)


def _norm_samples_nn(make):
    yield S(make(2, 3, 4), (4,), make(4), make(4))
    yield S(make(2, 3, 4), (3, 4))
    yield S(make(2, 4), [4], make(4), None, eps=1e-3)


def _group_norm_samples(make):
    yield S(make(2, 4, 3), 2, make(4), make(4))
    yield S(make(2, 4, 2, 2), 4)
    yield S(make(1, 6, 2), 3, make(6), make(6), eps=1e-3)


def _embedding_samples(make):
    yield S(make.index(5, 2, 3), make(5, 4))
    yield S(make.index(5, 4), make(5, 3), padding_idx=0)
    yield S(np.array([[1, 1], [4, 1]]), make(5, 2), padding_idx=-1)


def _pad_samples(mode):
    def samples(make):
        if mode == "constant":
            yield S(make(1, 2, 3, 3), (1, 2), value=0.5)
            yield S(make(2, 3), (1, 1, 2, 0))
            yield S(make(1, 2, 4), (-1, 2))                          # negative: crops
            yield S(make(1, 2, 3, 3), (0, 1, 1, 0, 1, 1), mode="constant")
            return
        yield S(make(1, 2, 4), (1, 2), mode=mode)
        yield S(make(1, 2, 4, 3), (1, 1, 2, 0), mode=mode)
        yield S(make(1, 1, 3, 3, 3), (1, 1, 1, 0, 0, 2), mode=mode)
        yield S(make(2, 4), (2, 1), mode=mode)
    return samples


def _activation(name, *extra, **kw):
    def samples(make):
        yield S(make(2, 3), *extra, **kw)
        yield S(make(4), *extra, **kw)
        yield S(make(), *extra, **kw)
        yield S(make(2, 3, 2) * 4, *extra, **kw)
    return samples


def _loss_samples(make, target=None, const=(), **extra):
    target = target or (lambda *shape: make(*shape))
    yield S(make(3, 4), target(3, 4), _const=const, **extra)
    yield S(make(3, 4), target(3, 4), reduction="sum", _const=const, **extra)
    yield S(make(2, 3), target(2, 3), reduction="none", _const=const, **extra)
    yield S(make(), target(), _const=const, **extra)


def _bce_samples(make):
    def prob(*shape):
        return make(*shape, low=0.05, high=0.95)
    yield S(prob(3, 4), prob(3, 4), _const=(1,))
    yield S(prob(3, 4), prob(3, 4), reduction="sum", _const=(1,))
    yield S(prob(2, 3), prob(2, 3), reduction="none", _const=(1,))
    yield S(prob(3, 4), prob(3, 4), make.positive(3, 4), _const=(1, 2))


def _bce_logits_samples(make):
    yield from _loss_samples(make, target=lambda *s: make(*s, low=0, high=1), const=(1,))
    yield S(make(3, 4), make(3, 4, low=0, high=1), pos_weight=make.positive(4), _const=(1, "pos_weight"))
    yield S(make(3, 4), make(3, 4, low=0, high=1), weight=make.positive(3, 1), _const=(1, "weight"))


def _nll_samples(make):
    logp = lambda *s: make(*s) - 2
    yield S(logp(3, 5), make.index(5, 3))
    yield S(logp(3, 5), make.index(5, 3), reduction="sum")
    yield S(logp(4, 5), np.array([1, -100, 4, 1]), reduction="none")
    yield S(logp(4, 5), np.array([1, 2, 4, 1]), make.positive(5), ignore_index=2, _const=(2,))
    yield S(logp(5), np.array(3))


def _nll2d_samples(make):
    yield S(make(2, 3, 2, 2), make.index(3, 2, 2, 2))
    yield S(make(1, 4, 2, 3), make.index(4, 1, 2, 3), make.positive(4), reduction="sum", _const=(2,))


def _cross_entropy_samples(make):
    yield S(make(3, 5), make.index(5, 3))
    yield S(make(3, 5), make.index(5, 3), label_smoothing=0.1)
    yield S(make(2, 3, 2), make.index(3, 2, 2), reduction="sum")


TABLE += [
    _nn("conv2d", _conv_samples, atol=1e-4, rtol=1e-4),
    _nn("conv_transpose2d", _conv_transpose_samples, atol=1e-4, rtol=1e-4),
    _nn("conv_transpose1d", _conv_transpose1d_samples, ops=("conv_transpose2d",), atol=1e-4, rtol=1e-4),
    _nn("scaled_dot_product_attention", _sdpa_samples, atol=1e-5, rtol=1e-5),
    _nn("unfold", _unfold_samples),
    OpInfo("linalg_inv", _square_samples, fn=_linalg("inv"), method=None),
    OpInfo("linalg_det", _square_samples, fn=_linalg("det"), method=None),
    OpInfo("linalg_solve", _solve_samples, fn=_linalg("solve"), method=None),
    _nn("fold", _fold_samples),
    _nn("max_pool2d", _pool_samples),
    _nn("avg_pool2d", _avg_pool_samples),
    _nn("adaptive_avg_pool2d", _adaptive_samples),
    _nn("batch_norm", _batch_norm_samples, atol=1e-4, rtol=1e-4),
    _nn("layer_norm", _norm_samples_nn, atol=1e-4, rtol=1e-4),
    _nn("group_norm", _group_norm_samples, atol=1e-4, rtol=1e-4),
    _nn("embedding", _embedding_samples, gradcheck=False),  # the padding row's gradient is zero by design
    _nn("constant_pad_nd", _pad_samples("constant"), fn=F("pad")),
    _nn("reflect_pad", _pad_samples("reflect"), ops=_ops("reflect_pad1d reflect_pad2d reflect_pad3d"), fn=F("pad")),
    _nn("replicate_pad", _pad_samples("replicate"), ops=_ops("replicate_pad1d replicate_pad2d replicate_pad3d"),
        fn=F("pad")),
    _nn("circular_pad", _pad_samples("circular"), ops=_ops("circular_pad1d circular_pad2d circular_pad3d"),
        fn=F("pad")),
    _nn("leaky_relu", _activation("leaky_relu", 0.2)),
    _nn("gelu", lambda make: [*_activation("gelu")(make), *_activation("gelu", approximate="tanh")(make)]),
    _nn("elu", _activation("elu", alpha=1.5)),
    _nn("celu", _activation("celu", 0.7)),
    _nn("silu", _activation("silu")),
    _nn("softplus", _activation("softplus", beta=2, threshold=5)),
    _nn("hardtanh", _activation("hardtanh", -0.5, 0.5)),
    _nn("mish", _activation("mish")),
    _nn("log_sigmoid", _activation("logsigmoid"), fn=F("logsigmoid")),
    _nn("hardswish", _activation("hardswish")),
    _nn("hardsigmoid", _activation("hardsigmoid")),
    _nn("prelu", lambda make: [S(make(2, 3, 4), make(3)), S(make(2, 3), make(1)), S(make(4), make(1))]),
    _nn("mse_loss", _loss_samples),
    _nn("huber_loss", lambda make: _loss_samples(make, delta=0.5)),
    _nn("smooth_l1_loss", lambda make: _loss_samples(make, beta=0.5)),
    _nn("binary_cross_entropy", _bce_samples),
    _nn("binary_cross_entropy_with_logits", _bce_logits_samples),
    _nn("nll_loss", _nll_samples),
    _nn("nll_loss2d", _nll2d_samples, fn=F("nll_loss")),
    _nn("cross_entropy", _cross_entropy_samples, ops=_ops("log_softmax nll_loss")),
    OpInfo("full_backward_hook", lambda make: [S(make(2, 3)), S(make(4))], ops=("backward_hook",),
           fn=lambda lib, x: _hooked_tanh(lib)(x), method=None, gradcheck=False),  # the hook changes the grad
]


def _hooked_tanh(lib):
    """A module with a full backward hook that doubles the gradient of its input."""
    module = lib.nn.Tanh()
    module.register_full_backward_hook(lambda mod, grad_input, grad_output: (grad_input[0] * 2,))
    return module

BY_NAME = {entry.name: entry for entry in TABLE}
assert len(BY_NAME) == len(TABLE), "two entries share a name"

# Double backward (create_graph=True, then backward through the gradients): test_ops checks every
# gradchecked entry against torch. An op whose backward graphgrad cannot differentiate yet (it
# raises NotImplementedError naming the op) is listed here; none is now.
NO_GRADGRAD = set()
TORCH_NO_GRADGRAD = {"hardsigmoid",  # torch: "derivative for aten::hardsigmoid_backward is not implemented"
                     "scaled_dot_product_attention"}  # nor for its fused CPU kernel (test_transformer checks ours)
assert set(BY_NAME) >= NO_GRADGRAD | TORCH_NO_GRADGRAD
