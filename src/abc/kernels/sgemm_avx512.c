/* A packed single-threaded SGEMM for AVX-512 CPUs (row major, any
 * transposes): Goto-style blocking, B packed into 32-column panels, A into
 * 8-row panels, an 8x32 register tile of FMAs. Used instead of OpenBLAS when
 * OpenBLAS runs its AVX2 kernels on an AVX-512 CPU (see blas_core.h). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the packing loops vectorize */
#endif
#include "sgemm_avx512.h"

#include <stdlib.h>

#include "base/util.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "sgemm_tile.h"

enum { MR = 8, NR = 32, KC = 256, MC = 128, NC = 1024 };

#define TGT __attribute__((target("avx512f")))

static _Thread_local float *pa, *pb; /* packing buffers of this thread */

/* A rows [i0, i0+mc), k [k0, k0+kc) into MR-row panels [panel][k][MR], zero padded */
static void pack_a(int TA, const float *A, int lda, int i0, int mc, int k0, int kc, float *dst)
{
    for (int p = 0; p < mc; p += MR, dst += (size_t)kc * MR) {
        int rows = mc - p < MR ? mc - p : MR;
        if (TA) { /* element (i, k) at A[k*lda + i]: MR consecutive floats per k */
            for (int k = 0; k < kc; ++k) {
                const float *src = A + (size_t)(k0 + k) * lda + i0 + p;
                float *d = dst + (size_t)k * MR;
                if (rows == MR) {
                    for (int r = 0; r < MR; ++r) d[r] = src[r];
                } else {
                    for (int r = 0; r < MR; ++r) d[r] = r < rows ? src[r] : 0;
                }
            }
        } else { /* element (i, k) at A[i*lda + k]: read each row along k */
            for (int r = 0; r < MR; ++r) {
                float *d = dst + r;
                if (r >= rows) {
                    for (int k = 0; k < kc; ++k) d[(size_t)k * MR] = 0;
                    continue;
                }
                const float *src = A + (size_t)(i0 + p + r) * lda + k0;
                for (int k = 0; k < kc; ++k) d[(size_t)k * MR] = src[k];
            }
        }
    }
}

/* B k [k0, k0+kc), columns [j0, j0+nc) into NR-column panels [panel][k][NR], zero padded */
static void pack_b(int TB, const float *B, int ldb, int k0, int kc, int j0, int nc, float *dst)
{
    for (int p = 0; p < nc; p += NR, dst += (size_t)kc * NR) {
        int cols = nc - p < NR ? nc - p : NR;
        if (!TB) { /* element (k, j) at B[k*ldb + j]: NR consecutive floats per k */
            for (int k = 0; k < kc; ++k) {
                const float *src = B + (size_t)(k0 + k) * ldb + j0 + p;
                float *d = dst + (size_t)k * NR;
                if (cols == NR) {
                    for (int c = 0; c < NR; ++c) d[c] = src[c];
                } else {
                    for (int c = 0; c < NR; ++c) d[c] = c < cols ? src[c] : 0;
                }
            }
        } else { /* element (k, j) at B[j*ldb + k]: read each column's row along k */
            for (int c = 0; c < NR; ++c) {
                float *d = dst + c;
                if (c >= cols) {
                    for (int k = 0; k < kc; ++k) d[(size_t)k * NR] = 0;
                    continue;
                }
                const float *src = B + (size_t)(j0 + p + c) * ldb + k0;
                for (int k = 0; k < kc; ++k) d[(size_t)k * NR] = src[k];
            }
        }
    }
}

/* C[0..mr) x [0..nr) = alpha * (a panel x b panel) + beta * C (beta 0: C not read) */
TGT static void kernel(int kc, const float *a, const float *b, float *C, int ldc, int mr, int nr, float alpha,
                       float beta)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int k = 0; k < kc; ++k) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            __m512 av = _mm512_set1_ps(a[r]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
        a += MR;
        b += NR;
    }
    __mmask16 m0 = abc_tile_mask(nr, 0), m1 = abc_tile_mask(nr, 16);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        if (r >= mr) break;
        abc_tile_store(C + (size_t)r * ldc, c0[r], m0, alpha, beta);
        abc_tile_store(C + (size_t)r * ldc + 16, c1[r], m1, alpha, beta);
    }
}

void abc_sgemm_avx512(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0) {
        for (int i = 0; i < M; ++i)
            for (int j = 0; j < N; ++j) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
    if (!pa) {
        void *p = NULL, *q = NULL;
        if (posix_memalign(&p, 64, sizeof(float) * MC * KC) || posix_memalign(&q, 64, sizeof(float) * KC * NC))
            abc_die("out of memory (gemm packing buffers)");
        pa = p;
        pb = q;
    }
    for (int j0 = 0; j0 < N; j0 += NC) {
        int nc = N - j0 < NC ? N - j0 : NC;
        for (int k0 = 0; k0 < K; k0 += KC) {
            int kc = K - k0 < KC ? K - k0 : KC;
            float bk = k0 == 0 ? beta : 1;
            pack_b(TB, B, ldb, k0, kc, j0, nc, pb);
            for (int i0 = 0; i0 < M; i0 += MC) {
                int mc = M - i0 < MC ? M - i0 : MC;
                pack_a(TA, A, lda, i0, mc, k0, kc, pa);
                for (int jp = 0; jp < nc; jp += NR) {
                    const float *b = pb + (size_t)jp * kc;
                    int nr = nc - jp < NR ? nc - jp : NR;
                    for (int ip = 0; ip < mc; ip += MR) {
                        int mr = mc - ip < MR ? mc - ip : MR;
                        kernel(kc, pa + (size_t)ip * kc, b, C + (size_t)(i0 + ip) * ldc + j0 + jp, ldc, mr, nr, alpha, bk);
                    }
                }
            }
        }
    }
}
#else
void abc_sgemm_avx512(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc)
{
    (void)TA, (void)TB, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb, (void)beta,
        (void)C, (void)ldc;
    abc_die("the AVX-512 gemm is not built for this CPU");
}
#endif
