/* Weight bases and border classes of the [abc_convolutional] inference path
 * (layout in abc_conv_pack.h). */
#include "abc_conv_pack.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

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

/* Bit (c, tap t) of packed row `row`: kernel row t / s, bit (t % s) * C + c of it. */
static inline int row_bit(const uint64_t *row, int rk, int s, int C, int c, int t)
{
    int bit = (t % s) * C + c;
    return (int)(row[(t / s) * rk + bit / 64] >> (bit % 64) & 1);
}

/* The alpha group of filter f. */
static inline int group_of(const layer *l, const abc_conv_state *st, int f)
{
    return (int)((long)f * st->K / (l->nweights / st->G));
}

void abc_conv_pack_weights(layer *l)
{
    abc_conv_state *st = abc_conv_st(l);
    int M = st->o.M, K = st->K, kw = st->words, rk = st->rk, ss = l->size * l->size, s = l->size;
    memset(st->wbits, 0, (size_t)M * l->n * kw * sizeof(uint64_t));
    int g_have = -1;
    float mean = 0, sd = 0;
    for (int f = 0; f < l->n; ++f) {
        int g = group_of(l, st, f);
        if (g != g_have) { /* the statistics of a group, once */
            abc_conv_group_stats(l, g, &mean, &sd);
            g_have = g;
        }
        const float *wf = l->weights + (size_t)f * K;
        for (int m = 0; m < M; ++m) {
            uint64_t *row = st->wbits + ((size_t)f * M + m) * kw;
            float ustd = st->o.u[m] * sd;
            for (int c = 0; c < l->c; ++c)
                for (int t = 0; t < ss; ++t) {
                    int bit = (t % s) * l->c + c; /* kx*C + c inside kernel row ky = t / s */
                    if (abc_conv_wbit(st, wf[c * ss + t], mean, ustd)) row[(t / s) * rk + bit / 64] |= 1ull << (bit % 64);
                }
        }
    }
    abc_conv_pack_corrections(l);
}

void abc_conv_pack_corrections(layer *l)
{
    abc_conv_state *st = abc_conv_st(l);
    int M = st->o.M, kw = st->words, rk = st->rk, ss = l->size * l->size, s = l->size;
    int ncls = st->nrc * st->ncc;
    int *lo = abc_xmalloc((size_t)(l->out_h + l->out_w) * 2 * sizeof(int)), *hi = lo + l->out_h + l->out_w;
    abc_conv_tap_patterns(l->h, l->out_h, s, l->stride, l->pad, NULL, lo, hi);
    int *clo = lo + l->out_h, *chi = hi + l->out_h;
    abc_conv_tap_patterns(l->w, l->out_w, s, l->stride, l->pad, NULL, clo, chi);
    float *tap = abc_xmalloc((size_t)ss * sizeof(float)); /* sum_m alpha_m sum_c B_m per tap of one filter */
    for (int f = 0; f < l->n; ++f) {
        int g = group_of(l, st, f);
        for (int t = 0; t < ss; ++t) tap[t] = 0;
        for (int m = 0; m < M; ++m) {
            const uint64_t *row = st->wbits + ((size_t)f * M + m) * kw;
            float a = st->alpha[g * M + m];
            for (int c = 0; c < l->c; ++c)
                for (int t = 0; t < ss; ++t) tap[t] += row_bit(row, rk, s, l->c, c, t) ? a : -a;
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

void abc_conv_weights_from_bits(layer *l)
{
    abc_conv_state *st = abc_conv_st(l);
    int M = st->o.M, K = st->K, kw = st->words, rk = st->rk, ss = l->size * l->size, s = l->size;
    for (int f = 0; f < l->n; ++f) {
        int g = group_of(l, st, f);
        float *wq = st->wq + (size_t)f * K;
        for (int c = 0; c < l->c; ++c)
            for (int t = 0; t < ss; ++t) {
                float v = 0; /* summed in abc_conv_quantize_weights' order, so the same float */
                for (int m = 0; m < M; ++m) {
                    float a = st->alpha[g * M + m];
                    v += row_bit(st->wbits + ((size_t)f * M + m) * kw, rk, s, l->c, c, t) ? a : -a;
                }
                wq[c * ss + t] = v;
            }
    }
    st->wq_valid = 1;
}
