/* The kernel table of the binary GEMM, the CPU probe, ABC_BGEMM, and the
 * split of large products across the project's pool. */
#include "bgemm_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc_util.h"
#include "pool.h"

/* Below this many binary MACs a product is not worth waking the pool. */
#define ABC_BGEMM_MIN_SPLIT (1L << 22)

#if defined(__x86_64__) && defined(__GNUC__)
/* libgcc's probe checks cpuid and, for AVX/AVX-512, that the OS saves the registers (xgetbv). */
int abc_cpu_has_popcnt(void) { __builtin_cpu_init(); return __builtin_cpu_supports("popcnt"); }
int abc_cpu_has_avx2(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt"); }
int abc_cpu_has_avx512vpopcntdq(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
}
#else
int abc_cpu_has_popcnt(void) { return 0; }
int abc_cpu_has_avx2(void) { return 0; }
int abc_cpu_has_avx512vpopcntdq(void) { return 0; }
#endif

static int always(void) { return 1; }

static const abc_bgemm_kernel table[] = {
    {"ref", "plain reference, one popcount per word", abc_bgemm_ref, always, NULL, NULL},
    {"portable", "portable C, 2x4 tiles of SWAR bit counts", abc_bgemm_portable, always, NULL, NULL},
    {"popcnt", "2x4 tiles of the POPCNT instruction", abc_bgemm_popcnt, abc_cpu_has_popcnt, NULL, NULL},
    {"avx2", "AVX2 nibble-table popcount, B in 16-column panels, 4x4 tiles", abc_bgemm_avx2, abc_cpu_has_avx2,
     abc_bgemm_avx2_panels, NULL},
    {"avx512", "AVX-512 VPOPCNTDQ, B in 16-column panels, 8x16 tiles", abc_bgemm_avx512,
     abc_cpu_has_avx512vpopcntdq, abc_bgemm_avx512_panels, abc_bgemm_avx512_panels_out},
};
enum { NKERNELS = sizeof table / sizeof table[0] };

const abc_bgemm_kernel *abc_bgemm_kernels(int *n)
{
    *n = NKERNELS;
    return table;
}

const abc_bgemm_kernel *abc_bgemm_find(const char *name)
{
    for (int i = 0; i < NKERNELS; ++i)
        if (!strcmp(table[i].name, name)) return &table[i];
    return NULL;
}

static const abc_bgemm_kernel *choose(void)
{
    const char *e = getenv("ABC_BGEMM");
    if (e && *e) {
        char names[256] = "";
        for (int i = 0; i < NKERNELS; ++i)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", table[i].name);
        const abc_bgemm_kernel *k = abc_bgemm_find(e);
        if (!k) abc_die("ABC_BGEMM='%s': unknown kernel (kernels: %s)", e, names);
        if (!k->usable()) abc_die("ABC_BGEMM='%s': this CPU cannot run that kernel (kernels: %s)", e, names);
        return k;
    }
    for (int i = NKERNELS - 1; i >= 0; --i)
        if (table[i].usable()) return &table[i];
    return &table[0];
}

static const abc_bgemm_kernel *chosen_kernel;

void abc_bgemm_set_chosen(const abc_bgemm_kernel *k) { __atomic_store_n(&chosen_kernel, k, __ATOMIC_RELEASE); }

const abc_bgemm_kernel *abc_bgemm_chosen(void)
{
    const abc_bgemm_kernel *c = __atomic_load_n(&chosen_kernel, __ATOMIC_ACQUIRE);
    if (!c) {
        c = choose();
        __atomic_store_n(&chosen_kernel, c, __ATOMIC_RELEASE);
    }
    return c;
}

typedef struct {
    abc_bgemm_fn fn;
    int by_cols, parts, M, N, K, lda, ldb, ldc;
    const uint64_t *A, *B;
    int32_t *C;
} job;

/* Columns are split in multiples of 16 (the widest panel), rows in multiples of 8. */
static void part(void *ctx, int task, int thread)
{
    (void)thread;
    const job *j = ctx;
    int unit = j->by_cols ? 16 : 8, n = j->by_cols ? j->N : j->M;
    int units = (n + unit - 1) / unit;
    long lo = (long)units * task / j->parts * unit, hi = (long)units * (task + 1) / j->parts * unit;
    if (hi > n) hi = n;
    if (lo >= hi) return;
    if (j->by_cols)
        j->fn(j->M, (int)(hi - lo), j->K, j->A, j->lda, j->B + lo * j->ldb, j->ldb, j->C + lo, j->ldc);
    else
        j->fn((int)(hi - lo), j->N, j->K, j->A + lo * j->lda, j->lda, j->B, j->ldb, j->C + lo * j->ldc, j->ldc);
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
    int by_cols = (N + 15) / 16 >= (M + 7) / 8;
    int units = by_cols ? (N + 15) / 16 : (M + 7) / 8;
    int parts = units < 4 * threads ? units : 4 * threads;
    job j = {k->fn, by_cols, parts, M, N, K, lda_words, ldb_words, ldc, A, B, C};
    abc_pool_run(parts, part, &j);
}

void abc_bgemm(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
               int32_t *C, int ldc)
{
    abc_bgemm_with(abc_bgemm_chosen(), M, N, K, A, lda_words, B, ldb_words, C, ldc);
}
