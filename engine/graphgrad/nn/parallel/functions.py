"""The steps of one data-parallel forward, as torch.nn.parallel has them, on graphgrad devices.

They take device objects (or CUDA indices), so the same code splits work over CuPy GPUs and,
for testing, over CPU "devices". Everything is done with differentiable ops: scatter is
`chunk` then `to`, a replica's parameters are `to` copies of the originals (on the source device
the originals themselves), and gather is `to` then `cat`; so backward sends every replica's
gradient to the original parameters, where autograd sums them (on device_ids[0])."""
import contextlib
import warnings

from ...device import as_device
from ...ops import cat
from ...tensor import Tensor
from ..module import Module


def _device(d):
    """A device from a device, a string or a CUDA index (-1: the CPU, as torch's output_device)."""
    return as_device("cpu" if isinstance(d, int) and d < 0 else d)


def _on(device):
    """Make a GPU current while a replica runs (its kernels go to its own device)."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    import cupy  # (optional: only on a GPU)
    return cupy.cuda.Device(device.index)


def scatter(inputs, target_gpus, dim=0):
    """Split every tensor in `inputs` (through tuples, lists and dicts) into len(target_gpus)
    chunks along dim, chunk i on device i; anything else is passed to every device as is."""
    devices = [_device(d) for d in target_gpus]

    def split(obj):
        if isinstance(obj, Tensor):
            return [chunk.to(device) for chunk, device in zip(obj.chunk(len(devices), dim), devices)]
        if isinstance(obj, tuple) and obj and hasattr(obj, "_fields"):  # a namedtuple
            return [type(obj)(*parts) for parts in zip(*map(split, obj))]
        if isinstance(obj, (tuple, list)) and obj:
            return [type(obj)(parts) for parts in zip(*map(split, obj))]
        if isinstance(obj, dict) and obj:
            return [type(obj)(zip(obj.keys(), parts)) for parts in zip(*map(split, obj.values()))]
        return [obj] * len(devices)

    return split(inputs)


def scatter_kwargs(inputs, kwargs, target_gpus, dim=0):
    """(per-device input tuples, per-device kwargs dicts), padded to the same length."""
    scattered = scatter(inputs, target_gpus, dim) if inputs else []
    scattered_kwargs = scatter(kwargs, target_gpus, dim) if kwargs else []
    scattered += [()] * (len(scattered_kwargs) - len(scattered))
    scattered_kwargs += [{}] * (len(scattered) - len(scattered_kwargs))
    return tuple(scattered), tuple(scattered_kwargs)


def replicate(network, devices, detach=False):
    """One copy of `network` per device: shallow copies of every submodule whose parameters and
    buffers are copies on that device, made with `to` so gradients flow back to the originals."""
    devices = [_device(d) for d in devices]
    return [_replica(network, device, detach, {}) for device in devices]


def _replica(module, device, detach, memo):
    if id(module) in memo:  # a submodule used twice stays one module
        return memo[id(module)]
    replica = module.__new__(type(module))
    memo[id(module)] = replica
    state = module.__dict__.copy()
    state["_parameters"], state["_buffers"], state["_modules"] = {}, {}, {}
    object.__setattr__(replica, "__dict__", state)
    for name, param in module._parameters.items():
        copy = None if param is None else param.to(device)
        object.__setattr__(replica, name, copy.detach() if detach and copy is not None else copy)
    for name, buf in module._buffers.items():
        replica._buffers[name] = None if buf is None else buf.to(device)
    for name, child in module._modules.items():
        replica._modules[name] = None if child is None else _replica(child, device, detach, memo)
    return replica


def parallel_apply(modules, inputs, kwargs_tup=None, devices=None):
    """Run modules[i](*inputs[i], **kwargs_tup[i]), each on its own device. They run one after
    another: graphgrad's grad mode and recorders are process-wide, not per thread, and CuPy
    queues kernels asynchronously, so the GPUs still overlap."""
    if kwargs_tup is None:
        kwargs_tup = ({},) * len(modules)
    if devices is None:
        devices = [_first_device(m) for m in modules]
    outputs = []
    for module, args, kwargs, device in zip(modules, inputs, kwargs_tup, devices):
        if not isinstance(args, (list, tuple)):
            args = (args,)
        with _on(_device(device)):
            outputs.append(module(*args, **kwargs))
    return outputs


def _first_device(module):
    for t in list(module.__dict__.values()) + list(module._buffers.values()):
        if isinstance(t, Tensor):
            return t.device
    for child in module._modules.values():
        if isinstance(child, Module):
            return _first_device(child)
    return as_device("cpu")


def gather(outputs, target_device, dim=0):
    """Bring every device's output to target_device and join them along dim (tensors), or
    gather inside tuples, lists and dicts. Scalars are stacked into a vector, with torch's
    warning."""
    device = _device(target_device)

    def join(parts):
        first = parts[0]
        if isinstance(first, Tensor):
            if all(p.dim() == 0 for p in parts):
                warnings.warn("Was asked to gather along dimension 0, but all input tensors were scalars; will "
                              "instead unsqueeze and return a vector.", stacklevel=2)
                parts = [p.unsqueeze(0) for p in parts]
                return cat([p.to(device) for p in parts], 0)
            return cat([p.to(device) for p in parts], dim)
        if first is None:
            return None
        if isinstance(first, dict):
            if any(len(p) != len(first) for p in parts):
                raise ValueError("All dicts must have the same number of keys")
            return type(first)((k, join([p[k] for p in parts])) for k in first)
        if isinstance(first, tuple) and hasattr(first, "_fields"):
            return type(first)(*map(join, zip(*parts)))
        if isinstance(first, (tuple, list)):
            return type(first)(map(join, zip(*parts)))
        raise TypeError(f"DataParallel can gather tensors, and tuples, lists and dicts of them; a module returned "
                        f"{type(first).__name__}")

    return join(outputs)
