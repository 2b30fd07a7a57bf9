#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the pixel loops of the plain packer vectorize */
#endif
/* Channel-innermost packing of [abc_convolutional] inputs and weights (layout
 * in abc_conv_pack.h). */
#include "abc_conv_pack.h"

#include <stdlib.h>
#include <string.h>

#include "abc_util.h"
#include "kernels/bgemm_kernels.h"

enum { QB = 16 }; /* pixels packed side by side */

static inline __attribute__((always_inline)) int imin(int a, int b) { return a < b ? a : b; }

void abc_conv_pack_input_ref(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr,
                             uint64_t *out, int cw)
{
    for (int n = 0; n < nthr; ++n)
        for (int q = q0; q < q1; ++q) {
            uint64_t *o = out + ((size_t)n * HW + q) * cw;
            for (int w = 0; w < cw; ++w) o[w] = 0;
            for (int c = 0; c < C; ++c)
                if (abc_conv_abit(x[(size_t)c * HW + q], thr[n])) o[c / 64] |= 1ull << (c % 64);
        }
}

/* Plain C: 16 pixels x 64 channels per block, each float compared with every
 * threshold while in a register; the loops over the 16 pixels vectorize. */
static inline __attribute__((always_inline)) void pack_body(const float *x, int C, int HW, int q0, int q1,
                                                           const float *thr, int nthr, uint64_t *out, int cw)
{
    uint64_t acc[ABC_MAX_BASES][QB];
    for (int q = q0; q < q1; q += QB) {
        int qb = imin(QB, q1 - q);
        for (int w = 0; w < cw; ++w) {
            int c0 = w * 64, cb = imin(64, C - c0);
            for (int n = 0; n < nthr; ++n)
                for (int j = 0; j < QB; ++j) acc[n][j] = 0;
            for (int c = 0; c < cb; ++c) {
                const float *xr = x + (size_t)(c0 + c) * HW + q;
                float v[QB];
                if (qb == QB)
                    for (int j = 0; j < QB; ++j) v[j] = xr[j];
                else
                    for (int j = 0; j < QB; ++j) v[j] = j < qb ? xr[j] : 0.f;
                for (int n = 0; n < nthr; ++n) {
                    float t = thr[n];
                    for (int j = 0; j < QB; ++j) acc[n][j] |= (uint64_t)(v[j] >= t) << c;
                }
            }
            for (int n = 0; n < nthr; ++n)
                for (int j = 0; j < qb; ++j) out[((size_t)n * HW + q + j) * cw + w] = acc[n][j];
        }
    }
}

static void pack_plain(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                       int cw)
{
    pack_body(x, C, HW, q0, q1, thr, nthr, out, cw);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx2"))) static void pack_avx2(const float *x, int C, int HW, int q0, int q1,
                                                      const float *thr, int nthr, uint64_t *out, int cw)
{
    pack_body(x, C, HW, q0, q1, thr, nthr, out, cw);
}

static int has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

/* AVX-512: 16 pixels a vector; each compare gives a 16-bit mask, and bit c
 * is or-ed into the 16 pixels' words (two zmm of 8 words) under that mask.
 * Built for each base count so that the accumulators stay in registers. */
static inline __attribute__((always_inline, target("avx512f,avx512bw"))) void
pack512(const float *x, int C, int HW, int q0, int q1, const float *thr, const int nthr, uint64_t *out, int cw)
{
    __m512 t[ABC_MAX_BASES];
    for (int n = 0; n < nthr; ++n) t[n] = _mm512_set1_ps(thr[n]);
    for (int q = q0; q < q1; q += QB) {
        int qb = imin(QB, q1 - q);
        __mmask16 lm = qb == QB ? (__mmask16)0xffff : (__mmask16)((1u << qb) - 1);
        for (int w = 0; w < cw; ++w) {
            int c0 = w * 64, cb = imin(64, C - c0);
            __m512i lo[ABC_MAX_BASES], hi[ABC_MAX_BASES];
            for (int n = 0; n < nthr; ++n) lo[n] = hi[n] = _mm512_setzero_si512();
            __m512i bit = _mm512_set1_epi64(1);
            const float *xc = x + (size_t)c0 * HW + q;
            for (int c = 0; c < cb; ++c, xc += HW) {
                __m512 v = _mm512_maskz_loadu_ps(lm, xc);
                for (int n = 0; n < nthr; ++n) {
                    __mmask16 k = _mm512_cmp_ps_mask(v, t[n], _CMP_GE_OQ);
                    lo[n] = _mm512_mask_or_epi64(lo[n], (__mmask8)k, lo[n], bit);
                    hi[n] = _mm512_mask_or_epi64(hi[n], (__mmask8)(k >> 8), hi[n], bit);
                }
                bit = _mm512_add_epi64(bit, bit);
            }
            for (int n = 0; n < nthr; ++n) {
                uint64_t *o = out + ((size_t)n * HW + q) * cw + w;
                if (cw == 1 && qb == QB) {
                    _mm512_storeu_si512(o, lo[n]);
                    _mm512_storeu_si512(o + 8, hi[n]);
                } else {
                    uint64_t tmp[QB];
                    _mm512_storeu_si512(tmp, lo[n]);
                    _mm512_storeu_si512(tmp + 8, hi[n]);
                    for (int j = 0; j < qb; ++j) o[(size_t)j * cw] = tmp[j];
                }
            }
        }
    }
}

