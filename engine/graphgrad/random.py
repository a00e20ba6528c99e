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
import functools
import math
import secrets
from typing import Any

import numpy as np

from .native import kernels as _kernels  # None where graphgrad's C kernels are not built
from .native.fma import fma, fma32

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
    """A torch.Generator for the CPU: its own MT19937 stream and Box-Muller cache.

    The stream's words are drawn from NumPy's MT19937 a buffer at a time (_BUFFER_WORDS): a small
    draw is then a slice of an array, not a call into NumPy's generator, and what is computed from
    every word alike (the float32 normals' Box-Muller factors) is computed once for the buffer.
    NumPy's generator runs ahead of the stream by what the buffer still holds, so the stream's
    state is found by replaying the words drawn since a recorded state of NumPy's (a checkpoint).

    Where graphgrad's C kernels are built (graphgrad/native), the distributions' loops run there:
    a kernel is given the words the buffer holds and draws the rest from the same NumPy MT19937
    itself (_kernel_words), so the stream and its state are the same either way."""

    _checkpoint: Any  # NumPy's MT19937 state, as its `state` property gives and takes it

    def __init__(self, device="cpu"):
        self.device = device
        self._bits = np.random.MT19937()
        self._bulk = np.random.Generator(self._bits)  # the same bits, drawn as uint32 in one loop
        self._source = self._bits.capsule  # the same bits for graphgrad's C kernels to draw (_kernel_words)
        self._loads = 0  # seedings and set_state calls: part of position()
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
        return self.manual_seed(secrets.randbits(64))._seed

    def initial_seed(self):
        return self._seed

    def _load(self, key, pos, fresh=False):
        self._checkpoint = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}
        self._bits.state = self._checkpoint
        # words NumPy's generator gave from the load to the checkpoint, and since the checkpoint
        self._checkpoint_at, self._drawn = 0, 0
        self._use_up_buffer()
        self._fresh = fresh  # seeded: torch's state reads next=0, not 624, until the first draw
        self._loads += 1

    def _use_up_buffer(self):
        """Drop the buffer's words (all handed out, or never to be: NumPy's generator is where the
        stream goes on)."""
        self._buffer, self._at, self._factors, self._pairs = _NO_WORDS, 0, None, None

    def _handed_out(self):
        """Words of the stream handed out since the checkpoint."""
        return self._drawn - (len(self._buffer) - self._at)

    def _stream_state(self):
        """(key, pos) of NumPy's MT19937 at the stream's position: the checkpoint, advanced by the
        words drawn since that the buffer has handed out."""
        words = self._handed_out()
        bits = self._bits
        if words != self._drawn:  # the buffer holds words ahead: replay on a copy
            bits = np.random.MT19937(0)
            bits.state = self._checkpoint
            for start in range(0, words, _BULK_WORDS):
                bits.random_raw(min(_BULK_WORDS, words - start))
        state = bits.state["state"]
        return state["key"], int(state["pos"])

    def position(self):
        """Where the stream stands, as a value that changes with every draw (cheap: nothing is
        replayed): equal positions of one generator mean no draw happened in between."""
        return self._loads, self._checkpoint_at + self._handed_out(), self._next_double

    def get_state(self):
        """The state as a uint8 tensor laid out as torch.get_rng_state()'s, so the two can be compared."""
        from .creation import tensor  # (creation builds on this module's generators)
        key, pos = self._stream_state()
        state = np.zeros((), _STATE)
        legacy = state["legacy"]
        legacy["seed"], legacy["seeded"], legacy["state"] = self._seed, 1, key
        # torch counts down `left` to the next regeneration; NumPy counts up `pos` from the last one
        fresh = self._fresh and self._checkpoint_at + self._handed_out() == 0
        legacy["left"], legacy["next"] = _MT_N + 1 - pos, 0 if fresh else pos
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
        """The next n of torch's random(): 32-bit words, as uint32, not to be written to (a small
        draw is a view of the buffer)."""
        at = self._at
        if n <= len(self._buffer) - at:
            self._at = at + n
            return self._buffer[at:at + n]
        head = self._buffer[at:]
        if n - len(head) >= _BUFFER_WORDS // 2:  # a large draw, not buffered
            self._use_up_buffer()
            return _joined(head, self._draw(n - len(head)))
        return _joined(head, self._refill(n - len(head)))

    def _refill(self, n):
        """A new buffer, its first n words handed out (the last buffer all handed out before)."""
        self._buffer, self._at, self._factors, self._pairs = self._draw(_BUFFER_WORDS), n, None, None
        return self._buffer[:n]

    def _draw(self, n):
        """n words from NumPy's generator, which is at the stream's position (the buffer is empty)."""
        self._will_draw(n)
        if n >= _BULK_WORDS // 4:  # a loop writing uint32: less per word, more per call
            return self._bulk.integers(0, 1 << 32, size=n, dtype=np.uint32)
        return self._bits.random_raw(n).astype(np.uint32)

    def _will_draw(self, n):
        """Count n words about to be drawn from NumPy's generator (here or by a C kernel)."""
        if self._drawn >= _REPLAY_WORDS:  # a new checkpoint, so that get_state replays little
            self._checkpoint, self._checkpoint_at, self._drawn = self._bits.state, self._checkpoint_at + self._drawn, 0
        self._drawn += n

    def _kernel_words(self, n):
        """For a C kernel that takes the next n words: those the buffer holds (a view), the first of
        them. The kernel draws the rest from NumPy's generator itself (`self._source`), so that no
        array of them is made; the buffer is then used up."""
        at = self._at
        head = self._buffer[at:at + n]
        if len(head) == n:
            self._at = at + n
        else:
            self._use_up_buffer()
            self._will_draw(n - len(head))
        return head

    def _random64(self, n):
        """n of torch's random64(): two 32-bit draws each, the first one the high half."""
        r = self._random32(2 * n)
        high = r[0::2].astype(np.uint64)
        high <<= 32
        high |= r[1::2]
        return high

    def _unit(self, n, dtype, out=None):
        """uniform_real_distribution(0, 1) of float32 or float64 (float16 draws float32's): the low 53
        bits of random64() or the low 24 of random(), times 2**-bits, in that dtype (both exact)."""
        if dtype == np.float64:
            bits = self._random64(n)
            bits &= (1 << 53) - 1
            out = np.empty(n) if out is None else out
            out[...] = bits  # (an assignment converts for less than a ufunc does)
            out *= 2.0 ** -53
            return out
        return _float_units(self._random32(n), out)

    def _box_muller_pairs(self, n):
        """For each of the next n words w, the float32 products of a Box-Muller block that starts
        there: radius(w) * cos(w + 8) and radius(w) * sin(w + 8), as the rows of a (2, n) array (only
        the columns where blocks start are meant; each block's first 8 columns are its values).
        Worked out for the whole rest of the buffer when first asked, so that a small draw costs a
        slice."""
        at = self._at
        if self._pairs is not None and n <= len(self._buffer) - at:
            self._at = at + n
            start = at - self._factors_from
            return self._pairs[:, start:start + n]
        return _pair_products(self._box_muller_factors(n))  # across buffers

    def _box_muller_factors(self, n):
        """(radius, cos theta, sin theta) of each of the next n words as float32 Box-Muller takes
        them (a word is either a block's radius or its angle), as an array of 3 rows, n columns:
        computed for the whole rest of the buffer, with its pairs (_box_muller_pairs)."""
        parts = []
        while n:
            if self._at == len(self._buffer):
                self._refill(0)
            if self._factors is None:
                self._factors_from = self._at
                u = _float_units(self._buffer[self._at:])
                self._factors = np.stack([_radii(u), *_angles(u)])
                self._pairs = _pair_products(self._factors)
                # no factor is 0, so no product is: none is -0 for the fused multiply-add to make +0
                # (and none was in the last buffer's part of this draw)
                self._factors_nonzero = bool(self._factors.all()) and (not parts or self._factors_nonzero)
            take = min(n, len(self._buffer) - self._at)
            start = self._at - self._factors_from
            parts.append(self._factors[:, start:start + take])
            self._at += take
            n -= take
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    # ---- distributions: flat arrays of n values, in the order torch fills memory ------------

    def uniform(self, n, dtype, low=0.0, high=1.0, out=None):
        """uniform_(low, high): x * (high - low) + low in float32 (float64 for double), contracted to
        one fused multiply-add; a value that rounds to high becomes low. Written into `out` (n values
        of dtype, contiguous) when given: a tensor's own memory, so no array is made and copied."""
        dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        values = np.empty(n, dtype) if out is None else out
        if _kernels is not None and (dtype is _FLOAT32 or dtype is _FLOAT64):
            # random() per float, random64() per double
            _kernels.uniform(self._kernel_words(n * (dtype.itemsize // 4)), values, low, high, self._source)
            return values
        if dtype is _FLOAT32:
            if low == 0 and high == 1:  # x * 1 + 0 is x: nothing to round or replace
                for i in range(0, n, _CHUNK):
                    self._unit(min(_CHUNK, n - i), np.float32, values[i:i + _CHUNK])
                return values
            exact = _exact_uniform32(float(low), float(high))
            if exact:
                self._uniform32(values, *exact)
                return values
        acc = np.float64 if dtype == np.float64 else np.float32
        low, high = acc(low), acc(high)
        unit_interval = low == 0 and high == 1  # x * 1 + 0 is x, and x < 1: nothing to round or replace
        for i in range(0, n, _CHUNK):  # drawn and computed a chunk at a time, as _normal_blocks
            part = values[i:i + _CHUNK]
            x = self._unit(len(part), acc, part if unit_interval and dtype == acc else None)
            if unit_interval:
                if x is not part:
                    part[...] = x
            elif dtype == acc:
                fma(x, high - low, low, acc, part)
            else:  # float16: rounded to float32 first, as torch computes there
                part[...] = fma(x, high - low, low, acc)
        # (float16 rounds some x up to 1); no value passes high, so the largest tells whether any is it
        if n and (not unit_interval or dtype == np.float16) and (
                not low <= high or values.max() == dtype.type(high)):
            np.copyto(values, dtype.type(low), where=values == dtype.type(high))
        return values

    def _uniform32(self, values, scale, offset, low, high, top_is_high):
        """uniform for float32 where it is exact in float64 (_exact_uniform32): k * scale + offset
        for the words' low 24 bits k, rounded once to float32 (by the addition's output)."""
        words = self._random32(len(values))  # one call into NumPy, then a chunk at a time
        exact = np.empty(min(len(values), _CHUNK))
        for i in range(0, len(values), _CHUNK):
            part = exact[:len(values) - i]  # (the last chunk's size)
            # the low bits straight into float64 (exact), then that array's own loops, which
            # cost less than a ufunc that converts its operands on the way
            np.bitwise_and(words[i:i + _CHUNK], _LOW_24, out=part, casting="unsafe")
            part *= scale
            part += offset
            values[i:i + _CHUNK] = part
        if top_is_high:
            np.copyto(values, low, where=values == high)

    def normal(self, n, dtype, mean=0.0, std=1.0, contiguous=True, out=None):
        """normal_(mean, std): in blocks of 16 (Box-Muller on 8 pairs of uniforms) when a contiguous
        tensor has 16 or more elements, otherwise one double sample at a time. Into `out` (n values
        of dtype) when given."""
        dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        if n >= 16 and contiguous:
            if dtype is _FLOAT32:
                return self._normal_blocks32(n, mean, std, np.empty(n, dtype) if out is None else out)
            return self._normal_blocks(n, dtype, mean, std, out)
        values = _cast(fma(self._normal_doubles(n), float(std), float(mean), np.float64), dtype)
        if out is None:
            return values
        out[...] = values
        return out

    def _normal_blocks(self, n, dtype, mean, std, out=None):
        # ATen's normal_fill: Box-Muller on every whole block of 16 uniforms; when n is not a multiple
        # of 16 the last 16 values come from one more block, written over the end: 16 fresh uniforms,
        # or for float16 the partial block's own uniforms completed with fresh ones (torch works in
        # float32 there)
        whole = 16 * (n // 16)
        out = np.empty(n, dtype) if out is None else out
        if dtype == np.float64 and _kernels is not None:  # two words per uniform (random64)
            _kernels.normal(self._kernel_words(2 * whole), out[:whole], mean, std, self._source)
            if whole < n:
                self._random32(2 * (n - whole))
                _kernels.normal(self._kernel_words(32), out[n - 16:], mean, std, self._source)
            return out
        unit = np.float64 if dtype == np.float64 else np.float32
        # drawn and computed a chunk at a time (the draws stay in order): the float32 arithmetic
        # makes many passes over its temporaries, which then stay in the CPU's cache, and arrays
        # of a whole large tensor's size would be faulted into memory afresh on every call
        for i in range(0, whole, _CHUNK):
            j = min(i + _CHUNK, whole)
            _box_muller_blocks(self._unit(j - i, unit), dtype, mean, std, out[i:j])
        if whole < n:
            rest = self._unit(n - whole, unit)
            last = rest if dtype == np.float16 else rest[:0]
            u = np.concatenate([last, self._unit(16 - len(last), unit)])
            _box_muller_blocks(u, dtype, mean, std, out[n - 16:])
        return out

    def _normal_blocks32(self, n, mean, std, out):
        """_normal_blocks for float32, from the buffer's Box-Muller factors when n is small (the
        last block's 16 fresh words follow the n drawn first), else a chunk of words at a time."""
        whole = 16 * (n // 16)
        if _kernels is not None and _kernels.AVX2_FMA:
            _kernels.normal(self._kernel_words(whole), out[:whole], mean, std, self._source)
            if whole < n:  # the last block's 16 fresh words follow the n drawn first
                self._random32(n - whole)
                _kernels.normal(self._kernel_words(16), out[n - 16:], mean, std, self._source)
            return out
        if n <= _FACTORED_NORMALS:
            pairs = self._box_muller_pairs(n + 16 if whole < n else n)
            _paired_products(pairs[:, :whole], out[:whole])
            if whole < n:
                _paired_products(pairs[:, n:], out[n - 16:])
            nonzero = self._factors_nonzero
        else:
            nonzero = False  # (not looked for)
            for i in range(0, whole, _CHUNK):
                j = min(i + _CHUNK, whole)
                blocks = self._unit(j - i, np.float32).reshape(-1, 2, 8)
                _normal_products(_radii(blocks[:, 0]), *_angles(blocks[:, 1]), out[i:j])
            if whole < n:
                self._random32(n - whole)  # drawn, and not used
                u = self._unit(16, np.float32)
                _normal_products(_radii(u[None, :8]), *_angles(u[None, 8:]), out[n - 16:])
        _scale32(out, std, mean, nonzero)
        return out

    def _normal_doubles(self, n):
        """n standard normal doubles from normal_distribution<double>: each pair of random64()
        uniforms gives r*cos(theta), and r*sin(theta) waits in the generator for the next sample."""
        first = [] if self._next_double is None or n == 0 else [self._next_double]
        if first:
            self._next_double = None
        pairs = (n - len(first) + 1) // 2
        if pairs <= 8:
            values = np.array(first + self._normal_pairs_few(pairs), np.float64)
        else:
            values = np.concatenate([first, self._normal_pairs(pairs)])
        if (n - len(first)) % 2:
            self._next_double = float(values[-1])
        return values[:n]

    def _normal_pairs(self, pairs):
        """Box-Muller on pairs of random64() uniforms: r*cos(theta) then r*sin(theta) for each."""
        u = self._unit(2 * pairs, np.float64)
        radius = np.sqrt(-2.0 * _libm(math.log1p, -u[1::2]))
        theta = 2.0 * math.pi * u[0::2]
        return np.stack([radius * np.cos(theta), radius * np.sin(theta)], 1).ravel()

    def _normal_pairs_few(self, pairs):
        """_normal_pairs for a few pairs, as a list: in Python floats, which cost less than NumPy's
        calls on so few. math's log1p, cos and sin are the C library's, as torch's are (and as
        _libm's are, and NumPy's float64 cos and sin call them too); the rest is the same float64
        arithmetic."""
        raw, low_bits, scale = self._random32(4 * pairs).tolist(), (1 << 53) - 1, 2.0 ** -53
        values = []
        for i in range(0, 4 * pairs, 4):
            u_theta = ((raw[i] << 32 | raw[i + 1]) & low_bits) * scale
            u_radius = ((raw[i + 2] << 32 | raw[i + 3]) & low_bits) * scale
            radius = math.sqrt(-2.0 * math.log1p(-u_radius))
            theta = 2.0 * math.pi * u_theta
            values += [radius * math.cos(theta), radius * math.sin(theta)]
        return values

    def integers(self, n, low, high, dtype):
        """randint / random_(low, high): random() % (high - low) + low, or random64() when the range
        is 2**28 or more; as int64, then cast to dtype."""
        span = high - low
        wide = span >= 1 << 28
        if _kernels is not None and dtype == np.int64:
            out = np.empty(n, np.int64)
            _kernels.integers(self._kernel_words(2 * n if wide else n), out, low, span, self._source)
            return out
        # (32-bit draws otherwise: a 32-bit division costs a fraction of a 64-bit one)
        divisor = np.uint64(span) if wide else np.uint32(span)
        words = self._random64(n) if wide else self._random32(n)  # one call into NumPy, then chunks
        out = np.empty(n, dtype)
        for i in range(0, n, _CHUNK):
            part, bits = out[i:i + _CHUNK], words[i:i + _CHUNK]
            if dtype == np.int64:  # the offsets written as int64 into the tensor, then moved by low
                if len(part) > _FEW:
                    _remainder(bits, divisor, part)
                else:
                    part[...] = bits % divisor
                if low:
                    part += low
            else:
                offsets = _remainder(bits, divisor) if len(part) > _FEW else bits % divisor
                part[...] = _cast(np.add(offsets, low, dtype=np.int64), dtype)
        return out

    def random(self, n, dtype):
        """random_() with no bounds: [0, 2**digits] for floating types, [0, max] for integers."""
        dtype = np.dtype(dtype)
        if dtype == np.bool_:
            return (self._random32(n) & 1).astype(dtype)
        wide = dtype in (np.int64, np.float64)
        modulus = (2 << np.finfo(dtype).nmant) + 1 if dtype.kind == "f" else int(np.iinfo(dtype).max) + 1
        bits = self._random64(n) if wide else self._random32(n)
        return _remainder(bits, np.uint64(modulus)).astype(dtype)

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
        if n < 2:
            return np.arange(n, dtype=np.int64)
        if _kernels is not None:
            perm = np.empty(n, np.int64)
            _kernels.randperm(self._kernel_words(n - 1), perm, self._source)
            return perm
        if n >= _SWAPS_VECTORIZED:
            offsets = self._random32(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)
            return _swapped(n, offsets.astype(np.int64))
        left, steps = _swap_ranges(n)
        offsets = self._random32(n - 1) % left
        offsets += steps  # the positions swapped with 0, 1, ...
        perm = list(range(n))
        for i, j in enumerate(offsets.tolist()):
            perm[i], perm[j] = perm[j], perm[i]
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


# ---- the stream's words ------------------------------------------------------------------------

# words drawn ahead into a generator's buffer: 16 of MT19937's blocks, so that the fixed cost of
# NumPy's call (and of the float32 normals' factors) is spread over some hundred small draws
_BUFFER_WORDS = 16 * _MT_N
# from a quarter of this many words on, NumPy's Generator.integers fills uint32 in one loop, which
# costs less per word than random_raw (uint64) but more per call; get_state replays this many at a time
_BULK_WORDS = 1 << 16
# words drawn between two readings of NumPy's state (a reading costs as much as ~10,000 words): at
# most this many are replayed by get_state
_REPLAY_WORDS = 1 << 20
_NO_WORDS = np.zeros(0, np.uint32)
_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)
_LOW_24 = np.uint32((1 << 24) - 1)
_FLOAT_UNIT = np.float32(2.0 ** -24)
# float32 normals up to this many come from the buffer's per-word Box-Muller factors
_FACTORED_NORMALS = _BUFFER_WORDS // 8


def _float_units(words, out=None):
    """The float32 uniforms of 32-bit words: their low 24 bits times 2**-24 (both exact), into
    `out` when given. (The bits go straight into the float32 array, and the product is that
    array's own loop: less than a ufunc that converts its operands on the way.)"""
    out = np.empty(len(words), np.float32) if out is None else out
    np.bitwise_and(words, _LOW_24, out=out, casting="unsafe")
    out *= _FLOAT_UNIT
    return out


def _joined(head, tail):
    return tail if not len(head) else np.concatenate([head, tail])


@functools.lru_cache(maxsize=256)
def _exact_uniform32(low, high):
    """uniform_(low, high) on float32, where x * span + low (span = high - low, all in float32) is
    exact in float64 for every x = k * 2**-24, k < 2**24: then k * scale + offset there, rounded once
    to float32, is torch's fused multiply-add. (scale, offset, low, high, whether the largest k
    rounds up to high, where torch gives low instead: rounding is monotonic, so only it can), or
    None where the sum is not exact. Cached: a model's layers ask for a few bounds again and again."""
    low, high = np.float32(low), np.float32(high)
    span = high - low
    if not _sum_exact_in_float64(span, low):
        return None
    scale, offset = float(span) * 2.0 ** -24, float(low)
    return scale, offset, low, high, bool(np.float32((2 ** 24 - 1) * scale + offset) == high)


def _sum_exact_in_float64(span, low):
    """Whether x * span + low is exact in float64 for every x = k * 2**-24, k < 2**24 (span and
    low float32): the sum is a multiple of its terms' finest bit, and below twice the larger, so
    it is exact when those are at most 53 bits apart. Then rounding it to float32 is the fused
    multiply-add."""
    if not (math.isfinite(span) and math.isfinite(low)):
        return False
    span_exponent, low_exponent = math.frexp(span)[1], math.frexp(low)[1]  # one above floor(log2)
    finest = min(span_exponent - 48, low_exponent - 24) if low else span_exponent - 48
    return max(span_exponent, low_exponent) + 1 - finest <= 53


# ---- float32 Box-Muller, as ATen's normal_fill_16_AVX2 --------------------------------------

def _radii(u):
    """sqrt(-2 * log(1 - u)) of float32 uniforms, with avx_mathfun's log."""
    radius = _log_ps(np.float32(1) - u)
    radius *= np.float32(-2)
    return np.sqrt(radius, out=radius)


def _angles(u):
    """(cos, sin) of 2pi * u for float32 uniforms, with avx_mathfun's sincos."""
    sin, cos = _sincos_ps(np.float32(2.0 * math.pi) * u)
    return cos, sin


def _pair_products(factors):
    """Per-word (radius, cos, sin) rows -> the rows radius(w) * cos(w + 8) and radius(w) * sin(w + 8)
    (the last 8 columns, which no whole block starts in, are left 1)."""
    pairs = np.ones((2, factors.shape[1]), np.float32)
    np.multiply(factors[0, :-8], factors[1:, 8:], out=pairs[:, :-8])
    return pairs


def _paired_products(pairs, out):
    """_normal_products from the pair rows of whole blocks of 16 words (_box_muller_pairs): each
    block is its first 8 columns of both rows."""
    out.reshape(-1, 2, 8).transpose(1, 0, 2)[...] = pairs.reshape(2, -1, 2, 8)[:, :, 0]


def _normal_products(radius, cos, sin, out):
    """Each block of 16 in out: its 8 radius * cos, then its 8 radius * sin (in float32)."""
    blocks = out.reshape(-1, 2, 8)
    np.multiply(radius, cos, out=blocks[:, 0])
    np.multiply(radius, sin, out=blocks[:, 1])


def _scale32(values, std, mean, nonzero=False):
    """values * std + mean in place, one fused multiply-add in float32. A product of float32s is
    exact in float64: with mean 0 the one rounding is to float32, and adding mean only turns a -0
    product into +0, as the fused multiply-add does; when no value is 0 (`nonzero`), no product
    is."""
    if std == 1 and mean == 0 and nonzero:  # (checked before NumPy's scalars, which cost more)
        return
    std, mean = np.float32(std), np.float32(mean)
    if std == 1:
        np.add(values, mean, out=values)
    elif mean == 0:  # (astype and float64's own loops: cheaper than ufuncs that convert)
        exact = values.astype(np.float64)
        exact *= float(std)
        if not (nonzero and std != 0):
            exact += 0.0
        values[...] = exact
    else:
        fma32(values.copy(), std, mean, values)


# from this n on, randperm works out its swaps with array operations (below, the Python loop is faster)
_SWAPS_VECTORIZED = 2048


@functools.lru_cache(maxsize=64)
def _swap_ranges(n):
    """randperm(n)'s n - i and i for its steps i = 0 .. n - 2 (uint32, as the words: n is small;
    read-only)."""
    left, steps = np.arange(n, 1, -1, dtype=np.uint32), np.arange(n - 1, dtype=np.uint32)
    left.flags.writeable = steps.flags.writeable = False
    return left, steps


def _swapped(n, offsets):
    """range(n) after step i swapped positions i and j_i = i + offsets[i], for i = 0 .. n - 2, in
    order, without running the swaps one by one. Position i is final after step i, holding what
    position j_i held then: the value the latest earlier step that wrote into j_i moved there, or
    j_i's own if none did. What step t moves into j_t is what position t held at step t: likewise
    the value the latest step before t moved into t, or t. So each value is found by following
    'the latest step that wrote here' back to a position no earlier step wrote into (pointer
    jumping: a number of passes logarithmic in the longest chain)."""
    m = n - 1
    steps = np.arange(m, dtype=np.int64)
    targets = steps + offsets
    order = np.sort(targets * n + steps)  # grouped by target, each group in step order
    target = order // n
    step = order - target * n
    same = np.empty(m, bool)  # the sorted entry before has the same target
    same[0] = False
    np.equal(target[1:], target[:-1], out=same[1:])
    before = np.full(m, -1, np.int64)  # the latest earlier step with the same target
    before[1:][same[1:]] = step[:-1][same[1:]]
    latest = np.empty(m, np.int64)
    latest[step] = before
    # for each position p, the latest step before p that wrote into it (p itself where none did)
    ends = np.flatnonzero(np.append(target[1:] != target[:-1], True))
    p, last = target[ends], step[ends]
    writer = np.arange(n, dtype=np.int64)
    writer[p] = np.where(last != p, last, np.where(before[ends] >= 0, before[ends], p))
    while True:
        jumped = writer[writer]
        if np.array_equal(jumped, writer):
            break
        writer = jumped
    out = np.empty(n, np.int64)
    out[:m] = np.where(latest >= 0, writer[np.maximum(latest, 0)], targets)
    out[m] = writer[m]
    return out


# below this many values, one NumPy call costs less than the three of _remainder
_FEW = 256


def _remainder(bits, divisor, out=None):
    """bits % divisor for unsigned bits and a scalar divisor, as bits - bits // divisor * divisor,
    into `out` when given: NumPy divides unsigned integers by a scalar with multiplications
    (libdivide), but computes % with the CPU's division, several times slower."""
    quotient = bits // divisor
    quotient *= divisor
    remainder = np.subtract(bits, quotient, out=quotient)
    if out is None:
        return remainder
    out[...] = remainder  # (an assignment converts for less than a ufunc's output does)
    return out


def _cast(values, dtype):
    """values.astype(dtype) as C++ casts: to float16 by way of float32 (c10::Half is made from a float)."""
    return (values.astype(np.float32) if dtype == np.float16 else values).astype(dtype, copy=False)


def _libm(fn, x):
    """fn of the C library on each element: NumPy's own float64 log and log1p differ from it in the
    last place for some inputs, and torch calls the C library."""
    return np.frompyfunc(fn, 1, 1)(x).astype(np.float64)


# values per chunk of _normal_blocks and uniform (a multiple of 16): large enough that NumPy's cost
# per call is small beside the work, small enough that the temporaries stay in the CPU's cache and
# under glibc malloc's 128 KiB mmap threshold (the largest, float64 ones for half a chunk, are
# 124 KiB), so malloc reuses them instead of mapping and faulting in fresh pages for each
_CHUNK = (1 << 15) - (1 << 10)


def _box_muller_blocks(d, dtype, mean, std, out):
    """ATen's normal_fill_16 on each block of 16 uniforms (d, in the uniforms' dtype), into out:
    u1 = 1 - d[0:8] and u2 = d[8:16] give radius * cos(theta) and radius * sin(theta), then
    * std + mean (one fused multiply-add)."""
    blocks = d.reshape(-1, 2, 8)
    if dtype == np.float64:  # the scalar C++ loop, with the C library's log, cos and sin
        radius = np.sqrt(-2.0 * _libm(math.log, 1.0 - blocks[:, 0]))
        theta = 2.0 * math.pi * blocks[:, 1]
        sin, cos, acc = np.sin(theta), np.cos(theta), np.float64
    else:  # torch's AVX2 kernel, which its AVX-512 builds run too: float32 with avx_mathfun
        radius = _log_ps(np.float32(1) - blocks[:, 0])
        radius *= np.float32(-2)
        np.sqrt(radius, out=radius)
        (sin, cos), acc = _sincos_ps(np.float32(2.0 * math.pi) * blocks[:, 1]), np.float32
    z = np.empty(blocks.shape, acc)
    np.multiply(radius, cos, out=z[:, 0])
    np.multiply(radius, sin, out=z[:, 1])
    out[...] = fma(z.reshape(-1), acc(std), acc(mean), acc)


# ---- avx_mathfun's log256_ps and sincos256_ps (Cephes polynomials), in NumPy float32 ---------
# Built by GCC with contraction on: a product whose only use is a sum becomes one fused
# multiply-add with it (the first product of the two where both are).
# Their fused multiply-adds skip fma32's check for float32 midpoints (_fma32_unchecked): these
# functions only ever see the 2**24 values of 1 - u and of 2pi * u for a float uniform u, and on
# every one of them the results are the same as with the check (tests/test_random.py runs them all).

_LOG_P = np.array([7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
                   -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1], np.float32)
_LOG_Q1, _LOG_Q2 = np.float32(-2.12194440e-4), np.float32(0.693359375)
_SQRT_HALF = np.float32(0.707106781186547524)
_MINUS_DP = np.array([-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8], np.float32)
_SIN_P = np.array([-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1], np.float32)
_COS_P = np.array([2.443315711809948E-005, -1.388731625493765E-003, 4.166664568298827E-002], np.float32)
_FOUR_OVER_PI = np.float32(1.27323954473516)


def _horner32(coefficients, x):
    """The polynomial at float32 x (held in float64: converted once for every step, exactly), one
    fused multiply-add per coefficient after the first: each product exact in float64, the sum
    rounded there and then to float32 (by assignments to and from a float32 array: cheaper than
    ufuncs that convert their operands or outputs)."""
    exact = np.multiply(x, coefficients[0])
    y = np.empty(x.shape, np.float32)
    for i, c in enumerate(coefficients[1:], 2):
        exact += c
        y[...] = exact
        if i < len(coefficients):
            exact[...] = y
            exact *= x
    return y


def _log_ps(x):
    """log256_ps for positive normal float32 x: x = m * 2**e with m in [sqrt(1/2), sqrt(2)), then
    log(m) by a polynomial in m - 1 and e * log(2) in two parts."""
    m, e = np.frexp(x)  # m in [0.5, 1), and e as avx_mathfun takes it from the bits for such x
    small = m < _SQRT_HALF
    e -= small  # halving m's range moves e by one: integers, exact in float32 as avx_mathfun has them
    e = e.astype(np.float32)
    t = m - np.float32(1)
    t += m * small  # (m - 1) + (m or 0): 2m - 1 where m is doubled
    m = t
    z = m * m
    y = _horner32(_LOG_P, m.astype(np.float64))
    y *= m
    y = _fma32_unchecked(y, z, e * _LOG_Q1)
    y -= z * np.float32(0.5)
    y += m
    # the fused e * _LOG_Q2 + y: |e| < 2**8 and _LOG_Q2 has 9 significant bits, so the product is
    # exact in float32 and the float32 addition is the one rounding
    y += e * _LOG_Q2
    return y


def _sincos_ps(x):
    """sincos256_ps for x in [0, 2pi] (Box-Muller's angles, so the sign handling of negative x is
    left out): reduce x by a multiple j of pi/4 (pi in three parts), then the Cephes sine and
    cosine polynomials, swapped and signed by the octant."""
    j = ((x * _FOUR_OVER_PI).astype(np.int32) + 1) & ~1  # even, at most 8
    j_float = j.astype(np.float32)
    # the fused j * dp + x: the first two parts of pi/4 have 8 and 11 significant bits, so with j <= 8
    # their products are exact in float32 and the float32 additions round once; the third has 24
    x = x + j_float * _MINUS_DP[0]
    x += j_float * _MINUS_DP[1]
    x = _fma32_unchecked(j_float, _MINUS_DP[2], x)
    z = x * x
    z_exact = z.astype(np.float64)
    y = _horner32(_COS_P, z_exact)
    y *= z
    cos = _fma32_unchecked(y, z, -(z * np.float32(0.5)))
    cos += np.float32(1)
    y = _horner32(_SIN_P, z_exact)
    y *= z
    sin = _fma32_unchecked(y, x, x)
    _swap_and_sign(sin.view(np.int32), cos.view(np.int32), j)
    return sin, cos


def _swap_and_sign(sin, cos, j):
    """avx_mathfun's selection and signs on the bits of the two polynomials (in place): they trade
    places where j & 2 is set, then sin's sign flips where j & 4 is and cos's where j is 2 or 4.
    With bit masks, not np.where: a select is several times slower in NumPy."""
    swap = (j.view(np.uint32) << 30).view(np.int32) >> 31  # j's bit 1 copied into all 32
    swap &= sin ^ cos
    sin ^= swap
    sin ^= (j & 4) << 29
    cos ^= swap
    cos ^= (~(j - 2) & 4) << 29


def _fma32_unchecked(x, a, b):
    """fma32 without the midpoint check, where it is known never to matter: x * a + b rounded to
    float64 (the product is exact), then to float32. (Converted by astype, computed by float64's
    own loops: cheaper than ufuncs that convert their operands or output.)"""
    exact = x.astype(np.float64)
    exact *= a
    exact += b
    return exact.astype(np.float32)



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
