#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* short word loops: unrolled */
#endif
/* Bit streams, im2col over words, weight bases and border classes of the
 * [abc_convolutional] inference path (layout in abc_conv_pack.h). */
#include "abc_conv_pack.h"

#include <stdlib.h>
#include <string.h>

#include "abc_util.h"

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
        if (cw == 1) { /* C < 64: a pixel's bits in one word or two; the word being filled kept in a register */
            size_t bit = (size_t)pad * C;
            int wi = (int)(bit / 64);
            uint64_t acc = 0;
            for (int i = 0; i < wi; ++i) row[i] = 0;
            for (int x = 0; x < w; ++x, bit += (size_t)C) {
                int j = (int)(bit / 64), sh = (int)(bit % 64);
                uint64_t v = src[x];
                if (j != wi) { /* the next word (C < 64: never further) */
                    row[wi] = acc;
                    acc = 0;
                    wi = j;
                }
                acc |= v << sh;
                if (sh + C > 64) { /* the pixel runs into the next word */
                    row[wi++] = acc;
                    acc = v >> (64 - sh);
                }
            }
            row[wi] = acc;
            for (int i = wi + 1; i < rw; ++i) row[i] = 0;
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

/* Positions [0, n) of one output row, windows starting at bit shift sh of s: one position at a time. */
static void windows_shifted(const uint64_t *s, int rw, int size, int rk, size_t step, size_t bit, int n,
                            uint64_t tail, uint64_t *out, int ld, int ws)
{
    for (int q = 0; q < n; ++q, bit += step) {
        unsigned sh = (unsigned)(bit % 64);
        const uint64_t *r = s + bit / 64;
        uint64_t *dst = out + (size_t)q * ld;
        for (int ky = 0; ky < size; ++ky, dst += (size_t)rk * ws, r += rw) {
            if (sh == 0)
                for (int i = 0; i < rk; ++i) dst[(size_t)i * ws] = r[i];
            else
                for (int i = 0; i < rk; ++i) dst[(size_t)i * ws] = (r[i] >> sh) | (r[i + 1] << (64 - sh));
            dst[(size_t)(rk - 1) * ws] &= tail;
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The same into a panel (ld = 1, ws = 16), 8 positions at a time with AVX-512 VBMI2: per 8 positions and word
 * of a window, two masked loads of the row (16 words from the first position's word), the low and high words of
 * each position picked by vpermt2q and joined by a variable funnel shift (vpshrdvq). Needs the words the 8
 * positions read within 16: (63 + 7*step)/64 + 1 <= 15, so step <= 128 bits (checked by the caller). A
 * position's last word reads r[i + 1] as the plain loop does (the row's spare word). */
__attribute__((target("avx512f,avx512vbmi2"))) static void windows_shifted_512(const uint64_t *s, int rw, int size,
                                                                               int rk, size_t step, size_t bit,
                                                                               int n, uint64_t tail, uint64_t *out)
{
    for (int g = 0; g < n; g += 8) {
        int m = n - g < 8 ? n - g : 8;
        size_t b = bit + (size_t)g * step, w0 = b / 64;
        long long lo[8], sh[8];
        for (int q = 0; q < 8; ++q) {
            size_t o = b % 64 + (size_t)q * step;
            lo[q] = (long long)(o / 64);
            sh[q] = (long long)(o % 64);
        }
        int top = (int)lo[m - 1] + 1; /* the last word the m positions read, from w0 */
        __m512i ilo = _mm512_loadu_si512(lo), ihi = _mm512_add_epi64(ilo, _mm512_set1_epi64(1));
        __m512i vsh = _mm512_loadu_si512(sh), vtail = _mm512_set1_epi64((long long)tail);
        __mmask8 ma = top >= 7 ? 0xff : (__mmask8)((1u << (top + 1)) - 1);
        __mmask8 mb = top >= 8 ? (__mmask8)((1u << (top - 7)) - 1) : 0;
        __mmask8 sm = (__mmask8)((1u << m) - 1);
        for (int ky = 0; ky < size; ++ky)
            for (int i = 0; i < rk; ++i) {
                const uint64_t *r = s + (size_t)ky * rw + w0 + i;
                __m512i A = _mm512_maskz_loadu_epi64(ma, r), B = _mm512_maskz_loadu_epi64(mb, r + 8);
                __m512i v = _mm512_shrdv_epi64(_mm512_permutex2var_epi64(A, ilo, B),
                                               _mm512_permutex2var_epi64(A, ihi, B), vsh);
                if (i == rk - 1) v = _mm512_and_si512(v, vtail);
                _mm512_mask_storeu_epi64(out + (size_t)(ky * rk + i) * 16 + g, sm, v);
            }
    }
}

static int vbmi2_state = -1; /* -1: not probed; 0: no (or forced off); 1: yes (atomic: pool threads probe) */

static int use_vbmi2(void)
{
    int v = __atomic_load_n(&vbmi2_state, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vbmi2");
        __atomic_store_n(&vbmi2_state, v, __ATOMIC_RELAXED);
    }
    return v;
}

void abc_conv_im2col_plain(int plain) { __atomic_store_n(&vbmi2_state, plain ? 0 : -1, __ATOMIC_RELAXED); }
#else
void abc_conv_im2col_plain(int plain) { (void)plain; }
#endif

/* The same when every window starts on a word (d words apart): word k of position q is s[ky*rw + i + q*d],
 * copied word by word along the row (into the kernel's panels, ld = 1: contiguous runs). */
static void windows_aligned(const uint64_t *s, int rw, int size, int rk, size_t d, int n, uint64_t tail,
                            uint64_t *out, int ld, int ws)
{
    for (int ky = 0; ky < size; ++ky)
        for (int i = 0; i < rk; ++i) {
            const uint64_t *restrict src = s + (size_t)ky * rw + i;
            uint64_t *restrict dst = out + (size_t)(ky * rk + i) * ws;
            uint64_t m = i == rk - 1 ? tail : ~0ull;
            if (ld == 1 && d == 1)
                for (int q = 0; q < n; ++q) dst[q] = src[q] & m;
            else
                for (int q = 0; q < n; ++q) dst[(size_t)q * ld] = src[(size_t)q * d] & m;
        }
}

void abc_conv_im2col_words(const uint64_t *rows, int rw, int C, int size, int stride, int out_w, int p0, int p1,
                           uint64_t *out, int ld, int ws)
{
    int nbits = size * C, rk = (nbits + 63) / 64;
    uint64_t tail = nbits % 64 ? (1ull << (nbits % 64)) - 1 : ~0ull;
    size_t step = (size_t)stride * C; /* bits from one output column to the next */
    int oy = p0 / out_w, ox = p0 % out_w;
    for (int p = p0; p < p1;) { /* runs of positions along one output row */
        int n = p1 - p < out_w - ox ? p1 - p : out_w - ox;
        const uint64_t *s = rows + (size_t)oy * stride * rw;
        uint64_t *dst = out + (size_t)(p - p0) * ld;
        if (step % 64 == 0) windows_aligned(s + ox * step / 64, rw, size, rk, step / 64, n, tail, dst, ld, ws);
#if defined(__x86_64__) && defined(__GNUC__)
        else if (ld == 1 && ws == 16 && step <= 128 && use_vbmi2())
            windows_shifted_512(s, rw, size, rk, step, (size_t)ox * step, n, tail, dst);
#endif
        else windows_shifted(s, rw, size, rk, step, (size_t)ox * step, n, tail, dst, ld, ws);
        p += n;
        ox += n;
        if (ox == out_w) {
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
