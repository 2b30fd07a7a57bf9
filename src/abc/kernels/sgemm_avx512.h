/* The project's AVX-512 SGEMM (row major, cblas_sgemm's contract), single
 * threaded; for CPUs where OpenBLAS runs only AVX2 kernels. */
#ifndef ABC_SGEMM_AVX512_H
#define ABC_SGEMM_AVX512_H

#include <stddef.h>

void abc_sgemm_avx512(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc);

/* The same contract with bf16 operands (rounded to nearest even) and fp32 sums, for CPUs with AVX512-BF16
 * (sgemm_bf16_avx512.c). */
void abc_sgemm_bf16_avx512(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *B, int ldb, float beta, float *C, int ldc);

/* C = alpha * sum over g < images of A_g B_g^T + beta * C, A_g = A + g * stepA (M x K, row stride lda),
 * B_g = B + g * stepB (N x K, row stride ldb), in bf16 with fp32 sums: a weight gradient over several images
 * in one product (each image's K alone is too short to be worth a pass over C). images is at most
 * abc_sgemm_bf16_images_max(K) (0 < K <= 512). */
void abc_sgemm_bf16_images(int M, int N, int K, int images, float alpha, const float *A, int lda, size_t stepA,
                           const float *B, int ldb, size_t stepB, float beta, float *C, int ldc);
int abc_sgemm_bf16_images_max(int K);

/* Products after this call see operands' memory anew: the bf16 gemm keeps a packed op(A) (a layer's weights)
 * for the products of one epoch, and a new epoch must begin whenever an A's contents may have changed. */
void abc_sgemm_bf16_new_epoch(void);

#endif
