/* AVX2 binary GEMM: Mula's nibble-table popcount (two vpshufb per 256 bits)
 * with byte accumulators folded by vpsadbw only every 31 words, on B in
 * 16-column panels (bgemm.h; B given by rows is repacked a panel at a time).
 * No fused output stage: with the floats computed in the store (4 a row a
 * tile) the XNOR 56x56x64 layer ran 5-30% slower than with the layer's
 * combining pass over the counts. */
#include "bgemm_kernels.h"
#include "bgemm_panel.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,popcnt")))

enum { FOLD = 31 }; /* FOLD words x at most 8 per byte fit in a byte */

static inline __attribute__((always_inline)) int imin(int a, int b) { return a < b ? a : b; }

TGT static inline __attribute__((always_inline)) __m256i cnt8(__m256i x, __m256i lut, __m256i m4)
{
    __m256i lo = _mm256_and_si256(x, m4), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

/* A tile is PMR rows of A against 4 columns of a panel, one ymm of 64-bit
 * lanes: each word of A is broadcast and xor-ed with 4 columns' words, and
 * the counts stay in their columns' lanes (vpsadbw sums each lane's bytes).
 * No horizontal sums: with B by rows (K along the vector, 2x2 tiles) they
 * cost as much as the counting at small K (a 3x3x64 conv has 9 words): that
 * kernel ran the XNOR 56x56x64 layer 3.3x slower, and 256x3136x2304 at
 * 195-199 G binary MAC/s against 211-255 for this one. */
enum { PMR = 4, PNR = 4 };

TGT static inline __attribute__((always_inline)) void ptile(int mr, int nc, int words, int K, const uint64_t *A,
                                                             int lda, const uint64_t *P, int32_t *C, int ldc)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3,
                                         1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i m4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
    const uint64_t *a[PMR];
    #pragma GCC unroll 4
    for (int r = 0; r < PMR; ++r) a[r] = A + (long)imin(r, mr - 1) * lda;
    __m256i s64[PMR];
    #pragma GCC unroll 4
    for (int r = 0; r < PMR; ++r) s64[r] = zero;
    for (int w0 = 0; w0 < words; w0 += FOLD) {
        int w1 = imin(words, w0 + FOLD);
        __m256i s8[PMR];
        #pragma GCC unroll 4
        for (int r = 0; r < PMR; ++r) s8[r] = zero;
        for (int w = w0; w < w1; ++w) {
            __m256i b = _mm256_load_si256((const __m256i *)(const void *)(P + (long)w * ABC_BGEMM_PANEL));
            #pragma GCC unroll 4
            for (int r = 0; r < PMR; ++r)
                s8[r] = _mm256_add_epi8(
                    s8[r], cnt8(_mm256_xor_si256(_mm256_set1_epi64x((long long)a[r][w]), b), lut, m4));
        }
        #pragma GCC unroll 4
        for (int r = 0; r < PMR; ++r) s64[r] = _mm256_add_epi64(s64[r], _mm256_sad_epu8(s8[r], zero));
    }
    const __m256i low = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m128i k = _mm_set1_epi32(K);
    #pragma GCC unroll 4
    for (int r = 0; r < PMR; ++r) {
        if (r >= mr) break;
        __m128i c = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(s64[r], low)); /* the 4 counts, as int32 */
        c = _mm_sub_epi32(k, _mm_slli_epi32(c, 1));
        if (nc == PNR) {
            _mm_storeu_si128((__m128i *)(void *)(C + (long)r * ldc), c);
        } else {
            int32_t t[PNR];
            _mm_storeu_si128((__m128i *)(void *)t, c);
            for (int q = 0; q < nc; ++q) C[(long)r * ldc + q] = t[q];
        }
    }
}

/* All rows of A against columns [0, nn) of one panel. */
TGT static void panel(int M, int nn, int words, int K, const uint64_t *A, int lda, const uint64_t *P, int32_t *C,
                      int ldc)
{
    for (int m = 0; m < M; m += PMR)
        for (int q = 0; q < nn; q += PNR)
            ptile(imin(PMR, M - m), imin(PNR, nn - q), words, K, A + (long)m * lda, lda, P + q,
                  C + (long)m * ldc + q, ldc);
}

TGT void abc_bgemm_avx2_panels(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *Bp, int32_t *C,
                               int ldc)
{
    int words = abc_bgemm_words(K);
    for (int n0 = 0; n0 < N; n0 += ABC_BGEMM_PANEL) /* a panel is a few KB: in L1 */
        panel(M, imin(ABC_BGEMM_PANEL, N - n0), words, K, A, lda_words,
              Bp + (long)(n0 / ABC_BGEMM_PANEL) * words * ABC_BGEMM_PANEL, C + n0, ldc);
}

void abc_bgemm_avx2(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                    int32_t *C, int ldc)
{
    abc_bgemm_by_panels(abc_bgemm_avx2_panels, M, N, K, A, lda_words, B, ldb_words, C, ldc);
}
#else
#include "base/util.h"
void abc_bgemm_avx2(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                    int32_t *C, int ldc)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda_words, (void)B, (void)ldb_words, (void)C, (void)ldc;
    abc_die("the AVX2 binary GEMM is not built for this CPU");
}
void abc_bgemm_avx2_panels(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *Bp, int32_t *C,
                           int ldc)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda_words, (void)Bp, (void)C, (void)ldc;
    abc_die("the AVX2 binary GEMM is not built for this CPU");
}
#endif
