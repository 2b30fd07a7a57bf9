/* The project's AVX-512 SGEMM (row major, cblas_sgemm's contract), single
 * threaded; for CPUs where OpenBLAS runs only AVX2 kernels. */
#ifndef ABC_SGEMM_AVX512_H
#define ABC_SGEMM_AVX512_H

void abc_sgemm_avx512(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc);

#endif
