"""graphgrad's compiled kernels (graphgrad/native) against the NumPy code that computes the same
numbers without them: on every input the float32 kernel can be given, on random words for the
float64 one, and on the swaps randperm makes; their argument checks; and the build script."""
import math
import os
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
        kernels.normal(words, got, 0.0, 1.0, None)
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
    kernels.normal(words, got, mean, std, None)
    standard = np.empty_like(got)
    kernels.normal(words, standard, 0.0, 1.0, None)
    want = fma32(standard, np.float32(std), np.float32(mean))  # the NumPy path's fused multiply-add
    np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (0.3, 0.07), (-2.0, 5.5)])
def test_float64_normals(mean, std):
    words = np.random.default_rng(2).integers(0, 1 << 32, 2 * 16 * 2048, dtype=np.uint32)
    got = np.empty(len(words) // 2)
    kernels.normal(words, got, mean, std, None)
    high, low = words[0::2].astype(np.uint64), words[1::2]
    u = ((high << np.uint64(32) | low) & np.uint64((1 << 53) - 1)) * 2.0 ** -53
    want = np.empty_like(got)
    grandom._box_muller_blocks(u, np.float64, mean, std, want)
    np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.parametrize("n", [1, 2, 3, 17, 2048, 70001])
def test_randperm_swaps(n):
    words = np.random.default_rng(n).integers(0, 1 << 32, n - 1, dtype=np.uint32)
    got = np.empty(n, np.int64)
    kernels.randperm(words, got, None)
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


@pytest.mark.parametrize("low", [0, -7, 2 ** 40, -2 ** 63])
def test_integers_as_the_numpy_code(low):
    """Every span's remainder (fastmod below 2**28, random64() from it on) and a sum that wraps, as
    graphgrad's NumPy code and torch compute them."""
    rng = np.random.default_rng(abs(low) % 1000)
    for span in (1, 2, 3, 7, 10, 1000, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1, 2 ** 32 + 3, 2 ** 63 + 5):
        wide = span >= 2 ** 28
        words = rng.integers(0, 1 << 32, 2 * 3000 if wide else 3000, dtype=np.uint32)
        words[:4] = [0, 1, 2 ** 32 - 1, 2 ** 31]
        got = np.empty(3000, np.int64)
        kernels.integers(words, got, low, span, None)
        values = (words[0::2].astype(object) * 2 ** 32 + words[1::2].astype(object)) if wide else words.astype(object)
        want = np.array([(int(v) % span + low + 2 ** 63) % 2 ** 64 - 2 ** 63 for v in values], np.int64)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("given", [0, 5, 600, 2049])
def test_words_given_then_drawn_from_the_source(given):
    """A kernel takes the words it is given, then draws the rest from a NumPy MT19937 itself: the
    same values as from all the words in one array, and the generator left where drawing them
    would leave it."""
    n = 2048
    for kernel, words_per_value, dtype in [("normal", 2, np.float64), ("uniform", 2, np.float64),
                                           ("uniform", 1, np.float32), ("normal", 1, np.float32)]:
        if kernel == "normal" and dtype == np.float32 and not kernels.AVX2_FMA:
            continue
        a, b = np.random.MT19937(5), np.random.MT19937(5)
        needed = words_per_value * n
        given_words = np.random.Generator(a).integers(0, 1 << 32, min(given, needed), dtype=np.uint32)
        got, want = np.empty(n, dtype), np.empty(n, dtype)
        getattr(kernels, kernel)(given_words, got, 0.25, 1.5, a.capsule)
        getattr(kernels, kernel)(np.random.Generator(b).integers(0, 1 << 32, needed, dtype=np.uint32), want, 0.25,
                                 1.5, None)
        np.testing.assert_array_equal(_bits(got), _bits(want))
        assert a.random_raw() == b.random_raw()
    perm_a, perm_b = np.random.MT19937(7), np.random.MT19937(7)
    got, want = np.empty(n, np.int64), np.empty(n, np.int64)
    kernels.randperm(np.random.Generator(perm_a).integers(0, 1 << 32, min(given, n - 1), dtype=np.uint32), got,
                     perm_a.capsule)
    kernels.randperm(np.random.Generator(perm_b).integers(0, 1 << 32, n - 1, dtype=np.uint32), want, None)
    np.testing.assert_array_equal(got, want)


def test_bad_arguments_are_refused_and_nothing_is_written():
    words, out = np.zeros(32, np.uint32), np.full(16, 7.0)
    with pytest.raises(TypeError, match="normal out: expected items of kind 'fd', got format 'e'"):
        kernels.normal(words, np.zeros(16, np.float16), 0.0, 1.0, None)
    with pytest.raises(TypeError, match="normal words"):
        kernels.normal(words.astype(np.int64), out, 0.0, 1.0, None)
    with pytest.raises(ValueError, match="normal: 17 values \\(blocks of 16\\)"):
        kernels.normal(words, np.zeros(17), 0.0, 1.0, None)
    with pytest.raises(ValueError, match="randperm: 32 words given where 15 are needed \\(and no source to draw from\\)"):
        kernels.randperm(words, np.zeros(16, np.int64), None)
    with pytest.raises(ValueError, match="read-only"):
        frozen = np.zeros(16)
        frozen.flags.writeable = False
        kernels.normal(words, frozen, 0.0, 1.0, None)
    with pytest.raises(TypeError, match="must be real number"):
        kernels.normal(words, out, "0", 1.0, None)
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
    fresh.normal(words, a, 0.0, 1.0, None)
    kernels.normal(words, b, 0.0, 1.0, None)
    np.testing.assert_array_equal(a, b)
    again = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "compiling" not in again.stderr  # up to date: not rebuilt


def test_without_the_kernels_the_reason_is_given():
    assert native.why_not is None
    assert math.isfinite(float(grandom.Generator().normal(64, np.float32)[0]))


def test_a_module_older_than_its_source_is_stale(tmp_path):
    source, module = tmp_path / "kernels.c", tmp_path / "_kernels.so"
    source.write_text("/* edited */")
    module.write_bytes(b"")
    os.utime(source, (2_000_000_000, 2_000_000_000))
    os.utime(module, (1_000_000_000, 1_000_000_000))
    assert native.stale(source, module)
    os.utime(module, (2_000_000_000, 2_000_000_000))  # a wheel's files all carry one time
    assert not native.stale(source, module)
    assert not native.stale(source, tmp_path / "missing.so")
