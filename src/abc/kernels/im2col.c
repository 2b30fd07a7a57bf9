#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math", "no-tree-loop-distribute-patterns") /* rows are short: inline loops, not memcpy calls */
#endif
#include "im2col.h"

#include <stddef.h>


/* Output columns [lo, hi) whose input column ox*stride - pad + kx is inside [0, w). */
static void valid_cols(int w, int stride, int pad, int kx, int out_w, int *lo, int *hi)
{
    int first = pad - kx; /* ox*stride must be >= first */
    int l = first <= 0 ? 0 : (first + stride - 1) / stride;
    int last = w - 1 + pad - kx; /* ox*stride must be <= last */
    int h = last < 0 ? 0 : last / stride + 1;
    if (h > out_w) h = out_w;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

void abc_im2col(const float *im, int channels, int h, int w, int ks, int stride, int pad,
                int out_w, int r0, int r1, float *col)
{
    int ncols = (r1 - r0) * out_w;
    for (int c = 0; c < channels; ++c) {
        const float *plane = im + (size_t)c * h * w;
        for (int ky = 0; ky < ks; ++ky) {
            for (int kx = 0; kx < ks; ++kx) {
                float *dst = col + ((size_t)(c * ks + ky) * ks + kx) * ncols;
                int lo, hi;
                valid_cols(w, stride, pad, kx, out_w, &lo, &hi);
                for (int oy = r0; oy < r1; ++oy, dst += out_w) {
                    int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= h) {
                        for (int ox = 0; ox < out_w; ++ox) dst[ox] = 0;
                        continue;
                    }
                    const float *src = plane + (size_t)iy * w;
                    int off = kx - pad;
                    for (int ox = 0; ox < lo; ++ox) dst[ox] = 0;
                    if (stride == 1) {
                        for (int ox = lo; ox < hi; ++ox) dst[ox] = src[ox + off];
                    } else {
                        for (int ox = lo; ox < hi; ++ox) dst[ox] = src[ox * stride + off];
                    }
                    for (int ox = hi; ox < out_w; ++ox) dst[ox] = 0;
                }
            }
        }
    }
}

void abc_col2im_add(const float *col, int channels, int h, int w, int ks, int stride, int pad,
                    int out_h, int out_w, float *im)
{
    int ncols = out_h * out_w;
    for (int c = 0; c < channels; ++c) {
        float *plane = im + (size_t)c * h * w;
        for (int ky = 0; ky < ks; ++ky) {
            for (int kx = 0; kx < ks; ++kx) {
                const float *src = col + ((size_t)(c * ks + ky) * ks + kx) * ncols;
                int lo, hi;
                valid_cols(w, stride, pad, kx, out_w, &lo, &hi);
                for (int oy = 0; oy < out_h; ++oy, src += out_w) {
                    int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= h) continue;
                    float *row = plane + (size_t)iy * w;
                    int off = kx - pad; /* ox*stride + off is inside [0, w) for ox in [lo, hi) */
                    if (stride == 1) {
                        for (int ox = lo; ox < hi; ++ox) row[ox + off] += src[ox];
                    } else {
                        for (int ox = lo; ox < hi; ++ox) row[ox * stride + off] += src[ox];
                    }
                }
            }
        }
    }
}
