/* The integer GEMM on AVX2 (igemm.h), exact: vpmaddubsw would saturate its 16-bit pair sums (255 x 127 x 2),
 * so the bytes are split into 16-bit even and odd halves (inputs zero-extended, weights sign-extended) and
 * multiplied by vpmaddwd into int32 sums. Blocks of 4 filters x 16 pixels stay in registers over the depth. */
#include <immintrin.h>

#include "igemm.h"

#define TARGET __attribute__((target("avx2")))

static inline TARGET __attribute__((always_inline)) __m256i tail_mask(int n)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

static inline TARGET __attribute__((always_inline)) void block(int mr, int nv, int tail, int kp, const int8_t *A,
                                                               const uint8_t *B, int ldb, int32_t *C, int ldc)
{
    const __m256i lo8 = _mm256_set1_epi16(0xff);
    __m256i acc[4][2], mask = tail_mask(tail);
    _Pragma("GCC unroll 16") for (int m = 0; m < mr; ++m)
        _Pragma("GCC unroll 16") for (int v = 0; v < nv; ++v) acc[m][v] = _mm256_setzero_si256();
    for (int g = 0; g < kp / 4; ++g) {
        const uint8_t *b = B + (size_t)g * ldb * 4;
        __m256i even[2], odd[2];
        _Pragma("GCC unroll 16") for (int v = 0; v < nv; ++v) {
            __m256i x = v == nv - 1 ? _mm256_maskload_epi32((const int *)(const void *)(b + v * 32), mask)
                                    : _mm256_loadu_si256((const __m256i *)(const void *)(b + v * 32));
            even[v] = _mm256_and_si256(x, lo8); /* bytes 0, 2 of each pixel as 16-bit */
            odd[v] = _mm256_srli_epi16(x, 8);   /* bytes 1, 3 */
        }
        _Pragma("GCC unroll 16") for (int m = 0; m < mr; ++m) {
            int32_t w4;
            __builtin_memcpy(&w4, A + (size_t)m * kp + g * 4, 4);
            __m256i w = _mm256_set1_epi32(w4);
            __m256i we = _mm256_srai_epi16(_mm256_slli_epi16(w, 8), 8), wo = _mm256_srai_epi16(w, 8);
            _Pragma("GCC unroll 16") for (int v = 0; v < nv; ++v)
                acc[m][v] = _mm256_add_epi32(acc[m][v], _mm256_add_epi32(_mm256_madd_epi16(even[v], we),
                                                                         _mm256_madd_epi16(odd[v], wo)));
        }
    }
    _Pragma("GCC unroll 16") for (int m = 0; m < mr; ++m)
        _Pragma("GCC unroll 16") for (int v = 0; v < nv; ++v) {
            int32_t *c = C + (size_t)m * ldc + v * 8;
            if (v == nv - 1) _mm256_maskstore_epi32((int *)c, mask, acc[m][v]);
            else _mm256_storeu_si256((__m256i *)(void *)c, acc[m][v]);
        }
}

static inline TARGET __attribute__((always_inline)) void rows(int mr, int N, int kp, const int8_t *A,
                                                              const uint8_t *B, int ldb, int32_t *C, int ldc)
{
    int p = 0;
    for (; p + 16 <= N; p += 16) block(mr, 2, 8, kp, A, B + (size_t)p * 4, ldb, C + p, ldc);
    for (; p < N; p += 8) block(mr, 1, N - p < 8 ? N - p : 8, kp, A, B + (size_t)p * 4, ldb, C + p, ldc);
}

TARGET void abc_igemm_avx2(int M, int N, int kp, const int8_t *A, const uint8_t *B, int ldb, int32_t *C, int ldc)
{
    int m = 0;
    for (; m + 4 <= M; m += 4) rows(4, N, kp, A + (size_t)m * kp, B, ldb, C + (size_t)m * ldc, ldc);
    for (; m < M; ++m) rows(1, N, kp, A + (size_t)m * kp, B, ldb, C + (size_t)m * ldc, ldc);
}
