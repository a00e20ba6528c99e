"""Random numbers drawn as PyTorch draws them on the CPU, so that after `graphgrad.manual_seed(s)`
the same calls give the same numbers as after `torch.manual_seed(s)`, bit for bit.

torch's CPU generator is a 32-bit Mersenne Twister (MT19937, seeded with init_genrand(seed mod 2**32));
`random()` is one 32-bit output and `random64()` two, the first in the high half. Each distribution
below turns those draws into values with the arithmetic of ATen's CPU kernels
(ATen/core/DistributionsHelper.h, TransformationHelper.h, native/cpu/DistributionTemplates.h), and
consumes the same draws in the same order, so the stream stays in step with torch's across calls.

Where torch's own numbers depend on the machine, these follow x86 CPUs with AVX2 (and AVX-512):
float32 normals in blocks of 16 (randn of 16 or more values) use torch's AVX2 log and sincos there;
torch without AVX2 (or on ARM) computes them with the C library's logf, cosf and sinf instead, and
differs from these by a unit in the last place now and then. torch's CUDA generator is another
algorithm (Philox): tensors on a GPU draw here, on the host, and are moved, so a seed gives the same
numbers on every device - torch's CPU numbers."""
import math

import numpy as np

# torch.Generator()'s seed before manual_seed (c10::detail::default_rng_seed_val)
DEFAULT_SEED = 67280421310721

_MT_N = 624

# torch.get_rng_state()'s layout (CPUGeneratorImplState): the MT19937 words widened to 64 bits, the
# cached normal sample of Box-Muller in normal_y, and a float cache torch's CPU kernels never fill
_LEGACY_STATE = np.dtype([("seed", "<u8"), ("left", "<i4"), ("seeded", "<i4"), ("next", "<u8"),
                          ("state", "<u8", (_MT_N,)), ("normal_x", "<f8"), ("normal_y", "<f8"),
                          ("normal_rho", "<f8"), ("normal_is_valid", "<i4")], align=True)
_STATE = np.dtype([("legacy", _LEGACY_STATE), ("next_float_normal", "<f4"), ("next_float_normal_is_valid", "?")],
                  align=True)


def _mt_key(seed):
    """MT19937's init_genrand: the 624 words a 32-bit seed starts from."""
    key, x = np.empty(_MT_N, np.uint32), seed & 0xFFFFFFFF
    for i in range(_MT_N):
        key[i] = x
        x = (1812433253 * (x ^ (x >> 30)) + i + 1) & 0xFFFFFFFF
    return key


