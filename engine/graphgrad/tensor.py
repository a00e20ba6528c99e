"""The Tensor: an array (NumPy or CuPy) plus what autograd needs to know about it.

Everything a tensor can compute is an op in graphgrad.ops; the methods here only forward to
those functions, so operators, methods and `graphgrad.fn(...)` share one definition."""
import warnings

import numpy as np

from . import _hooks, dtypes
from .device import CPU, array_module, as_device, device_of
from .device import device as Device  # (the class, by another name: Tensor.device is a property)
from .formats import channels_last, channels_last_3d, contiguous_format, preserve_format
from .multiprocessing import is_shared_array, shared_copy
from .printing import tensor_repr


_new, _ndarray, _generic = object.__new__, np.ndarray, np.generic  # Tensor._wrap runs for every op


class Size(tuple):
    """torch.Size: a tuple that prints as `Size([2, 3])`."""

    def __repr__(self):
        return f"graphgrad.Size([{', '.join(map(str, self))}])"

    __str__ = __repr__

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):
        result = tuple.__getitem__(self, key)
        return Size(result) if isinstance(key, slice) else result

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))


class Tensor:
    # The four attributes every op reads are slots; the rest are class defaults that a tensor
    # overrides in its __dict__ only when it needs to (a leaf's grad, a view's base, hooks), so
    # making a tensor, which every op does, sets four fields.
    __slots__ = ("_data", "requires_grad", "grad_fn", "_vbox", "__dict__", "__weakref__")
    _grad = None          # .grad (a property: it warns on non-leaves, as PyTorch does)
    _base = None          # the tensor whose memory a view shares
    _output_nr = 0        # which output of grad_fn this tensor is
    _hooks = None         # register_hook on a leaf
    _accum = None         # the leaf's AccumulateGrad node, made on first use
    _retains_grad = False
    _post_accumulate_hooks = None
    __array_priority__ = 1000  # so `numpy_scalar * tensor` asks the tensor (reflected ops)

    def __init__(self, *args, dtype=None, device=None):
        # torch.Tensor(data) or torch.Tensor(*sizes): the legacy constructor, default float dtype
        from .creation import empty, tensor as _tensor  # (creation, in the ops layer, builds on Tensor)
        if len(args) == 1 and not isinstance(args[0], int):
            made = _tensor(args[0], dtype=dtype or dtypes.get_default_dtype(), device=device)
        else:
            made = empty(*args, dtype=dtype, device=device)
        self._init_from(made._data)

    def _init_from(self, array, requires_grad=False):
        self._data = array
        self.requires_grad = requires_grad
        self.grad_fn = None
        self._vbox = [0]  # the version counter, in a box shared with every view of the same memory

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        """The fast constructor ops use: no checks, no copies."""
        t = _new(cls)
        if type(array) is not _ndarray and isinstance(array, _generic):  # NumPy's 0-d results are scalars
            array = np.asarray(array)
        t._data = array
        t.requires_grad = requires_grad
        t.grad_fn = None
        t._vbox = [0]
        return t

    def _xp(self):
        return np if type(self._data) is np.ndarray else array_module(self.device)

    # ---- attributes -------------------------------------------------------------------
    @property
    def shape(self) -> "Size":
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> "dtypes.dtype":
        return dtypes._by_np[self._data.dtype]

    @property
    def device(self) -> "Device":
        return CPU if type(self._data) is np.ndarray else device_of(self._data)

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def is_cpu(self):
        return self.device.type == "cpu"

    # devices and layouts graphgrad never makes: dense arrays on the CPU or a CuPy GPU only
    is_xpu = is_mps = is_meta = is_sparse = is_quantized = is_mkldnn = is_nested = property(lambda self: False)

    def is_complex(self):
        return self._data.dtype.kind == "c"

    def share_memory_(self):
        """Move a CPU tensor's data into shared memory (an anonymous shared mapping), so processes
        forked afterwards (graphgrad.multiprocessing) see each other's in-place updates, as torch's
        Hogwild examples rely on. GPU tensors are left as they are, as in torch."""
        if type(self._data) is np.ndarray and not self.is_shared():
            self._data = shared_copy(self._data)
        return self

    def is_shared(self):
        return type(self._data) is np.ndarray and is_shared_array(self._data)

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return self._data.size

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def is_floating_point(self):
        return self._data.dtype.kind in "fV"  # (bfloat16's kind is "V")

    def is_contiguous(self, memory_format=None):
        if memory_format is None or memory_format in (contiguous_format, preserve_format):
            return bool(self._data.flags.c_contiguous)
        rank = {channels_last: 4, channels_last_3d: 5}.get(memory_format)
        if rank != self._data.ndim:  # torch answers False for other formats and ranks
            return False
        channels_innermost = (0,) + tuple(range(2, rank)) + (1,)  # pyright: ignore[reportArgumentType]
        return bool(self._data.transpose(channels_innermost).flags.c_contiguous)

    def stride(self, dim=None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[wrap_dim(dim, self.ndim)]

    def data_ptr(self):
        return self._data.__array_interface__["data"][0] if type(self._data) is np.ndarray else self._data.data.ptr

    @property
    def data(self):
        return self.detach()

    @data.setter
    def data(self, other):
        self._data = other._data

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))  # pyright: ignore[reportAttributeAccessIssue]

    @property
    def mT(self):
        return self.transpose(-2, -1)  # pyright: ignore[reportAttributeAccessIssue]  (attached by ops)

    @property
    def grad(self):
        if self._grad is None and self.grad_fn is not None and not self._retains_grad:
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, grad):
        if grad is not None:
            if not isinstance(grad, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(grad).__name__}")
            if grad._data.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(grad.shape)}' to a tensor of "
                                   f"size '{list(self.shape)}'. Please ensure that the gradient and the tensor are "
                                   "the same size")
            if grad._data.dtype != self._data.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype '{grad.dtype._legacy[:-6]}' to a "
                                   f"tensor with dtype '{self.dtype._legacy[:-6]}'")
        self._grad = grad

    @property
    def retains_grad(self):
        return self._retains_grad

    @property
    def output_nr(self):
        return self._output_nr

    @property
    def _version(self):
        """How many times the memory was written in place (PyTorch's version counter)."""
        return self._vbox[0]

    def _type_name(self):
        """'torch.FloatTensor' as PyTorch writes it in autograd errors."""
        prefix = "torch.cuda." if self.is_cuda else "torch."
        return prefix + self.dtype._legacy

    def _accumulator(self):
        """The leaf's AccumulateGrad node: one per leaf, made when the leaf is first used."""
        if self._accum is None:
            from .node import AccumulateGrad  # (node.py builds on Tensor: an accumulator writes .grad as one)
            self._accum = AccumulateGrad(self)
        return self._accum

    # ---- autograd ---------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        _hooks.backward(self, gradient, retain_graph, create_graph, inputs=inputs)  # autograd.backward

    def detach(self):
        t = Tensor._wrap(self._data)
        t._vbox = self._vbox  # same memory, so the same version counter; not a view for autograd
        return t

    def detach_(self):
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True):
        if not self.is_leaf:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use "
                               "a computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if requires_grad and self._data.dtype.kind not in "fV":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if not self._retains_grad:
            self._retains_grad = True
            self.grad_fn._retain(self._output_nr, self)

    def register_hook(self, hook):
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            hooks = self.grad_fn._hooks_at(self._output_nr)
            hooks.append(hook)
        else:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            hooks = self._hooks
        return _RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = []
        self._post_accumulate_hooks.append(hook)
        return _RemovableHandle(self._post_accumulate_hooks, hook)

    # ---- conversions ------------------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item()

    def tolist(self):
        return _host(self._data).tolist()

    def numpy(self, force=False):
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if type(self._data) is not np.ndarray:
            if not force:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to "
                                "copy the tensor to host memory first.")
            return self._data.get()
        return self._data

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __float__(self):
        return float(self._scalar("float"))

    def __int__(self):
        return int(self._scalar("int"))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.item())

    def _scalar(self, kind):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.item()

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))  # pyright: ignore[reportAttributeAccessIssue]  (attached by ops)

    __hash__ = object.__hash__  # (Tensor defines __eq__; tensors hash by identity, as in PyTorch)

    def __pos__(self):
        return self

    def __contains__(self, element):
        return bool((self == element).any())

    def __repr__(self, *, tensor_contents=None):
        suffixes = []
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return tensor_repr(_host(self._data), self.dtype.name, dtypes.get_default_dtype().name,
                           str(self.device), suffixes)

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        raise TypeError("graphgrad tensors are saved with graphgrad.save (a safe format), not pickle")

    def __deepcopy__(self, memo):
        t = Tensor._wrap(self._data.copy(), self.requires_grad)
        if self._grad is not None:
            t._grad = Tensor._wrap(self._grad._data.copy())
        t.__dict__.update((k, v) for k, v in self.__dict__.items() if k not in _OWN_AUTOGRAD_STATE)
        if type(self) is not Tensor:
            t.__class__ = type(self)
        memo[id(self)] = t
        return t

    # ---- dtype and device moves ----------------------------------------------------------
    def to(self, *args, **kwargs):
        from .ops.convert import to  # (the conversion op: ops build on Tensor)
        return to(self, *args, **kwargs)

    def type(self, dtype=None):
        if dtype is None:
            return self._type_name()
        return self.to(dtype)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def bfloat16(self):
        return self.to(dtypes.bfloat16)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def short(self):
        return self.to(dtypes.int16)

    def char(self):
        return self.to(dtypes.int8)

    def byte(self):
        return self.to(dtypes.uint8)

    def bool(self):
        return self.to(dtypes.bool_)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to(as_device(device if device is not None else "cuda"))

    def type_as(self, other):
        return self.to(other.dtype)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from .creation import tensor  # (creation builds on Tensor)
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import zeros  # (creation builds on Tensor)
        return zeros(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import ones  # (creation builds on Tensor)
        return ones(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from .creation import full  # (creation builds on Tensor)
        return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


_OWN_AUTOGRAD_STATE = {"_grad", "_base", "_output_nr", "_hooks", "_accum", "_retains_grad", "_post_accumulate_hooks"}

_NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be "
    "populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf "
    "Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you "
    "access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more information.")


class _RemovableHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _host(array):
    return array if type(array) is np.ndarray else array.get()


def wrap_dim(dim, ndim):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n

