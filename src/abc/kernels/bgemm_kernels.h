/* The table of binary GEMM kernels behind abc_bgemm (bgemm.h): each entry is
 * a single-threaded kernel with exactly abc_bgemm_ref's contract, plus the
 * CPU features it needs. abc_bgemm picks the best usable one (or the one
 * named by ABC_BGEMM=<name>) and splits large products across the pool. */
#ifndef ABC_BGEMM_KERNELS_H
#define ABC_BGEMM_KERNELS_H

#include "bgemm.h"

typedef struct {
    const char *name;     /* ABC_BGEMM=<name> */
    const char *what;     /* one-line description */
    abc_bgemm_fn fn;
    int (*usable)(void);  /* 1 if this CPU and OS run it */
    abc_bgemm_panel_fn panels; /* the product from B in panels (bgemm.h), or NULL */
    abc_bgemm_panel_out_fn panels_out; /* the same with the output stage (bgemm.h), or NULL */
} abc_bgemm_kernel;

/* All kernels, best last; *n gets the count. */
const abc_bgemm_kernel *abc_bgemm_kernels(int *n);
/* The kernel abc_bgemm uses (ABC_BGEMM or the best usable one). */
const abc_bgemm_kernel *abc_bgemm_chosen(void);
/* Overrides the choice for the rest of the process (tests run each kernel
 * through the layers; NULL goes back to ABC_BGEMM / the best usable one). */
void abc_bgemm_set_chosen(const abc_bgemm_kernel *k);
/* Kernel by name, or NULL. */
const abc_bgemm_kernel *abc_bgemm_find(const char *name);
/* The product through kernel k, split across abc_get_threads() pool threads when large. */
void abc_bgemm_with(const abc_bgemm_kernel *k, int M, int N, int K, const uint64_t *A, int lda_words,
                    const uint64_t *B, int ldb_words, int32_t *C, int ldc);

/* CPU features, probed once ("popcnt avx2 avx512f avx512vpopcntdq" subset). */
int abc_cpu_has_popcnt(void);
int abc_cpu_has_avx2(void);
int abc_cpu_has_avx512vpopcntdq(void);

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
