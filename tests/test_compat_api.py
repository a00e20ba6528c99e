"""torch's namespaces that training scripts reach for (accelerator, backends, distributed, onnx,
multiprocessing, nn.parallel), default devices and dtypes, tensor flags, and two bugs real
programs hit (RandomSampler's huge epochs, from_numpy of a memmap), checked against torch."""
import os
import pickle
import warnings

import numpy as np
import pytest
import torch

import graphgrad
import graphgrad.nn as nn
from graphgrad.nn.parallel import gather, parallel_apply, replicate, scatter_kwargs

no_gpu = pytest.mark.skipif(graphgrad.cuda.is_available(), reason="checks the answers without a GPU")


# ---- accelerator -----------------------------------------------------------------------------------
@no_gpu
def test_accelerator_without_a_gpu_answers_as_torch_and_names_cuda_as_built():
    acc = graphgrad.accelerator
    assert acc.is_available() is torch.accelerator.is_available() is False
    assert acc.device_count() == torch.accelerator.device_count() == 0
    assert acc.current_accelerator() == graphgrad.device("cuda")  # CuPy is installed: the "CUDA build"
    assert acc.current_accelerator(check_available=True) is None
    for name, args in (("current_device_index", ()), ("synchronize", ()), ("set_device_index", (0,))):
        with pytest.raises(RuntimeError) as ours:
            getattr(acc, name)(*args)
        with pytest.raises(RuntimeError) as theirs:
            getattr(torch.accelerator, name)(*args)
        assert str(ours.value) == str(theirs.value) == "Cannot access accelerator device when none is available."


def test_accelerator_has_torchs_names():
    missing = [name for name in ("current_accelerator", "is_available", "device_count", "current_device_index",
                                 "current_device_idx", "set_device_index", "set_device_idx", "synchronize",
                                 "device_index", "current_stream", "empty_cache", "memory_allocated")
               if not hasattr(graphgrad.accelerator, name)]
    assert missing == []


def test_the_mnist_example_device_choice_runs():
    acc = graphgrad.accelerator
    device = acc.current_accelerator() if acc.is_available() else graphgrad.device("cpu")
    assert graphgrad.ones(2, device=device).device == device or acc.is_available()


# ---- backends -----------------------------------------------------------------------------------------
def test_backend_flags_store_and_report_with_torchs_defaults():
    b, tb = graphgrad.backends, torch.backends
    assert b.cuda.matmul.allow_tf32 == tb.cuda.matmul.allow_tf32
    assert b.cudnn.allow_tf32 == tb.cudnn.allow_tf32 and b.cudnn.benchmark == tb.cudnn.benchmark
    assert b.cudnn.deterministic == tb.cudnn.deterministic and b.cudnn.enabled == tb.cudnn.enabled
    saved = b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32, b.cudnn.benchmark, b.cudnn.deterministic
    try:
        b.cuda.matmul.allow_tf32 = True
        b.cudnn.allow_tf32, b.cudnn.benchmark, b.cudnn.deterministic = False, True, True
        assert (b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32, b.cudnn.benchmark, b.cudnn.deterministic) == \
               (True, False, True, True)
        with b.cudnn.flags(enabled=False):
            assert b.cudnn.enabled is False
        assert b.cudnn.enabled is True
    finally:
        b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32, b.cudnn.benchmark, b.cudnn.deterministic = saved


def test_backend_flags_refuse_unknown_names_as_torch():
    with pytest.raises(AttributeError, match="Unknown attribute allow_tf33"):
        graphgrad.backends.cuda.matmul.allow_tf33 = True
    with pytest.raises(AttributeError, match="Unknown attribute allow_tf33"):
        torch.backends.cuda.matmul.allow_tf33 = True


def test_backends_availability_is_honest():
    b = graphgrad.backends
    assert b.mps.is_available() is False and b.mps.is_built() is False
    assert b.cudnn.is_available() is False and b.cudnn.version() is None
    assert b.mkldnn.is_available() is False
    assert b.cpu.get_cpu_capability() in ("DEFAULT", "AVX2", "AVX512")
    with b.cuda.sdp_kernel(enable_flash=False):
        assert b.cuda.flash_sdp_enabled() is False
    assert b.cuda.flash_sdp_enabled() is True


