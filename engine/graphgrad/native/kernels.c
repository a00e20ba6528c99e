/* graphgrad's compiled kernels: the loops of torch's CPU kernels that NumPy cannot run fast, or
   cannot run with torch's rounding.

   The random numbers turn 32-bit MT19937 words into values with the arithmetic of ATen's CPU kernels,
   bit for bit. graphgrad.random.Generator owns the stream: it passes the words its buffer holds, and
   its NumPy MT19937 (`source`, the BitGenerator's capsule) for the kernel to draw the rest from, or
   None when the words given are all:

   normal(words, out, mean, std, source)      ATen's normal_fill on each block of 16 values. float32:
                                      normal_fill_16_AVX2, Box-Muller with avx_mathfun's log256_ps
                                      and sincos256_ps as torch's AVX2 build (GCC, contraction on)
                                      computes them, a word each; float64: normal_fill_16<double>,
                                      two words per uniform (random64), the C library's log, cos
                                      and sin
   uniform(words, out, low, high, source)     uniform_real_distribution: x * (high - low) + low, one
                                      rounding, a value that rounds up to high made low (float32:
                                      a word each; float64: two)
   integers(words, out, low, span, source)    uniform_int_from_to_distribution: a word modulo span plus
                                      low (two words, random64(), from a span of 2**28), as int64
   randperm(words, out, source)       randperm's swaps: position i with i + word % (n - i)

   and one arithmetic loop:

   axpy(y, x, out, alpha)             out = y + alpha * x rounded once (a fused multiply-add), as
                                      torch's add(y, x, alpha=...) and the optimizers' updates do

   The NumPy code in graphgrad/random.py and graphgrad/native/fma.py computes the same values
   without this module (it is used where the module is not built); the tests check both against
   torch and each other.

   Built with -ffp-contract=off: every fused multiply-add below is written out, where torch's build
   fused one, and no other product may be fused with a sum. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_KERNEL 1
#endif

/* ---- arguments: contiguous buffers of a given item size --------------------------------------- */

