"""Fuzzing graphgrad's file formats (graphgrad.save and graphgrad.jit.save): any mutation of a
valid file either loads exactly what was saved or is refused with graphgrad's RuntimeError naming
the file; never another exception, never part of an object."""
import io
import json
import math
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphgrad as gg

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=6),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)


def _saved_object():
    gg.manual_seed(0)
    shared = gg.randn(3, 2, requires_grad=True)
    state = OrderedDict([("w", gg.nn.Parameter(gg.randn(2, 2))), ("b", gg.zeros(2, dtype=gg.float64))])
    return {"shared": shared, "again": shared, "state": state, "ints": gg.arange(5, dtype=gg.int16),
            "flags": gg.tensor([True, False]), "np": np.arange(4, dtype=np.uint32), "scalar": np.float32(1.5),
            "nested": (1, [2.5, None, "x"], {"k": b"\x00\xff"}), "nan": math.inf, "dtype": gg.float16,
            "size": gg.Size([2, 3])}


def _bytes(save, obj):
    buffer = io.BytesIO()
    save(obj, buffer)
    return buffer.getvalue()


ORIGINAL = _saved_object()
VALID = _bytes(gg.save, ORIGINAL)


def _same(a, b):
    """Loaded exactly: same types, values, dtypes, shapes, grad flags (and sharing)."""
    if isinstance(a, gg.Tensor):
        return (type(a) is type(b) and a.dtype is b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
                and np.array_equal(a.detach().numpy(), b.detach().numpy(), equal_nan=a.dtype.is_floating_point))
    if isinstance(a, np.ndarray):
        return type(b) is np.ndarray and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return type(a) is type(b) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and (a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)))


def _refused_naming(error, path, loader="graphgrad.load"):
    return isinstance(error, RuntimeError) and str(error).startswith(f"{loader}({str(path)!r})")


@st.composite
def byte_mutations(draw, data):
    """A valid file, truncated, with bytes flipped, cut out or put in."""
    kind = draw(st.sampled_from(["truncate", "flip", "cut", "insert"]))
    n = len(data)
    if kind == "truncate":
        return data[:draw(st.integers(0, n - 1))]
    out = bytearray(data)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            out[draw(st.integers(0, n - 1))] ^= draw(st.integers(1, 255))
        return bytes(out)
    at = draw(st.integers(0, n - 1))
    if kind == "cut":
        return bytes(out[:at] + out[at + draw(st.integers(1, 64)):])
    return bytes(out[:at] + draw(st.binary(min_size=1, max_size=64)) + out[at:])


def _load_checked(data, tmp_path, load, loader):
    path = tmp_path / "fuzzed.pt"
    path.write_bytes(data)
    try:
        return load(path), path
    except Exception as e:  # what it raises is the point
        assert _refused_naming(e, path, loader), f"{type(e).__name__}: {e}"
        return None, path


@FAST
@given(data=byte_mutations(VALID))
def test_a_mutated_file_loads_exactly_or_is_refused(tmp_path_factory, data):
    loaded, _ = _load_checked(data, tmp_path_factory.mktemp("f"), gg.load, "graphgrad.load")
    if loaded is not None:
        assert _same(ORIGINAL, loaded) and loaded["shared"] is loaded["again"]


def _manifest():
    with zipfile.ZipFile(io.BytesIO(VALID)) as zf:
        return json.loads(zf.read("graphgrad/manifest.json")), {n: zf.read(n) for n in zf.namelist()}


@st.composite
def tree_mutations(draw, tree):
    """The JSON tree with one node (anywhere) replaced by arbitrary JSON, or a key dropped."""
    paths = []

    def walk(node, path):
        paths.append(path)
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in children:
            walk(child, path + (key,))
    walk(tree, ())
    path = draw(st.sampled_from(paths[1:]))
    tree = json.loads(json.dumps(tree))
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSON)
    return tree


def _zip(manifest, entries):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, json.dumps(manifest) if name == "graphgrad/manifest.json" else data)
    return out.getvalue()


MANIFEST, ENTRIES = _manifest()


@FAST
@given(manifest=tree_mutations(MANIFEST))
def test_a_mutated_manifest_loads_or_is_refused_naming_the_file(tmp_path_factory, manifest):
    _load_checked(_zip(manifest, ENTRIES), tmp_path_factory.mktemp("m"), gg.load, "graphgrad.load")


# ---- jit programs -------------------------------------------------------------------------------

def _traced():
    gg.manual_seed(0)
    model = gg.nn.Sequential(gg.nn.Linear(3, 4), gg.nn.ReLU())
    return gg.jit.trace(lambda x: model(x * 2).reshape(-1, 2).sum(1).split(2), gg.ones(2, 3))


TRACED = _traced()
PROGRAM_FILE = _bytes(gg.jit.save, TRACED)
X = gg.randn(2, 3)


def _program_parts():
    with zipfile.ZipFile(io.BytesIO(PROGRAM_FILE)) as zf:
        manifest = json.loads(zf.read("graphgrad/manifest.json"))
        return manifest, json.loads(manifest["object"]["v"][0][1]), {n: zf.read(n) for n in zf.namelist()}


JIT_MANIFEST, PROGRAM, JIT_ENTRIES = _program_parts()


@FAST
@given(program=tree_mutations(PROGRAM))
def test_a_mutated_program_loads_whole_or_is_refused_naming_the_file(tmp_path_factory, program):
    manifest = json.loads(json.dumps(JIT_MANIFEST))
    manifest["object"]["v"][0][1] = json.dumps(program)
    loaded, _ = _load_checked(_zip(manifest, JIT_ENTRIES), tmp_path_factory.mktemp("j"), gg.jit.load,
                              "graphgrad.jit.load")
    if loaded is not None:
        assert isinstance(loaded, gg.jit.TracedModule)


@FAST
@given(data=byte_mutations(PROGRAM_FILE))
def test_a_mutated_program_file_runs_as_traced_or_is_refused(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("p") / "fuzzed.pt"
    path.write_bytes(data)
    try:
        loaded = gg.jit.load(path)
    except Exception as e:
        assert _refused_naming(e, path, "graphgrad.jit.load") or _refused_naming(e, path), f"{type(e).__name__}: {e}"
        return
    assert [t.tolist() for t in loaded(X)] == [t.tolist() for t in TRACED(X)]


@pytest.mark.parametrize("data", [VALID, PROGRAM_FILE], ids=["save", "jit"])
def test_the_unmutated_files_load(data, tmp_path):
    path = tmp_path / "valid.pt"
    path.write_bytes(data)
    assert _same(ORIGINAL, gg.load(path)) if data is VALID else gg.jit.load(path)(X)
