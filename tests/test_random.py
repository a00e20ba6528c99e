"""Seeded random numbers against torch's CPU generator: the same seed and calls give the same
values bit for bit, and leave the generator in the same state (compared as torch's state bytes)."""
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import graphgrad as gg
from graphgrad import native
from graphgrad import random as grandom
from graphgrad.native.fma import fma
from graphgrad.utils import data as gdata

from core_helpers import assert_same, host

SEEDS = [0, 1, 7, 42, 1234, 2 ** 32 + 5, -3]


@pytest.fixture(autouse=True, params=["C kernels", "NumPy"])
def draw_path(request, monkeypatch):
    """Every test twice: with graphgrad's compiled kernels (graphgrad/native), and with the NumPy code
    that draws the same numbers where they are not built."""
    if request.param == "NumPy":
        monkeypatch.setattr(grandom, "_kernels", None)
    elif grandom._kernels is None:
        pytest.skip(native.why_not)
    return request.param

SIZES = [1, 3, 15, 16, 17, 33, 100, 1000]
FLOATS = ["float16", "float32", "float64"]


def seed_both(seed):
    gg.manual_seed(seed)
    torch.manual_seed(seed)


def assert_in_step():
    """Both default generators have drawn the same and cache the same normal sample."""
    np.testing.assert_array_equal(host(gg.get_rng_state()), host(torch.get_rng_state()))


def same_draws(make):
    """make(graphgrad) and make(torch) give the same tensor, and leave the same state."""
    assert_same(make(gg), make(torch))
    assert_in_step()


# ---- distributions ----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", SIZES)
def test_rand_randn_uniform_normal(seed, n):
    seed_both(seed)
    for name in FLOATS:
        same_draws(lambda lib: lib.rand(n, dtype=getattr(lib, name)))
        same_draws(lambda lib: lib.randn(n, 2, dtype=getattr(lib, name)))
        same_draws(lambda lib: lib.empty(n, dtype=getattr(lib, name)).uniform_(-0.37, 0.91))
        same_draws(lambda lib: lib.empty(n, dtype=getattr(lib, name)).normal_(0.3, 0.07))
    # bounds where x * (high - low) + low rounds up to high: torch gives low instead
    same_draws(lambda lib: lib.empty(n).uniform_(1e6, 1e6 + 1))
    same_draws(lambda lib: lib.normal(0.2, 3.0, (n,)))


def test_large_tensors():
    seed_both(2)
    for name in FLOATS:  # past several chunks of our own
        same_draws(lambda lib: lib.randn(2 ** 17 + 17, dtype=getattr(lib, name)))
        same_draws(lambda lib: lib.rand(2 ** 17 + 17, dtype=getattr(lib, name)))
        same_draws(lambda lib: lib.empty(2 ** 17 + 17, dtype=getattr(lib, name)).uniform_(-0.37, 0.91))
        same_draws(lambda lib: lib.empty(2 ** 17 + 17, dtype=getattr(lib, name)).normal_(0.5, 3.0))
    for dtype in ("int64", "int16", "float16"):  # drawn and cast a chunk at a time
        same_draws(lambda lib: lib.randint(-7, 2000, (2 ** 17 + 5,), dtype=getattr(lib, dtype)))
    same_draws(lambda lib: lib.randint(-5, 2 ** 40, (2 ** 16 + 3,)))
    same_draws(lambda lib: lib.empty(2 ** 16 + 3, dtype=lib.int64).random_())


def test_in_place_draws_write_into_the_tensors_memory():
    """uniform_ and normal_ on a contiguous tensor draw straight into its array: a NumPy view of it
    sees the values, and the tensor's version moves on."""
    seed_both(4)
    for method, args in (("uniform_", (-0.2, 0.3)), ("normal_", (0.0, 0.02)), ("normal_", (1.0, 2.0))):
        for n in (5, 64, 2 ** 16 + 9):
            t = gg.empty(n)
            view, version = t.numpy(), t._version
            getattr(t, method)(*args)
            want = getattr(torch.empty(n), method)(*args)
            np.testing.assert_array_equal(view, want.numpy())
            assert t._version == version + 1


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_sums_that_land_halfway_between_floats(seed):
    """With std a power of two, x * std + mean is a sum of two floats that lands exactly halfway
    between two float32s about a third of the time; and float16 rounds some uniforms up to 1."""
    seed_both(seed)
    for name in FLOATS:
        same_draws(lambda lib: lib.empty(1000, dtype=getattr(lib, name)).normal_(0.3, 2.0))
        same_draws(lambda lib: lib.empty(1000, dtype=getattr(lib, name)).uniform_(0, 1))
    same_draws(lambda lib: lib.empty(10 ** 5, dtype=lib.float16).uniform_())


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_non_contiguous_tensors_fill_along_memory_one_sample_at_a_time(seed):
    seed_both(seed)
    same_draws(lambda lib: lib.empty(40, 3).t().normal_())
    same_draws(lambda lib: lib.empty(40, 3).t().uniform_())
    same_draws(lambda lib: lib.zeros(30, 4)[:, 1:3].normal_(1.0, 2.0))


