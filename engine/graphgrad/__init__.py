"""graphgrad: a PyTorch-style tensor and autograd engine (NumPy on the CPU, CuPy on the GPU)
that records what it runs, so the graph can be seen, stepped through and debugged.

    import graphgrad as torch
"""
import sys as _sys

from . import dtypes as _dtypes
from .dtypes import (bfloat16, bool_ as bool, dtype, float16, float32, float64, get_default_dtype, int8, int16, int32,
                     int64, promote_types, set_default_dtype, uint8)
from .device import device
from .tensor import Size, Tensor
from .autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .ops import *  # noqa: F403  the op functions: graphgrad.add, graphgrad.matmul, ...
from . import ops
from .ops import index as _index
from .ops.reduce import return_types as _return_types
from .creation import (arange, as_tensor, asarray, bernoulli, empty, empty_like, eye, from_numpy, full, full_like,
                       linspace, logspace, multinomial, normal, ones, ones_like, rand, rand_like, randint,
                       randint_like, randn, randn_like, randperm, tensor, zeros, zeros_like)
from .random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed,
                     set_rng_state)
from .printing import set_printoptions
from . import autograd, cuda, linalg, random
from .linalg import det, inv as inverse
from . import datasets, jit, optim, utils
from . import models, nn
from . import accelerator, backends, distributed, multiprocessing, onnx  # torch's namespaces (PyTorch compatibility)
from .defaults import get_default_device, set_default_device
from .formats import channels_last, channels_last_3d, contiguous_format, layout, memory_format, preserve_format, strided
from .serialization import load, save

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64


class _Namespace:
    def __init__(self, **items):
        self.__dict__.update(items)


return_types = _Namespace(**_return_types)


def result_type(tensor1, tensor2):
    return _dtypes.result_type(tensor1, tensor2)


def can_cast(from_, to):
    return from_.category <= to.category


def is_complex(input):
    return input.is_complex()


from ._version import __version__  # noqa: E402
from . import debug, tracing  # noqa: E402
from .tracing import trace  # noqa: E402
from .compile import compile  # noqa: E402  graphgrad.compile(step): capture once, replay a plan
from . import amp, cpu  # noqa: E402
from .amp import cuda as _cuda_amp  # noqa: E402

# torch.cuda.amp (autocast and GradScaler, disabled without a GPU), attached here: amp builds on nn, far
# above cuda. In sys.modules too, for `import torch.cuda.amp` and `from torch.cuda.amp import GradScaler`.
cuda.amp = _sys.modules[__name__ + ".cuda.amp"] = _cuda_amp
from .amp.autocast_mode import (autocast, clear_autocast_cache, get_autocast_cpu_dtype,  # noqa: E402
                                get_autocast_dtype, get_autocast_gpu_dtype, is_autocast_cache_enabled,
                                is_autocast_enabled, set_autocast_cache_enabled, set_autocast_dtype,
                                set_autocast_enabled)


# graphgrad's public names (what `from graphgrad import *` gives, and what type checkers take as its
# API): its own and its namespaces (not its implementation modules), then every op function
__all__ = ["bfloat16", "bool", "dtype", "float16", "float32", "float64", "get_default_dtype", "int8", "int16",
           "int32", "int64", "promote_types", "set_default_dtype", "uint8", "device", "multiprocessing", "tensor",
           "Size", "Tensor", "cuda", "random", "ops", "autograd", "enable_grad", "inference_mode", "is_grad_enabled",
           "no_grad", "set_grad_enabled", "arange", "as_tensor", "asarray", "bernoulli", "empty", "empty_like", "eye",
           "from_numpy", "full", "full_like", "linspace", "logspace", "multinomial", "normal", "ones", "ones_like",
           "rand", "rand_like", "randint", "randint_like", "randn", "randn_like", "randperm", "zeros", "zeros_like",
           "Generator", "default_generator", "get_rng_state", "initial_seed", "manual_seed", "seed", "set_rng_state",
           "set_printoptions", "linalg", "det", "inverse", "utils", "datasets", "jit", "tracing", "optim", "nn",
           "models", "accelerator", "backends", "distributed", "onnx", "get_default_device", "set_default_device",
           "channels_last", "channels_last_3d", "contiguous_format", "layout", "memory_format", "preserve_format",
           "strided", "load", "save", "half", "float", "double", "short", "int", "long", "return_types",
           "result_type", "can_cast", "is_complex", "debug", "compile", "amp", "cpu", "autocast",
           "clear_autocast_cache", "get_autocast_cpu_dtype", "get_autocast_dtype", "get_autocast_gpu_dtype",
           "is_autocast_cache_enabled", "is_autocast_enabled", "set_autocast_cache_enabled", "set_autocast_dtype",
           "set_autocast_enabled"]
__all__ += ops.__all__


def _jupyter_labextension_paths():
    """Where `jupyter labextension develop --overwrite .` finds the JupyterLab extension built from src/."""
    return [{"src": "labextension", "dest": "graphgrad"}]
