#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* short word loops: unrolled */
#endif
/* The binary im2col's AVX-512 VBMI2 loop (bim2col.h). */
#include "bim2col.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* Windows [0, n) of one output row whose windows start inside words (bit `bit` of stream s, `step` bits
 * apart) into a GEMM panel (ld = 1, ws = 16), 8 positions at a time with AVX-512 VBMI2: per 8 positions and word
 * of a window, two masked loads of the row (16 words from the first position's word), the low and high words of
 * each position picked by vpermt2q and joined by a variable funnel shift (vpshrdvq). Needs the words the 8
 * positions read within 16: (63 + 7*step)/64 + 1 <= 15, so step <= 128 bits (checked by the caller). A
 * position's last word reads r[i + 1] as the plain loop does (the row's spare word). */
__attribute__((target("avx512f,avx512vbmi2"))) void abc_bim2col_panel_vbmi2(const uint64_t *s, int rw, int size, int rk,
                                                                            size_t step, size_t bit, int n, uint64_t tail,
                                                                            uint64_t *out)
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
#else
void abc_bim2col_panel_vbmi2(const uint64_t *s, int rw, int size, int rk, size_t step, size_t bit, int n,
                             uint64_t tail, uint64_t *out)
{
    (void)s, (void)rw, (void)size, (void)rk, (void)step, (void)bit, (void)n, (void)tail, (void)out;
}
#endif
