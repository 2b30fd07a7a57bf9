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
    int mr, nr;
} job;

static void part(void *ctx, int by_cols, int lo, int hi)
{
    const job *j = ctx;
    hada_hgemm_args s = *j->a;
    if (by_cols) {
        s.N = hi - lo;
        s.Ab += lo * s.ldab;
        s.Am += lo * s.ldam;
        s.C += lo;
        if (s.Ap) s.Ap += (size_t)(lo / j->nr) * hada_hgemm_col_panel_size(s.S, s.s, j->nr);
    } else {
        s.M = hi - lo;
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
    job j = {k->fn, a, k->mr, k->nr};
    /* whole panels in each part: column panels (Ap) are 8 or 32 columns, row panels (Wp) 4 or 8 rows */
    abc_pool_split_product(a->M, a->N, 8, 32, part, &j);
}

void hada_hgemm(const hada_hgemm_args *a) { hada_hgemm_with(abc_kernel_chosen(&hada_hgemm_family), a); }
