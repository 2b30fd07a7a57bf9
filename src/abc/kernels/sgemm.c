#include "sgemm.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/mode.h"
#include "base/threads.h"
#include "blas_core.h"
#include "blas_threads.h"
#include "cpu.h"
#include "pool.h"
#include "sgemm_avx512.h"

/* Below this many multiply-adds a product is not worth waking the pool. */
#define ABC_SGEMM_MIN_SPLIT (1 << 17)

char *openblas_get_corename(void);

/* ABC_GEMM=openblas forces OpenBLAS, ABC_GEMM=abc the project's kernel; by default the project's AVX-512 kernel
 * runs where the CPU has AVX-512F and OpenBLAS runs no AVX-512 kernels (its
 * AVX2 cores on Zen 4/5, or its SSE3 fallback on a CPU it does not know). */
static int use_own(void)
{
    static int own = -1;
    if (own < 0) {
        int m = abc_mode_choice(ABC_MODE_GEMM);
        own = m != ABC_GEMM_OPENBLAS && abc_cpu_has(ABC_CPU_AVX512F) && (m == ABC_GEMM_ABC || !abc_blas_core_is_avx512());
    }
    return own;
}

const char *abc_sgemm_kernel_name(void)
{
    static char name[80];
    if (use_own()) return "abc AVX-512 8x32";
    snprintf(name, sizeof name, "OpenBLAS %s", openblas_get_corename());
    return name;
}

void abc_sgemm1(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (use_own()) {
        abc_sgemm_avx512(TA, TB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    cblas_sgemm(CblasRowMajor, TA ? CblasTrans : CblasNoTrans, TB ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
}

int abc_sgemm_bf16_supported(void) { return abc_cpu_has(ABC_CPU_AVX512F | ABC_CPU_AVX512BW | ABC_CPU_AVX512BF16); }

static int train_bf16;

int abc_sgemm_set_train_bf16(int on)
{
    train_bf16 = on && abc_sgemm_bf16_supported();
    return train_bf16;
}

int abc_sgemm_train_bf16(void) { return train_bf16; }

void abc_sgemm_train(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                     int ldb, float beta, float *C, int ldc)
{
    if (train_bf16) abc_sgemm_bf16_avx512(TA, TB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else abc_sgemm1(TA, TB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void abc_sgemm_serial_mode(void)
{
    abc_blas_threads(1);
    abc_sgemm_bf16_new_epoch(); /* each fast layer's pass begins here: its A operands are read anew */
    (void)use_own(); /* decided here, on the job's thread, before pool tasks read it */
}

void abc_sgemm_blas(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc)
{
    abc_blas_threads(abc_get_threads());
    abc_sgemm1(TA, TB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

typedef struct {
    int TA, TB, M, N, K, lda, ldb, ldc, parts, by_rows;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

static void gemm_part(void *ctx, int task, int thread)
{
    (void)thread;
    const gemm_job *j = ctx;
    int lo, hi;
    if (j->by_rows) {
        abc_split_range(j->M, j->parts, task, &lo, &hi);
        /* rows lo..hi of op(A): rows of A, or columns of A when transposed */
        const float *a = j->TA ? j->A + lo : j->A + (size_t)lo * j->lda;
        abc_sgemm1(j->TA, j->TB, hi - lo, j->N, j->K, j->alpha, a, j->lda, j->B, j->ldb, j->beta,
                   j->C + (size_t)lo * j->ldc, j->ldc);
    } else {
        abc_split_range(j->N, j->parts, task, &lo, &hi);
        /* columns lo..hi of op(B): columns of B, or rows of B when transposed */
        const float *b = j->TB ? j->B + (size_t)lo * j->ldb : j->B + lo;
        abc_sgemm1(j->TA, j->TB, j->M, hi - lo, j->K, j->alpha, j->A, j->lda, b, j->ldb, j->beta,
                   j->C + lo, j->ldc);
    }
}

void abc_sgemm_pool(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    abc_sgemm_serial_mode();
    int threads = abc_pool_threads();
    double work = (double)M * N * (K > 0 ? K : 1);
    int by_rows = M > N;
    int dim = by_rows ? M : N;
    int parts = threads;
    if (work < ABC_SGEMM_MIN_SPLIT * (double)threads) parts = (int)(work / ABC_SGEMM_MIN_SPLIT);
    if (parts > dim) parts = dim;
    if (parts <= 1) {
        abc_sgemm1(TA, TB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    gemm_job j = {TA, TB, M, N, K, lda, ldb, ldc, parts, by_rows, alpha, beta, A, B, C};
    abc_pool_run(parts, gemm_part, &j);
}
