"""graphgrad.distributed: torch.distributed's names, for scripts that import them and take the
single-process path. graphgrad has no process-group backend (no NCCL, Gloo or MPI), so
`is_available()` is False, nothing is ever initialized, and starting a process group raises an
error that names the backend it would need."""
import enum
import os

__all__ = ["Backend", "ReduceOp", "all_gather", "all_reduce", "barrier", "broadcast", "destroy_process_group",
           "get_backend", "get_rank", "get_world_size", "init_process_group", "is_available", "is_gloo_available",
           "is_initialized", "is_mpi_available", "is_nccl_available", "is_torchelastic_launched", "new_group",
           "reduce", "all_gather_object", "broadcast_object_list"]


def is_available():
    return False


def is_initialized():
    return False


def is_nccl_available():
    return False


def is_gloo_available():
    return False


def is_mpi_available():
    return False


def is_torchelastic_launched():
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


class Backend(str):
    """A backend's name, lower-cased, as torch's Backend("NCCL") == "nccl"."""
    UNDEFINED, GLOO, NCCL, MPI, UCC, XCCL = "undefined", "gloo", "nccl", "mpi", "ucc", "xccl"

    def __new__(cls, name):
        return str.__new__(cls, name.lower())


class ReduceOp(enum.Enum):
    SUM, PRODUCT, MIN, MAX, BAND, BOR, BXOR, AVG, PREMUL_SUM = range(9)


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    name = str(backend).upper() if backend else "a process-group backend (NCCL, Gloo or MPI)"
    raise RuntimeError(f"Distributed package doesn't have {name} built in: graphgrad runs in one process and has "
                       f"no torch.distributed backend; run the script without torchrun (e.g. RANK unset) to take its "
                       f"single-process path")


def _not_initialized(*args, **kwargs):
    raise ValueError("Default process group has not been initialized, please make sure to call init_process_group.")


get_rank = get_world_size = get_backend = barrier = new_group = _not_initialized
all_reduce = reduce = broadcast = all_gather = all_gather_object = broadcast_object_list = _not_initialized


def destroy_process_group(group=None):
    _not_initialized()
