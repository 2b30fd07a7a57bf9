/* The table of binary GEMM kernels behind abc_bgemm (bgemm.h): each row is
 * a single-threaded kernel with exactly abc_bgemm_ref's contract and the CPU
 * features it needs; the family (select.h) runs the best usable one, or the
 * one ABC_BGEMM=<name> names; abc_bgemm splits large products across the pool. */
#ifndef ABC_BGEMM_KERNELS_H
#define ABC_BGEMM_KERNELS_H

#include "bgemm.h"
#include "select.h"

typedef struct {
    abc_kernel_desc d;    /* name (ABC_BGEMM=<name>), one line, CPU features */
    abc_bgemm_fn fn;
    abc_bgemm_panel_fn panels; /* the product from B in panels (bgemm.h), or NULL */
    abc_bgemm_panel_out_fn panels_out; /* the same with the output stage (bgemm.h), or NULL */
} abc_bgemm_kernel;

/* The kernels (rows: abc_bgemm_kernel, best last); abc_kernel_chosen(&abc_bgemm_family) is the one abc_bgemm runs. */
extern abc_kernel_family abc_bgemm_family;
/* The product through kernel k, split across abc_get_threads() pool threads when large. */
void abc_bgemm_with(const abc_bgemm_kernel *k, int M, int N, int K, const uint64_t *A, int lda_words,
                    const uint64_t *B, int ldb_words, int32_t *C, int ldc);

/* The kernels (each in its own file). */
void abc_bgemm_portable(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                        int32_t *C, int ldc);
void abc_bgemm_popcnt(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                      int32_t *C, int ldc);
void abc_bgemm_avx2(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                    int32_t *C, int ldc);
void abc_bgemm_avx2_panels(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *Bp, int32_t *C,
                           int ldc);
void abc_bgemm_avx512(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                      int32_t *C, int ldc);
void abc_bgemm_avx512_panels(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *Bp, int32_t *C,
                             int ldc);
void abc_bgemm_avx512_panels_out(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *Bp,
                                 const abc_bgemm_out *o);

#endif
