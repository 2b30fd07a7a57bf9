#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the pixel loops of the plain packer vectorize */
#endif
/* The input bit packers' table, the plain definition and the plain C packer
 * (bitpack.h); the SIMD packers are in bitpack_avx2.c and bitpack_avx512.c. */
#include "bitpack.h"

#include "base/util.h"
#include "cpu.h"

enum { QB = 16 }; /* pixels packed side by side */

static inline __attribute__((always_inline)) int imin(int a, int b) { return a < b ? a : b; }

void abc_bitpack_ref(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                     int cw)
{
    for (int n = 0; n < nthr; ++n)
        for (int q = q0; q < q1; ++q) {
            uint64_t *o = out + ((size_t)n * HW + q) * cw;
            for (int w = 0; w < cw; ++w) o[w] = 0;
            for (int c = 0; c < C; ++c)
                if (x[(size_t)c * HW + q] >= thr[n]) o[c / 64] |= 1ull << (c % 64);
        }
}

/* Plain C: 16 pixels x 64 channels per block, each float compared with every
 * threshold while in a register; the loops over the 16 pixels vectorize. */
static inline __attribute__((always_inline)) void pack_body(const float *x, int C, int HW, int q0, int q1,
                                                           const float *thr, int nthr, uint64_t *out, int cw)
{
    uint64_t acc[ABC_BITPACK_MAX_THRESHOLDS][QB];
    for (int q = q0; q < q1; q += QB) {
        int qb = imin(QB, q1 - q);
        for (int w = 0; w < cw; ++w) {
            int c0 = w * 64, cb = imin(64, C - c0);
            for (int n = 0; n < nthr; ++n)
                for (int j = 0; j < QB; ++j) acc[n][j] = 0;
            for (int c = 0; c < cb; ++c) {
                const float *xr = x + (size_t)(c0 + c) * HW + q;
                __builtin_prefetch(xr + 2 * QB); /* as in the AVX-512 kernel */
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

void abc_bitpack_plain(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                       int cw)
{
    pack_body(x, C, HW, q0, q1, thr, nthr, out, cw);
}

static const abc_bitpack_kernel table[] = {
    {{"ref", "plain definition, bit by bit", 0}, abc_bitpack_ref},
    {{"plain", "C, 16 pixels x 64 channels a block (compiler-vectorized)", 0}, abc_bitpack_plain},
    {{"avx2", "AVX2 compare masks, 8x8 bit transposes", ABC_CPU_AVX2}, abc_bitpack_avx2},
    {{"avx512", "AVX-512 compare masks or-ed into 16 pixels' words", ABC_CPU_AVX512F | ABC_CPU_AVX512BW},
     abc_bitpack_avx512},
};

abc_kernel_family abc_bitpack_family = ABC_KERNEL_FAMILY("input bit packer", ABC_MODE_PACK, table);

void abc_bitpack_pixels(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                        int cw)
{
    if (nthr > ABC_BITPACK_MAX_THRESHOLDS)
        abc_die("abc_bitpack_pixels: %d thresholds (max %d)", nthr, ABC_BITPACK_MAX_THRESHOLDS);
    const abc_bitpack_kernel *k = abc_kernel_chosen(&abc_bitpack_family);
    k->fn(x, C, HW, q0, q1, thr, nthr, out, cw);
}
