/* The integer GEMM on AVX-512 VNNI (igemm.h): vpdpbusd multiplies 4 uint8 inputs of a pixel by the 4 int8
 * weights of a filter broadcast to every lane and adds the 4 products to the pixel's int32 sum; blocks of
 * 12 filters x 32 pixels (24 sums) stay in registers over the whole depth, so that each load of 64 input bytes
 * serves 12 products (blocks of 4 x 64 ran at about 0.6x the speed). The loops over the block are unrolled by
 * pragma: without it GCC kept the sums in memory (half the speed). */
#include <immintrin.h>

#include "igemm.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))

/* mr x nv accumulators; masked: the last vector's pixels are the tail's (masked loads and stores), else full */
static inline TARGET __attribute__((always_inline)) void block(int mr, int nv, int masked, __mmask16 tail, int kp,
                                                               const int8_t *A, const uint8_t *B, int ldb,
                                                               int32_t *C, int ldc)
{
    __m512i acc[12][2];
    _Pragma("GCC unroll 16") for (int m = 0; m < mr; ++m)
        _Pragma("GCC unroll 16") for (int v = 0; v < nv; ++v) acc[m][v] = _mm512_setzero_si512();
    for (int g = 0; g < kp / 4; ++g) {
        const uint8_t *b = B + (size_t)g * ldb * 4;
        __m512i x[2];
        _Pragma("GCC unroll 16") for (int v = 0; v < nv; ++v)
            x[v] = masked && v == nv - 1 ? _mm512_maskz_loadu_epi32(tail, b + v * 64) : _mm512_loadu_si512(b + v * 64);
        _Pragma("GCC unroll 16") for (int m = 0; m < mr; ++m) {
            int32_t w4;
            __builtin_memcpy(&w4, A + (size_t)m * kp + g * 4, 4);
            __m512i w = _mm512_set1_epi32(w4);
            _Pragma("GCC unroll 16") for (int v = 0; v < nv; ++v) acc[m][v] = _mm512_dpbusd_epi32(acc[m][v], x[v], w);
        }
    }
    _Pragma("GCC unroll 16") for (int m = 0; m < mr; ++m)
        _Pragma("GCC unroll 16") for (int v = 0; v < nv; ++v) {
            int32_t *c = C + (size_t)m * ldc + v * 16;
            if (masked && v == nv - 1) _mm512_mask_storeu_epi32(c, tail, acc[m][v]);
            else _mm512_storeu_si512(c, acc[m][v]);
        }
}

/* mr and nv constants in each call, so that the accumulators are registers */
static inline TARGET __attribute__((always_inline)) void rows(int mr, int N, int kp, const int8_t *A,
                                                              const uint8_t *B, int ldb, int32_t *C, int ldc)
{
    int p = 0;
    for (; p + 32 <= N; p += 32) block(mr, 2, 0, 0, kp, A, B + (size_t)p * 4, ldb, C + p, ldc);
    int r = N - p;
    if (r > 16) block(mr, 2, 1, (__mmask16)((1u << (r - 16)) - 1), kp, A, B + (size_t)p * 4, ldb, C + p, ldc);
    else if (r > 0) block(mr, 1, 1, (__mmask16)((1u << r) - 1), kp, A, B + (size_t)p * 4, ldb, C + p, ldc);
}

TARGET void abc_igemm_avx512vnni(int M, int N, int kp, const int8_t *A, const uint8_t *B, int ldb, int32_t *C,
                                 int ldc)
{
    int m = 0;
    for (; m + 12 <= M; m += 12) rows(12, N, kp, A + (size_t)m * kp, B, ldb, C + (size_t)m * ldc, ldc);
    for (; m + 4 <= M; m += 4) rows(4, N, kp, A + (size_t)m * kp, B, ldb, C + (size_t)m * ldc, ldc);
    for (; m < M; ++m) rows(1, N, kp, A + (size_t)m * kp, B, ldb, C + (size_t)m * ldc, ldc);
}
