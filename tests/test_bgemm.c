/* The binary GEMM against its meaning: a +-1 dot product computed in floats. */
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "base/threads.h"
#include "kernels/bgemm.h"
#include "kernels/bgemm_kernels.h"
#include "test_util.h"

/* Random +-1 rows packed by the header's rules (tail bits zero); signs kept for the float check. */
static uint64_t *random_rows(int rows, int K, int ld, float **signs, unsigned *seed)
{
    uint64_t *p = calloc((size_t)rows * ld, sizeof *p);
    *signs = malloc((size_t)rows * K * sizeof **signs);
    for (int r = 0; r < rows; ++r)
        for (int k = 0; k < K; ++k) {
            int bit = rand_r(seed) & 1;
            (*signs)[(size_t)r * K + k] = bit ? 1.f : -1.f;
            if (bit) p[(size_t)r * ld + k / 64] |= 1ull << (k % 64);
        }
    return p;
}

static const int shapes[][3] = {{1, 1, 1}, {3, 5, 63}, {4, 7, 64}, {5, 3, 65}, {2, 9, 200}, {7, 6, 1000}};

START_TEST(ref_equals_float_dot_product)
{
    int M = shapes[_i][0], N = shapes[_i][1], K = shapes[_i][2];
    int ld = abc_bgemm_words(K) + 1; /* a stride wider than the row */
    unsigned seed = 1234u + (unsigned)_i;
    float *sa, *sb;
    uint64_t *A = random_rows(M, K, ld, &sa, &seed), *B = random_rows(N, K, ld, &sb, &seed);
    int32_t *C = calloc((size_t)M * (N + 2), sizeof *C);
    abc_bgemm_ref(M, N, K, A, ld, B, ld, C, N + 2);
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
            float dot = 0;
            for (int k = 0; k < K; ++k) dot += sa[(size_t)m * K + k] * sb[(size_t)n * K + k];
            ck_assert_int_eq(C[(size_t)m * (N + 2) + n], (int)dot);
        }
    free(A); free(B); free(C); free(sa); free(sb);
}
END_TEST


/* Random words with bits past K zero; rows ld words apart, the words between rows random (must not be read). */
static uint64_t *random_packed(int rows, int K, int ld, unsigned *seed)
{
    int words = abc_bgemm_words(K);
    uint64_t *p = malloc(((size_t)rows * ld + 1) * sizeof *p);
    for (size_t i = 0; i < (size_t)rows * ld + 1; ++i)
        p[i] = ((uint64_t)rand_r(seed) << 42) ^ ((uint64_t)rand_r(seed) << 21) ^ (uint64_t)rand_r(seed);
    for (int r = 0; r < rows; ++r) {
        uint64_t *row = p + (size_t)r * ld;
        if (K % 64) row[words - 1] &= (1ull << (K % 64)) - 1;
    }
    return p;
}

/* M, N, K, extra words of stride, extra columns of ldc */
static const int kshapes[][5] = {
    {1, 1, 1, 0, 0},      {1, 1, 64, 0, 0},     {3, 5, 63, 1, 2},    {8, 16, 64, 0, 0},   {9, 17, 65, 2, 1},
    {7, 15, 127, 0, 3},   {16, 32, 256, 0, 0},  {17, 33, 257, 1, 0}, {2, 3, 31 * 256, 0, 0},
    {5, 40, 32 * 256 + 77, 3, 5}, {33, 47, 576, 0, 0}, {64, 200, 2304, 0, 0}, {13, 129, 1000, 1, 1},
    {40, 17, 300, 0, 0},  {1, 300, 2304, 0, 0}, {300, 1, 2304, 0, 0},  {0, 5, 64, 0, 0},    {5, 0, 64, 0, 0},
    {15, 96, 576, 0, 0},  {12, 48, 130, 1, 2},  {10, 64, 1000, 0, 1},
};
enum { NKSHAPES = sizeof kshapes / sizeof kshapes[0] };

/* The fused output stage (bgemm.h) of kernel k against abc_bgemm_out_value on the reference counts, for
 * each activation, with and without per-column corrections; outside the M x N floats nothing is written. */
