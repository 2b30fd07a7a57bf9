/* ./darknet abc bench [-rounds N] [-kernel NAME] [-gemm|-layers|-scaling] [-quick]: the binary GEMM
 * kernels on the 3x3x256 conv at 56x56 (M=256, N=3136, K=2304 bits) against
 * this CPU's measured peaks (bench_peaks.h: each kernel against the peak of
 * its instruction set) and fp32 cblas_sgemm on the same shape, all in one
 * run, taking turns (peaks, each kernel, sgemm) in every round,
 * medians over rounds. -kernel NAME runs only that binary kernel. Then whole
 * layers (abc_bench_layers.c). -gemm / -layers: only one of the two parts;
 * -scaling: only the layers' 2-thread against 1-thread comparison; -bf16: only
 * a training step's GEMMs in fp32 and bf16 (bench_train_gemm.c). */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/threads.h"
#include "abc/base/util.h"
#include "abc/kernels/bgemm_kernels.h"
#include "abc/kernels/bitpack.h"
#include "abc/kernels/blas_threads.h"
#include "abc/kernels/hgemm_kernels.h"
#include "bench_peaks.h"
#include "bench_train_gemm.h"
#include "bench_util.h"
#include "commands.h"

char *openblas_get_corename(void);

static uint64_t *random_bits(int rows, int K, unsigned *seed)
{
    int words = abc_bgemm_words(K);
    uint64_t *p = abc_xmalloc((size_t)rows * words * sizeof *p);
    for (long i = 0; i < (long)rows * words; ++i)
        p[i] = ((uint64_t)rand_r(seed) << 42) ^ ((uint64_t)rand_r(seed) << 21) ^ (uint64_t)rand_r(seed);
    if (K % 64)
        for (int r = 0; r < rows; ++r) p[(long)r * words + words - 1] &= (1ull << (K % 64)) - 1;
    return p;
}