def test_the_second_box_muller_sample_waits_for_the_next_call():
    seed_both(3)
    for n in (3, 1, 2, 5):
        same_draws(lambda lib: lib.randn(n))
        same_draws(lambda lib: lib.randn(n, dtype=lib.float64))
    same_draws(lambda lib: lib.randn(1))  # the 23rd sample: the 24th is cached, and both states say so
    assert torch.get_rng_state()[5040].item() == 1
    same_draws(lambda lib: lib.randn(20))  # blocks of 16 leave the cache alone
    gg.manual_seed(3)
    assert gg.get_rng_state()[5040].item() == 0  # manual_seed drops it


@pytest.mark.parametrize("seed", SEEDS)
def test_integers_and_permutations(seed):
    seed_both(seed)
    for n in SIZES:
        same_draws(lambda lib: lib.randint(-3, 10, (n,)))
        same_draws(lambda lib: lib.randint(0, 100, (n,), dtype=lib.float32))
        same_draws(lambda lib: lib.randint(-5, 2 ** 40, (n,)))  # a range of 2**28 or more draws 64 bits
        same_draws(lambda lib: lib.randperm(n))
    same_draws(lambda lib: lib.randint((1 << 28) - 1, (3,)))
    same_draws(lambda lib: lib.randint(1 << 28, (3,)))


@pytest.mark.parametrize("name", ["int64", "int32", "int16", "int8", "uint8", "bool", "float16", "float32", "float64"])
def test_random_(name):
    seed_both(11)
    same_draws(lambda lib: lib.empty(50, dtype=getattr(lib, name)).random_())
    if name != "bool":
        same_draws(lambda lib: lib.empty(50, dtype=getattr(lib, name)).random_(7))
        same_draws(lambda lib: lib.empty(50, dtype=getattr(lib, name)).random_(2, 9))


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_bernoulli(seed):
    seed_both(seed)
    probs = [gg.rand(5, 7), torch.rand(5, 7)]
    same_draws(lambda lib: lib.bernoulli(probs[lib is torch]))  # one float per element
    same_draws(lambda lib: lib.bernoulli(probs[lib is torch].double()))  # one double per element
    same_draws(lambda lib: lib.bernoulli(probs[lib is torch], 0.3))
    same_draws(lambda lib: lib.empty(40).bernoulli_(0.3))
    same_draws(lambda lib: lib.zeros(5, 7).bernoulli_(probs[lib is torch]))


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_multinomial(seed):
    seed_both(seed)
    rows = [gg.rand(3, 9) + 0.01, torch.rand(3, 9) + 0.01]
    for dtype in ("float", "double"):
        probs = [getattr(rows[0], dtype)(), getattr(rows[1], dtype)()]
        same_draws(lambda lib: lib.multinomial(probs[lib is torch], 12, replacement=True))  # inverse CDF
        same_draws(lambda lib: lib.multinomial(probs[lib is torch], 4))  # largest p / Exp(1)
        same_draws(lambda lib: lib.multinomial(probs[lib is torch][0], 1))


def test_multinomial_errors():
    with pytest.raises(RuntimeError, match="without replacement"):
        gg.multinomial(gg.ones(3), 4)
    with pytest.raises(RuntimeError, match="element < 0"):
        gg.multinomial(gg.tensor([1.0, -1.0]), 1)


# ---- generators and their state ---------------------------------------------------------------