static int
get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *kinds, int writable, const char *what)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    const char *format = view->format ? view->format : "B";
    if (*format == '<' || *format == '=' || *format == '@')
        format++;
    int one_kind = format[0] != '\0' && format[1] == '\0' && strchr(kinds, format[0]) != NULL;
    if ((itemsize && view->itemsize != itemsize) || !one_kind) {
        if (itemsize)
            PyErr_Format(PyExc_TypeError, "%s: expected %zd-byte items of kind '%s', got format '%s'", what,
                         itemsize, kinds, view->format ? view->format : "B");
        else
            PyErr_Format(PyExc_TypeError, "%s: expected items of kind '%s', got format '%s'", what, kinds,
                         view->format ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static Py_ssize_t
count(const Py_buffer *view)
{
    return view->len / view->itemsize;
}

/* A call's arguments: `n_buffers` buffers first (the last one written), then `n_scalars` floats,
   then `n_others` objects the caller takes itself.
   Each buffer is given as (item size, kinds, what); an item size of 0 is any of the kinds' for the
   written one, and the written one's for the others. 0 when all are taken; else -1 with the error set and none held. */
typedef struct { Py_ssize_t itemsize; const char *kinds; const char *what; } BufferSpec;

static int
take_arguments(PyObject *const *args, Py_ssize_t nargs, const char *usage, const BufferSpec *specs, int n_buffers,
               Py_buffer *views, double *scalars, int n_scalars, int n_others)
{
    if (nargs != n_buffers + n_scalars + n_others) {
        PyErr_SetString(PyExc_TypeError, usage);
        return -1;
    }
    for (int i = 0; i < n_scalars; i++)
        if ((scalars[i] = PyFloat_AsDouble(args[n_buffers + i])) == -1.0 && PyErr_Occurred())
            return -1;
    for (int i = n_buffers - 1; i >= 0; i--) {  /* the written one first: the others may take its size */
        Py_ssize_t itemsize = specs[i].itemsize;
        if (itemsize == 0 && i < n_buffers - 1)
            itemsize = views[n_buffers - 1].itemsize;
        if (get_buffer(args[i], &views[i], itemsize, specs[i].kinds, i == n_buffers - 1, specs[i].what) < 0) {
            for (int j = i + 1; j < n_buffers; j++)
                PyBuffer_Release(&views[j]);
            return -1;
        }
    }
    return 0;
}

static PyObject *
release(Py_buffer *views, int n_buffers)
{
    for (int i = 0; i < n_buffers; i++)
        PyBuffer_Release(&views[i]);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* ---- the words a random kernel consumes -------------------------------------------------------- */

/* numpy/random/bitgen.h's bitgen_t: the C interface of NumPy's bit generators, which a
   BitGenerator's `capsule` holds (NumPy documents it for extensions) */
typedef struct {
    void *state;
    uint64_t (*next_uint64)(void *state);
    uint32_t (*next_uint32)(void *state);
    double (*next_double)(void *state);
    uint64_t (*next_raw)(void *state);
} bitgen_t;

/* The Generator's words: those its buffer already holds (head), then the next ones of its NumPy
   MT19937, drawn here as they are needed: no array of them is made (a large one would be memory to
   fault in, as large as the tensor). */
typedef struct {
    const uint32_t *head;
    Py_ssize_t left;
    bitgen_t *bitgen;
} Words;

/* a kernel takes its words this many at a time, into an array on the stack */
#define WORDS_AT_ONCE 512

static int
words_from(Words *words, const Py_buffer *head, PyObject *source, Py_ssize_t needed, const char *what)
{
    words->head = head->buf;
    words->left = count(head);
    words->bitgen = NULL;
    if (source != Py_None && (words->bitgen = PyCapsule_GetPointer(source, "BitGenerator")) == NULL)
        return -1;
    if (words->left > needed || (words->bitgen == NULL && words->left != needed)) {
        PyErr_Format(PyExc_ValueError, "%s: %zd words given where %zd are needed%s", what, words->left, needed,
                     words->bitgen ? " (the rest drawn from source)" : " (and no source to draw from)");
        return -1;
    }
    return 0;
}

static void
take_words(Words *words, uint32_t *to, Py_ssize_t n)
{
    Py_ssize_t given = n < words->left ? n : words->left;
    memcpy(to, words->head, given * sizeof *to);
    words->head += given;
    words->left -= given;
    for (Py_ssize_t i = given; i < n; i++)
        to[i] = words->bitgen->next_uint32(words->bitgen->state);
}

/* A kernel's loop over values first .. first + m - 1 of `out`, given their words (per_value each). */
typedef void (*ChunkLoop)(const uint32_t *words, void *out, Py_ssize_t first, Py_ssize_t m, const void *params);

/* loop over n values, WORDS_AT_ONCE words at a time (a multiple of a Box-Muller block's 16) */
static void
in_chunks(Words *words, void *out, Py_ssize_t n, Py_ssize_t per_value, ChunkLoop loop, const void *params)
{
    uint32_t chunk[WORDS_AT_ONCE];
    Py_ssize_t at_once = WORDS_AT_ONCE / per_value;
    for (Py_ssize_t first = 0; first < n; first += at_once) {
        Py_ssize_t m = n - first < at_once ? n - first : at_once;
        take_words(words, chunk, per_value * m);
        loop(chunk, out, first, m, params);
    }
}

/* A distribution of float32 (a word per value) or float64 (two: random64()), called as
   name(words, out, a, b, source): the arguments taken and checked, then the dtype's loop run over
   out in chunks, given (a, b). Values come in blocks of `block` (Box-Muller's 16); a loop that is
   NULL needs a CPU this one is not. */
static PyObject *
fill_floats(PyObject *const *args, Py_ssize_t nargs, const char *name, const char *usage, const BufferSpec *specs,
            ChunkLoop f32, ChunkLoop f64, Py_ssize_t block)
{
    Py_buffer views[2];
    double params[2];
    if (take_arguments(args, nargs, usage, specs, 2, views, params, 2, 1) < 0)
        return NULL;
    Py_ssize_t n = count(&views[1]), per_value = views[1].itemsize / 4;
    ChunkLoop loop = per_value == 2 ? f64 : f32;
    Words words;
    if (loop == NULL)
        PyErr_Format(PyExc_RuntimeError, "%s of float32 needs an x86-64 CPU with AVX2 and FMA", name);
    else if (n % block)
        PyErr_Format(PyExc_ValueError, "%s: %zd values (blocks of %zd)", name, n, block);
    else if (words_from(&words, &views[0], args[4], per_value * n, name) == 0)
        in_chunks(&words, views[1].buf, n, per_value, loop, params);
    return release(views, 2);
}

/* the GIL is let go only where the loop is long enough to pay for taking it back */
#define LONG_LOOP 4096
#define RUN(n, loop)                  \
    do {                              \
        if ((n) >= LONG_LOOP) {       \
            Py_BEGIN_ALLOW_THREADS    \
            loop;                     \
            Py_END_ALLOW_THREADS      \
        } else {                      \
            loop;                     \
        }                             \
    } while (0)

/* ---- float32 Box-Muller: avx_mathfun (Julien Pommier's AVX port of the Cephes functions) ------ */

#ifdef HAVE_AVX2_KERNEL
#define AVX2 __attribute__((target("avx2,fma")))

static const float LOG_P[9] = {7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f,
                               1.4249322787E-1f, -1.6668057665E-1f, 2.0000714765E-1f, -2.4999993993E-1f,
                               3.3333331174E-1f};

/* log256_ps for positive normal floats (1 - u for a uniform u: in [2**-24, 1]), so its guards for
   zero, negative and subnormal inputs are left out. x = m * 2**e with m in [sqrt(1/2), sqrt(2)),
   then log(m) by a polynomial in m - 1 and e * log(2) in two parts. */
AVX2 static __m256
log_ps(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256i exponent = _mm256_srli_epi32(_mm256_castps_si256(x), 23);
    x = _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(~0x7f800000)));
    x = _mm256_or_ps(x, _mm256_set1_ps(0.5f));  /* the mantissa, in [0.5, 1) */
    exponent = _mm256_sub_epi32(exponent, _mm256_set1_epi32(0x7f));
    __m256 e = _mm256_add_ps(_mm256_cvtepi32_ps(exponent), one);

    __m256 small = _mm256_cmp_ps(x, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OS);
    __m256 doubled = _mm256_and_ps(x, small);
    x = _mm256_sub_ps(x, one);
    e = _mm256_sub_ps(e, _mm256_and_ps(one, small));
    x = _mm256_add_ps(x, doubled);

    __m256 z = _mm256_mul_ps(x, x);
    __m256 y = _mm256_set1_ps(LOG_P[0]);
    for (int i = 1; i < 9; i++)
        y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(LOG_P[i]));
    y = _mm256_mul_ps(y, x);
    y = _mm256_fmadd_ps(y, z, _mm256_mul_ps(e, _mm256_set1_ps(-2.12194440e-4f)));
    y = _mm256_sub_ps(y, _mm256_mul_ps(z, _mm256_set1_ps(0.5f)));
    x = _mm256_add_ps(x, y);
    return _mm256_add_ps(x, _mm256_mul_ps(e, _mm256_set1_ps(0.693359375f)));
}

