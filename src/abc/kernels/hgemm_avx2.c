/* AVX2 segment GEMM: the AVX-512 kernel's scheme (hgemm_avx512.c) on 8
 * columns a ymm and 4 rows a tile, with the nibble-table popcount (two
 * vpshufb) summed into 32-bit lanes by vpmaddubsw (+ vpmaddwd for slots
 * over 16 bits). */
#include "hgemm_kernels.h"

#include "base/util.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma")))

enum { MR = 4, NR = 8 };


/* Per 32-bit lane: popcount of x (wide: the lane may have bits above 16). */
TGT static inline __attribute__((always_inline)) __m256i cnt32(__m256i x, __m256i lut, __m256i m4, __m256i one8,
                                                                int wide)
{
    __m256i lo = _mm256_and_si256(x, m4), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
    __m256i c8 = _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
    __m256i c16 = _mm256_maddubs_epi16(c8, one8);
    return wide ? _mm256_madd_epi16(c16, _mm256_set1_epi16(1)) : c16;
}

/* The output stage of hgemm.h on a vector of row r. */
TGT static inline __attribute__((always_inline)) __m256 out(__m256 v, const hada_hgemm_args *a, int r)
{
    if (!a->scale) return v;
    v = _mm256_fmadd_ps(v, _mm256_set1_ps(a->scale[r]), _mm256_set1_ps(a->shift[r]));
    if (a->act == HADA_ACT_LEAKY) return _mm256_max_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(0.1f)));
    if (a->act == HADA_ACT_RELU) return _mm256_max_ps(v, _mm256_setzero_ps());
    return v;
}

TGT static inline __attribute__((always_inline)) void tile(int S, int nsub, int wide, const uint32_t *Pw,
                                                            const uint32_t *Pa, int mr, int nr, float *C, size_t ldc,
                                                            const hada_hgemm_args *a, int m0)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3,
                                         1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i m4 = _mm256_set1_epi8(0x0f), one8 = _mm256_set1_epi8(1);
    __m256 acc[MR];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) acc[r] = _mm256_setzero_ps();
    size_t sw = (size_t)(nsub + 1) * MR, sa = (size_t)(nsub + 2) * NR;
    for (int j = 0; j < S; ++j, Pw += sw, Pa += sa) {
        __m256i b = _mm256_load_si256((const __m256i *)(const void *)Pa), c = b;
        if (nsub == 2) c = _mm256_load_si256((const __m256i *)(const void *)(Pa + NR));
        const float *fa = (const float *)(const void *)(Pa + nsub * NR);
        __m256 as = _mm256_load_ps(fa), am = _mm256_load_ps(fa + NR);
        const float *wm = (const float *)(const void *)(Pw + nsub * MR);
#pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) {
            __m256i p = cnt32(_mm256_xor_si256(b, _mm256_set1_epi32((int)Pw[r])), lut, m4, one8, wide);
            if (nsub == 2)
                p = _mm256_add_epi32(p, cnt32(_mm256_xor_si256(c, _mm256_set1_epi32((int)Pw[MR + r])), lut, m4,
                                              one8, wide));
            __m256 t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), am, as);
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(wm[r]), t, acc[r]);
        }
    }
    for (int r = 0; r < mr; ++r) {
        __m256 v = out(acc[r], a, m0 + r);
        if (nr == NR) {
            _mm256_storeu_ps(C + (size_t)r * ldc, v);
        } else {
            float t[NR];
            _mm256_storeu_ps(t, v);
            for (int c = 0; c < nr; ++c) C[(size_t)r * ldc + c] = t[c];
        }
    }
}

TGT static void tile_narrow(int S, const uint32_t *Pw, const uint32_t *Pa, int mr, int nr, float *C, size_t ldc,
                            const hada_hgemm_args *a, int m0)
{
    tile(S, 1, 0, Pw, Pa, mr, nr, C, ldc, a, m0);
}

TGT static void tile_wide(int S, int nsub, const uint32_t *Pw, const uint32_t *Pa, int mr, int nr, float *C,
                          size_t ldc, const hada_hgemm_args *a, int m0)
{
    if (nsub == 2)
        tile(S, 2, 1, Pw, Pa, mr, nr, C, ldc, a, m0);
    else
        tile(S, 1, 1, Pw, Pa, mr, nr, C, ldc, a, m0);
}

/* The blocked driver's tile: 16-bit or narrower slots in one pass, wider ones per 32-bit word. */
TGT static void tile_any(int S, int nsub, const uint32_t *Pw, const uint32_t *Pa, int mr, int nr, float *C, size_t ldc,
                         const hada_hgemm_args *a, int m0)
{
    if (a->s <= 16)
        tile_narrow(S, Pw, Pa, mr, nr, C, ldc, a, m0);
    else
        tile_wide(S, nsub, Pw, Pa, mr, nr, C, ldc, a, m0);
}

void hada_hgemm_avx2(const hada_hgemm_args *a) { hada_hgemm_blocked(a, MR, NR, tile_any); }
#else
void hada_hgemm_avx2(const hada_hgemm_args *a)
{
    (void)a;
    abc_die("the AVX2 segment GEMM is not built for this CPU");
}
#endif
