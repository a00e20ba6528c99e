"""graphgrad's compiled kernels (graphgrad/native) against the NumPy code that computes the same
numbers without them: on every input the float32 kernel can be given, on random words for the
float64 one, and on the swaps randperm makes; their argument checks; and the build script."""
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from graphgrad import native
from graphgrad import random as grandom
from graphgrad.native.fma import add_scaled, fma, fma32

kernels = native.kernels
pytestmark = pytest.mark.skipif(kernels is None, reason=native.why_not or "")
ROOT = Path(__file__).resolve().parent.parent


def _bits(a):
    return a.view(np.int32 if a.dtype == np.float32 else np.int64)


@pytest.mark.skipif(kernels is None or not kernels.AVX2_FMA, reason="the float32 kernel needs AVX2 and FMA")
def test_float32_normals_on_every_uniform():
    """Each block's first 8 words give 1 - u to the log and its last 8 give 2pi * u to sincos:
    blocks that run through all 2**24 values of u in both halves, against _radii and _angles."""
    k = np.arange(1 << 24, dtype=np.uint32).reshape(-1, 8)
    for part in np.array_split(k, 16):
        words = np.repeat(part, 2, axis=0).reshape(-1)  # each row of 8 as both halves of a block
        got = np.empty(len(words), np.float32)
        kernels.normal_f32(words, got, 0.0, 1.0)
        u = grandom._float_units(part.reshape(-1)).reshape(-1, 8)
        want = np.empty_like(got)
        grandom._normal_products(grandom._radii(u), *grandom._angles(u), want)
        grandom._scale32(want, 1.0, 0.0)  # * 1 + 0, as the fused multiply-add: a -0 becomes +0
        np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.skipif(kernels is None or not kernels.AVX2_FMA, reason="the float32 kernel needs AVX2 and FMA")
@pytest.mark.parametrize("mean,std", [(0.0, 0.02), (0.3, 0.07), (-1.5, 3.0), (1e6, 1e-3), (0.0, 0.0)])
def test_float32_mean_and_std_in_one_rounding(mean, std):
    words = np.random.default_rng(1).integers(0, 1 << 32, 16 * 4096, dtype=np.uint32)
    got = np.empty(len(words), np.float32)
    kernels.normal_f32(words, got, mean, std)
    standard = np.empty_like(got)
    kernels.normal_f32(words, standard, 0.0, 1.0)
    want = fma32(standard, np.float32(std), np.float32(mean))  # the NumPy path's fused multiply-add
    np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (0.3, 0.07), (-2.0, 5.5)])
def test_float64_normals(mean, std):
    words = np.random.default_rng(2).integers(0, 1 << 32, 2 * 16 * 2048, dtype=np.uint32)
    got = np.empty(len(words) // 2)
    kernels.normal_f64(words, got, mean, std)
    high, low = words[0::2].astype(np.uint64), words[1::2]
    u = ((high << np.uint64(32) | low) & np.uint64((1 << 53) - 1)) * 2.0 ** -53
    want = np.empty_like(got)
    grandom._box_muller_blocks(u, np.float64, mean, std, want)
    np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.parametrize("n", [1, 2, 3, 17, 2048, 70001])
def test_randperm_swaps(n):
    words = np.random.default_rng(n).integers(0, 1 << 32, n - 1, dtype=np.uint32)
    got = np.empty(n, np.int64)
    kernels.randperm(words, got)
    offsets = (words % np.arange(n, 1, -1, dtype=np.uint64)).astype(np.int64)
    if n < 2:
        np.testing.assert_array_equal(got, np.arange(n))
        return
    np.testing.assert_array_equal(got, grandom._swapped(n, offsets))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 7, 8, 9, 4096, 100003])
def test_axpy_rounds_once_as_torchs_add_with_alpha(dtype, n):
    rng = np.random.default_rng(n)
    y, x = rng.standard_normal((2, n)).astype(dtype)
    for alpha in (-0.01, 0.9, 1.0, -3.7e-5):
        got = np.empty_like(y)
        kernels.axpy(y, x, got, alpha)
        want = torch.tensor(y).add(torch.tensor(x), alpha=alpha).numpy()
        np.testing.assert_array_equal(_bits(got), _bits(want))
        np.testing.assert_array_equal(_bits(got), _bits(fma(x, y.dtype.type(alpha), y, y.dtype.type)))
    before = y.copy()
    kernels.axpy(y, x, y, 0.5)  # in place
    np.testing.assert_array_equal(_bits(y), _bits(fma(x, y.dtype.type(0.5), before, y.dtype.type)))