static int bench_run(const abc_cli *a)
{
    int rounds = (int)abc_cli_int(a, "-rounds", 9), quick = abc_cli_flag(a, "-quick");
    int parts = abc_cli_flag(a, "-gemm") + abc_cli_flag(a, "-layers") + abc_cli_flag(a, "-scaling") +
                abc_cli_flag(a, "-bf16");
    if (parts > 1) abc_cli_fail(a, "-gemm, -layers, -scaling and -bf16 each run one part: give one of them");
    int part = abc_cli_flag(a, "-gemm") ? 1 : abc_cli_flag(a, "-layers") ? 2 : abc_cli_flag(a, "-scaling") ? 3 : 0;
    /* the binary kernels run on 1 thread unless -threads N (a global option) says otherwise */
    int threads = abc_cli_given(a, "-threads") ? abc_get_threads() : 1;
    const char *only = abc_cli_str(a, "-kernel", NULL);
    char names[128];
    if (only && !abc_kernel_find(&abc_bgemm_family, only))
        abc_cli_fail(a, "-kernel '%s': no such binary GEMM kernel (kernels: %s)", only,
                     abc_kernel_names(&abc_bgemm_family, names, sizeof names));
    if (quick) rounds = 1;
    abc_set_threads(threads);
    const abc_bgemm_kernel *chosen = abc_kernel_chosen(&abc_bgemm_family); /* dies on a bad ABC_BGEMM */
    const char *packer = abc_kernel_chosen_name(&abc_bitpack_family);      /* and on a bad ABC_PACK */
    const hada_hgemm_kernel *hk = abc_kernel_chosen(&hada_hgemm_family);   /* and on a bad HADA_KERNEL */
    int M = 256, N = quick ? 196 : 3136, K = 2304, words = abc_bgemm_words(K);

    char line[512];
    printf("%s\n", abc_bench_machine(line, sizeof line));
    int nk = abc_bgemm_family.n;
    const abc_bgemm_kernel *ks = abc_bgemm_family.rows;
    printf("binary GEMM kernel chosen: %s (%s); ABC_BGEMM=%s forces one\n", chosen->d.name, chosen->d.what,
           abc_kernel_names(&abc_bgemm_family, names, sizeof names));
    printf("input packer: %s (ABC_PACK=%s forces one)\n", packer,
           abc_kernel_names(&abc_bitpack_family, names, sizeof names));
    printf("segment GEMM kernel (HadaNet) chosen: %s (%s)\n", hk->d.name, hk->d.what);
    if (abc_cli_flag(a, "-bf16")) {
        abc_bench_train_gemm(rounds);
        return 0;
    }
    if (part >= 2) {
        abc_bench_layers(quick, rounds, part == 3);
        return 0;
    }

    unsigned seed = 7;
    uint64_t *A = random_bits(M, K, &seed), *B = random_bits(N, K, &seed);
    int32_t *want = abc_xmalloc((size_t)M * N * sizeof *want), *C = abc_xmalloc((size_t)M * N * sizeof *C);
    abc_bgemm_ref(M, N, K, A, words, B, words, want, N);
    float *fa = abc_xmalloc((size_t)M * K * sizeof *fa), *fb = abc_xmalloc((size_t)K * N * sizeof *fb),
          *fc = abc_xmalloc((size_t)M * N * sizeof *fc);
    for (long i = 0; i < (long)M * K; ++i) fa[i] = (float)rand_r(&seed) / (float)RAND_MAX - .5f;
    for (long i = 0; i < (long)K * N; ++i) fb[i] = (float)rand_r(&seed) / (float)RAND_MAX - .5f;
    abc_blas_threads(1);

    /* kernels and sgemm take turns; slow kernels (> 0.3 s) stop after 3 samples */
    for (int k = 0; k < nk; ++k) /* warm-up: first-touch pages, scratch buffers */
        if (abc_kernel_usable(&ks[k].d) && !(only && strcmp(only, ks[k].d.name)))
            abc_bgemm_with(&ks[k], M, N, K, A, words, B, words, C, N);
    double *t = abc_xcalloc((size_t)(nk + 1) * rounds, sizeof *t);
    double *peaks = abc_xcalloc((size_t)ABC_NPEAKS * rounds, sizeof *peaks); /* [kind][round] */
    int *got = abc_xcalloc((size_t)nk + 1, sizeof *got);
    for (int r = 0; r < rounds; ++r) {
        for (int p = 0; p < ABC_NPEAKS; ++p) peaks[(long)p * rounds + r] = abc_measure_peak((abc_peak_kind)p);
        for (int k = 0; k <= nk; ++k) {
            if (k < nk && (!abc_kernel_usable(&ks[k].d) || (only && strcmp(only, ks[k].d.name)))) continue;
            if (got[k] >= 3 && abc_median(t + (long)k * rounds, got[k]) > 0.3) continue;
            double t0 = abc_now();
            if (k < nk) abc_bgemm_with(&ks[k], M, N, K, A, words, B, words, C, N);
            else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, fa, K, fb, N, 0, fc, N);
            t[(long)k * rounds + got[k]++] = abc_now() - t0;
            if (k < nk && memcmp(C, want, (size_t)M * N * sizeof *C))
                abc_die("abc bench: kernel %s differs from the reference", ks[k].d.name);
        }
    }
    printf("peaks (each kernel's inner loop, operands in L1, 1 thread, median of %d):", rounds);
    for (int p = 0; p < ABC_NPEAKS; ++p) {
        double pk = abc_median(peaks + (long)p * rounds, rounds);
        if (pk > 0) printf("%s %s %.0f G binary MAC/s", p ? ";" : "", abc_peak_what((abc_peak_kind)p), pk);
        else printf("%s %s: this CPU cannot run it", p ? ";" : "", abc_peak_what((abc_peak_kind)p));
    }
    printf("\n");
    double ops = (double)M * N * K;
    double fp32 = abc_median(t + (long)nk * rounds, got[nk]);
    printf("GEMM M=%d N=%d K=%d (bits; fp32: floats), %d thread%s for the binary kernels, median of %d rounds, "
           "kernels taking turns, results checked against ref\n",
           M, N, K, threads, threads > 1 ? "s" : "", rounds);
    printf("%-9s %9s %12s %9s %10s   (of peak: of its instruction set's peak above; ratios: medians of per-round "
           "ratios)\n", "kernel", "ms", "G MAC/s", "of peak", "vs fp32");
    double *rat = abc_xmalloc((size_t)rounds * sizeof *rat);
    for (int k = 0; k < nk; ++k) {
        if (!abc_kernel_usable(&ks[k].d)) {
            printf("%-9s skipped: this CPU cannot run it\n", ks[k].d.name);
            continue;
        }
        if (!got[k]) continue;
        /* ratios are taken per round (side by side), then the median */
        const double *tk = t + (long)k * rounds;
        double s = abc_median(tk, got[k]);
        printf("%-9s %9.3f %12.1f", ks[k].d.name, s * 1e3, ops / s / 1e9);
        int pk = abc_peak_of_kernel(ks[k].d.name);
        if (pk >= 0 && peaks[(long)pk * rounds] > 0) {
            for (int r = 0; r < got[k]; ++r) rat[r] = ops / tk[r] / 1e9 / peaks[(long)pk * rounds + r];
            printf(" %8.1f%%", 100 * abc_median(rat, got[k]));
        } else printf(" %9s", "-");
        for (int r = 0; r < got[k]; ++r) rat[r] = t[(long)nk * rounds + r] / tk[r];
        printf(" %9.1fx%s\n", abc_median(rat, got[k]), &ks[k] == chosen ? "  <- chosen" : "");
    }
    free(rat);
    printf("%-9s %9.3f %12.1f %9s %10s  (cblas_sgemm, OpenBLAS %s, 1 thread)\n", "fp32", fp32 * 1e3, ops / fp32 / 1e9,
           "-", "1.0x", openblas_get_corename());
    free(A); free(B); free(want); free(C); free(fa); free(fb); free(fc); free(t); free(peaks); free(got);
    abc_bench_hgemm(quick, rounds);
    if (part == 0) {
        abc_bench_train_gemm(rounds);
        abc_bench_layers(quick, rounds, 0);
    }
    return 0;
}