/* sincos256_ps for x in [0, 2pi] (Box-Muller's angles, so the sign of negative x is left out):
   x reduced by a multiple j of pi/4 (pi in three parts), then the Cephes sine and cosine
   polynomials, traded and signed by the octant. */
AVX2 static void
sincos_ps(__m256 x, __m256 *sin, __m256 *cos)
{
    const __m256i zero = _mm256_setzero_si256();
    __m256i j = _mm256_cvttps_epi32(_mm256_mul_ps(x, _mm256_set1_ps(1.27323954473516f)));
    j = _mm256_and_si256(_mm256_add_epi32(j, _mm256_set1_epi32(1)), _mm256_set1_epi32(~1));
    __m256 y = _mm256_cvtepi32_ps(j);
    __m256i sign_sin = _mm256_slli_epi32(_mm256_and_si256(j, _mm256_set1_epi32(4)), 29);
    __m256 sine_first = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(j, _mm256_set1_epi32(2)), zero));
    __m256i sign_cos = _mm256_slli_epi32(
        _mm256_andnot_si256(_mm256_sub_epi32(j, _mm256_set1_epi32(2)), _mm256_set1_epi32(4)), 29);

    x = _mm256_add_ps(x, _mm256_mul_ps(y, _mm256_set1_ps(-0.78515625f)));
    x = _mm256_add_ps(x, _mm256_mul_ps(y, _mm256_set1_ps(-2.4187564849853515625e-4f)));
    x = _mm256_fmadd_ps(y, _mm256_set1_ps(-3.77489497744594108e-8f), x);
    __m256 z = _mm256_mul_ps(x, x);

    __m256 c = _mm256_fmadd_ps(_mm256_set1_ps(2.443315711809948E-005f), z, _mm256_set1_ps(-1.388731625493765E-003f));
    c = _mm256_fmadd_ps(c, z, _mm256_set1_ps(4.166664568298827E-002f));
    c = _mm256_mul_ps(c, z);
    c = _mm256_fmsub_ps(c, z, _mm256_mul_ps(z, _mm256_set1_ps(0.5f)));
    c = _mm256_add_ps(c, _mm256_set1_ps(1.0f));

    __m256 s = _mm256_fmadd_ps(_mm256_set1_ps(-1.9515295891E-4f), z, _mm256_set1_ps(8.3321608736E-3f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(-1.6666654611E-1f));
    s = _mm256_mul_ps(s, z);
    s = _mm256_fmadd_ps(s, x, x);

    /* as avx_mathfun selects: masks, then sums with zeros */
    __m256 s_picked = _mm256_and_ps(sine_first, s), c_picked = _mm256_andnot_ps(sine_first, c);
    s = _mm256_sub_ps(s, s_picked);
    c = _mm256_sub_ps(c, c_picked);
    *sin = _mm256_xor_ps(_mm256_add_ps(c_picked, s_picked), _mm256_castsi256_ps(sign_sin));
    *cos = _mm256_xor_ps(_mm256_add_ps(c, s), _mm256_castsi256_ps(sign_cos));
}

