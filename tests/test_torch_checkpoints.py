"""graphgrad.load of files PyTorch wrote (torch.save's zip archives, .safetensors), safely: the
files are written here by torch into tmp_path, read by graphgrad, and compared with torch.load.
A pickle that names anything but tensors, storages, plain containers and allowed globals is
refused before anything runs (torch's weights_only=True contract)."""
import collections
import io
import os
import pathlib
import pickle
import zipfile

import numpy as np
import pytest
import torch

import graphgrad as gg
from graphgrad import serialization


def same(g, t):
    assert isinstance(g, gg.Tensor), type(g)
    assert g.dtype.name == str(t.dtype).split(".")[1], (g.dtype, t.dtype)
    assert tuple(g.shape) == tuple(t.shape)
    np.testing.assert_array_equal(g.detach().float().numpy(), t.detach().float().numpy())


def test_state_dict_of_a_module(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
    torch.save(model.state_dict(), tmp_path / "model.pt")
    sd = gg.load(tmp_path / "model.pt")
    expected = torch.load(tmp_path / "model.pt")
    assert type(sd) is collections.OrderedDict and list(sd) == list(expected)
    for k in sd:
        same(sd[k], expected[k])
    assert sd._metadata == expected._metadata
    mine = gg.nn.Sequential(gg.nn.Linear(4, 3), gg.nn.BatchNorm1d(3), gg.nn.Linear(3, 2))
    mine.load_state_dict(sd)
    mine.eval(), model.eval()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(mine(gg.tensor(x)).detach().numpy(), model(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


def test_a_checkpoint_with_everything_a_weights_only_load_admits(tmp_path):
    base = torch.arange(12.0)
    param = torch.nn.Parameter(torch.randn(2, 3))
    obj = {"epoch": 3, "loss": 0.25, "name": "run", "none": None, "flags": [True, False], "pair": (1, 2.5),
           "param": param, "strided": base[1::3], "transposed": torch.randn(3, 4).t(), "shared_a": base[:6],
           "shared_b": base, "half": torch.randn(3).half(), "long": torch.arange(4), "mask": torch.tensor([True]),
           "device": torch.device("cpu"), "dtype": torch.float16, "size": torch.Size([2, 3]), "bytes": b"\x00xy",
           "set": {1, 2}, "empty": torch.empty(0, 3), "scalar": torch.tensor(7.5),
           "bfloat16": torch.randn(2, 3).bfloat16(), "bfloat16_view": torch.randn(4, 4).bfloat16()[1:, ::2]}
    torch.save(obj, tmp_path / "ckpt.pt")
    got = gg.load(str(tmp_path / "ckpt.pt"))
    assert set(got) == set(obj)
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            same(got[k], v)
    assert type(got["param"]) is gg.nn.Parameter and got["param"].requires_grad
    assert (got["epoch"], got["loss"], got["name"], got["none"], got["flags"], got["pair"]) == (3, 0.25, "run", None,
                                                                                             [True, False], (1, 2.5))
    assert got["device"] == gg.device("cpu") and got["dtype"] is gg.float16 and got["size"] == gg.Size([2, 3])
    assert got["bytes"] == b"\x00xy" and got["set"] == {1, 2}
    got["shared_b"][0] = 100.0  # views of one storage share memory, as in torch
    assert got["shared_a"][0].item() == 100.0


def test_file_objects_bytes_and_map_location(tmp_path):
    buffer = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buffer)
    buffer.seek(0)
    same(gg.load(buffer, map_location="cpu")["w"], torch.ones(2))
    same(gg.load(buffer.getvalue(), map_location=gg.device("cpu"))["w"], torch.ones(2))


def test_the_legacy_format_is_named(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="torch's legacy format"):
        gg.load(tmp_path / "old.pt")


def test_graphgrad_files_still_load(tmp_path):
    gg.save({"w": gg.ones(2)}, tmp_path / "mine.pt")
    assert gg.load(tmp_path / "mine.pt")["w"].tolist() == [1.0, 1.0]


# ---- the resnet18 of torchvision, built here with torch.nn ------------------------------------------

def torch_resnet18():
    """torchvision's resnet18 with torch.nn: graphgrad's models/resnet.py is written against an
    `nn` module only, with torchvision's names, so its source built with torch.nn is torch's."""
    import graphgrad.models.resnet as source
    namespace = {"__name__": "torch_resnet", "nn": torch.nn}
    code = pathlib.Path(source.__file__).read_text().replace("from .. import nn\n", "")
    exec(compile(code, "torch_resnet", "exec"), namespace)
    return namespace["resnet18"]()


def test_torch_resnet18_checkpoint_gives_torchs_outputs(tmp_path):
    torch.manual_seed(0)
    model = torch_resnet18()
    with torch.no_grad():  # running statistics that are not the defaults, so that loading them matters
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    model.eval()
    torch.save(model.state_dict(), tmp_path / "resnet18.pth")
    mine = gg.models.resnet18()
    mine.load_state_dict(gg.load(tmp_path / "resnet18.pth"))
    mine.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.tensor(x)).numpy()
    with gg.no_grad():
        got = mine(gg.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


# ---- what is refused -----------------------------------------------------------------------------------

class RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("weights_only", [None, True, False])
def test_a_malicious_pickle_is_refused_and_nothing_runs(tmp_path, weights_only):
    marker = tmp_path / "pwned"
    torch.save({"w": torch.ones(2), "evil": RunsACommand(marker)}, tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError) as refused:
        gg.load(tmp_path / "evil.pt", weights_only=weights_only)
    name = f"{os.system.__module__}.system"  # posix.system
    assert f"Unsupported global: GLOBAL {name} was not an allowed global" in str(refused.value)
    assert "evil.pt" in str(refused.value)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match=f"GLOBAL {name}"):
        torch.load(tmp_path / "evil.pt")  # torch 2.13 refuses it too (weights_only=True by default)
    assert not marker.exists()


def test_a_handmade_pickle_cannot_import_through_other_opcodes(tmp_path):
    """INST/STACK_GLOBAL/NEWOBJ all reach find_class; BUILD on anything but an OrderedDict is refused."""
    for payload in (b"cbuiltins\neval\n(S'1+1'\ntR.", b"(cos\nsystem\nS'true'\ni.",
                    b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04exec\x93."):
        path = tmp_path / "handmade.pt"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("archive/data.pkl", payload)
            zf.writestr("archive/byteorder", "little")
        with pytest.raises(pickle.UnpicklingError, match="Unsupported global"):
            gg.load(path)


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


def test_safe_globals_admit_a_class_the_user_trusts(tmp_path):
    torch.save({"p": Point(1, 2)}, tmp_path / "point.pt")
    with pytest.raises(pickle.UnpicklingError, match=f"GLOBAL {__name__}.Point was not an allowed global"):
        gg.load(tmp_path / "point.pt")
    with serialization.safe_globals([Point]):
        p = gg.load(tmp_path / "point.pt")["p"]
        assert type(p) is Point and (p.x, p.y) == (1, 2)
    with pytest.raises(pickle.UnpicklingError):
        gg.load(tmp_path / "point.pt")  # only inside the block
    serialization.add_safe_globals([Point])
    try:
        assert Point in serialization.get_safe_globals()
        assert gg.load(tmp_path / "point.pt")["p"].y == 2
    finally:
        serialization.clear_safe_globals()
    assert serialization.get_safe_globals() == []


def test_saving_a_whole_module_is_refused_with_what_to_do(tmp_path):
    """torch.save(model) pickles the module's class; graphgrad's format never holds code, so it
    refuses and says to save the state_dict."""
    with pytest.raises(TypeError, match=r"cannot store an object of type Linear.*Save model.state_dict\(\) instead"):
        gg.save(gg.nn.Linear(2, 2), tmp_path / "m.pt")


# ---- safetensors ---------------------------------------------------------------------------------------

def test_safetensors_written_by_torch(tmp_path):
    from safetensors.torch import save_file
    tensors = {"w": torch.randn(3, 4), "i": torch.arange(5), "h": torch.randn(2).half(), "b": torch.randn(3).bfloat16(),
               "b2": torch.randn(2, 2).bfloat16()}
    save_file(tensors, tmp_path / "m.safetensors")
    got = gg.load(tmp_path / "m.safetensors")
    assert set(got) == set(tensors)
    for k, v in tensors.items():
        same(got[k], v)


def test_safetensors_written_by_graphgrad_read_by_torch(tmp_path):
    from safetensors.torch import load_file
    from graphgrad.serialization_torch import save_safetensors
    save_safetensors({"w": gg.arange(6.0).reshape(2, 3), "b": gg.tensor([1.5, -2.0]).bfloat16()},
                     tmp_path / "g.safetensors")
    loaded = load_file(tmp_path / "g.safetensors")
    assert loaded["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert loaded["b"].dtype == torch.bfloat16 and loaded["b"].tolist() == [1.5, -2.0]


def test_a_corrupted_safetensors_file_says_so(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"w\": oops}    ")
    with pytest.raises(RuntimeError, match="not a readable .safetensors file"):
        gg.load(path)


def _checkpoint_saved_on(tmp_path, location):
    """A checkpoint as torch.save writes one for a GPU tensor (CPU torch cannot make one): the
    pickle's storage reference names `location`."""
    storage = torch.arange(3.0).untyped_storage()

    class Ref:
        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, (_StorageRef(), 0, (3,), (1,), False, collections.OrderedDict())

    class _Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", location, 3) if isinstance(obj, _StorageRef) else None

    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump({"w": Ref()})
    path = tmp_path / "gpu.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", buffer.getvalue())
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
        zf.writestr("archive/data/0", bytes(storage))
    return path


class _StorageRef:
    pass


def test_a_gpu_checkpoint_needs_a_gpu_or_map_location(tmp_path):
    path = _checkpoint_saved_on(tmp_path, "cuda:0")
    assert torch.load(path, map_location="cpu")["w"].tolist() == [0.0, 1.0, 2.0]
    assert gg.load(path, map_location="cpu")["w"].tolist() == [0.0, 1.0, 2.0]
    assert gg.load(path, map_location={"cuda:0": "cpu"})["w"].tolist() == [0.0, 1.0, 2.0]
    if not gg.cuda.is_available():
        with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA device"):
            gg.load(path)