static const abc_opt bench_opts[] = {
    {"-rounds", ABC_OPT_INT, "N", 1, 1000, "rounds, the parts taking turns in each; medians over them (default 9)"},
    {"-kernel", ABC_OPT_STR, "NAME", 0, 0, "only this binary GEMM kernel (the names: ./darknet abc info)"},
    {"-gemm", ABC_OPT_FLAG, NULL, 0, 0, "only the GEMM kernels (binary and segment)"},
    {"-layers", ABC_OPT_FLAG, NULL, 0, 0, "only the whole layers"},
    {"-scaling", ABC_OPT_FLAG, NULL, 0, 0, "only 2 threads against 1 on the large binary layers"},
    {"-bf16", ABC_OPT_FLAG, NULL, 0, 0, "only a training step's GEMMs, fp32 against bf16 (AVX512-BF16)"},
    {"-quick", ABC_OPT_FLAG, NULL, 0, 0, "small shapes, 1 round (a smoke test)"},
    {0},
};

const abc_cmd abc_bench_cmd = {
    .name = "bench",
    .what = "binary GEMM kernels against this CPU's peak and fp32 OpenBLAS, then whole layers (ResNet-18, yolov3-tiny)",
    .notes = "The binary GEMM runs on 1 thread unless the global -threads N is given. ABC_BGEMM, ABC_PACK and\n"
             "HADA_KERNEL force a kernel (see ./darknet abc info).",
    .opts = bench_opts,
    .run = bench_run,
};
