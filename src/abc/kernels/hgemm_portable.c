/* Portable C segment GEMM: 4x4 tiles of (W row, A row), the segments of the
 * tile's rows extracted once per segment, compiler popcount. */
#include "hgemm_kernels.h"

enum { T = 4 };

static inline int imin(int a, int b) { return a < b ? a : b; }

void hada_hgemm_portable(const hada_hgemm_args *a)
{
    int s = a->s;
    for (int m0 = 0; m0 < a->M; m0 += T) {
        int mr = imin(T, a->M - m0);
        for (int n0 = 0; n0 < a->N; n0 += T) {
            int nr = imin(T, a->N - n0);
            const uint64_t *wb[T], *ab[T];
            const float *wm[T], *am[T];
            for (int i = 0; i < T; ++i) {
                int m = m0 + imin(i, mr - 1), n = n0 + imin(i, nr - 1);
                wb[i] = a->Wb + (size_t)m * a->ldwb;
                wm[i] = a->Wm + (size_t)m * a->ldwm;
                ab[i] = a->Ab + (size_t)n * a->ldab;
                am[i] = a->Am + (size_t)n * a->ldam;
            }
            float acc[T][T] = {{0}};
            for (int j = 0; j < a->S; ++j) {
                uint64_t wx[T], ax[T];
                float as[T], am2[T], w[T];
                for (int i = 0; i < T; ++i) {
                    wx[i] = hada_hgemm_seg(wb[i], j, s);
                    ax[i] = hada_hgemm_seg(ab[i], j, s);
                    w[i] = wm[i][j];
                    as[i] = (float)a->len[j] * am[i][j];
                    am2[i] = -2.f * am[i][j];
                }
                for (int r = 0; r < T; ++r)
                    for (int c = 0; c < T; ++c)
                        acc[r][c] += w[r] * (as[c] + am2[c] * (float)__builtin_popcountll(wx[r] ^ ax[c]));
            }
            for (int r = 0; r < mr; ++r)
                for (int c = 0; c < nr; ++c) a->C[(size_t)(m0 + r) * a->ldc + n0 + c] = hada_hgemm_out(a, m0 + r, acc[r][c]);
        }
    }
}