# ---- distributed, onnx, multiprocessing ---------------------------------------------------------------
def test_distributed_names_and_errors():
    dist = graphgrad.distributed
    assert dist.is_available() is False and dist.is_initialized() is False
    assert dist.is_nccl_available() is False
    for call in (dist.get_rank, dist.get_world_size, dist.barrier):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            call()
    with pytest.raises(RuntimeError, match="Distributed package doesn't have NCCL built in"):
        dist.init_process_group(backend="nccl")
    with pytest.raises(RuntimeError, match="process-group backend"):
        dist.init_process_group()
    assert dist.Backend("NCCL") == "nccl" and dist.ReduceOp.SUM is not None
    from graphgrad.distributed import destroy_process_group, init_process_group  # noqa: F401  nanoGPT's import


def test_onnx_imports_and_export_says_why_not():
    import graphgrad.onnx
    with pytest.raises(NotImplementedError, match="ONNX export is not supported"):
        graphgrad.onnx.export(nn.Linear(2, 2), (graphgrad.ones(1, 2),), "model.onnx")


def test_share_memory_is_seen_by_a_forked_process():
    import graphgrad.multiprocessing as mp
    if "fork" not in mp.get_all_start_methods():
        pytest.skip("needs the fork start method")
    model = nn.Linear(3, 1)
    assert model.share_memory() is model
    assert all(p.is_shared() for p in model.parameters()) and not graphgrad.ones(1).is_shared()
    before = model.weight.detach().clone()
    mp.start_processes(_add_one, (model,), nprocs=2, start_method="fork")
    # both children wrote the same memory
    np.testing.assert_allclose(model.weight.detach().numpy(), before.numpy() + 2, rtol=1e-6)
    assert mp.get_sharing_strategy() in mp.get_all_sharing_strategies()


def _add_one(rank, model):
    with graphgrad.no_grad():
        model.weight.add_(1)


# ---- defaults, flags, formats -----------------------------------------------------------------------------
def test_default_dtype_and_device():
    graphgrad.set_default_dtype(graphgrad.float64)
    try:
        assert graphgrad.get_default_dtype() is graphgrad.float64 and graphgrad.zeros(1).dtype is graphgrad.float64
    finally:
        graphgrad.set_default_dtype(graphgrad.float32)
    graphgrad.set_default_device("cpu")
    assert graphgrad.get_default_device() == graphgrad.device("cpu") and graphgrad.zeros(1).device.type == "cpu"
    graphgrad.set_default_device(None)
    assert str(graphgrad.get_default_device()) == str(torch.get_default_device()) == "cpu"
    if not graphgrad.cuda.is_available():
        with pytest.raises((AssertionError, RuntimeError)):
            graphgrad.set_default_device("cuda")
        assert graphgrad.zeros(1).device.type == "cpu"


@pytest.mark.cuda
def test_default_device_cuda_puts_factories_on_the_gpu():
    graphgrad.set_default_device("cuda")
    try:
        assert graphgrad.zeros(2).is_cuda and graphgrad.randn(2).is_cuda and graphgrad.tensor([1.0]).is_cuda
        assert graphgrad.zeros(2, device="cpu").is_cpu
        assert nn.Linear(2, 2).weight.is_cuda
    finally:
        graphgrad.set_default_device(None)