/* 8 of torch's float uniforms from 8 words: the low 24 bits times 2**-24 (exact) */
AVX2 static __m256
uniforms(const uint32_t *words)
{
    __m256i bits = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)words), _mm256_set1_epi32(0xFFFFFF));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(bits), _mm256_set1_ps(0x1p-24f));
}

/* normal_fill_16_AVX2 on each block of 16 words: u1 = 1 - u[0:8], u2 = u[8:16], then
   radius * cos(theta) and radius * sin(theta), each * std + mean in one fused multiply-add */
AVX2 static void
normal_blocks_f32(const uint32_t *words, float *out, Py_ssize_t n, float mean, float std)
{
    const __m256 mean_v = _mm256_set1_ps(mean), std_v = _mm256_set1_ps(std);
    for (Py_ssize_t i = 0; i < n; i += 16) {
        __m256 u1 = _mm256_sub_ps(_mm256_set1_ps(1.0f), uniforms(words + i));
        __m256 u2 = uniforms(words + i + 8);
        __m256 radius = _mm256_sqrt_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f), log_ps(u1)));
        __m256 theta = _mm256_mul_ps(_mm256_set1_ps((float)(2.0 * 3.14159265358979323846)), u2);
        __m256 sin, cos;
        sincos_ps(theta, &sin, &cos);
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(_mm256_mul_ps(radius, cos), std_v, mean_v));
        _mm256_storeu_ps(out + i + 8, _mm256_fmadd_ps(_mm256_mul_ps(radius, sin), std_v, mean_v));
    }
}

static void
normal_f32_chunk(const uint32_t *words, void *out, Py_ssize_t first, Py_ssize_t m, const void *mean_std)
{
    const double *p = mean_std;
    normal_blocks_f32(words, (float *)out + first, m, (float)p[0], (float)p[1]);
}
#endif

/* whether this CPU runs the AVX2 kernels: asked once, when the module is imported */
static int have_avx2_fma;

static int
avx2_fma(void)
{
    return have_avx2_fma;
}

