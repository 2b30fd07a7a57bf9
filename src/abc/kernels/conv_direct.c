#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math") /* the output stage's loops vectorize; same results */
#endif
#include "conv_direct.h"

#include <string.h>

#include "act.h"
#include "cpu.h"

/* FB filters x 2 vectors of XB pixels in registers; TMP_FLOATS: the product's block of output rows at most. */
enum { FB = 8, XB = 16, LB = 2 * XB, MAX_K = 4 * 7 * 7, TMP_FLOATS = 16384 };

typedef float v16 __attribute__((vector_size(64)));

int abc_conv_direct_suits(int c, int size, int stride) { return stride == 1 && c >= 1 && c <= 4 && size >= 2 && size <= 7; }

static int padded(int n) { return (n + FB - 1) / FB * FB; }

size_t abc_conv_direct_weights_floats(int n, int c, int size) { return (size_t)c * size * size * padded(n); }

void abc_conv_direct_weights(const float *weights, int n, int c, int size, float *wt)
{
    int k = c * size * size, np = padded(n);
    memset(wt, 0, sizeof(float) * (size_t)k * np);
    for (int f = 0; f < n; ++f)
        for (int i = 0; i < k; ++i) wt[(size_t)i * np + f] = weights[(size_t)f * k + i];
}

/* Output rows a block: its products (padded filters x rows x padded width, whole vectors) within TMP_FLOATS. */
static int block_rows(int n, int pw)
{
    int r = TMP_FLOATS / (padded(n) * pw + LB);
    return r < 1 ? 1 : r;
}

static size_t round_lb(size_t q) { return (q + LB - 1) / LB * LB; }

/* The block's padded input (c planes of rows + size - 1 rows of pw), the slack its last vectors read past it,
 * and its products. */
static size_t plane_floats(int rows, int size, int pw) { return (size_t)(rows + size - 1) * pw; }
static size_t tmp_ld(int rows, int pw) { return round_lb((size_t)rows * pw); }

size_t abc_conv_direct_scratch(int c, int n, int size, int w, int pad)
{
    int pw = w + 2 * pad, rows = block_rows(n, pw);
    return (size_t)c * plane_floats(rows, size, pw) + LB + size + (size_t)padded(n) * tmp_ld(rows, pw);
}

#ifdef __clang__ /* no optimize attribute; fuzz builds only */
#define FP_CONTRACT_FAST
#else
#define FP_CONTRACT_FAST __attribute__((optimize("fp-contract=fast")))
#endif

/* The block's rows laid end to end (each padded to pw columns) make one long row: the term (channel, ky, kx)
 * of the output at q is the input at q + off[term]. Every column of a row is computed, those past out_w too
 * (they read into the next row, and are dropped), in whole vectors; tmp[f * ldt + q]. */
ABC_CLONED FP_CONTRACT_FAST
static void flat_kernel(const float *in, const int *off, const float *wt, int k, int n, size_t q_end, float *tmp,
                        size_t ldt)
{
    int np = padded(n);
    for (int f0 = 0; f0 < n; f0 += FB)
        for (size_t q = 0; q < q_end; q += LB) {
            v16 a0[FB], a1[FB];
            for (int f = 0; f < FB; ++f) a0[f] = a1[f] = (v16){0};
            for (int i = 0; i < k; ++i) {
                const float *src = in + off[i] + q, *wk = wt + (size_t)i * np + f0;
                v16 p0, p1;
                memcpy(&p0, src, sizeof p0);
                memcpy(&p1, src + XB, sizeof p1);
#pragma GCC unroll 8
                for (int f = 0; f < FB; ++f) {
                    a0[f] += wk[f] * p0;
                    a1[f] += wk[f] * p1;
                }
            }
            for (int f = 0; f < FB; ++f) {
                memcpy(tmp + (size_t)(f0 + f) * ldt + q, &a0[f], sizeof a0[f]);
                memcpy(tmp + (size_t)(f0 + f) * ldt + q + XB, &a1[f], sizeof a1[f]);
            }
        }
}

/* One output row of filter f from its products: as they are, or through the output stage (kernels/bn.c's
 * arithmetic, in its order). */
static void store_row(float *o, const float *t, int len, int f, const abc_direct_out *e)
{
    if (!e) {
        memcpy(o, t, sizeof(float) * len);
        return;
    }
    float bias = e->bias[f];
    if (e->mean) {
        float mean = e->mean[f], k = e->k[f];
        for (int x = 0; x < len; ++x) o[x] = (t[x] - mean) * k + bias;
    } else {
        for (int x = 0; x < len; ++x) o[x] = t[x] + bias;
    }
    if (e->act == LEAKY)
        for (int x = 0; x < len; ++x) o[x] = o[x] > 0 ? o[x] : 0.1f * o[x];
    else
        abc_act_row(o, len, e->act);
}

void abc_conv_direct_rows(const float *im, int c, int h, int w, const float *wt, int n, int size, int pad, int out_h,
                          int r0, int r1, float *out, float *scratch, const abc_direct_out *e)
{
    int pw = w + 2 * pad, out_w = pw - size + 1, k = c * size * size, step = block_rows(n, pw);
    size_t plane = (size_t)out_h * out_w, chan = plane_floats(step, size, pw);
    float *in = scratch, *tmp = scratch + (size_t)c * chan + LB + size;
    int off[MAX_K];
    for (int ci = 0; ci < c; ++ci)
        for (int ky = 0; ky < size; ++ky)
            for (int kx = 0; kx < size; ++kx) off[(ci * size + ky) * size + kx] = (int)(ci * chan) + ky * pw + kx;
    memset(in + (size_t)c * chan, 0, sizeof(float) * (LB + size));
    for (int b0 = r0; b0 < r1; b0 += step) {
        int rows = r1 - b0 < step ? r1 - b0 : step;
        for (int ci = 0; ci < c; ++ci)
            for (int rr = 0; rr < rows + size - 1; ++rr) {
                float *p = in + ci * chan + (size_t)rr * pw;
                int y = b0 + rr - pad;
                if (y < 0 || y >= h) {
                    memset(p, 0, sizeof(float) * pw);
                    continue;
                }
                memset(p, 0, sizeof(float) * pad);
                memcpy(p + pad, im + ((size_t)ci * h + y) * w, sizeof(float) * w);
                memset(p + pad + w, 0, sizeof(float) * pad);
            }
        if (rows < step) /* what the last vectors read past the block's rows: zeros, not an earlier block's */
            for (int ci = 0; ci < c; ++ci) {
                size_t used = plane_floats(rows, size, pw), spare = chan - used;
                memset(in + ci * chan + used, 0, sizeof(float) * (spare < (size_t)(LB + size) ? spare : (size_t)(LB + size)));
            }
        size_t ldt = tmp_ld(rows, pw);
        flat_kernel(in, off, wt, k, n, (size_t)rows * pw, tmp, ldt);
        for (int f = 0; f < n; ++f)
            for (int r = 0; r < rows; ++r)
                store_row(out + (size_t)f * plane + (size_t)(b0 + r) * out_w, tmp + (size_t)f * ldt + (size_t)r * pw,
                          out_w, f, e);
    }
}
