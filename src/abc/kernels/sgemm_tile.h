/* What the fp32 and bf16 AVX-512 GEMM kernels share: writing a row of their
 * fp32 sums into C. Include only from files compiled for x86-64 with GCC or
 * clang; the functions take the AVX-512F target themselves. */
#ifndef ABC_SGEMM_TILE_H
#define ABC_SGEMM_TILE_H

#include <immintrin.h>

/* The lanes of a 16-float vector that hold columns [from, n): n - from of them, at most 16. */
__attribute__((target("avx512f"))) static inline __mmask16 abc_tile_mask(int n, int from)
{
    int k = n - from;
    return k >= 16 ? (__mmask16)0xffff : k <= 0 ? (__mmask16)0 : (__mmask16)((1u << k) - 1);
}

/* c[lanes of m] = alpha * sums + beta * c (beta 0: c not read). */
__attribute__((target("avx512f"))) static inline void abc_tile_store(float *c, __m512 sums, __mmask16 m, float alpha,
                                                                      float beta)
{
    __m512 x = _mm512_mul_ps(_mm512_set1_ps(alpha), sums);
    if (beta != 0) x = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(m, c), x);
    _mm512_mask_storeu_ps(c, m, x);
}

#endif
