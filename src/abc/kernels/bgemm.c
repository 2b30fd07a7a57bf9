/* The kernel table of the binary GEMM and the split of large products across
 * the project's pool. */
#include "bgemm_kernels.h"

#include "cpu.h"
#include "pool.h"

/* Below this many binary MACs a product is not worth waking the pool. */
#define ABC_BGEMM_MIN_SPLIT (1L << 22)

static const abc_bgemm_kernel table[] = {
    {{"ref", "plain reference, one popcount per word", 0}, abc_bgemm_ref, NULL, NULL},
    {{"portable", "portable C, 2x4 tiles of SWAR bit counts", 0}, abc_bgemm_portable, NULL, NULL},
    {{"popcnt", "2x4 tiles of the POPCNT instruction", ABC_CPU_POPCNT}, abc_bgemm_popcnt, NULL, NULL},
    {{"avx2", "AVX2 nibble-table popcount, B in 16-column panels, 4x4 tiles", ABC_CPU_AVX2 | ABC_CPU_POPCNT},
     abc_bgemm_avx2, abc_bgemm_avx2_panels, NULL},
    {{"avx512", "AVX-512 VPOPCNTDQ, B in 16-column panels, 8x16 tiles", ABC_CPU_AVX512F | ABC_CPU_AVX512VPOPCNTDQ},
     abc_bgemm_avx512, abc_bgemm_avx512_panels, abc_bgemm_avx512_panels_out},
};

abc_kernel_family abc_bgemm_family = ABC_KERNEL_FAMILY("binary GEMM", ABC_MODE_BGEMM, table);

typedef struct {
    abc_bgemm_fn fn;
    int M, N, K, lda, ldb, ldc;
    const uint64_t *A, *B;
    int32_t *C;
} job;

static void part(void *ctx, int by_cols, int lo, int hi)
{
    const job *j = ctx;
    if (by_cols)
        j->fn(j->M, hi - lo, j->K, j->A, j->lda, j->B + (size_t)lo * j->ldb, j->ldb, j->C + lo, j->ldc);
    else
        j->fn(hi - lo, j->N, j->K, j->A + (size_t)lo * j->lda, j->lda, j->B, j->ldb, j->C + (size_t)lo * j->ldc,
              j->ldc);
}

void abc_bgemm_with(const abc_bgemm_kernel *k, int M, int N, int K, const uint64_t *A, int lda_words,
                    const uint64_t *B, int ldb_words, int32_t *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    int threads = abc_pool_threads();
    long work = (long)M * N * (K > 0 ? K : 1);
    if (threads <= 1 || work < ABC_BGEMM_MIN_SPLIT) {
        k->fn(M, N, K, A, lda_words, B, ldb_words, C, ldc);
        return;
    }
    job j = {k->fn, M, N, K, lda_words, ldb_words, ldc, A, B, C};
    abc_pool_split_product(M, N, 8, 16, part, &j); /* columns in multiples of the widest panel */
}

void abc_bgemm(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
               int32_t *C, int ldc)
{
    abc_bgemm_with(abc_kernel_chosen(&abc_bgemm_family), M, N, K, A, lda_words, B, ldb_words, C, ldc);
}