def test_add_scaled_without_the_kernel_and_where_it_cannot_go(monkeypatch):
    """The same values from the NumPy emulation, for strided arrays, and for float16 (computed in
    float32 then rounded, as torch does)."""
    from graphgrad.native import fma as module
    rng = np.random.default_rng(0)
    y, x = rng.standard_normal((2, 64, 33)).astype(np.float32)
    with_kernel = add_scaled(y, x, -0.01)
    strided = add_scaled(y[:, ::2], x[:, ::2], -0.01)
    np.testing.assert_array_equal(_bits(strided), _bits(np.ascontiguousarray(with_kernel[:, ::2])))
    monkeypatch.setattr(module, "kernels", None)
    np.testing.assert_array_equal(_bits(add_scaled(y, x, -0.01)), _bits(with_kernel))
    half_y, half_x = y.astype(np.float16), x.astype(np.float16)
    want = torch.tensor(half_y).add(torch.tensor(half_x), alpha=-0.01).numpy()
    np.testing.assert_array_equal(add_scaled(half_y, half_x, -0.01).view(np.int16), want.view(np.int16))


def test_bad_arguments_are_refused_and_nothing_is_written():
    words, out = np.zeros(32, np.uint32), np.full(16, 7.0)
    with pytest.raises(TypeError, match="normal_f64 out: expected 8-byte items of kind 'd', got format 'f'"):
        kernels.normal_f64(words, np.zeros(16, np.float32), 0.0, 1.0)
    with pytest.raises(TypeError, match="normal_f64 words"):
        kernels.normal_f64(words.astype(np.int64), out, 0.0, 1.0)
    with pytest.raises(ValueError, match="normal_f64: 32 words for 17 values"):
        kernels.normal_f64(words, np.zeros(17), 0.0, 1.0)
    with pytest.raises(ValueError, match="randperm: 32 words for 16 values"):
        kernels.randperm(words, np.zeros(16, np.int64))
    with pytest.raises(ValueError, match="read-only"):
        frozen = np.zeros(16)
        frozen.flags.writeable = False
        kernels.normal_f64(words, frozen, 0.0, 1.0)
    with pytest.raises(TypeError, match="must be real number"):
        kernels.normal_f64(words, out, "0", 1.0)
    with pytest.raises(TypeError, match="axpy x: expected 8-byte items of kind 'fd', got format 'f'"):
        kernels.axpy(out, np.zeros(16, np.float32), out, 1.0)
    with pytest.raises(ValueError, match="axpy: y, x and out have 16, 15 and 16 values"):
        kernels.axpy(out, np.zeros(15), out, 1.0)
    assert (out == 7.0).all()


def test_the_build_script_compiles_a_module_that_imports(tmp_path):
    """scripts/build_native.py builds a fresh copy of the kernels with this Python's compiler, and
    leaves a module that is newer than its source alone."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler")
    shutil.copy(ROOT / "engine/graphgrad/native/kernels.c", tmp_path)
    code = ("import sys, pathlib; sys.path.insert(0, 'scripts'); import build_native; "
            f"print(build_native.build(pathlib.Path({str(tmp_path)!r}))[0].name)")
    first = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "compiling kernels.c" in first.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        import _kernels as fresh
    finally:
        sys.path.remove(str(tmp_path))
    assert Path(fresh.__file__).name == first.stdout.strip()
    words, a, b = np.arange(64, dtype=np.uint32), np.empty(32), np.empty(32)
    fresh.normal_f64(words, a, 0.0, 1.0)
    kernels.normal_f64(words, b, 0.0, 1.0)
    np.testing.assert_array_equal(a, b)
    again = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "compiling" not in again.stderr  # up to date: not rebuilt


def test_without_the_kernels_the_reason_is_given():
    assert native.why_not is None
    assert math.isfinite(float(grandom.Generator().normal(64, np.float32)[0]))