static void check_output_stage(const abc_bgemm_kernel *k, int M, int N, int K, const uint64_t *A, int lda,
                               const uint64_t *Bp, const int32_t *want, int ldc, unsigned *seed)
{
    enum { NCLS = 5 };
    int ldo = N + 3;
    float *scale = malloc((size_t)M * sizeof *scale), *shift = malloc((size_t)M * sizeof *shift);
    float *out = malloc(((size_t)M * ldo + 1) * sizeof *out), *corr = malloc((size_t)M * NCLS * sizeof *corr);
    int32_t *cls = malloc((size_t)N * sizeof *cls);
    for (int m = 0; m < M; ++m) {
        scale[m] = abc_test_urand(seed, -0.05f, 0.05f);
        shift[m] = abc_test_urand(seed, -1.f, 1.f);
        for (int c = 0; c < NCLS; ++c) corr[m * NCLS + c] = abc_test_urand(seed, -3.f, 3.f);
    }
    for (int n = 0; n < N; ++n) cls[n] = rand_r(seed) % (NCLS + 3) - 3; /* -3..-1: none */
    for (int act = ABC_BGEMM_ACT_NONE; act <= ABC_BGEMM_ACT_RELU; ++act)
        for (int with_corr = 0; with_corr < 2; ++with_corr) {
            abc_bgemm_out o = {out, ldo, scale, shift, act, with_corr ? cls : NULL, corr, NCLS};
            for (size_t i = 0; i < (size_t)M * ldo + 1; ++i) out[i] = -777.f;
            k->panels_out(M, N, K, A, lda, Bp, &o);
            for (int m = 0; m < M; ++m)
                for (int n = 0; n < ldo; ++n) {
                    float w = n < N ? abc_bgemm_out_value(&o, m, n, want[(size_t)m * ldc + n]) : -777.f;
                    float g = out[(size_t)m * ldo + n];
                    ck_assert_msg(fabsf(g - w) <= 1e-5f * fmaxf(1.f, fabsf(w)),
                                  "kernel %s (output stage, act %d, corrections %d) M=%d N=%d K=%d: out[%d][%d] = %g, "
                                  "want %g", k->d.name, act, with_corr, M, N, K, m, n, g, w);
                }
            ck_assert_float_eq(out[(size_t)M * ldo], -777.f);
        }
    free(scale); free(shift); free(out); free(corr); free(cls);
}

/* Every kernel this CPU runs, direct and through the pool on 1 and 2 threads, equal to the reference. */
START_TEST(kernels_equal_reference)
{
    const abc_bgemm_kernel *k = (const abc_bgemm_kernel *)abc_bgemm_family.rows + _i;
    if (!abc_kernel_usable(&k->d)) {
        fprintf(stderr, "bgemm: kernel %s skipped: this CPU cannot run it\n", k->d.name);
        return;
    }
    for (int s = 0; s < NKSHAPES; ++s) {
        int M = kshapes[s][0], N = kshapes[s][1], K = kshapes[s][2];
        int lda = abc_bgemm_words(K) + kshapes[s][3], ldb = abc_bgemm_words(K) + kshapes[s][3] + 1;
        int ldc = N + kshapes[s][4];
        unsigned seed = 99u + (unsigned)s;
        uint64_t *A = random_packed(M, K, lda, &seed), *B = random_packed(N, K, ldb, &seed);
        size_t nc = (size_t)(M > 0 ? M : 1) * ldc + 1;
        int32_t *want = malloc(nc * sizeof *want), *got = malloc(nc * sizeof *got);
        for (size_t i = 0; i < nc; ++i) want[i] = -77777;
        abc_bgemm_ref(M, N, K, A, lda, B, ldb, want, ldc);
        for (int mode = 0; mode < 3; ++mode) { /* direct, pool 1 thread, pool 2 threads */
            for (size_t i = 0; i < nc; ++i) got[i] = -77777;
            if (mode == 0) k->fn(M, N, K, A, lda, B, ldb, got, ldc);
            else {
                abc_set_threads(mode);
                abc_bgemm_with(k, M, N, K, A, lda, B, ldb, got, ldc);
            }
            for (size_t i = 0; i < nc; ++i)
                if (got[i] != want[i])
                    ck_abort_msg("kernel %s M=%d N=%d K=%d lda=%d ldb=%d ldc=%d mode %d: C[%zu] = %d, want %d",
                                 k->d.name, M, N, K, lda, ldb, ldc, mode, i, got[i], want[i]);
        }
        if (k->panels && N > 0) { /* B handed over in panels (bgemm.h), spare columns zero */
            int words = abc_bgemm_words(K), np = (N + ABC_BGEMM_PANEL - 1) / ABC_BGEMM_PANEL;
            size_t nbp = (size_t)np * ABC_BGEMM_PANEL * (words > 0 ? words : 1);
            uint64_t *Bp = aligned_alloc(64, nbp * sizeof *Bp);
            memset(Bp, 0, nbp * sizeof *Bp);
            for (int n = 0; n < N; ++n)
                for (int w = 0; w < words; ++w)
                    Bp[(size_t)(n / ABC_BGEMM_PANEL) * words * ABC_BGEMM_PANEL + (size_t)w * ABC_BGEMM_PANEL +
                       n % ABC_BGEMM_PANEL] = B[(size_t)n * ldb + w];
            for (size_t i = 0; i < nc; ++i) got[i] = -77777;
            k->panels(M, N, K, A, lda, Bp, got, ldc);
            for (size_t i = 0; i < nc; ++i)
                if (got[i] != want[i])
                    ck_abort_msg("kernel %s (panels) M=%d N=%d K=%d: C[%zu] = %d, want %d", k->d.name, M, N, K, i, got[i],
                                 want[i]);
            if (k->panels_out && M > 0) check_output_stage(k, M, N, K, A, lda, Bp, want, ldc, &seed);
            free(Bp);
        }
        free(A); free(B); free(want); free(got);
    }
    abc_set_threads(0);
}
END_TEST