static int
cpu_has_avx2_fma(void)
{
#ifdef HAVE_AVX2_KERNEL
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* ---- float64 Box-Muller: normal_fill_16<double> -------------------------------------------------- */

static void
normal_blocks_f64(const uint32_t *words, double *out, Py_ssize_t n, double mean, double std)
{
    for (Py_ssize_t i = 0; i < n; i += 16) {
        double u[16];
        for (int k = 0; k < 16; k++) {  /* random64(): the first word the high half; its low 53 bits */
            uint64_t bits = (uint64_t)words[2 * (i + k)] << 32 | words[2 * (i + k) + 1];
            u[k] = (double)(bits & ((UINT64_C(1) << 53) - 1)) * 0x1p-53;
        }
        for (int k = 0; k < 8; k++) {
            double radius = sqrt(-2 * log(1 - u[k]));
            double theta = 2.0 * 3.14159265358979323846 * u[k + 8];
            out[i + k] = fma(radius * cos(theta), std, mean);
            out[i + k + 8] = fma(radius * sin(theta), std, mean);
        }
    }
}

static void
normal_f64_chunk(const uint32_t *words, void *out, Py_ssize_t first, Py_ssize_t m, const void *mean_std)
{
    const double *p = mean_std;
    normal_blocks_f64(words, (double *)out + first, m, p[0], p[1]);
}

static PyObject *
normal(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    static const BufferSpec specs[] = {{4, "IL", "normal words"}, {0, "fd", "normal out"}};
    ChunkLoop f32 = NULL;
#ifdef HAVE_AVX2_KERNEL
    if (avx2_fma())
        f32 = normal_f32_chunk;
#endif
    return fill_floats(args, nargs, "normal", "normal(words, out, mean, std, source)", specs, f32, normal_f64_chunk,
                       16);
}

/* ---- uniform: uniform_real_distribution, then a value that rounded up to high becomes low -------- */

/* torch's uniform(from, to) of a float is x * (to - from) + from with x its low 24 bits times
   2**-24, contracted to a fused multiply-add; of a double, the same with random64()'s low 53 bits */
static double
unit_f64(const uint32_t *words)
{
    uint64_t bits = (uint64_t)words[0] << 32 | words[1];
    return (double)(bits & ((UINT64_C(1) << 53) - 1)) * 0x1p-53;
}

#ifdef HAVE_AVX2_KERNEL
AVX2 static void
uniform_f32_avx2(const uint32_t *words, float *out, Py_ssize_t n, float low, float high)
{
    const float span = high - low;
    const __m256 span_v = _mm256_set1_ps(span), low_v = _mm256_set1_ps(low), high_v = _mm256_set1_ps(high);
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_fmadd_ps(uniforms(words + i), span_v, low_v);
        _mm256_storeu_ps(out + i, _mm256_blendv_ps(v, low_v, _mm256_cmp_ps(v, high_v, _CMP_EQ_OQ)));
    }
    for (; i < n; i++) {
        float v = fmaf((float)(words[i] & 0xFFFFFF) * 0x1p-24f, span, low);
        out[i] = v == high ? low : v;
    }
}

AVX2 static void
uniform_f64_avx2(const uint32_t *words, double *out, Py_ssize_t n, double low, double high)
{
    const double span = high - low;
    for (Py_ssize_t i = 0; i < n; i++) {  /* (the fma is the instruction here) */
        double v = fma(unit_f64(words + 2 * i), span, low);
        out[i] = v == high ? low : v;
    }
}
#endif

static void
uniform_loop(const uint32_t *words, void *out, Py_ssize_t itemsize, Py_ssize_t n, double low, double high)
{
#ifdef HAVE_AVX2_KERNEL
    if (avx2_fma()) {
        if (itemsize == 8)
            uniform_f64_avx2(words, out, n, low, high);
        else
            uniform_f32_avx2(words, out, n, (float)low, (float)high);
        return;
    }
#endif
    if (itemsize == 8) {  /* the C library's fma: correctly rounded on every CPU */
        double *o = out, span = high - low;
        for (Py_ssize_t i = 0; i < n; i++) {
            double v = fma(unit_f64(words + 2 * i), span, low);
            o[i] = v == high ? low : v;
        }
    } else {
        float *o = out, lo = (float)low, hi = (float)high, span = hi - lo;
        for (Py_ssize_t i = 0; i < n; i++) {
            float v = fmaf((float)(words[i] & 0xFFFFFF) * 0x1p-24f, span, lo);
            o[i] = v == hi ? lo : v;
        }
    }
}

static void
uniform_f32_chunk(const uint32_t *words, void *out, Py_ssize_t first, Py_ssize_t m, const void *bounds)
{
    const double *b = bounds;
    uniform_loop(words, (float *)out + first, 4, m, b[0], b[1]);
}

static void
uniform_f64_chunk(const uint32_t *words, void *out, Py_ssize_t first, Py_ssize_t m, const void *bounds)
{
    const double *b = bounds;
    uniform_loop(words, (double *)out + first, 8, m, b[0], b[1]);
}

