/* The integer GEMM's table and its definition (igemm.h); the SIMD kernels are in igemm_avx2.c and
 * igemm_avx512vnni.c. */
#include "igemm.h"

#include "cpu.h"

void abc_igemm_ref(int M, int N, int kp, const int8_t *A, const uint8_t *B, int ldb, int32_t *C, int ldc)
{
    for (int m = 0; m < M; ++m)
        for (int p = 0; p < N; ++p) {
            int32_t s = 0;
            for (int k = 0; k < kp; ++k)
                s += (int32_t)A[(size_t)m * kp + k] * B[((size_t)(k / 4) * ldb + p) * 4 + k % 4];
            C[(size_t)m * ldc + p] = s;
        }
}

static const abc_igemm_kernel table[] = {
    {{"ref", "plain definition, one sum at a time", 0}, abc_igemm_ref},
    {{"avx2", "AVX2 vpmaddwd on the bytes split into 16-bit halves (exact), 4 filters x 16 pixels", ABC_CPU_AVX2},
     abc_igemm_avx2},
    {{"avx512vnni", "AVX-512 VNNI vpdpbusd, 12 filters x 32 pixels in registers",
      ABC_CPU_AVX512F | ABC_CPU_AVX512BW | ABC_CPU_AVX512VNNI},
     abc_igemm_avx512vnni},
};

abc_kernel_family abc_igemm_family = ABC_KERNEL_FAMILY("integer GEMM", ABC_MODE_IGEMM, table);

void abc_igemm(int M, int N, int kp, const int8_t *A, const uint8_t *B, int ldb, int32_t *C, int ldc)
{
    const abc_igemm_kernel *k = abc_kernel_chosen(&abc_igemm_family);
    k->fn(M, N, kp, A, B, ldb, C, ldc);
}
