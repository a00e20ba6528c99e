"""graphgrad.multiprocessing: Python's multiprocessing under torch's name, with torch's sharing
strategy calls and `spawn`. Tensors moved to shared memory (`Tensor.share_memory_`,
`Module.share_memory`) live in an anonymous shared mapping, so processes started with the
"fork" method after the move update the same numbers (Hogwild training). Under "spawn" a
tensor is pickled, so the child gets a copy."""
import mmap
import multiprocessing as _mp
from typing import Any
from multiprocessing import *  # noqa: F403  torch.multiprocessing re-exports it

import numpy as np

__all__ = list(_mp.__all__) + ["get_all_sharing_strategies", "get_sharing_strategy", "set_sharing_strategy",
                                "spawn", "start_processes", "ProcessRaisedException", "ProcessExitedException"]

_strategy = "file_descriptor"


def get_all_sharing_strategies():
    return {"file_descriptor", "file_system"}


def get_sharing_strategy():
    return _strategy


def set_sharing_strategy(new_strategy):
    global _strategy
    if new_strategy not in get_all_sharing_strategies():
        raise AssertionError(f"unknown sharing strategy {new_strategy!r}")
    _strategy = new_strategy


def shared_copy(array):
    """A copy of a host array in an anonymous shared mapping (seen by forked children)."""
    buffer = mmap.mmap(-1, max(array.nbytes, 1))
    shared = np.frombuffer(buffer, dtype=array.dtype, count=array.size).reshape(array.shape)
    shared[...] = array
    return shared


def is_shared_array(array):
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):  # np.frombuffer keeps a memoryview of the mapping
        base = base.obj
    return isinstance(base, mmap.mmap)


class ProcessRaisedException(Exception):
    def __init__(self, msg, error_index, error_pid):
        super().__init__(msg)
        self.error_index, self.pid = error_index, error_pid


class ProcessExitedException(ProcessRaisedException):
    def __init__(self, msg, error_index, error_pid, exit_code):
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code


class ProcessContext:
    def __init__(self, processes):
        self.processes = processes

    def pids(self):
        return [p.pid for p in self.processes]

    def join(self, timeout=None):
        """Wait for every process; raise if one exited with an error (True when all are done)."""
        for p in self.processes:
            p.join(timeout)
        for index, p in enumerate(self.processes):
            if p.exitcode not in (0, None):
                raise ProcessExitedException(f"process {index} terminated with exit code {p.exitcode}", index,
                                             p.pid, p.exitcode)
        return all(p.exitcode is not None for p in self.processes)


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run fn(i, *args) in nprocs processes, i = 0..nprocs-1."""
    context: Any = _mp.get_context(start_method)
    processes = [context.Process(target=fn, args=(i,) + tuple(args), daemon=daemon) for i in range(nprocs)]
    for p in processes:
        p.start()
    processes = ProcessContext(processes)
    if join:
        processes.join()
        return None
    return processes


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    return start_processes(fn, args, nprocs, join, daemon, start_method)