__attribute__((target("avx512f,avx512bw"))) static void pack_avx512(const float *x, int C, int HW, int q0, int q1,
                                                                    const float *thr, int nthr, uint64_t *out,
                                                                    int cw)
{
    switch (nthr) {
#define ABC_PACK_CASE(k) \
    case k: pack512(x, C, HW, q0, q1, thr, k, out, cw); return;
        ABC_PACK_CASE(1) ABC_PACK_CASE(2) ABC_PACK_CASE(3) ABC_PACK_CASE(4)
        ABC_PACK_CASE(5) ABC_PACK_CASE(6) ABC_PACK_CASE(7) ABC_PACK_CASE(8)
#undef ABC_PACK_CASE
    default: pack512(x, C, HW, q0, q1, thr, nthr, out, cw); return;
    }
}
#endif

typedef void (*pack_fn)(const float *, int, int, int, int, const float *, int, uint64_t *, int);

static const struct {
    const char *name;
    pack_fn fn;
} packers[] = {
    {"ref", abc_conv_pack_input_ref},
    {"plain", pack_plain},
#if defined(__x86_64__) && defined(__GNUC__)
    {"avx2", pack_avx2},
    {"avx512", pack_avx512},
#endif
};
enum { NPACKERS = sizeof packers / sizeof packers[0] };

static int usable(int i)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (!strcmp(packers[i].name, "avx2")) return abc_cpu_has_avx2();
    if (!strcmp(packers[i].name, "avx512")) return has_avx512();
#endif
    (void)i;
    return 1;
}

static int chosen = -1;

static int choose(void)
{
    int c = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (c >= 0) return c;
    const char *e = getenv("ABC_PACK");
    if (e && *e) {
        for (c = 0; c < NPACKERS && strcmp(packers[c].name, e); ++c) {}
        if (c == NPACKERS) abc_die("ABC_PACK='%s': unknown packer (ref, plain, avx2, avx512)", e);
        if (!usable(c)) abc_die("ABC_PACK='%s': this CPU cannot run that packer", e);
    } else {
        for (c = NPACKERS - 1; c > 1 && !usable(c); --c) {}
    }
    __atomic_store_n(&chosen, c, __ATOMIC_RELEASE);
    return c;
}

void abc_conv_pack_input(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                         int cw)
{
    if (nthr > ABC_MAX_BASES) abc_die("abc_conv_pack_input: %d bases (max %d)", nthr, ABC_MAX_BASES);
    packers[choose()].fn(x, C, HW, q0, q1, thr, nthr, out, cw);
}

const char *abc_conv_pack_input_name(void) { return packers[choose()].name; }

int abc_conv_pack_force(const char *name)
{
    for (int i = 0; i < NPACKERS; ++i)
        if (!strcmp(packers[i].name, name)) {
            if (!usable(i)) return 0;
            __atomic_store_n(&chosen, i, __ATOMIC_RELEASE);
            return 1;
        }
    return 0;
}

void abc_conv_stream_rows(const uint64_t *px, int w, int cw, int C, int pad, int y0, int y1, uint64_t *rows, int rw)
{
    for (int y = y0; y < y1; ++y) {
        uint64_t *row = rows + (size_t)y * rw;
        const uint64_t *src = px + (size_t)y * w * cw;
        if (C % 64 == 0) { /* whole words: a copy between zero pads */
            size_t lead = (size_t)pad * cw, n = (size_t)w * cw;
            for (size_t i = 0; i < lead; ++i) row[i] = 0;
            for (size_t i = 0; i < n; ++i) row[lead + i] = src[i];
            for (size_t i = lead + n; i < (size_t)rw; ++i) row[i] = 0;
            continue;
        }
        for (int i = 0; i < rw; ++i) row[i] = 0;
        for (int x = 0; x < w; ++x)
            for (int i = 0; i < cw; ++i) {
                long bit = (long)(x + pad) * C + 64L * i;
                uint64_t v = src[(size_t)x * cw + i];
                int sh = (int)(bit % 64);
                row[bit / 64] |= v << sh;
                if (sh) row[bit / 64 + 1] |= v >> (64 - sh); /* the spare word takes the last overflow */
            }
    }
}

