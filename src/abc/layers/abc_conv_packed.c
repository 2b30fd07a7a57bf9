/* [abc_convolutional] inference path: the same function as the float
 * simulation, computed as M*N binary products over packed words.
 *   out[f,p] = sum_m sum_n alpha_m[f] beta_n (C_mn[f,p] + corr_m[f,p])
 * C_mn = abc_bgemm of weight base m against activation base n (im2col order,
 * bit 1 = +1). A padded tap is 0 in the simulation but a bit is +-1: its bit
 * is packed as 0 (-1), which adds -B_m[f,k] to C_mn, so corr_m[f,p] adds back
 * the sum of B_m[f,k] over the taps k padded at position p. */
#include <string.h>

#include "abc_conv.h"
#include "kernels/bgemm.h"

/* Input pixel of tap k at output position p, or -1 for a padded tap. */
static inline int tap_index(const layer *l, int k, int oy, int ox)
{
    int kx = k % l->size, ky = (k / l->size) % l->size, c = k / (l->size * l->size);
    int iy = oy * l->stride - l->pad + ky, ix = ox * l->stride - l->pad + kx;
    if (iy < 0 || ix < 0 || iy >= l->h || ix >= l->w) return -1;
    return (c * l->h + iy) * l->w + ix;
}

/* Packs the weight bases of the current weights (frozen alpha) and the pad correction. */
static void pack_weights(layer *l)
{
    abc_conv_state *st = abc_conv_st(l);
    int M = st->o.M, K = st->K, W = st->words, len = l->nweights / st->G;
    memset(st->wbits, 0, (size_t)M * l->n * W * sizeof(uint64_t));
    for (int f = 0; f < l->n; ++f) {
        int g = (int)((long)f * K / len);
        float mean, sd;
        abc_conv_group_stats(l, g, &mean, &sd);
        const float *w = l->weights + (size_t)f * K;
        for (int m = 0; m < M; ++m) {
            uint64_t *row = st->wbits + ((size_t)m * l->n + f) * W;
            float ustd = st->o.u[m] * sd;
            for (int k = 0; k < K; ++k)
                if (abc_conv_wbit(w[k], mean, ustd)) row[k / 64] |= 1ull << (k % 64);
        }
    }
    if (st->corr) {
        memset(st->corr, 0, (size_t)M * l->n * st->P * sizeof(int32_t));
        for (int oy = 0; oy < l->out_h; ++oy)
            for (int ox = 0; ox < l->out_w; ++ox) {
                int p = oy * l->out_w + ox;
                for (int k = 0; k < K; ++k) {
                    if (tap_index(l, k, oy, ox) >= 0) continue;
                    for (int m = 0; m < M; ++m)
                        for (int f = 0; f < l->n; ++f) {
                            const uint64_t *row = st->wbits + ((size_t)m * l->n + f) * W;
                            st->corr[((size_t)m * l->n + f) * st->P + p] += (row[k / 64] >> (k % 64)) & 1 ? 1 : -1;
                        }
                }
            }
    }
    st->packed_valid = 1;
}

/* Activation base n of one image, packed per output position (im2col order).
 * Bits are packed 64 taps at a time; a tap's pixel is found from per-tap
 * tables (channel offset, ky, kx) built once per call, no divisions. */
static void pack_input(const layer *l, const abc_conv_state *st, const float *x, float thr)
{
    int K = st->K, W = st->words, ks = l->size, H = l->h, Wd = l->w;
    int *ky = (int *)(void *)st->cnt, *kx = ky + K, *off = kx + K; /* cnt (n*P ints) is free until the GEMM */
    int32_t spare = (int32_t)l->n * st->P;
    if (spare < 3 * K) { /* not enough room: the plain per-tap path */
        memset(st->xbits, 0, (size_t)st->P * W * sizeof(uint64_t));
        for (int oy = 0; oy < l->out_h; ++oy)
            for (int ox = 0; ox < l->out_w; ++ox) {
                uint64_t *row = st->xbits + (size_t)(oy * l->out_w + ox) * W;
                for (int k = 0; k < K; ++k) {
                    int i = tap_index(l, k, oy, ox);
                    if (i >= 0 && abc_conv_abit(x[i], thr)) row[k / 64] |= 1ull << (k % 64);
                }
            }
        return;
    }
    for (int k = 0; k < K; ++k) {
        kx[k] = k % ks;
        ky[k] = (k / ks) % ks;
        off[k] = (k / (ks * ks)) * H * Wd + ky[k] * Wd + kx[k];
    }
    for (int oy = 0; oy < l->out_h; ++oy) {
        int y0 = oy * l->stride - l->pad;
        for (int ox = 0; ox < l->out_w; ++ox) {
            int x0 = ox * l->stride - l->pad;
            uint64_t *row = st->xbits + (size_t)(oy * l->out_w + ox) * W;
            long base = (long)y0 * Wd + x0; /* index of tap 0 (may lie outside the image) */
            int inside = y0 >= 0 && x0 >= 0 && y0 + ks <= H && x0 + ks <= Wd;
            for (int w = 0; w < W; ++w) {
                uint64_t bits = 0;
                int k1 = K - w * 64 < 64 ? K - w * 64 : 64;
                for (int j = 0; j < k1; ++j) {
                    int k = w * 64 + j;
                    if (!inside) {
                        int iy = y0 + ky[k], ix = x0 + kx[k];
                        if (iy < 0 || ix < 0 || iy >= H || ix >= Wd) continue;
                    }
                    bits |= (uint64_t)abc_conv_abit(x[base + off[k]], thr) << j;
                }
                row[w] = bits;
            }
        }
    }
}

void abc_conv_forward_packed(layer l, network net)
{
    abc_conv_state *st = abc_conv_st(&l);
    if (!st->packed_valid) pack_weights(&l);
    int M = st->o.M, N = st->o.N, P = st->P, W = st->words, len = l.nweights / st->G;
    memset(l.output, 0, (size_t)l.outputs * l.batch * sizeof(float));
    for (int b = 0; b < l.batch; ++b) {
        float *out = l.output + (size_t)b * l.outputs;
        for (int n = 0; n < N; ++n) {
            pack_input(&l, st, net.input + (size_t)b * l.inputs, abc_conv_thr(st->v[n]));
            for (int m = 0; m < M; ++m) {
                abc_bgemm(l.n, P, st->K, st->wbits + (size_t)m * l.n * W, W, st->xbits, W, st->cnt, P);
                const int32_t *corr = st->corr ? st->corr + (size_t)m * l.n * P : NULL;
                for (int f = 0; f < l.n; ++f) {
                    int g = (int)((long)f * st->K / len);
                    float s = st->alpha[g * M + m] * st->beta[n];
                    const int32_t *c = st->cnt + (size_t)f * P;
                    float *o = out + (size_t)f * P;
                    if (corr)
                        for (int p = 0; p < P; ++p) o[p] += s * (float)(c[p] + corr[(size_t)f * P + p]);
                    else
                        for (int p = 0; p < P; ++p) o[p] += s * (float)c[p];
                }
            }
        }
    }
    abc_conv_output_stage(l, net);
}