class Generator:
    """A torch.Generator for the CPU: its own MT19937 stream and Box-Muller cache."""

    def __init__(self, device="cpu"):
        self.device = device
        self.manual_seed(DEFAULT_SEED)

    # ---- seeding and state -------------------------------------------------------------------

    def manual_seed(self, seed):
        seed = int(seed)
        if not -2 ** 63 <= seed < 2 ** 64:
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed % 2 ** 64  # a negative seed is kept as its 64-bit two's complement, as torch does
        self._load(_mt_key(self._seed), _MT_N, fresh=True)
        self._next_double = None
        return self

    def seed(self):
        """Seed from the operating system's entropy and return the seed."""
        return self.manual_seed(np.random.SeedSequence().entropy % 2 ** 64)._seed

    def initial_seed(self):
        return self._seed

    def _load(self, key, pos, fresh=False):
        self._bits = np.random.MT19937()
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}
        self._fresh = fresh  # seeded and not drawn from: torch's state then reads next=0, not 624

    def get_state(self):
        """The state as a uint8 tensor laid out as torch.get_rng_state()'s, so the two can be compared."""
        from .creation import tensor
        mt = self._bits.state["state"]
        state = np.zeros((), _STATE)
        legacy = state["legacy"]
        legacy["seed"], legacy["seeded"], legacy["state"] = self._seed, 1, mt["key"]
        # torch counts down `left` to the next regeneration; NumPy counts up `pos` from the last one
        legacy["left"], legacy["next"] = _MT_N + 1 - mt["pos"], 0 if self._fresh else mt["pos"]
        if self._next_double is not None:
            legacy["normal_is_valid"], legacy["normal_y"] = 1, self._next_double
        return tensor(np.frombuffer(state.tobytes(), np.uint8).copy())

    def set_state(self, new_state):
        raw = np.asarray(new_state.numpy() if hasattr(new_state, "numpy") else new_state, np.uint8)
        if raw.size != _STATE.itemsize:
            raise RuntimeError(f"Expected either a THGeneratorState of size 5048 or a CPUGeneratorImplState of size "
                               f"{_STATE.itemsize} but found the input RNG state size to be {raw.size}")
        legacy = np.frombuffer(raw.tobytes(), _STATE)[0]["legacy"]
        self._seed = int(legacy["seed"])
        self._load(legacy["state"].astype(np.uint32), _MT_N + 1 - int(legacy["left"]),
                   fresh=int(legacy["next"]) == 0 and int(legacy["left"]) == 1)
        self._next_double = float(legacy["normal_y"]) if legacy["normal_is_valid"] else None
        return self

    # ---- raw draws ----------------------------------------------------------------------------

    def _random32(self, n):
        """n of torch's random(): 32-bit draws, as uint64."""
        if n:
            self._fresh = False
        return self._bits.random_raw(n)

    def _random64(self, n):
        """n of torch's random64(): two 32-bit draws each, the first one the high half."""
        r = self._random32(2 * n)
        return r[0::2] << 32 | r[1::2]

    def _unit(self, n, dtype):
        """uniform_real_distribution(0, 1) of float32 or float64 (float16 draws float32's), as float64:
        the low 53 bits of random64() or the low 24 of random(), times 2**-bits."""
        if dtype == np.float64:
            return (self._random64(n) & (1 << 53) - 1).astype(np.float64) * 2.0 ** -53
        return (self._random32(n) & (1 << 24) - 1).astype(np.float64) * 2.0 ** -24

    # ---- distributions: flat arrays of n values, in the order torch fills memory ------------

    def uniform(self, n, dtype, low=0.0, high=1.0):
        """uniform_(low, high): x * (high - low) + low in float32 (float64 for double), contracted to
        one fused multiply-add; a value that rounds to high becomes low."""
        dtype = np.dtype(dtype)
        acc = np.float64 if dtype == np.float64 else np.float32
        low, high = acc(low), acc(high)
        values = _fma(self._unit(n, acc), high - low, low, acc).astype(dtype)
        return np.where(values == dtype.type(high), dtype.type(low), values)

    def normal(self, n, dtype, mean=0.0, std=1.0, contiguous=True):
        """normal_(mean, std): in blocks of 16 (Box-Muller on 8 pairs of uniforms) when a contiguous
        tensor has 16 or more elements, otherwise one double sample at a time."""
        dtype = np.dtype(dtype)
        if n >= 16 and contiguous:
            return self._normal_blocks(n, dtype, mean, std)
        return _cast(_fma(self._normal_doubles(n), float(std), float(mean), np.float64), dtype)

    def _normal_blocks(self, n, dtype, mean, std):
        # ATen's normal_fill: Box-Muller on every whole block of 16 uniforms; when n is not a multiple
        # of 16 the last 16 values come from one more block: 16 fresh uniforms, or for float16 the
        # partial block's own uniforms completed with fresh ones (torch works in float32 there)
        unit = np.float64 if dtype == np.float64 else np.float32
        whole, rest = divmod(n, 16)
        u = self._unit(n, unit)
        if rest:
            last = u[16 * whole:] if dtype == np.float16 else u[:0]
            u = np.concatenate([u[:16 * whole], last, self._unit(16 - len(last), unit)])
        # in chunks that stay in the CPU's cache: the float32 arithmetic makes many passes over them
        chunk = 1 << 16
        z = np.concatenate([_box_muller_blocks(u[i:i + chunk], dtype, mean, std) for i in range(0, len(u), chunk)])
        return np.concatenate([z[:n - 16], z[-16:]]) if rest else z

    def _normal_doubles(self, n):
        """n standard normal doubles from normal_distribution<double>: each pair of random64()
        uniforms gives r*cos(theta), and r*sin(theta) waits in the generator for the next sample."""
        first = [] if self._next_double is None or n == 0 else [self._next_double]
        if first:
            self._next_double = None
        pairs = (n - len(first) + 1) // 2
        u = self._unit(2 * pairs, np.float64)
        radius = np.sqrt(-2.0 * _libm(math.log1p, -u[1::2]))
        theta = 2.0 * math.pi * u[0::2]
        cos, sin = radius * np.cos(theta), radius * np.sin(theta)
        if (n - len(first)) % 2:
            self._next_double = float(sin[-1])
        return np.concatenate([first, np.stack([cos, sin], 1).ravel()])[:n]

    def integers(self, n, low, high, dtype):
        """randint / random_(low, high): random() % (high - low) + low, or random64() when the range
        is 2**28 or more."""
        span = high - low
        bits = self._random64(n) if span >= 1 << 28 else self._random32(n)
        return _cast((bits % np.uint64(span)).astype(np.int64) + low, dtype)

    def random(self, n, dtype):
        """random_() with no bounds: [0, 2**digits] for floating types, [0, max] for integers."""
        dtype = np.dtype(dtype)
        if dtype == np.bool_:
            return (self._random32(n) & 1).astype(dtype)
        wide = dtype in (np.int64, np.float64)
        modulus = (2 << np.finfo(dtype).nmant) + 1 if dtype.kind == "f" else int(np.iinfo(dtype).max) + 1
        bits = self._random64(n) if wide else self._random32(n)
        return (bits % np.uint64(modulus)).astype(dtype)

    def bernoulli(self, p, dtype, n=None):
        """1 where a uniform draw is below p: a double per element for a scalar or float64 p, a
        float (24 bits) per element for a float32 p."""
        if n is not None:  # a scalar probability for n elements
            return (self._unit(n, np.float64) < p).astype(dtype)
        p = np.asarray(p)
        unit = self._unit(p.size, np.float64 if p.dtype == np.float64 else np.float32)
        return (unit.reshape(p.shape) < p).astype(dtype)

    def exponential(self, n, dtype, lambd=1.0):
        """exponential_(lambd): -1/lambd * log1p(-u) on a double uniform."""
        return _cast(-1.0 / lambd * _libm(math.log1p, -self._unit(n, np.float64)), dtype)

    def permutation(self, n):
        """randperm(n) on the CPU: position i swaps with i + random() % (n - i), for i up to n - 2
        (torch's algorithm below 2**32 / 20 elements, where it switches to another)."""
        perm = list(range(n))
        if n > 1:
            offsets = (self._random32(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
            for i, z in enumerate(offsets):
                perm[i], perm[i + z] = perm[i + z], perm[i]
        return np.array(perm, dtype=np.int64)

    def multinomial(self, probs, num_samples, replacement):
        """torch.multinomial on rows of probabilities (a 2-D float array)."""
        if not replacement or num_samples == 1:
            # torch's Gumbel trick: the largest p / q with q ~ Exp(1), drawn in the rows' dtype
            keys = probs / self.exponential(probs.size, probs.dtype).reshape(probs.shape)
            return np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
        # inverse CDF: the first bucket whose normalized running sum reaches a double uniform
        acc = np.float64 if probs.dtype == np.float64 else np.float32
        cum = np.cumsum(probs.astype(acc), axis=1)
        cum /= cum[:, -1:]
        cum[:, -1] = 1
        u = self._unit(probs.shape[0] * num_samples, np.float64).reshape(-1, num_samples)
        return np.stack([np.searchsorted(c, row, side="left") for c, row in zip(cum, u)])


def _cast(values, dtype):
    """values.astype(dtype) as C++ casts: to float16 by way of float32 (c10::Half is made from a float)."""
    return (values.astype(np.float32) if dtype == np.float16 else values).astype(dtype)


def _libm(fn, x):
    """fn of the C library on each element: NumPy's own float64 log and log1p differ from it in the
    last place for some inputs, and torch calls the C library."""
    return np.frompyfunc(fn, 1, 1)(x).astype(np.float64)


def _box_muller_blocks(d, dtype, mean, std):
    """ATen's normal_fill_16 on each block of 16 uniforms: u1 = 1 - d[0:8] and u2 = d[8:16] give
    radius * cos(theta) and radius * sin(theta), then * std + mean (one fused multiply-add)."""
    blocks = d.reshape(-1, 2, 8)
    if dtype == np.float64:  # the scalar C++ loop, with the C library's log, cos and sin
        radius = np.sqrt(-2.0 * _libm(math.log, 1.0 - blocks[:, 0]))
        theta = 2.0 * math.pi * blocks[:, 1]
        sin, cos, acc = np.sin(theta), np.cos(theta), np.float64
    else:  # torch's AVX2 kernel, which its AVX-512 builds run too: float32 with avx_mathfun
        u1, u2 = np.float32(1) - blocks[:, 0].astype(np.float32), blocks[:, 1].astype(np.float32)
        radius = np.sqrt(np.float32(-2) * _log_ps(u1))
        (sin, cos), acc = _sincos_ps(np.float32(2.0 * math.pi) * u2), np.float32
    out = np.stack([radius * cos, radius * sin], 1)
    return _fma(out, acc(std), acc(mean), acc).astype(dtype).ravel()


# ---- avx_mathfun's log256_ps and sincos256_ps (Cephes polynomials), in NumPy float32 ---------
# Built by GCC with contraction on: a product whose only use is a sum becomes one fused
# multiply-add with it (the first product of the two where both are).

_LOG_P = np.array([7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
                   -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1], np.float32)
_LOG_Q1, _LOG_Q2 = np.float32(-2.12194440e-4), np.float32(0.693359375)
_SQRT_HALF = np.float32(0.707106781186547524)
_MINUS_DP = np.array([-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8], np.float32)
_SIN_P = np.array([-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1], np.float32)
_COS_P = np.array([2.443315711809948E-005, -1.388731625493765E-003, 4.166664568298827E-002], np.float32)
_FOUR_OVER_PI = np.float32(1.27323954473516)


def _fma32(a, b, c):
    return _fma(a, b, c, np.float32)


def _horner32(coefficients, x):
    y = np.full(x.shape, coefficients[0], np.float32)
    for c in coefficients[1:]:
        y = _fma32(y, x, c)
    return y


def _log_ps(x):
    """log256_ps for positive normal float32 x: x = m * 2**e with m in [sqrt(1/2), sqrt(2)), then
    log(m) by a polynomial in m - 1 and e * log(2) in two parts."""
    bits = x.view(np.int32)
    e = ((bits >> 23) - 0x7F).astype(np.float32) + np.float32(1)
    m = ((bits & ~0x7F800000) | 0x3F000000).view(np.float32)  # the mantissa, in [0.5, 1)
    small = m < _SQRT_HALF
    m = (m - np.float32(1)) + np.where(small, m, np.float32(0))
    e = e - small.astype(np.float32)
    z = m * m
    y = _horner32(_LOG_P, m) * m
    y = _fma32(y, z, e * _LOG_Q1)
    y = y - z * np.float32(0.5)
    return _fma32(e, _LOG_Q2, m + y)


def _sincos_ps(x):
    """sincos256_ps: reduce |x| by multiples of pi/4 (pi in three parts), then the Cephes sine and
    cosine polynomials, swapped and signed by the octant."""
    sign_sin = x.view(np.int32) & np.int32(-2 ** 31)
    x = np.abs(x)
    j = ((x * _FOUR_OVER_PI).astype(np.int32) + 1) & ~1
    for dp in _MINUS_DP:
        x = _fma32(j.astype(np.float32), dp, x)
    sign_sin = sign_sin ^ ((j & 4) << 29)
    sign_cos = (~(j - 2) & 4) << 29
    z = x * x
    cos_poly = _fma32(_horner32(_COS_P, z) * z, z, -(z * np.float32(0.5))) + np.float32(1)
    sin_poly = _fma32(_horner32(_SIN_P, z) * z, x, x)
    sine_octant = (j & 2) == 0
    sin, cos = np.where(sine_octant, sin_poly, cos_poly), np.where(sine_octant, cos_poly, sin_poly)
    return (sin.view(np.int32) ^ sign_sin).view(np.float32), (cos.view(np.int32) ^ sign_cos).view(np.float32)


# ---- a fused multiply-add, correctly rounded -------------------------------------------------
# torch's kernels are built with contraction on, so `x * a + b` rounds once. NumPy has no fma; these
# give the same result from exact products and sums (Boldo & Melquiond, "Emulation of FMA and
# correctly-rounded sums: proved algorithms using rounding to odd", 2008).

def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_product(a, b):
    p = a * b
    split = lambda x: ((134217729.0 * x) - ((134217729.0 * x) - x))  # Veltkamp: the high 26 bits
    ah, bh = split(a), split(b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _add_round_to_odd(a, b):
    """a + b rounded to odd: when inexact, the neighbour whose last bit is 1. Rounding that again to
    a precision at least 2 bits shorter gives the correctly rounded sum."""
    s, err = _two_sum(np.asarray(a, np.float64), np.asarray(b, np.float64))
    s, err = np.broadcast_arrays(s, err)
    bump = (err != 0) & (s.view(np.int64) & 1 == 0)
    return np.where(bump, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)


def _fma(x, a, b, acc):
    """x * a + b rounded once to acc (float32 or float64)."""
    x, a, b = (np.asarray(v, np.float64) for v in (x, a, b))
    if acc is np.float32:
        # a product of float32s is exact in float64, and the sum rounded there then to float32 is
        # right unless the first rounding landed exactly halfway between two float32s: redo those
        p = x * a
        s = np.asarray(p + b)
        halfway = (s.view(np.int64) & 0x1FFFFFFF) == 0x10000000
        if halfway.any():
            s[halfway] = _add_round_to_odd(*(np.broadcast_to(v, s.shape)[halfway] for v in (p, b)))
        return s.astype(np.float32)
    if a.ndim == 0 and a == 1:  # a product by one is exact too
        return x + b
    hi, lo = _two_product(x, a)
    th, tl = _two_sum(b, hi)
    return th + _add_round_to_odd(tl, lo)


default_generator = Generator()
default_generator.seed()  # as torch's default generator: a fresh seed each run until manual_seed


def get_generator(generator=None):
    return generator or default_generator


def manual_seed(seed):
    """Seed the default generator, as torch.manual_seed does."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def in_memory_order(values, array):
    """Lay flat `values` over `array`'s shape in the order its elements sit in memory: the order
    torch's kernels fill a tensor in (a transposed view is filled along its storage)."""
    if array.flags.c_contiguous:
        return values.reshape(array.shape)
    offsets = sum(np.arange(size).reshape((-1,) + (1,) * (array.ndim - 1 - d)) * stride
                  for d, (size, stride) in enumerate(zip(array.shape, array.strides)))
    out = np.empty(array.shape, values.dtype)
    out.reshape(-1)[np.argsort(np.broadcast_to(offsets, array.shape).ravel(), kind="stable")] = values
    return out