def test_tensor_flags_and_memory_formats_as_torch():
    ours, theirs = graphgrad.zeros(2), torch.zeros(2)
    for name in ("is_cpu", "is_cuda", "is_xpu", "is_mps", "is_meta", "is_sparse", "is_quantized", "is_nested"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.is_complex() is theirs.is_complex() is False
    assert graphgrad.is_complex(ours) is torch.is_complex(theirs)
    for name in ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format", "strided"):
        assert repr(getattr(graphgrad, name)).replace("graphgrad.", "torch.") == repr(getattr(torch, name))
        assert pickle.loads(pickle.dumps(getattr(graphgrad, name))) is getattr(graphgrad, name)
    assert isinstance(graphgrad.channels_last, graphgrad.memory_format) and isinstance(graphgrad.strided, graphgrad.layout)
    assert not isinstance(graphgrad.strided, graphgrad.memory_format)
    for shape in ((2, 3, 4, 5), (2, 1, 4, 5), (2, 3), (1, 2, 3, 4, 5)):
        for name in ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format"):
            assert graphgrad.ones(shape).is_contiguous(memory_format=getattr(graphgrad, name)) == \
                torch.ones(shape).is_contiguous(memory_format=getattr(torch, name)), (shape, name)
    x = graphgrad.arange(6.0).reshape(2, 3)
    assert graphgrad.equal(x.contiguous(memory_format=graphgrad.contiguous_format), x)


def test_rnn_flatten_parameters_is_accepted():
    for cls in (nn.LSTM, nn.GRU, nn.RNN):
        rnn = cls(3, 4)
        assert rnn.flatten_parameters() is None
        assert torch.nn.LSTM(3, 4).flatten_parameters() is None


# ---- nn.parallel ---------------------------------------------------------------------------------------
def test_data_parallel_on_the_cpu_runs_the_module_with_torchs_state_dict_keys():
    graphgrad.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = nn.DataParallel(nn.Linear(4, 2)), torch.nn.DataParallel(torch.nn.Linear(4, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["module.weight", "module.bias"]
    assert repr(ours).replace("graphgrad", "torch") == repr(theirs)
    assert ours.device_ids == theirs.device_ids == []
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(graphgrad.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-7)
    assert nn.parallel.DataParallel is nn.DataParallel
    plain = nn.Linear(4, 2)
    plain.load_state_dict({k[len("module."):]: v for k, v in ours.state_dict().items()})


def test_distributed_data_parallel_says_what_it_needs():
    with pytest.raises(ValueError, match="initialized default process group"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))


def _pieces(devices, module, *inputs):
    args, kwargs = scatter_kwargs(inputs, {}, devices)
    return gather(parallel_apply(replicate(module, devices[:len(args)]), args, kwargs, devices[:len(args)]),
                  devices[0])


def test_the_multi_device_steps_split_the_batch_and_sum_gradients_on_the_source():
    """scatter, replicate, parallel_apply and gather run on any devices: over three CPU "devices"
    the output and the parameters' gradients are the whole-batch ones."""
    graphgrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    x = graphgrad.randn(7, 4)
    whole = model(x)
    whole.pow(2).sum().backward()
    expected = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    devices = ["cpu", "cpu", "cpu"]
    out = _pieces(devices, model, x)
    assert out.shape == (7, 2) and type(out.grad_fn).__name__ == "CatBackward0"
    np.testing.assert_allclose(out.detach().numpy(), whole.detach().numpy(), rtol=1e-6)
    out.pow(2).sum().backward()
    for p, g in zip(model.parameters(), expected):
        np.testing.assert_allclose(p.grad.numpy(), g.numpy(), rtol=1e-5, atol=1e-6)
    args, _ = scatter_kwargs((x, {"a": x, "b": 1}), {}, devices)
    assert [a[0].shape[0] for a in args] == [3, 3, 1] and args[2][1]["b"] == 1


def test_gather_of_scalars_stacks_them_with_torchs_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = gather([graphgrad.tensor(1.0), graphgrad.tensor(2.0)], "cpu")
    assert out.tolist() == [1.0, 2.0] and "all input tensors were scalars" in str(caught[0].message)


@pytest.mark.cuda
def test_data_parallel_on_one_gpu_moves_the_module_and_the_batch():
    graphgrad.manual_seed(0)
    model = nn.DataParallel(nn.Linear(4, 2))
    assert model.device_ids == list(range(graphgrad.cuda.device_count()))
    out = model(graphgrad.randn(6, 4))
    assert out.is_cuda and out.shape == (6, 2)
    out.sum().backward()
    assert model.module.weight.grad.is_cuda


@pytest.mark.cuda
def test_the_multi_device_steps_on_the_gpu_match_the_whole_batch():
    """Two replicas on device 0 exercise scatter/replicate/gather with CuPy arrays; with two or
    more GPUs the replicas go to devices 0 and 1."""
    graphgrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)).cuda()
    x = graphgrad.randn(8, 4).cuda()
    whole = model(x)
    whole.sum().backward()
    expected = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    devices = [0, 1] if graphgrad.cuda.device_count() > 1 else [0, 0]
    out = _pieces(devices, model, x)
    assert out.device == graphgrad.device("cuda", 0)
    out.sum().backward()
    for p, g in zip(model.parameters(), expected):
        np.testing.assert_allclose(p.grad.cpu().numpy(), g.cpu().numpy(), rtol=1e-5, atol=1e-6)
    if graphgrad.cuda.device_count() > 1:
        dp = nn.DataParallel(model)
        assert dp(x).shape == (8, 2)


