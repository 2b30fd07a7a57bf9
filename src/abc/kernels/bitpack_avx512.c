#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* as the plain packer: short loops unrolled */
#endif
/* The AVX-512 input bit packer (bitpack.h). */
#include "bitpack.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

enum { QB = 16 }; /* pixels a vector */

static inline __attribute__((always_inline)) int imin(int a, int b) { return a < b ? a : b; }

/* AVX-512: 16 pixels a vector; each compare gives a 16-bit mask, and bit c
 * is or-ed into the 16 pixels' words (two zmm of 8 words) under that mask.
 * Built for each base count so that the accumulators stay in registers. */
static inline __attribute__((always_inline, target("avx512f,avx512bw"))) void
pack512(const float *x, int C, int HW, int q0, int q1, const float *thr, const int nthr, uint64_t *out, int cw)
{
    __m512 t[ABC_BITPACK_MAX_THRESHOLDS];
    for (int n = 0; n < nthr; ++n) t[n] = _mm512_set1_ps(thr[n]);
    for (int q = q0; q < q1; q += QB) {
        int qb = imin(QB, q1 - q);
        __mmask16 lm = qb == QB ? (__mmask16)0xffff : (__mmask16)((1u << qb) - 1);
        for (int w = 0; w < cw; ++w) {
            int c0 = w * 64, cb = imin(64, C - c0);
            __m512i lo[ABC_BITPACK_MAX_THRESHOLDS], hi[ABC_BITPACK_MAX_THRESHOLDS];
            for (int n = 0; n < nthr; ++n) lo[n] = hi[n] = _mm512_setzero_si512();
            __m512i bit = _mm512_set1_epi64(1);
            const float *xc = x + (size_t)c0 * HW + q;
            for (int c = 0; c < cb; ++c, xc += HW) {
                /* two blocks ahead: one stream per channel is more than the hardware prefetchers follow */
                _mm_prefetch((const char *)(xc + 2 * QB), _MM_HINT_T0);
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

__attribute__((target("avx512f,avx512bw"))) void abc_bitpack_avx512(const float *x, int C, int HW, int q0, int q1,
                                                                     const float *thr, int nthr, uint64_t *out,
                                                                     int cw)
{
    ABC_BITPACK_BY_COUNT(pack512);
}
#else
void abc_bitpack_avx512(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                        int cw)
{
    abc_bitpack_plain(x, C, HW, q0, q1, thr, nthr, out, cw); /* never chosen: its row needs AVX-512 */
}
#endif
