"""DataParallel: the batch split over the GPUs given (all CuPy sees, by default), one replica
of the module per GPU, outputs joined on one; without a GPU it calls the module, as torch's
does on the CPU."""
from ... import cuda
from ...autograd.grad_mode import is_grad_enabled
from ...device import device as _device_type
from ..module import Module
from .functions import gather, parallel_apply, replicate, scatter_kwargs


def _index(d):
    if isinstance(d, _device_type):
        return d.index or 0
    if isinstance(d, str):
        return _device_type(d).index or 0
    return d


class DataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        if not cuda.is_available():  # torch's CPU (and MPS) path: the module runs as it is
            self.device_ids = []
            return
        self._place(device_ids, output_device, dim)
        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    def _place(self, device_ids, output_device, dim):
        if device_ids is None:
            device_ids = list(range(cuda.device_count()))
        if not device_ids:
            raise RuntimeError("no available devices were found")
        self.dim = dim
        self.device_ids = [_index(d) for d in device_ids]
        self.output_device = _index(device_ids[0] if output_device is None else output_device)
        self.src_device_obj = _device_type("cuda", self.device_ids[0])

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        for t in list(self.module.parameters()) + list(self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError(f"module must have its parameters and buffers on device {self.src_device_obj} "
                                   f"(device_ids[0]) but found one of them on device: {t.device}")
        inputs, module_kwargs = self.scatter(inputs, kwargs, self.device_ids)
        if not inputs and not module_kwargs:
            inputs, module_kwargs = ((),), ({},)
        if len(self.device_ids) == 1:
            return self.module(*inputs[0], **module_kwargs[0])
        replicas = self.replicate(self.module, self.device_ids[:len(inputs)])
        outputs = self.parallel_apply(replicas, inputs, module_kwargs)
        return self.gather(outputs, self.output_device)

    def replicate(self, module, device_ids):
        return replicate(module, device_ids, not is_grad_enabled())

    def scatter(self, inputs, kwargs, device_ids):
        return scatter_kwargs(inputs, kwargs, device_ids, dim=self.dim)

    def parallel_apply(self, replicas, inputs, kwargs):
        return parallel_apply(replicas, inputs, kwargs, self.device_ids[:len(replicas)])

    def gather(self, outputs, output_device):
        return gather(outputs, output_device, dim=self.dim)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    """DataParallel's forward as a function: module(*inputs) over the GPUs in device_ids (the
    module must already be on device_ids[0]; nothing is moved)."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    if not cuda.is_available():
        raise RuntimeError("device type could not be determined")
    wrapper = DataParallel.__new__(DataParallel)
    Module.__init__(wrapper)
    wrapper.module = module
    wrapper._place(device_ids, output_device, dim)
    return wrapper(*inputs, **(module_kwargs or {}))