void abc_conv_im2col_words(const uint64_t *rows, int rw, int C, int size, int stride, int out_w, int p0, int p1,
                           uint64_t *out, int ld, int ws)
{
    int nbits = size * C, rk = (nbits + 63) / 64;
    uint64_t tail = nbits % 64 ? (1ull << (nbits % 64)) - 1 : ~0ull;
    size_t step = (size_t)stride * C; /* bits from one output column to the next */
    int oy = p0 / out_w, ox = p0 % out_w;
    for (int p = p0; p < p1; ++p) {
        size_t bit = (size_t)ox * step;
        unsigned sh = (unsigned)(bit % 64);
        const uint64_t *s = rows + (size_t)oy * stride * rw + bit / 64;
        uint64_t *dst = out + (size_t)(p - p0) * ld;
        for (int ky = 0; ky < size; ++ky, dst += (size_t)rk * ws, s += rw) {
            if (sh == 0)
                for (int i = 0; i < rk; ++i) dst[(size_t)i * ws] = s[i];
            else
                for (int i = 0; i < rk; ++i) dst[(size_t)i * ws] = (s[i] >> sh) | (s[i + 1] << (64 - sh));
            dst[(size_t)(rk - 1) * ws] &= tail;
        }
        if (++ox == out_w) {
            ox = 0;
            ++oy;
        }
    }
}

int abc_conv_tap_patterns(int in, int out, int size, int stride, int pad, int32_t *cls, int *lo, int *hi)
{
    int np = 0, plo = -1, phi = -1;
    for (int o = 0; o < out; ++o) {
        int y0 = o * stride - pad;
        int a = y0 < 0 ? -y0 : 0, b = y0 + size > in ? in - y0 : size;
        if (a > size) a = size;
        if (b < a) b = a;
        /* the ranges move monotonically with o, so a new range never repeats an older one */
        if (a != plo || b != phi) {
            if (lo) lo[np] = a;
            if (hi) hi[np] = b;
            plo = a;
            phi = b;
            ++np;
        }
        if (cls) cls[o] = np - 1;
    }
    return np;
}

void abc_conv_pack_weights(layer *l)
{
    abc_conv_state *st = abc_conv_st(l);
    int M = st->o.M, K = st->K, kw = st->words, rk = st->rk, ss = l->size * l->size, s = l->size;
    int len = l->nweights / st->G, ncls = st->nrc * st->ncc;
    int *lo = abc_xmalloc((size_t)(l->out_h + l->out_w) * 2 * sizeof(int)), *hi = lo + l->out_h + l->out_w;
    abc_conv_tap_patterns(l->h, l->out_h, s, l->stride, l->pad, NULL, lo, hi);
    int *clo = lo + l->out_h, *chi = hi + l->out_h;
    abc_conv_tap_patterns(l->w, l->out_w, s, l->stride, l->pad, NULL, clo, chi);
    float *tap = abc_xmalloc((size_t)ss * sizeof(float)); /* sum_m alpha_m sum_c B_m per tap of one filter */
    memset(st->wbits, 0, (size_t)M * l->n * kw * sizeof(uint64_t));
    int g_have = -1;
    float mean = 0, sd = 0;
    for (int f = 0; f < l->n; ++f) {
        int g = (int)((long)f * K / len);
        if (g != g_have) { /* the statistics of a group, once */
            abc_conv_group_stats(l, g, &mean, &sd);
            g_have = g;
        }
        const float *wf = l->weights + (size_t)f * K;
        for (int t = 0; t < ss; ++t) tap[t] = 0;
        for (int m = 0; m < M; ++m) {
            uint64_t *row = st->wbits + ((size_t)f * M + m) * kw;
            float ustd = st->o.u[m] * sd, a = st->alpha[g * M + m];
            for (int c = 0; c < l->c; ++c)
                for (int t = 0; t < ss; ++t) {
                    int b = abc_conv_wbit(wf[c * ss + t], mean, ustd);
                    int bit = (t % s) * l->c + c; /* kx*C + c inside kernel row ky = t / s */
                    if (b) row[(t / s) * rk + bit / 64] |= 1ull << (bit % 64);
                    tap[t] += b ? a : -a;
                }
        }
        for (int r = 0; r < st->nrc; ++r)
            for (int c = 0; c < st->ncc; ++c) {
                float sum = 0;
                for (int ky = 0; ky < s; ++ky)
                    for (int kx = 0; kx < s; ++kx)
                        if (ky < lo[r] || ky >= hi[r] || kx < clo[c] || kx >= chi[c]) sum += tap[ky * s + kx];
                st->wcorr[(size_t)f * ncls + r * st->ncc + c] = sum;
            }
    }
    free(lo);
    free(tap);
    st->packed_valid = 1;
}
