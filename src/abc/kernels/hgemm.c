/* The kernel table of the segment GEMM and the split of large products across
 * the project's pool. */
#include "hgemm_kernels.h"

#include "cpu.h"
#include "pool.h"

/* Below this many segment products a call is not worth waking the pool. */
#define HADA_MIN_SPLIT (1L << 18)

static const hada_hgemm_kernel table[] = {
    {{"ref", "plain reference, segment by segment", 0}, hada_hgemm_ref, 0, 0},
    {{"portable", "portable C, 4x4 tiles", 0}, hada_hgemm_portable, 0, 0},
    {{"avx2", "AVX2 nibble-table popcount, 32-bit lanes, 4x8 tiles", ABC_CPU_AVX2 | ABC_CPU_FMA}, hada_hgemm_avx2, 4,
     8},
    {{"avx512", "AVX-512 VPOPCNTDQ, 32-bit lanes, 8x32 tiles", ABC_CPU_AVX512F | ABC_CPU_AVX512VPOPCNTDQ},
     hada_hgemm_avx512, 8, 32},
};

abc_kernel_family hada_hgemm_family = ABC_KERNEL_FAMILY("segment GEMM", ABC_MODE_HGEMM, table);

typedef struct {
    hada_hgemm_fn fn;
    const hada_hgemm_args *a;
    int by_cols, parts, mr, nr;
} job;

/* Columns are split in multiples of 32 (the widest panel), rows in multiples of 8 (column and row panels
 * handed over (Ap, Wp) are 32/8 columns and 8/4 rows: whole panels each part). */
static void part(void *ctx, int task, int thread)
{
    (void)thread;
    const job *j = ctx;
    hada_hgemm_args s = *j->a;
    int unit = j->by_cols ? 32 : 8, n = j->by_cols ? s.N : s.M;
    int units = (n + unit - 1) / unit;
    long lo = (long)units * task / j->parts * unit, hi = (long)units * (task + 1) / j->parts * unit;
    if (hi > n) hi = n;
    if (lo >= hi) return;
    if (j->by_cols) {
        s.N = (int)(hi - lo);
        s.Ab += lo * s.ldab;
        s.Am += lo * s.ldam;
        s.C += lo;
        if (s.Ap) s.Ap += (size_t)(lo / j->nr) * hada_hgemm_col_panel_size(s.S, s.s, j->nr);
    } else {
        s.M = (int)(hi - lo);
        s.Wb += lo * s.ldwb;
        s.Wm += lo * s.ldwm;
        s.C += lo * s.ldc;
        if (s.scale) s.scale += lo, s.shift += lo;
        if (s.Wp) s.Wp += (size_t)(lo / j->mr) * (size_t)s.S * ((s.s > 32 ? 2 : 1) + 1) * j->mr;
    }
    j->fn(&s);
}

void hada_hgemm_with(const hada_hgemm_kernel *k, const hada_hgemm_args *a)
{
    if (a->M <= 0 || a->N <= 0) return;
    int threads = abc_pool_threads();
    long work = (long)a->M * a->N * (a->S > 0 ? a->S : 1);
    if (threads <= 1 || work < HADA_MIN_SPLIT) {
        k->fn(a);
        return;
    }
    int by_cols = (a->N + 31) / 32 >= (a->M + 7) / 8; /* row panels (Wp) are 4 or 8 rows: split at multiples of 8 */
    int units = by_cols ? (a->N + 31) / 32 : (a->M + 7) / 8;
    int parts = units < 4 * threads ? units : 4 * threads;
    job j = {k->fn, a, by_cols, parts, k->mr, k->nr};
    abc_pool_run(parts, part, &j);
}

void hada_hgemm(const hada_hgemm_args *a) { hada_hgemm_with(abc_kernel_chosen(&hada_hgemm_family), a); }
