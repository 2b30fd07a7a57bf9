/* Integer GEMM of the quant layers: C[m][p] = sum_k A[m][k] * B[k][p], int8 weights times uint8 inputs with
 * int32 sums, exact. A: M rows of kp bytes (kp = K rounded up to 4, the padding 0). B: the inputs in groups
 * of 4 k, byte (k % 4) of pixel p of group k / 4 at B[((k / 4) * ldb + p) * 4 + k % 4], as AVX-512 VNNI's
 * vpdpbusd reads them. Columns [0, N) of C (row stride ldc); a caller splits the columns between threads by
 * offsetting B by 4 p0 and C by p0. Kernels: ref (the definition), avx2, avx512vnni; the best this CPU runs, or the
 * one ABC_IGEMM=<name> names (select.h). */
#ifndef ABC_IGEMM_H
#define ABC_IGEMM_H

#include <stdint.h>

#include "select.h"

typedef void (*abc_igemm_fn)(int M, int N, int kp, const int8_t *A, const uint8_t *B, int ldb, int32_t *C,
                             int ldc);
typedef struct {
    abc_kernel_desc d; /* name (ABC_IGEMM=<name>), one line, CPU features */
    abc_igemm_fn fn;
} abc_igemm_kernel;

extern abc_kernel_family abc_igemm_family;

/* Through the chosen kernel. */
void abc_igemm(int M, int N, int kp, const int8_t *A, const uint8_t *B, int ldb, int32_t *C, int ldc);

/* The kernels (each in its own file). */
void abc_igemm_ref(int M, int N, int kp, const int8_t *A, const uint8_t *B, int ldb, int32_t *C, int ldc);
void abc_igemm_avx2(int M, int N, int kp, const int8_t *A, const uint8_t *B, int ldb, int32_t *C, int ldc);
void abc_igemm_avx512vnni(int M, int N, int kp, const int8_t *A, const uint8_t *B, int ldb, int32_t *C, int ldc);

#endif
