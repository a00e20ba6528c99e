"""graphgrad.save / graphgrad.load: round trips, sharing, map_location, and clear errors for bad
files (the format is a zip of JSON and raw arrays: loading never unpickles)."""
import io
import json
import math
import pathlib
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import graphgrad as gg
from graphgrad import optim
from graphgrad.serialization import load, save


def roundtrip(obj, **load_kwargs):
    buffer = io.BytesIO()
    save(obj, buffer)
    buffer.seek(0)
    return load(buffer, **load_kwargs)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
                                   "float64"])
def test_tensors_of_every_dtype(dtype):
    array = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    t = gg.tensor(array)
    back = roundtrip(t)
    assert back.dtype is t.dtype and back.shape == t.shape and np.array_equal(back.numpy(), array)
    assert back._data is not t._data


def test_odd_shapes_views_and_sharing():
    base = gg.arange(12.0).reshape(3, 4)
    leaf = gg.ones(2, requires_grad=True)
    obj = {"scalar": gg.tensor(3.5), "empty": gg.zeros(0, 3), "transposed": base.t(), "row": base[1],
           "strided": base[:, ::2], "leaf": leaf, "again": leaf}
    back = roundtrip(obj)
    for key in ("scalar", "empty", "transposed", "row", "strided"):
        assert back[key].shape == obj[key].shape and back[key].tolist() == obj[key].tolist()
        assert back[key].is_contiguous()
    assert back["leaf"] is back["again"] and back["leaf"].requires_grad and back["leaf"].is_leaf
    assert not back["row"].requires_grad


def test_python_values_and_containers():
    obj = {"none": None, "true": True, "int": 2 ** 62, "float": 0.1, "nan": math.nan, "inf": -math.inf,
           "str": "héllo", "bytes": b"\x00\xff", "tuple": (1, (2, "x")), "list": [1, [2.5, None]],
           1: "int key", (1, 2): "tuple key", "dtype": gg.float16, "device": gg.device("cpu"),
           "size": gg.Size([2, 3]), "np": np.arange(3), "npscalar": np.float32(1.5)}
    back = roundtrip(obj)
    assert math.isnan(back.pop("nan")) and math.isnan(obj.pop("nan"))
    np.testing.assert_array_equal(back.pop("np"), obj.pop("np"))
    assert back == obj
    assert type(back["tuple"]) is tuple and type(back["tuple"][1]) is tuple and type(back["list"]) is list
    assert type(back["npscalar"]) is np.float32 and back["dtype"] is gg.float16
    assert type(back["size"]) is gg.Size
    assert list(back) == list(obj)  # key order kept


def test_ordered_dict_state_dict_with_metadata():
    sd = OrderedDict([("0.weight", gg.randn(3, 2)), ("0.bias", gg.zeros(3))])
    sd._metadata = OrderedDict([("", {"version": 1}), ("0", {"version": 1})])
    back = roundtrip(sd)
    assert type(back) is OrderedDict and list(back) == ["0.weight", "0.bias"]
    assert back._metadata == sd._metadata
    assert all(back[k].tolist() == sd[k].tolist() for k in sd)


def test_module_state_dict_and_parameters():
    nn = pytest.importorskip("graphgrad.nn")
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    clone = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    clone.load_state_dict(roundtrip(model.state_dict()))
    x = gg.randn(5, 4)
    assert (model(x) == clone(x)).all()
    p = roundtrip(model[0].weight)
    assert type(p) is nn.Parameter and p.requires_grad
    with pytest.raises(TypeError, match="Save model.state_dict\\(\\) instead"):
        save(model, io.BytesIO())


def test_optimizer_state_dict_roundtrip():
    params = [gg.randn(3, requires_grad=True), gg.randn(2, 2, requires_grad=True)]
    opt = optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.1}], amsgrad=True)
    for _ in range(2):
        opt.zero_grad()
        (params[0].sum() + (params[1] ** 2).sum()).backward()
        opt.step()
    saved = roundtrip(opt.state_dict())
    assert list(saved["state"]) == [0, 1] and saved["param_groups"][0]["betas"] == (0.9, 0.999)
    assert saved["param_groups"] == opt.state_dict()["param_groups"]
    fresh = optim.Adam([{"params": params[:1]}, {"params": params[1:]}])
    fresh.load_state_dict(saved)
    assert fresh.param_groups[1]["lr"] == 0.1 and fresh.state[params[1]]["step"].item() == 2.0
    np.testing.assert_array_equal(fresh.state[params[1]]["exp_avg"].numpy(), opt.state[params[1]]["exp_avg"].numpy())


