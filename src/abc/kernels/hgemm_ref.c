/* The plain definition of the segment GEMM (hgemm.h), segment by segment. */
#include "hgemm.h"

void hada_hgemm_ref(const hada_hgemm_args *a)
{
    for (int m = 0; m < a->M; ++m) {
        const uint64_t *wb = a->Wb + (size_t)m * a->ldwb;
        const float *wm = a->Wm + (size_t)m * a->ldwm;
        for (int n = 0; n < a->N; ++n) {
            const uint64_t *ab = a->Ab + (size_t)n * a->ldab;
            const float *am = a->Am + (size_t)n * a->ldam;
            float acc = 0;
            for (int j = 0; j < a->S; ++j) {
                int len = a->len[j];
                uint64_t mask = len == 64 ? ~0ull : (1ull << len) - 1;
                uint64_t x = (hada_hgemm_seg(wb, j, a->s) ^ hada_hgemm_seg(ab, j, a->s)) & mask;
                acc += wm[j] * am[j] * (float)(len - 2 * __builtin_popcountll(x));
            }
            a->C[(size_t)m * a->ldc + n] = hada_hgemm_out(a, m, acc);
        }
    }
}