# ---- bugs real programs hit ------------------------------------------------------------------------------
def test_random_sampler_with_a_huge_epoch_draws_lazily_and_as_torch():
    from graphgrad.utils.data import DataLoader, RandomSampler
    graphgrad.manual_seed(0)
    torch.manual_seed(0)
    ours = RandomSampler(range(100), replacement=True, num_samples=int(1e10))
    theirs = torch.utils.data.RandomSampler(range(100), replacement=True, num_samples=int(1e10))
    it, tit = iter(ours), iter(theirs)
    assert [next(it) for _ in range(100)] == [next(tit) for _ in range(100)]
    graphgrad.manual_seed(1)
    torch.manual_seed(1)
    loader = DataLoader(list(range(100)), batch_size=8, sampler=RandomSampler(range(100), True, int(1e10)))
    tloader = torch.utils.data.DataLoader(list(range(100)), batch_size=8,
                                          sampler=torch.utils.data.RandomSampler(range(100), True, int(1e10)))
    it, tit = iter(loader), iter(tloader)
    assert [next(it).tolist() for _ in range(5)] == [next(tit).tolist() for _ in range(5)]
    assert len(loader) == len(tloader)


@pytest.mark.parametrize("replacement, num_samples, n, seeded", [(True, 1000, 10, False), (True, 77, 5, True),
                                                                   (False, 23, 5, False), (False, 10, 10, True)])
def test_random_sampler_orders_and_batches_match_torch(replacement, num_samples, n, seeded):
    from graphgrad.utils.data import BatchSampler, RandomSampler

    def both(make_ours, make_theirs):
        graphgrad.manual_seed(3)
        torch.manual_seed(3)
        gen = graphgrad.Generator().manual_seed(7) if seeded else None
        tgen = torch.Generator().manual_seed(7) if seeded else None
        return make_ours(RandomSampler(range(n), replacement, num_samples, gen)), \
            make_theirs(torch.utils.data.RandomSampler(range(n), replacement, num_samples, tgen))

    ours, theirs = both(list, list)
    assert ours == theirs
    ours, theirs = both(lambda s: [b.tolist() for b in BatchSampler(s, 7, False)._index_batches()],
                        lambda s: list(torch.utils.data.BatchSampler(s, 7, False)))
    assert ours == theirs
    if seeded and replacement:  # a caller's generator is left where torch's is after a partial epoch
        gen, tgen = graphgrad.Generator().manual_seed(5), torch.Generator().manual_seed(5)
        next(iter(RandomSampler(range(n), True, 10**6, gen)))
        next(iter(torch.utils.data.RandomSampler(range(n), True, 10**6, tgen)))
        assert graphgrad.randint(0, 100, (5,), generator=gen).tolist() == \
            torch.randint(0, 100, (5,), generator=tgen).tolist()


def test_from_numpy_of_a_memmap_slice_is_a_cpu_tensor_sharing_memory(tmp_path):
    mm = np.memmap(os.path.join(tmp_path, "data.bin"), dtype=np.float32, mode="w+", shape=(4, 3))
    mm[:] = np.arange(12, dtype=np.float32).reshape(4, 3)
    a, b = graphgrad.from_numpy(mm[0:2]), graphgrad.from_numpy(mm[2:4])
    assert a.device.type == "cpu" and not a.is_cuda
    stacked = graphgrad.stack([a, b])
    np.testing.assert_array_equal(stacked.numpy(), torch.stack([torch.from_numpy(mm[0:2]),
                                                                 torch.from_numpy(mm[2:4])]).numpy())
    mm[0, 0] = 42.0
    assert a[0, 0].item() == 42.0  # still the same memory, as torch.from_numpy


@pytest.mark.parametrize("options", [dict(num_replicas=3, rank=1), dict(num_replicas=3, rank=2, drop_last=True),
                                     dict(num_replicas=4, rank=0, shuffle=False), dict(num_replicas=3, rank=0, seed=5)])
def test_distributed_sampler_gives_torchs_shares(options):
    from graphgrad.utils.data.distributed import DistributedSampler
    ours = DistributedSampler(range(10), **options)
    theirs = torch.utils.data.distributed.DistributedSampler(range(10), **options)
    for epoch in (0, 2):
        ours.set_epoch(epoch)
        theirs.set_epoch(epoch)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_distributed_sampler_needs_replicas_and_rank():
    from graphgrad.utils.data.distributed import DistributedSampler
    with pytest.raises(RuntimeError, match="Requires distributed package to be available"):
        DistributedSampler(range(10))
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(10), num_replicas=2, rank=2)