def test_paths_and_file_objects(tmp_path):
    t = gg.arange(5)
    with pytest.raises(RuntimeError, match="Parent directory .* does not exist."):
        save(t, str(tmp_path / "missing" / "x.pt"))
    for target in (str(tmp_path / "a.pt"), tmp_path / "b.pth"):
        save(t, target)
        assert load(target).tolist() == [0, 1, 2, 3, 4]
    with open(tmp_path / "c.pt", "wb") as f:
        save({"t": t}, f)
    with open(tmp_path / "c.pt", "rb") as f:
        assert load(f)["t"].tolist() == [0, 1, 2, 3, 4]
    assert gg.load(pathlib.Path(tmp_path / "c.pt"), weights_only=True)["t"].tolist() == [0, 1, 2, 3, 4]


def _saved_on(device_name):
    """A file that says its tensor lives on device_name (as one saved on a GPU machine would)."""
    buffer = io.BytesIO()
    save({"w": gg.ones(2)}, buffer)
    return _rewrite(buffer, lambda m: m["tensors"][0].update(device=device_name))


def _rewrite(buffer, edit_manifest=None, drop=None, replace=None):
    buffer.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "graphgrad/manifest.json" and edit_manifest:
                manifest = json.loads(data)
                edit_manifest(manifest)
                data = json.dumps(manifest).encode()
            if replace and name in replace:
                data = replace[name]
            if name != drop:
                dst.writestr(name, data)
    out.seek(0)
    return out


def test_map_location():
    for m in ("cpu", gg.device("cpu"), {"cuda:0": "cpu"}, lambda storage, location: storage,
              lambda storage, location: None):
        f = _saved_on("cuda:0")
        assert load(f, map_location=m)["w"].device == gg.device("cpu")
    if not gg.cuda.is_available():
        with pytest.raises(RuntimeError, match="map_location=torch.device\\('cpu'\\)"):
            load(_saved_on("cuda:0"))
    assert roundtrip({"w": gg.ones(1)}, map_location="cpu")["w"].device == gg.device("cpu")


def test_bad_files_raise_clear_errors(tmp_path):
    good = io.BytesIO()
    save({"w": gg.arange(1000.0)}, good)
    raw = good.getvalue()
    path = tmp_path / "model.pt"

    def check(data, pattern):
        path.write_bytes(data if isinstance(data, bytes) else data.getvalue())
        with pytest.raises(RuntimeError, match=pattern) as e:
            load(str(path))
        assert str(path) in str(e.value)

    check(raw[: len(raw) // 2], "not a graphgrad file|truncated")
    check(raw[:-10], "not a graphgrad file|truncated")
    check(b"definitely not a zip file", "not a graphgrad file")
    check(b"", "not a graphgrad file")
    check(_rewrite(io.BytesIO(raw), drop="graphgrad/data/0"), "incomplete")
    check(_rewrite(io.BytesIO(raw), replace={"graphgrad/data/0": b"\x00" * 12}), "should have 4000 bytes but has 12")
    check(_rewrite(io.BytesIO(raw), replace={"graphgrad/manifest.json": b"{not json"}), "manifest cannot be read")
    check(_rewrite(io.BytesIO(raw), drop="graphgrad/manifest.json"), "no graphgrad/manifest.json")
    check(_rewrite(io.BytesIO(raw), lambda m: m["tensors"][0].update(dtype="object")), "malformed")
    check(_rewrite(io.BytesIO(raw), lambda m: m["tensors"][0].update(shape=[2 ** 32, 2 ** 32])), "should have")
    check(_rewrite(io.BytesIO(raw), lambda m: m.update(object={"$": "pickle", "v": "cos\nsystem"})), "unknown kind")
    check(_rewrite(io.BytesIO(raw), lambda m: m.update(object={"$": "tensor", "id": 7})), "does not list")
    check(_rewrite(io.BytesIO(raw), lambda m: m.update(version=99)), "format version 99")
    # (files torch.save wrote are read by serialization_torch: tests/test_torch_checkpoints.py)


def test_loading_never_unpickles(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pickle used")
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    assert roundtrip({"a": [gg.ones(2), (1, "x")]})["a"][1] == (1, "x")


def test_unsupported_objects():
    for obj in (object(), {1, 2}, np.array(["a"]), lambda: 0):
        with pytest.raises(TypeError, match="graphgrad.save cannot store"):
            save(obj, io.BytesIO())


@pytest.mark.cuda
def test_cuda_tensors_keep_or_change_device():
    t = gg.arange(6.0).reshape(2, 3).cuda()
    assert roundtrip(t).device == gg.device("cuda:0")
    assert roundtrip(t, map_location="cpu").device == gg.device("cpu")
    assert roundtrip(t, map_location={"cuda:0": "cpu"}).device == gg.device("cpu")
    assert roundtrip(gg.ones(2), map_location="cuda").device == gg.device("cuda:0")
    assert roundtrip(t.t()).tolist() == t.t().tolist()
