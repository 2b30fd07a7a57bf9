/* AVX2 binary GEMM: Mula's nibble-table popcount (two vpshufb per 256 bits)
 * with byte accumulators folded by vpsadbw only every 31 steps, on 2x2
 * tiles of rows (4 products per loaded vector pair), K vectorized, the last
 * partial vector read by a masked load (no read past the row). */
#include "bgemm_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,popcnt")))

enum { MR = 2, NR = 2, NB = 64, FOLD = 31 }; /* FOLD steps x 8 per byte fit in a byte */

static inline __attribute__((always_inline)) int imin(int a, int b) { return a < b ? a : b; }

TGT static inline __attribute__((always_inline)) __m256i cnt8(__m256i x, __m256i lut, __m256i m4)
{
    __m256i lo = _mm256_and_si256(x, m4), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

TGT static inline __attribute__((always_inline)) long long hsum(__m256i v)
{
    __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
}

TGT static void tile(int mr, int nr, int words, int K, const uint64_t *A, int lda, const uint64_t *B, int ldb,
                     int32_t *C, int ldc)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3,
                                         1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i m4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
    const uint64_t *a[MR], *b[NR];
    #pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) a[r] = A + (long)imin(r, mr - 1) * lda;
    #pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) b[c] = B + (long)imin(c, nr - 1) * ldb;
    __m256i s64[MR][NR];
    #pragma GCC unroll 4
    for (int r = 0; r < MR; ++r)
        #pragma GCC unroll 4
        for (int c = 0; c < NR; ++c) s64[r][c] = zero;
    int full = words / 4, rest = words % 4;
    for (int v0 = 0; v0 < full; v0 += FOLD) {
        int v1 = imin(full, v0 + FOLD);
        __m256i s8[MR][NR];
        #pragma GCC unroll 4
        for (int r = 0; r < MR; ++r)
            #pragma GCC unroll 4
            for (int c = 0; c < NR; ++c) s8[r][c] = zero;
        for (int v = v0; v < v1; ++v) {
            __m256i va[MR], vb[NR];
            #pragma GCC unroll 4
            for (int r = 0; r < MR; ++r) va[r] = _mm256_loadu_si256((const __m256i *)(a[r] + 4 * v));
            #pragma GCC unroll 4
            for (int c = 0; c < NR; ++c) vb[c] = _mm256_loadu_si256((const __m256i *)(b[c] + 4 * v));
            #pragma GCC unroll 4
            for (int r = 0; r < MR; ++r)
                #pragma GCC unroll 4
                for (int c = 0; c < NR; ++c)
                    s8[r][c] = _mm256_add_epi8(s8[r][c], cnt8(_mm256_xor_si256(va[r], vb[c]), lut, m4));
        }
        #pragma GCC unroll 4
        for (int r = 0; r < MR; ++r)
            #pragma GCC unroll 4
            for (int c = 0; c < NR; ++c) s64[r][c] = _mm256_add_epi64(s64[r][c], _mm256_sad_epu8(s8[r][c], zero));
    }
    if (rest) {
        __m256i mask = _mm256_cmpgt_epi64(_mm256_set1_epi64x(rest), _mm256_setr_epi64x(0, 1, 2, 3));
        __m256i va[MR], vb[NR];
        #pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) va[r] = _mm256_maskload_epi64((const long long *)(a[r] + 4 * full), mask);
        #pragma GCC unroll 4
        for (int c = 0; c < NR; ++c) vb[c] = _mm256_maskload_epi64((const long long *)(b[c] + 4 * full), mask);
        #pragma GCC unroll 4
        for (int r = 0; r < MR; ++r)
            #pragma GCC unroll 4
            for (int c = 0; c < NR; ++c)
                s64[r][c] = _mm256_add_epi64(
                    s64[r][c], _mm256_sad_epu8(cnt8(_mm256_xor_si256(va[r], vb[c]), lut, m4), zero));
    }
#pragma GCC unroll 4
    for (int r = 0; r < mr; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < nr; ++c) C[(long)r * ldc + c] = K - 2 * (int)hsum(s64[r][c]);
}

TGT void abc_bgemm_avx2(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                        int32_t *C, int ldc)
{
    int words = abc_bgemm_words(K);
    for (int n0 = 0; n0 < N; n0 += NB) {
        int n1 = imin(N, n0 + NB);
        for (int m = 0; m < M; m += MR)
            for (int n = n0; n < n1; n += NR)
                tile(imin(MR, M - m), imin(NR, n1 - n), words, K, A + (long)m * lda_words, lda_words,
                     B + (long)n * ldb_words, ldb_words, C + (long)m * ldc + n, ldc);
    }
}
#else
#include "abc_util.h"
void abc_bgemm_avx2(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                    int32_t *C, int ldc)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda_words, (void)B, (void)ldb_words, (void)C, (void)ldc;
    abc_die("the AVX2 binary GEMM is not built for this CPU");
}
#endif
