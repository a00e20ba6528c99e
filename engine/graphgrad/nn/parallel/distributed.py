"""DistributedDataParallel: importable, so scripts that name it load; it needs a process group
across processes (torch.distributed with NCCL or Gloo), which graphgrad does not have."""
from ..module import Module


class DistributedDataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True, *args,
                 **kwargs):
        raise ValueError("DistributedDataParallel needs an initialized default process group "
                         "(torch.distributed.init_process_group with the NCCL or Gloo backend); graphgrad has no "
                         "distributed backend, so it runs in one process: use the module itself, or "
                         "nn.DataParallel(module) to split batches over this machine's GPUs")
