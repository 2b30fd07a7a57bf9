/* Float GEMM for the fast float layers and the gemm hook: row-major,
 * C = alpha*op(A)*op(B) + beta*C, the same contract as cblas_sgemm and
 * darknet's gemm (TA/TB non-zero = transposed). */
#ifndef ABC_SGEMM_H
#define ABC_SGEMM_H

/* One single-threaded product on the calling thread: the project's AVX-512
 * kernel where the CPU has AVX-512 but OpenBLAS runs AVX2 kernels (Debian's
 * OpenBLAS 0.3.21 on Zen 4/5, or OPENBLAS_CORETYPE=Haswell), else OpenBLAS;
 * ABC_GEMM=openblas forces OpenBLAS. Callers inside pool tasks must have set
 * OpenBLAS to 1 thread first (abc_sgemm_serial_mode). */
void abc_sgemm1(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc);

/* A product of a training step (forward, backward data, backward weights of the fast float layers and of
 * the quantized layers' simulated products): abc_sgemm1, or with bf16 operands and fp32 sums when the
 * training precision is bf16. */
void abc_sgemm_train(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                     int ldb, float beta, float *C, int ldc);

/* Whether this CPU multiplies bf16 (AVX512-BF16). */
int abc_sgemm_bf16_supported(void);

/* The training precision for the rest of the process: bf16 (1) where the CPU has it, else fp32 (0); returns
 * what is in force. Not to be called while pool tasks run. */
int abc_sgemm_set_train_bf16(int on);
int abc_sgemm_train_bf16(void);

/* "abc AVX-512 8x32" or "OpenBLAS <core>": what abc_sgemm1 runs. */
const char *abc_sgemm_kernel_name(void);

/* Sets OpenBLAS to 1 thread so that its workers stay asleep while the
 * project's pool runs; call on the job's thread before abc_pool_run. */
void abc_sgemm_serial_mode(void);

/* The same product split into row or column blocks across the project's
 * pool, each block one single-threaded OpenBLAS call. */
void abc_sgemm_pool(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc);

/* OpenBLAS threaded by itself with abc_get_threads() threads (the stock path). */
void abc_sgemm_blas(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc);

#endif