def test_generator_seeds_like_torch():
    assert gg.Generator().initial_seed() == torch.Generator().initial_seed() == 67280421310721
    assert_same(gg.rand(4, generator=gg.Generator()), torch.rand(4, generator=torch.Generator()))
    for seed in (-1, 2 ** 64 - 1, 2 ** 63):
        assert gg.manual_seed(seed).initial_seed() == torch.manual_seed(seed).initial_seed()
    with pytest.raises(ValueError):
        gg.manual_seed(2 ** 64)
    assert gg.Generator().seed() != gg.Generator().seed()


def test_a_generator_of_its_own_leaves_the_default_one_alone():
    seed_both(5)
    g, t = gg.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    assert_same(gg.randn(20, generator=g), torch.randn(20, generator=t))
    assert_same(gg.randn(3, generator=g), torch.randn(3, generator=t))
    assert_in_step()
    assert_same(g.get_state(), t.get_state())


def test_state_replays_and_crosses_over():
    seed_both(21)
    gg.randn(3)  # a cached normal sample is part of the state
    torch.randn(3)
    state = gg.get_rng_state()
    assert_same(state, torch.get_rng_state())
    first = gg.randn(5).tolist() + gg.rand(700).tolist()
    gg.set_rng_state(state)
    assert gg.randn(5).tolist() + gg.rand(700).tolist() == first
    gg.set_rng_state(gg.Generator().get_state())  # just seeded: torch's state says next=0 there
    assert_same(gg.get_rng_state(), torch.Generator().get_state())
    gg.set_rng_state(gg.tensor(torch.get_rng_state().numpy()))  # torch's state, read by graphgrad
    assert_same(gg.randn(5), torch.randn(5))
    with pytest.raises(RuntimeError, match="size"):
        gg.set_rng_state(gg.zeros(10, dtype=gg.uint8))


def test_small_and_large_draws_through_the_buffer_and_its_checkpoints():
    """Words are drawn ahead a buffer at a time and get_state replays from a checkpoint taken
    every 2**20 words: draws of every size, across buffers and checkpoints, stay torch's, and
    so does the state between them."""
    seed_both(11)
    sizes = [64, 1, 17, 640, 4993, 3, 16, 2 ** 20 + 7, 48, 100, 1249, 5, 2 ** 16]
    for i, n in enumerate(sizes):
        same_draws(lambda lib: lib.randn(n))
        same_draws(lambda lib: lib.rand(n if i % 2 else 7))
        same_draws(lambda lib: lib.randint(0, 10, (3 + i,)))
    before = gg.default_generator.position()
    assert gg.default_generator.position() == before  # reading it draws nothing
    gg.randn(8, 8)
    assert gg.default_generator.position() != before


def _untemper(y):
    """The MT19937 state word whose output (tempered) is y."""
    y ^= y >> 18
    y ^= (y << 15) & 0xEFC60000
    x = y
    for _ in range(5):
        x = y ^ ((x << 7) & 0x9D2C5680)
    y, x = x & 0xFFFFFFFF, x & 0xFFFFFFFF
    for _ in range(3):
        x = y ^ (x >> 11)
    return x


def _next_words_set(outputs):
    """Both default generators seeded alike, then set so that their next 32-bit outputs start
    with `outputs` (the state words under them edited in torch's state, which both load)."""
    seed_both(6)
    torch.rand(5)  # inside a block of 624 words: the next outputs are the tempered words from `next` on
    state = torch.get_rng_state().clone()
    legacy = np.frombuffer(state.numpy(), grandom._STATE)[0]["legacy"]
    words = legacy["state"].copy()
    for i, y in enumerate(outputs):
        words[int(legacy["next"]) + i] = _untemper(y)
    edited = np.frombuffer(state.numpy().tobytes(), grandom._STATE).copy()
    edited[0]["legacy"]["state"] = words
    state.numpy()[:] = np.frombuffer(edited.tobytes(), np.uint8)
    torch.set_rng_state(state)
    gg.set_rng_state(gg.tensor(state.numpy()))


def same_bits(make):
    ours, theirs = make(gg), make(torch)
    np.testing.assert_array_equal(host(ours).view(np.int32), host(theirs).view(np.int32))
    assert_in_step()
    return host(theirs)


def test_a_zero_radius_gives_positive_zeros():
    """A word whose low 24 bits are 0 as a block's radius: u = 0, radius +-0, and torch's fused
    multiply-add by std plus mean turns a -0 product into +0 (bits compared: -0 == +0)."""
    for make in (lambda lib: lib.randn(64), lambda lib: lib.randn(2000),
                 lambda lib: lib.empty(64).normal_(0.0, 2.0), lambda lib: lib.empty(32).normal_(0.0, 1.0)):
        for word in range(8):  # the zero word as each of the first block's radii
            _next_words_set([0] * word + [0x5B000000])
            assert (same_bits(make) == 0).any()


