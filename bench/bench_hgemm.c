/* The segment GEMM part of ./darknet abc bench -gemm: every usable segment
 * kernel (hgemm.h) with 16-bit segments on the binary GEMM's shape (M=256,
 * N=3136 positions, K=2304 bits = 144 segments), taking turns with fp32
 * cblas_sgemm on M x N x K floats, medians over rounds, results checked
 * against the reference (to float rounding). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/util.h"
#include "abc/kernels/hgemm_kernels.h"
#include "bench_util.h"
#include "commands.h"

static uint64_t rbits(unsigned *seed)
{
    return ((uint64_t)rand_r(seed) << 42) ^ ((uint64_t)rand_r(seed) << 21) ^ (uint64_t)rand_r(seed);
}

void abc_bench_hgemm(int quick, int rounds)
{
    enum { G = 16 };
    int M = 256, N = quick ? 196 : 3136, K = 2304, S = K / G;
    size_t words = hada_hgemm_words(S, G);
    unsigned seed = 11;
    uint64_t *Wb = abc_xmalloc((size_t)M * words * sizeof *Wb), *Ab = abc_xmalloc((size_t)N * words * sizeof *Ab);
    float *Wm = abc_xmalloc((size_t)M * S * sizeof *Wm), *Am = abc_xmalloc((size_t)N * S * sizeof *Am);
    for (size_t i = 0; i < (size_t)M * words; ++i) Wb[i] = rbits(&seed);
    for (size_t i = 0; i < (size_t)N * words; ++i) Ab[i] = rbits(&seed);
    for (size_t i = 0; i < (size_t)M * S; ++i) Wm[i] = (float)rand_r(&seed) / (float)RAND_MAX;
    for (size_t i = 0; i < (size_t)N * S; ++i) Am[i] = (float)rand_r(&seed) / (float)RAND_MAX;
    uint8_t len[K / G];
    memset(len, G, sizeof len);
    float *want = abc_xmalloc((size_t)M * N * sizeof *want), *C = abc_xmalloc((size_t)M * N * sizeof *C);
    hada_hgemm_args a = {.M = M, .N = N, .S = S, .s = G, .Wb = Wb, .Wm = Wm, .Ab = Ab, .Am = Am, .len = len,
                         .C = want, .ldwb = words, .ldwm = (size_t)S, .ldab = words, .ldam = (size_t)S,
                         .ldc = (size_t)N};
    hada_hgemm_ref(&a);
    a.C = C;
    float *fa = abc_xmalloc((size_t)M * K * sizeof *fa), *fb = abc_xmalloc((size_t)K * N * sizeof *fb),
          *fc = abc_xmalloc((size_t)M * N * sizeof *fc);
    for (long i = 0; i < (long)M * K; ++i) fa[i] = (float)rand_r(&seed) / (float)RAND_MAX - .5f;
    for (long i = 0; i < (long)K * N; ++i) fb[i] = (float)rand_r(&seed) / (float)RAND_MAX - .5f;

    int nk = hada_hgemm_family.n;
    const hada_hgemm_kernel *ks = hada_hgemm_family.rows;
    const hada_hgemm_kernel *chosen = abc_kernel_chosen(&hada_hgemm_family);
    if (rounds > 64) rounds = 64;
    double t[8][64], tf[64];
    int got[8] = {0};
    for (int r = 0; r < rounds; ++r) {
        for (int k = 0; k < nk && k < 8; ++k) {
            if (!abc_kernel_usable(&ks[k].d)) continue;
            if (got[k] >= 3 && abc_median(t[k], got[k]) > 0.3) continue; /* slow kernels: 3 samples */
            double t0 = abc_now();
            hada_hgemm_with(&ks[k], &a);
            t[k][got[k]++] = abc_now() - t0;
            for (size_t i = 0; i < (size_t)M * N; ++i)
                if (fabsf(C[i] - want[i]) > 1e-4f * (1 + fabsf(want[i])))
                    abc_die("abc bench: segment kernel %s differs from the reference", ks[k].d.name);
        }
        double t0 = abc_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, fa, K, fb, N, 0, fc, N);
        tf[r] = abc_now() - t0;
    }
    char names[128];
    printf("\nsegment GEMM (HadaNet, 16-bit segments) M=%d N=%d K=%d bits = %d segments, kernel chosen: %s; "
           "HADA_KERNEL=%s forces one\n", M, N, K, S, chosen->d.name, abc_kernel_names(&hada_hgemm_family, names, sizeof names));
    printf("%-9s %9s %12s %10s   (G MAC/s: binary MACs; vs fp32: median of per-round ratios)\n",
           "kernel", "ms", "G MAC/s", "vs fp32");
    double ops = (double)M * N * K, rat[64];
    for (int k = 0; k < nk && k < 8; ++k) {
        if (!abc_kernel_usable(&ks[k].d)) {
            printf("%-9s skipped: this CPU cannot run it\n", ks[k].d.name);
            continue;
        }
        double s = abc_median(t[k], got[k]);
        for (int r = 0; r < got[k]; ++r) rat[r] = tf[r] / t[k][r];
        printf("%-9s %9.3f %12.1f %9.2fx%s\n", ks[k].d.name, s * 1e3, ops / s / 1e9, abc_median(rat, got[k]),
               &ks[k] == chosen ? "  <- chosen" : "");
    }
    double f = abc_median(tf, rounds);
    printf("%-9s %9.3f %12.1f %10s  (cblas_sgemm on floats, 1 thread)\n", "fp32", f * 1e3, ops / f / 1e9, "1.0x");
    free(Wb); free(Ab); free(Wm); free(Am); free(want); free(C); free(fa); free(fb); free(fc);
}
