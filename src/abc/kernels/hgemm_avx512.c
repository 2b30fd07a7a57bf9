/* AVX-512 segment GEMM (VPOPCNTDQ). Lanes are output columns (A rows): a
 * column panel holds, per segment, the 32 columns' segment bits in 32-bit
 * lanes (two words for 64-bit slots), len*Am and -2*Am; a row panel holds
 * 8 filters' bits and Wm. Per segment and tile of 8 rows x 32 columns, each
 * row's bits are broadcast into vpxord, then vpopcntd, vcvtdq2ps, one FMA
 * t = len*Am - 2*Am*popcount (the length correction and the activation
 * magnitude at once) and one FMA acc += Wm*t: five instructions per 16
 * segment products. Panels are built once per call (rows) and per 32
 * columns; padding lanes are zero, so they add 0. */
#include "hgemm_kernels.h"

#include "base/util.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512vpopcntdq")))

enum { MR = 8, NR = 32 };


/* The output stage of hgemm.h on a vector of row r. */
TGT static inline __attribute__((always_inline)) __m512 out(__m512 v, const hada_hgemm_args *a, int r)
{
    if (!a->scale) return v;
    v = _mm512_fmadd_ps(v, _mm512_set1_ps(a->scale[r]), _mm512_set1_ps(a->shift[r]));
    if (a->act == HADA_ACT_LEAKY) return _mm512_max_ps(v, _mm512_mul_ps(v, _mm512_set1_ps(0.1f)));
    if (a->act == HADA_ACT_RELU) return _mm512_max_ps(v, _mm512_setzero_ps());
    return v;
}

TGT static inline __attribute__((always_inline)) void tile(int S, int nsub, const uint32_t *Pw, const uint32_t *Pa,
                                                            int mr, int nr, float *C, size_t ldc,
                                                            const hada_hgemm_args *a, int m0)
{
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) acc0[r] = acc1[r] = _mm512_setzero_ps();
    size_t sw = (size_t)(nsub + 1) * MR, sa = (size_t)(nsub + 2) * NR;
    for (int j = 0; j < S; ++j, Pw += sw, Pa += sa) {
        __m512i b0 = _mm512_load_si512(Pa), b1 = _mm512_load_si512(Pa + 16);
        __m512i c0 = b0, c1 = b1;
        if (nsub == 2) c0 = _mm512_load_si512(Pa + NR), c1 = _mm512_load_si512(Pa + NR + 16);
        const float *fa = (const float *)(const void *)(Pa + nsub * NR);
        __m512 as0 = _mm512_load_ps(fa), as1 = _mm512_load_ps(fa + 16);
        __m512 am0 = _mm512_load_ps(fa + NR), am1 = _mm512_load_ps(fa + NR + 16);
        const float *wm = (const float *)(const void *)(Pw + nsub * MR);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            __m512i w = _mm512_set1_epi32((int)Pw[r]);
            __m512i p0 = _mm512_popcnt_epi32(_mm512_xor_si512(b0, w));
            __m512i p1 = _mm512_popcnt_epi32(_mm512_xor_si512(b1, w));
            if (nsub == 2) {
                __m512i w2 = _mm512_set1_epi32((int)Pw[MR + r]);
                p0 = _mm512_add_epi32(p0, _mm512_popcnt_epi32(_mm512_xor_si512(c0, w2)));
                p1 = _mm512_add_epi32(p1, _mm512_popcnt_epi32(_mm512_xor_si512(c1, w2)));
            }
            __m512 t0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p0), am0, as0);
            __m512 t1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p1), am1, as1);
            __m512 m = _mm512_set1_ps(wm[r]);
            acc0[r] = _mm512_fmadd_ps(m, t0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(m, t1, acc1[r]);
        }
    }
    __mmask16 k0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    __mmask16 k1 = nr >= 32 ? (__mmask16)0xffff : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
    for (int r = 0; r < mr; ++r) {
        _mm512_mask_storeu_ps(C + (size_t)r * ldc, k0, out(acc0[r], a, m0 + r));
        _mm512_mask_storeu_ps(C + (size_t)r * ldc + 16, k1, out(acc1[r], a, m0 + r));
    }
}

TGT static void tile1(int S, const uint32_t *Pw, const uint32_t *Pa, int mr, int nr, float *C, size_t ldc,
                      const hada_hgemm_args *a, int m0)
{
    tile(S, 1, Pw, Pa, mr, nr, C, ldc, a, m0);
}

TGT static void tile2(int S, const uint32_t *Pw, const uint32_t *Pa, int mr, int nr, float *C, size_t ldc,
                      const hada_hgemm_args *a, int m0)
{
    tile(S, 2, Pw, Pa, mr, nr, C, ldc, a, m0);
}

TGT static void tile_any(int S, int nsub, const uint32_t *Pw, const uint32_t *Pa, int mr, int nr, float *C, size_t ldc,
                         const hada_hgemm_args *a, int m0)
{
    if (nsub == 1)
        tile1(S, Pw, Pa, mr, nr, C, ldc, a, m0);
    else
        tile2(S, Pw, Pa, mr, nr, C, ldc, a, m0);
}

void hada_hgemm_avx512(const hada_hgemm_args *a) { hada_hgemm_blocked(a, MR, NR, tile_any); }
#else
void hada_hgemm_avx512(const hada_hgemm_args *a)
{
    (void)a;
    abc_die("the AVX-512 segment GEMM is not built for this CPU");
}
#endif