def test_the_largest_uniform_rounding_up_to_high_becomes_low():
    """uniform_(1, 1.25) is worked out exactly in float64 and rounded once; the largest draw
    (low 24 bits all 1) rounds up to 1.25 there, and torch gives 1 instead."""
    for n in (64, 3000):
        _next_words_set([7, 0xFFFFFFFF])
        values = same_bits(lambda lib: lib.empty(n).uniform_(1.0, 1.25))
        assert values[1] == 1.0 and values.max() < 1.25


# ---- nn: initial weights and dropout ------------------------------------------------------------

LAYERS = [lambda nn: nn.Linear(20, 7), lambda nn: nn.Conv2d(3, 8, 3), lambda nn: nn.Conv1d(3, 4, 5),
          lambda nn: nn.Embedding(50, 16), lambda nn: nn.LSTM(5, 7, num_layers=2), lambda nn: nn.GRU(5, 7),
          lambda nn: nn.RNN(4, 3), lambda nn: nn.BatchNorm2d(5)]


@pytest.mark.parametrize("make", LAYERS, ids=lambda make: type(make(torch.nn)).__name__)
def test_layers_start_from_torchs_weights(make):
    seed_both(0)
    ours, theirs = make(gg.nn), make(torch.nn)
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_same(p.detach(), q.detach())
    assert_in_step()


INITS = [("uniform_", (-0.3, 0.8)), ("normal_", (0.1, 0.02)), ("xavier_uniform_", ()), ("xavier_normal_", ()),
         ("kaiming_uniform_", ()), ("kaiming_normal_", ()), ("trunc_normal_", ()),
         ("trunc_normal_", (0.0, 0.02, -0.04, 0.04)), ("trunc_normal_", (0.0, 1.0, -0.1, 0.1)), ("sparse_", (0.3,))]