/* A product large enough for the pool to split it, on 2 threads, for the chosen kernel. */
START_TEST(chosen_kernel_split_across_threads)
{
    int M = 70, N = 333, K = 2304 + 13, ld = abc_bgemm_words(K);
    unsigned seed = 5u;
    uint64_t *A = random_packed(M, K, ld, &seed), *B = random_packed(N, K, ld, &seed);
    int32_t *want = malloc((size_t)M * N * sizeof *want), *got = malloc((size_t)M * N * sizeof *got);
    abc_bgemm_ref(M, N, K, A, ld, B, ld, want, N);
    for (int t = 1; t <= 2; ++t) {
        abc_set_threads(t);
        abc_bgemm(M, N, K, A, ld, B, ld, got, N);
        for (int i = 0; i < M * N; ++i) ck_assert_int_eq(got[i], want[i]);
        abc_bgemm(N, M, K, B, ld, A, ld, got, M); /* the transposed product splits the other way */
        for (int m = 0; m < M; ++m)
            for (int n = 0; n < N; ++n) ck_assert_int_eq(got[n * M + m], want[m * N + n]);
    }
    abc_set_threads(0);
    free(A); free(B); free(want); free(got);
}
END_TEST

START_TEST(env_forces_a_kernel_and_rejects_bad_names)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ABC_BGEMM=nosuch %s abc bench -quick 2>&1", abc_test_darknet_path());
    abc_run_result r = abc_test_run(cmd);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.out, "darknet: error: ABC_BGEMM='nosuch': unknown kernel (kernels: ref|portable"),
                  "got: %s", r.out);
    ck_assert_int_eq(abc_test_count_lines(r.out), 1);
    abc_run_free(&r);
    snprintf(cmd, sizeof cmd, "ABC_BGEMM=ref %s abc bench -quick 2>&1", abc_test_darknet_path());
    r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0 && strstr(r.out, "chosen: ref"), "got: %s", r.out);
    abc_run_free(&r);
}
END_TEST

static Suite *suite_bgemm(void)
{
    Suite *s = suite_create("bgemm");
    TCase *tc = tcase_create("reference");
    tcase_add_loop_test(tc, ref_equals_float_dot_product, 0, (int)(sizeof shapes / sizeof shapes[0]));
    suite_add_tcase(s, tc);
    TCase *tk = tcase_create("kernels");
    tcase_set_timeout(tk, 60);
    tcase_add_loop_test(tk, kernels_equal_reference, 0, abc_bgemm_family.n);
    tcase_add_test(tk, chosen_kernel_split_across_threads);
    tcase_add_test(tk, env_forces_a_kernel_and_rejects_bad_names);
    suite_add_tcase(s, tk);
    return s;
}
ABC_TEST_SUITE(suite_bgemm)
