"""The engine only calls array functions CuPy has: read the source (ast), find every function
taken from an array module, and check it against cupy (which imports without a GPU).

- `xp.f`, `xp_of(a).f`, `array_module(d).f`, `t._xp().f`: the module of a tensor's array, so
  on a GPU it is cupy: every such f must exist in cupy.
- `np.f` in code that handles device arrays (ops, autograd, tensor, nn, optim, tracing stats):
  NumPy functions applied to a CuPy array fail or copy silently, so each use is either a type
  or constant (np.float32, np.inf) or listed below, reviewed as host-only, with the reason.
"""
import ast
import pathlib

import numpy as np
import pytest

cupy = pytest.importorskip("cupy")

ENGINE = pathlib.Path(__file__).resolve().parents[1] / "engine" / "graphgrad"
DEVICE_PATHS = ("ops/", "autograd/", "tensor.py", "nn/", "optim/", "tracing/stats.py")
MODULE_CALLS = ("xp_of", "array_module", "_xp")   # calls that return numpy or cupy

# (file, function): why it only ever sees host values
HOST_ONLY = {
    ("ops/linalg.py", "asarray"): "the singular-matrix error's pivot search, on a host copy",
    ("ops/linalg.py", "argmax"): "the singular-matrix error's pivot search, on a host copy",
    ("ops/linalg.py", "abs"): "the singular-matrix error's pivot search, on a host copy",
    ("ops/linalg.py", "outer"): "the singular-matrix error's pivot search, on a host copy",
    ("ops/shape.py", "argsort"): "permute's backward orders a tuple of dims",
    ("ops/shape.py", "cumsum"): "split bounds from a list of sizes",
    ("ops/shape.py", "reshape"): "only on NumPy arrays (the no-copy reshape CuPy lacks), after a type check",
    ("ops/util.py", "broadcast_shapes"): "shape tuples",
    ("ops/convolution.py", "arange"): "padding index maps, built on the host and moved with xp.asarray",
    ("ops/convolution.py", "pad"): "padding index maps, built on the host and moved with xp.asarray",
    ("ops/convolution.py", "lib.stride_tricks.as_strided"): "the NumPy branch of _as_strided (CuPy's own on a GPU)",
    ("ops/pooling.py", "arange"): "adaptive pooling's bin matrices, built on the host and moved with xp.asarray",
    ("ops/dispatch.py", "asarray"): "NumPy scalars (np.generic) only, the result of a reduction of everything",
    ("nn/init.py", "asarray"): "initial values drawn on the host, then moved",
    ("nn/init.py", "full"): "initial values drawn on the host, then moved",
    ("nn/init.py", "eye"): "initial values drawn on the host, then moved",
    ("nn/init.py", "zeros"): "initial values drawn on the host, then moved",
    ("nn/init.py", "diag"): "orthogonal init computed on the host",
    ("nn/init.py", "sign"): "orthogonal init computed on the host",
    ("nn/init.py", "linalg.qr"): "orthogonal init computed on the host",
    ("optim/optimizer.py", "zeros"): "the step count is a CPU tensor, as in PyTorch",
    ("tensor.py", "asarray"): "NumPy scalars (np.generic) only",
    ("tracing/stats.py", "zeros"): "empty histograms on the host",
    ("tracing/stats.py", "asarray"): "Python values that are not arrays",
}


def _chain(node):
    """a.b.c -> (a-node, "b.c")"""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    return node, ".".join(reversed(names))


def _outermost_attributes(tree):
    """Attribute chains not inside a longer chain (xp.add.at is one chain, not also xp.add)."""
    inner = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            inner.add(id(node.value))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and id(n) not in inner]


def _is_module_call(node):
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    return (isinstance(f, ast.Name) and f.id in MODULE_CALLS) or (isinstance(f, ast.Attribute)
                                                                  and f.attr in MODULE_CALLS)


def _uses():
    """(file, line, module, function chain) for every array-module function the engine names."""
    for path in sorted(ENGINE.rglob("*.py")):
        rel = path.relative_to(ENGINE).as_posix()
        for node in _outermost_attributes(ast.parse(path.read_text(), str(path))):
            base, chain = _chain(node)
            if (isinstance(base, ast.Name) and base.id == "xp") or _is_module_call(base):
                yield rel, node.lineno, "xp", chain
            elif isinstance(base, ast.Name) and base.id == "np":
                yield rel, node.lineno, "np", chain


USES = list(_uses())


def _resolve(module, chain):
    obj = module
    for name in chain.split("."):
        obj = getattr(obj, name)
    return obj


def test_the_scan_finds_the_engine():
    assert any(f == "ops/arithmetic.py" and m == "xp" for f, _, m, _ in USES)
    assert any(m == "np" for _, _, m, _ in USES)


def test_every_xp_function_exists_in_cupy():
    missing = []
    for rel, line, module, chain in USES:
        if module != "xp":
            continue
        try:
            _resolve(cupy, chain)
        except AttributeError:
            missing.append(f"{rel}:{line} xp.{chain}")
    assert not missing, "functions CuPy does not have:\n" + "\n".join(missing)


def _host_safe(chain):
    """Types, dtypes and constants are safe anywhere; functions are not."""
    obj = _resolve(np, chain)
    return isinstance(obj, type) or not callable(obj)


def test_numpy_functions_in_device_code_are_reviewed():
    unreviewed = []
    for rel, line, module, chain in USES:
        if module != "np" or not rel.startswith(DEVICE_PATHS) or _host_safe(chain):
            continue
        if (rel, chain) not in HOST_ONLY:
            unreviewed.append(f"{rel}:{line} np.{chain}")
    assert not unreviewed, ("NumPy functions in code that sees CuPy arrays: use xp_of(array).f, or list them "
                            "in HOST_ONLY with the reason they only see host values:\n" + "\n".join(unreviewed))


def test_host_only_list_is_current():
    used = {(rel, chain) for rel, _, module, chain in USES if module == "np"}
    stale = sorted(set(HOST_ONLY) - used)
    assert not stale, f"HOST_ONLY names uses that are gone: {stale}"


def test_numpy_functions_listed_also_exist_in_cupy():
    """A host-only use today can be moved to the device tomorrow: CuPy has all of them."""
    missing = []
    for _, chain in HOST_ONLY:
        try:
            _resolve(cupy, chain)
        except AttributeError:
            missing.append(f"np.{chain}")
    assert not missing, missing
