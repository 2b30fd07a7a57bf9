/* AVX-512 VPOPCNTDQ binary GEMM. B is repacked, 16 columns at a time, into a
 * panel [word][16 columns] (a few KB, in L1), then 8 rows of A are run
 * against it: each word of A is broadcast inside vpxorq and xor-ed with the
 * 16 columns' words, vpopcntq, vpaddq into 8x2 zmm accumulators whose lanes
 * are output columns, so no horizontal sums are needed. Edge rows repeat the
 * last row (not stored), edge columns are zero words (masked stores). */
#include "bgemm_kernels.h"
#include "bgemm_panel.h"

#include "base/util.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512vpopcntdq")))

enum { MR = 8, NR = ABC_BGEMM_PANEL }; /* tile rows, panel columns */

static inline __attribute__((always_inline)) int imin(int a, int b) { return a < b ? a : b; }

/* One tile: rows [0, mr) of A (lda words apart) against a panel, counts
 * K - 2*popcount into C, or, with an output stage o, its floats (bgemm.h). */
TGT static inline __attribute__((always_inline)) void tile_any(int mr, int nr, int words, int K, const uint64_t *A,
                                                                int lda, const uint64_t *P, int32_t *C, int ldc,
                                                                const abc_bgemm_out *o, int m0, int n0)
{
    const uint64_t *a[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) a[r] = A + (long)imin(r, mr - 1) * lda;
    __m512i s0[MR], s1[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) s0[r] = s1[r] = _mm512_setzero_si512();
    for (int w = 0; w < words; ++w) {
        __m512i b0 = _mm512_load_si512(P + (long)w * NR), b1 = _mm512_load_si512(P + (long)w * NR + 8);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            __m512i x = _mm512_set1_epi64((long long)a[r][w]);
            s0[r] = _mm512_add_epi64(s0[r], _mm512_popcnt_epi64(_mm512_xor_si512(x, b0)));
            s1[r] = _mm512_add_epi64(s1[r], _mm512_popcnt_epi64(_mm512_xor_si512(x, b1)));
        }
    }
    __mmask16 m = nr >= NR ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    __m512i k = _mm512_set1_epi32(K), cls = _mm512_setzero_si512();
    __mmask16 corr = 0; /* the lanes with a correction */
    if (o && o->cls) {
        cls = _mm512_maskz_loadu_epi32(m, o->cls + n0);
        corr = _mm512_mask_cmpge_epi32_mask(m, cls, _mm512_setzero_si512());
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        if (r >= mr) break;
        __m512i s = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(s0[r])),
                                       _mm512_cvtepi64_epi32(s1[r]), 1);
        __m512i c = _mm512_sub_epi32(k, _mm512_slli_epi32(s, 1));
        if (!o) {
            _mm512_mask_storeu_epi32(C + (long)r * ldc, m, c);
            continue;
        }
        __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(c), _mm512_set1_ps(o->scale[m0 + r]),
                                   _mm512_set1_ps(o->shift[m0 + r]));
        if (corr)
            v = _mm512_add_ps(v, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), corr, cls,
                                                          o->corr + (long)(m0 + r) * o->ldcorr, 4));
        if (o->act == ABC_BGEMM_ACT_LEAKY) v = _mm512_max_ps(v, _mm512_mul_ps(v, _mm512_set1_ps(0.1f)));
        else if (o->act == ABC_BGEMM_ACT_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
        _mm512_mask_storeu_ps(o->out + (long)(m0 + r) * o->ldo + n0, m, v);
    }
}

TGT static void tile(int mr, int nr, int words, int K, const uint64_t *A, int lda, const uint64_t *P, int32_t *C,
                     int ldc)
{
    tile_any(mr, nr, words, K, A, lda, P, C, ldc, NULL, 0, 0);
}

TGT static void tile_out(int mr, int nr, int words, int K, const uint64_t *A, int lda, const uint64_t *P,
                         const abc_bgemm_out *o, int m0, int n0)
{
    tile_any(mr, nr, words, K, A, lda, P, NULL, 0, o, m0, n0);
}

void abc_bgemm_avx512(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                      int32_t *C, int ldc)
{
    abc_bgemm_by_panels(abc_bgemm_avx512_panels, M, N, K, A, lda_words, B, ldb_words, C, ldc);
}

void abc_bgemm_avx512_panels(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *Bp, int32_t *C,
                             int ldc)
{
    int words = abc_bgemm_words(K);
    for (int n = 0; n < N; n += NR) {
        int nr = imin(NR, N - n);
        const uint64_t *P = Bp + (size_t)(n / NR) * words * NR;
        for (int m = 0; m < M; m += MR)
            tile(imin(MR, M - m), nr, words, K, A + (long)m * lda_words, lda_words, P, C + (long)m * ldc + n, ldc);
    }
}
void abc_bgemm_avx512_panels_out(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *Bp,
                                 const abc_bgemm_out *o)
{
    int words = abc_bgemm_words(K);
    for (int n = 0; n < N; n += NR) {
        int nr = imin(NR, N - n);
        const uint64_t *P = Bp + (size_t)(n / NR) * words * NR;
        for (int m = 0; m < M; m += MR)
            tile_out(imin(MR, M - m), nr, words, K, A + (long)m * lda_words, lda_words, P, o, m, n);
    }
}
#else
void abc_bgemm_avx512_panels_out(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *Bp,
                                 const abc_bgemm_out *o)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda_words, (void)Bp, (void)o;
    abc_die("the AVX-512 binary GEMM is not built for this CPU");
}

void abc_bgemm_avx512_panels(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *Bp, int32_t *C,
                             int ldc)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda_words, (void)Bp, (void)C, (void)ldc;
    abc_die("the AVX-512 binary GEMM is not built for this CPU");
}

void abc_bgemm_avx512(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                      int32_t *C, int ldc)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda_words, (void)B, (void)ldb_words, (void)C, (void)ldc;
    abc_die("the AVX-512 binary GEMM is not built for this CPU");
}
#endif