static PyObject *
uniform(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    static const BufferSpec specs[] = {{4, "IL", "uniform words"}, {0, "fd", "uniform out"}};
    return fill_floats(args, nargs, "uniform", "uniform(words, out, low, high, source)", specs, uniform_f32_chunk,
                       uniform_f64_chunk, 1);
}

/* ---- integers: uniform_int_from_to_distribution --------------------------------------------------- */

/* randint(low, low + span) as int64: a word (two from 2**28 on, random64()) modulo span, plus low.
   A 32-bit word's remainder is Lemire's fastmod (two multiplications: exact for every 32-bit word and
   divisor, "Faster Remainder by Direct Computation", 2019), as a division costs several times more. */
static void
integers_loop(const uint32_t *words, int64_t *out, Py_ssize_t n, int64_t low, uint64_t span, int wide)
{
    if (wide) {
        for (Py_ssize_t i = 0; i < n; i++) {
            uint64_t bits = (uint64_t)words[2 * i] << 32 | words[2 * i + 1];
            out[i] = (int64_t)(bits % span + (uint64_t)low);  /* (wrapping as torch's int64 sum) */
        }
        return;
    }
#ifdef __SIZEOF_INT128__
    const uint64_t inverse = UINT64_MAX / span + 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t remainder = (uint64_t)(((unsigned __int128)(inverse * words[i]) * span) >> 64);
        out[i] = (int64_t)(remainder + (uint64_t)low);
    }
#else
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = (int64_t)((uint32_t)(words[i] % span) + (uint64_t)low);
#endif
}

typedef struct {
    int64_t low;
    uint64_t span;
    int wide;  /* two words (random64()) per value */
} IntegerRange;

static void
integers_chunk(const uint32_t *words, void *out, Py_ssize_t first, Py_ssize_t m, const void *range)
{
    const IntegerRange *r = range;
    integers_loop(words, (int64_t *)out + first, m, r->low, r->span, r->wide);
}

static PyObject *
integers(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    static const BufferSpec specs[] = {{4, "IL", "integers words"}, {8, "lq", "integers out"}};
    Py_buffer views[2];
    if (take_arguments(args, nargs, "integers(words, out, low, span, source)", specs, 2, views, NULL, 0, 3) < 0)
        return NULL;
    int64_t low = PyLong_AsLongLong(args[2]);
    uint64_t span = PyErr_Occurred() ? 0 : PyLong_AsUnsignedLongLong(args[3]);
    Py_ssize_t n = count(&views[1]);
    IntegerRange range = {low, span, span >= UINT64_C(1) << 28};
    Words words;
    if (PyErr_Occurred())
        ;
    else if (span == 0)
        PyErr_SetString(PyExc_ValueError, "integers: an empty range");
    else if (words_from(&words, &views[0], args[4], (range.wide ? 2 : 1) * n, "integers") == 0)
        in_chunks(&words, views[1].buf, n, range.wide ? 2 : 1, integers_chunk, &range);
    return release(views, 2);
}

/* ---- randperm: torch's Fisher-Yates below 2**32 / 20 elements ----------------------------------- */

/* steps first .. first + m - 1 of the swaps: position i with i + words[i - first] % (n - i) */
static void
swaps(const uint32_t *words, void *values, Py_ssize_t first, Py_ssize_t m, const void *size)
{
    int64_t *out = values, n = *(const int64_t *)size;
    for (int64_t i = first; i < first + m; i++) {
        int64_t j = i + (int64_t)(words[i - first] % (uint64_t)(n - i));
        int64_t kept = out[i];
        out[i] = out[j];
        out[j] = kept;
    }
}

static PyObject *
randperm(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    static const BufferSpec specs[] = {{4, "IL", "randperm words"}, {8, "lq", "randperm out"}};
    Py_buffer views[2];
    if (take_arguments(args, nargs, "randperm(words, out, source)", specs, 2, views, NULL, 0, 1) < 0)
        return NULL;
    int64_t n = count(&views[1]), *out = views[1].buf;
    Words words;
    if (n < 1)
        PyErr_SetString(PyExc_ValueError, "randperm: no values");
    else if (words_from(&words, &views[0], args[2], n - 1, "randperm") == 0) {
        for (int64_t i = 0; i < n; i++)
            out[i] = i;
        in_chunks(&words, out, n - 1, 1, swaps, &n);
    }
    return release(views, 2);
}