@pytest.mark.parametrize("name,args", INITS, ids=str)
def test_init_functions(name, args):
    seed_both(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_draws(lambda lib: getattr(lib.nn.init, name)(lib.empty(13, 9), *args))


def test_orthogonal_draws_torchs_normals():
    seed_both(4)
    w, v = gg.nn.init.orthogonal_(gg.empty(6, 9)), torch.nn.init.orthogonal_(torch.empty(6, 9))
    assert_same(w, v, exact=False, rtol=1e-5, atol=1e-6)  # the QR is LAPACK's, not MKL's
    assert_in_step()


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_dropout_masks(seed):
    seed_both(seed)
    x = [gg.randn(8, 20), torch.randn(8, 20)]
    for p in (0.1, 0.5, 1.0):
        same_draws(lambda lib: lib.nn.functional.dropout(x[lib is torch], p))
    x4 = [gg.randn(4, 6, 3, 3), torch.randn(4, 6, 3, 3)]
    same_draws(lambda lib: lib.nn.functional.dropout2d(x4[lib is torch], 0.3))
    same_draws(lambda lib: lib.nn.functional.dropout1d(x4[lib is torch][0], 0.3))
    same_draws(lambda lib: lib.nn.functional.dropout1d(x4[lib is torch][0, 0], 0.3))
    same_draws(lambda lib: lib.nn.Dropout(0.2)(x[lib is torch]))


# ---- data: shuffling ------------------------------------------------------------------------------

def epochs(loader, n=2):
    return [[b.tolist() if hasattr(b, "tolist") else b for b in loader] for _ in range(n)]


@pytest.mark.parametrize("kwargs", [dict(batch_size=3, shuffle=True), dict(batch_size=4, shuffle=True, drop_last=True),
                                    dict(batch_size=None, shuffle=True)], ids=str)
def test_dataloader_shuffles_as_torch_over_epochs(kwargs):
    seed_both(0)
    assert epochs(gdata.DataLoader(range(10), **kwargs)) == epochs(tdata.DataLoader(range(10), **kwargs))
    assert_in_step()  # the iterator's base seed, then the sampler's own generator seed, per epoch
    loaders = [gdata.DataLoader(range(10), generator=gg.Generator().manual_seed(3), **kwargs),
               tdata.DataLoader(range(10), generator=torch.Generator().manual_seed(3), **kwargs)]
    assert epochs(loaders[0], 3) == epochs(loaders[1], 3)
    assert_same(loaders[0].generator.get_state(), loaders[1].generator.get_state())


SAMPLERS = [lambda d: d.RandomSampler(range(11)), lambda d: d.RandomSampler(range(11), num_samples=25),
            lambda d: d.RandomSampler(range(11), replacement=True, num_samples=40),
            lambda d: d.SubsetRandomSampler([3, 5, 7, 9, 1]),
            lambda d: d.WeightedRandomSampler([0.1, 0.5, 0.2, 0.9], 12),
            lambda d: d.WeightedRandomSampler([0.1, 0.5, 0.2, 0.9], 3, replacement=False)]


@pytest.mark.parametrize("make", SAMPLERS)
def test_samplers(make):
    seed_both(8)
    assert [list(make(gdata)) for _ in range(2)] == [list(make(tdata)) for _ in range(2)]
    assert_in_step()


def test_random_sampler_with_a_generator_and_random_split():
    g, t = gg.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    ours, theirs = gdata.RandomSampler(range(9), generator=g), tdata.RandomSampler(range(9), generator=t)
    assert [list(ours) for _ in range(3)] == [list(theirs) for _ in range(3)]
    seed_both(2)
    assert [list(s) for s in gdata.random_split(range(10), [3, 7])] == [
        list(s) for s in tdata.random_split(range(10), [3, 7])]


def test_sampler_draws_when_its_first_index_is_asked_for():
    seed_both(6)
    ours, theirs = iter(gdata.RandomSampler(range(5))), iter(tdata.RandomSampler(range(5)))
    assert_same(gg.rand(2), torch.rand(2))
    assert list(ours) == list(theirs)


# ---- a seeded training run ------------------------------------------------------------------------

def _train(lib):
    lib.manual_seed(0)
    x, y = lib.randn(64, 5), lib.randint(0, 3, (64,))
    model = lib.nn.Sequential(lib.nn.Linear(5, 16), lib.nn.ReLU(), lib.nn.Dropout(0.3), lib.nn.Linear(16, 3))
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    loader = (tdata if lib is torch else gdata).DataLoader((tdata if lib is torch else gdata).TensorDataset(x, y),
                                                           batch_size=16, shuffle=True)
    losses = []
    for _ in range(3):
        for xb, yb in loader:
            loss = lib.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


def test_a_seeded_training_run_gives_torchs_losses():
    np.testing.assert_allclose(_train(gg), _train(torch), rtol=1e-5)


# ---- the fused multiply-add the kernels round with ----------------------------------------------

def _round32(exact):
    """Fraction -> nearest float32, ties to even."""
    f = np.float32(float(exact))
    near = [np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))]
    return min(near, key=lambda c: (abs(Fraction(float(c)) - exact), int(np.array(c).view(np.int32)) & 1))


def test_fma_rounds_once():
    rng = np.random.default_rng(0)
    x, a, b = rng.standard_normal((3, 2000))
    got = fma(x, a, b * 1e-3, np.float64)
    assert all(float(Fraction(u) * Fraction(v) + Fraction(w)) == g  # float(Fraction) rounds correctly
               for u, v, w, g in zip(x.tolist(), a.tolist(), (b * 1e-3).tolist(), got.tolist()))
    # float32: sums that double rounding (to float64, then float32) would take to the wrong side
    i = np.arange(1, 200, dtype=np.float64)
    x32 = (1 + i * 2.0 ** -23).astype(np.float32)
    a32 = ((1 - i * 2.0 ** -23) * 2.0 ** -24).astype(np.float32)
    b32 = np.full(i.shape, 1 + 2.0 ** -23, np.float32)
    got = fma(x32, a32, b32, np.float32)
    want = [_round32(Fraction(float(u)) * Fraction(float(v)) + Fraction(float(w))) for u, v, w in zip(x32, a32, b32)]
    np.testing.assert_array_equal(got, np.array(want, np.float32))
    assert math.isclose(float(fma(np.float32(3), np.float32(2), np.float32(1), np.float32)), 7.0)
    # the same sums with scalar operands (alone, and beside other elements), and in 2-D
    for k in (0, 57, 198):
        got = fma(x32[k], a32[k], b32[k], np.float32)
        assert got.view(np.int32) == np.array(want[k]).view(np.int32)
        got = fma(x32, a32[k], b32[0], np.float32)
        exact = [_round32(Fraction(float(u)) * Fraction(float(a32[k])) + Fraction(float(b32[0]))) for u in x32]
        np.testing.assert_array_equal(got, np.array(exact, np.float32))
    got = fma(x32[:198].reshape(2, 99), a32[:198].reshape(2, 99), b32[0], np.float32)
    np.testing.assert_array_equal(got.ravel(), np.array(want[:198], np.float32))


