#include "conv_direct.h"

#include <string.h>

enum { FB = 8, XB = 16, MAX_K = 4 * 7 * 7 };

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

size_t abc_conv_direct_scratch(int c, int size, int w, int pad) { return (size_t)c * size * (w + 2 * pad + XB); }

/* One output row: rp[k] points at the padded input row of term k, already shifted by its kx. */
#ifdef __clang__ /* no optimize attribute; fuzz builds only */
#define FP_CONTRACT_FAST
#else
#define FP_CONTRACT_FAST __attribute__((optimize("fp-contract=fast")))
#endif

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) FP_CONTRACT_FAST
static void row_kernel(const float *const *rp, const float *wt, int k, int n, int out_w, float *out, size_t plane)
{
    int np = padded(n);
    for (int f0 = 0; f0 < n; f0 += FB) {
        int nf = n - f0 < FB ? n - f0 : FB, x = 0;
        for (; x + XB <= out_w; x += XB) {
            v16 acc[FB];
            memset(acc, 0, sizeof acc);
            for (int i = 0; i < k; ++i) {
                v16 p;
                memcpy(&p, rp[i] + x, sizeof p);
                const float *wk = wt + (size_t)i * np + f0;
#pragma GCC unroll 8
                for (int f = 0; f < FB; ++f) acc[f] += wk[f] * p;
            }
            for (int f = 0; f < nf; ++f) memcpy(out + (size_t)(f0 + f) * plane + x, &acc[f], sizeof acc[f]);
        }
        for (; x < out_w; ++x)
            for (int f = 0; f < nf; ++f) {
                float s = 0;
                for (int i = 0; i < k; ++i) s += wt[(size_t)i * np + f0 + f] * rp[i][x];
                out[(size_t)(f0 + f) * plane + x] = s;
            }
    }
}

void abc_conv_direct_rows(const float *im, int c, int h, int w, const float *wt, int n, int size, int pad, int out_h,
                          int r0, int r1, float *out, float *scratch)
{
    int pw = w + 2 * pad + XB, out_w = w + 2 * pad - size + 1, k = c * size * size;
    size_t plane = (size_t)out_h * out_w;
    const float *rp[MAX_K];
    for (int r = r0; r < r1; ++r) {
        for (int ci = 0; ci < c; ++ci)
            for (int ky = 0; ky < size; ++ky) {
                float *p = scratch + (size_t)(ci * size + ky) * pw;
                int y = r + ky - pad;
                memset(p, 0, sizeof(float) * pw);
                if (y >= 0 && y < h) memcpy(p + pad, im + ((size_t)ci * h + y) * w, sizeof(float) * w);
                for (int kx = 0; kx < size; ++kx) rp[(ci * size + ky) * size + kx] = p + kx;
            }
        row_kernel(rp, wt, k, n, out_w, out + (size_t)r * out_w, plane);
    }
}