/* ---- axpy: y + alpha * x, rounded once ----------------------------------------------------------- */

/* the AVX2 loops take whole vectors and return how many values they did; the rest is the C loop's */
#ifdef HAVE_AVX2_KERNEL
AVX2 static Py_ssize_t
axpy_f32_avx2(const float *y, const float *x, float alpha, float *out, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i,
                         _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(alpha), _mm256_loadu_ps(y + i)));
    return i;
}

AVX2 static Py_ssize_t
axpy_f64_avx2(const double *y, const double *x, double alpha, double *out, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    for (; i + 4 <= n; i += 4)
        _mm256_storeu_pd(out + i,
                         _mm256_fmadd_pd(_mm256_loadu_pd(x + i), _mm256_set1_pd(alpha), _mm256_loadu_pd(y + i)));
    return i;
}
#endif

static void
axpy_loop(const Py_buffer *y, const Py_buffer *x, double alpha, Py_buffer *out, Py_ssize_t n)
{
    int wide = out->itemsize == 8;
    Py_ssize_t done = 0;
#ifdef HAVE_AVX2_KERNEL
    if (avx2_fma())
        done = wide ? axpy_f64_avx2(y->buf, x->buf, alpha, out->buf, n)
                    : axpy_f32_avx2(y->buf, x->buf, (float)alpha, out->buf, n);
#endif
    if (wide) {  /* the C library's fma: correctly rounded on every CPU */
        const double *yv = y->buf, *xv = x->buf;
        double *o = out->buf;
        for (Py_ssize_t i = done; i < n; i++)
            o[i] = fma(xv[i], alpha, yv[i]);
    } else {
        const float *yv = y->buf, *xv = x->buf, a = (float)alpha;
        float *o = out->buf;
        for (Py_ssize_t i = done; i < n; i++)
            o[i] = fmaf(xv[i], a, yv[i]);
    }
}

static PyObject *
axpy(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    static const BufferSpec specs[] = {{0, "fd", "axpy y"}, {0, "fd", "axpy x"}, {0, "fd", "axpy out"}};
    Py_buffer views[3];
    double alpha;
    if (take_arguments(args, nargs, "axpy(y, x, out, alpha)", specs, 3, views, &alpha, 1, 0) < 0)
        return NULL;
    Py_ssize_t n = count(&views[2]);
    if (count(&views[0]) != n || count(&views[1]) != n)
        PyErr_Format(PyExc_ValueError, "axpy: y, x and out have %zd, %zd and %zd values", count(&views[0]),
                     count(&views[1]), n);
    else
        RUN(n, axpy_loop(&views[0], &views[1], alpha, &views[2], n));
    return release(views, 3);
}

static PyMethodDef methods[] = {
    {"normal", (PyCFunction)(void (*)(void))normal, METH_FASTCALL,
     "normal(words, out, mean, std, source): torch's normals of float32 (AVX2 Box-Muller, a word each) or float64 "
     "(two), in blocks of 16"},
    {"randperm", (PyCFunction)(void (*)(void))randperm, METH_FASTCALL,
     "randperm(words, out, source): torch's randperm(n) from its n - 1 words"},
    {"uniform", (PyCFunction)(void (*)(void))uniform, METH_FASTCALL,
     "uniform(words, out, low, high, source): torch's uniform_(low, high) of float32 (a word each) or float64 (two)"},
    {"integers", (PyCFunction)(void (*)(void))integers, METH_FASTCALL,
     "integers(words, out, low, span, source): torch's randint(low, low + span) as int64"},
    {"axpy", (PyCFunction)(void (*)(void))axpy, METH_FASTCALL,
     "axpy(y, x, out, alpha): out = y + alpha * x, one rounding (float32 or float64, all the same dtype)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef kernels = {
    PyModuleDef_HEAD_INIT, "_kernels",
    "Compiled loops of torch's CPU kernels (graphgrad/native/kernels.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__kernels(void)
{
    have_avx2_fma = cpu_has_avx2_fma();
    PyObject *module = PyModule_Create(&kernels);
    if (module && PyModule_AddIntConstant(module, "AVX2_FMA", avx2_fma()) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