# ---- avx_mathfun, as the float32 normal kernel uses it ------------------------------------------

def _plain_horner32(coefficients, x):
    y = np.full(x.shape, coefficients[0], np.float32)
    for c in coefficients[1:]:
        y = fma(y, x, c, np.float32)
    return y


def _plain_log_ps(x):
    """avx_mathfun's log256_ps transcribed plainly: every contracted product through fma."""
    bits = x.view(np.int32)
    e = ((bits >> 23) - 0x7F).astype(np.float32) + np.float32(1)
    m = ((bits & ~0x7F800000) | 0x3F000000).view(np.float32)
    small = m < grandom._SQRT_HALF
    m = (m - np.float32(1)) + np.where(small, m, np.float32(0))
    e = e - small.astype(np.float32)
    z = m * m
    y = _plain_horner32(grandom._LOG_P, m) * m
    y = fma(y, z, e * grandom._LOG_Q1, np.float32)
    y = y - z * np.float32(0.5)
    return fma(e, grandom._LOG_Q2, m + y, np.float32)


def _plain_sincos_ps(x):
    """avx_mathfun's sincos256_ps transcribed plainly."""
    sign_sin = x.view(np.int32) & np.int32(-2 ** 31)
    x = np.abs(x)
    j = ((x * grandom._FOUR_OVER_PI).astype(np.int32) + 1) & ~1
    for dp in grandom._MINUS_DP:
        x = fma(j.astype(np.float32), dp, x, np.float32)
    sign_sin = sign_sin ^ ((j & 4) << 29)
    sign_cos = (~(j - 2) & 4) << 29
    z = x * x
    cos_poly = fma(_plain_horner32(grandom._COS_P, z) * z, z, -(z * np.float32(0.5)), np.float32) + np.float32(1)
    sin_poly = fma(_plain_horner32(grandom._SIN_P, z) * z, x, x, np.float32)
    sine_octant = (j & 2) == 0
    sin, cos = np.where(sine_octant, sin_poly, cos_poly), np.where(sine_octant, cos_poly, sin_poly)
    return (sin.view(np.int32) ^ sign_sin).view(np.float32), (cos.view(np.int32) ^ sign_cos).view(np.float32)


def test_avx_mathfun_shortcuts_on_every_input_of_the_kernel():
    """_log_ps and _sincos_ps skip _fma32's midpoint check, leave products that are exact in float32
    unfused, and select with bit masks: on every value they can be given (1 - u and 2pi * u for the
    2**24 float uniforms u), they give the same bits as the plain transcription."""
    u = np.multiply(np.arange(1 << 24, dtype=np.uint64), np.float32(2.0 ** -24), dtype=np.float32)
    for part in np.split(u, 16):
        u1, theta = np.float32(1) - part, np.float32(2.0 * math.pi) * part
        np.testing.assert_array_equal(grandom._log_ps(u1).view(np.int32), _plain_log_ps(u1).view(np.int32))
        for fast, plain in zip(grandom._sincos_ps(theta), _plain_sincos_ps(theta)):
            np.testing.assert_array_equal(fast.view(np.int32), plain.view(np.int32))


def test_large_permutations_are_torchs():
    """From 2048 elements randperm works out torch's swaps with array operations: the same
    permutation as the swaps made one by one (and as torch's)."""
    seed_both(8)
    for n in (2047, 2048, 2049, 5000, 70001):
        same_draws(lambda lib: lib.randperm(n))
    rng = np.random.default_rng(0)
    for n in (2, 3, 17, 300):  # the vectorized form against the loop, at sizes the loop runs
        for _ in range(20):
            offsets = rng.integers(0, n - np.arange(n - 1))
            perm = list(range(n))
            for i, z in enumerate(offsets.tolist()):
                perm[i], perm[i + z] = perm[i + z], perm[i]
            np.testing.assert_array_equal(grandom._swapped(n, offsets), perm)
