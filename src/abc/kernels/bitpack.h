/* Floats -> sign bits per pixel, the input packing of the binary layers: for
 * each of nthr thresholds, bit c of pixel q is 1 iff x[c][q] >= thr (1 stands
 * for +1). Pixels [q0, q1) of one image x (C x HW floats, NCHW) in one pass
 * over the floats: out[(n*HW + q)*cw + w] holds channels 64w..64w+63 of pixel
 * q for threshold n (cw = ceil(C/64) words a pixel, bits past C zero).
 * Kernels: ref (bit by bit), plain (C the compiler vectorizes), avx2, avx512;
 * the best this CPU runs, or the one ABC_PACK=<name> names (select.h). */
#ifndef ABC_BITPACK_H
#define ABC_BITPACK_H

#include <stdint.h>

#include "select.h"

enum { ABC_BITPACK_MAX_THRESHOLDS = 8 };

typedef void (*abc_bitpack_fn)(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr,
                               uint64_t *out, int cw);
typedef struct {
    abc_kernel_desc d; /* name (ABC_PACK=<name>), one line, CPU features */
    abc_bitpack_fn fn;
} abc_bitpack_kernel;

extern abc_kernel_family abc_bitpack_family;

/* Through the chosen kernel; nthr <= ABC_BITPACK_MAX_THRESHOLDS. */
void abc_bitpack_pixels(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                        int cw);
/* The plain definition, bit by bit. */
void abc_bitpack_ref(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                     int cw);

/* The kernels (each in its own file). */
void abc_bitpack_plain(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                       int cw);
void abc_bitpack_avx2(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                      int cw);
void abc_bitpack_avx512(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                        int cw);

/* Calls fn(..., nthr, ...) with nthr a constant from 1 to 8, so that a SIMD
 * kernel's per-threshold registers stay registers (inside a kernel function
 * whose parameters have bitpack.h's names). */
#define ABC_BITPACK_BY_COUNT(fn)                                                                                  \
    switch (nthr) {                                                                                                \
    case 1: fn(x, C, HW, q0, q1, thr, 1, out, cw); return;                                                          \
    case 2: fn(x, C, HW, q0, q1, thr, 2, out, cw); return;                                                          \
    case 3: fn(x, C, HW, q0, q1, thr, 3, out, cw); return;                                                          \
    case 4: fn(x, C, HW, q0, q1, thr, 4, out, cw); return;                                                          \
    case 5: fn(x, C, HW, q0, q1, thr, 5, out, cw); return;                                                          \
    case 6: fn(x, C, HW, q0, q1, thr, 6, out, cw); return;                                                          \
    case 7: fn(x, C, HW, q0, q1, thr, 7, out, cw); return;                                                          \
    case 8: fn(x, C, HW, q0, q1, thr, 8, out, cw); return;                                                          \
    default: fn(x, C, HW, q0, q1, thr, nthr, out, cw); return;                                                      \
    }

#endif
