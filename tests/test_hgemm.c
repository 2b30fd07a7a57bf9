/* The segment GEMM against its meaning (a float dot product of
 * magnitude-times-sign rows), and every kernel against the reference. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/threads.h"
#include "kernels/hgemm.h"
#include "kernels/hgemm_kernels.h"
#include "test_util.h"

typedef struct {
    uint64_t *Wb, *Ab;
    float *Wm, *Am, *C;
    uint8_t *len;
    hada_hgemm_args a;
} prob;

/* n 32-bit words, 64-byte aligned (the kernels' panels). */
static uint32_t *words64(size_t n)
{
    void *p = NULL;
    ck_assert_int_eq(posix_memalign(&p, 64, (n * sizeof(uint32_t) + 63) / 64 * 64), 0);
    return p;
}

static float frand(unsigned *seed) { return (float)rand_r(seed) / (float)RAND_MAX; }

/* Rows of S segments of slot s, lengths len, random signs (pad bits zero), magnitudes in [0, 1) with some zeros;
 * rows ld words / ldm floats apart, the gaps filled with junk the kernels must not read as data. */
static void fill(int rows, int S, int s, const uint8_t *len, size_t ld, size_t ldm, uint64_t **bits, float **mags,
                 unsigned *seed)
{
    *bits = calloc((size_t)rows * ld + 1, sizeof **bits);
    *mags = malloc(((size_t)rows * ldm + 1) * sizeof **mags);
    for (size_t i = 0; i < (size_t)rows * ldm + 1; ++i) (*mags)[i] = 1e30f;
    for (int r = 0; r < rows; ++r) {
        uint64_t *row = *bits + (size_t)r * ld;
        for (int j = 0; j < S; ++j) {
            uint64_t v = ((uint64_t)rand_r(seed) << 42) ^ ((uint64_t)rand_r(seed) << 21) ^ (uint64_t)rand_r(seed);
            v = len[j] == 64 ? v : v & ((1ull << len[j]) - 1);
            hada_hgemm_set_seg(row, j, s, v);
            (*mags)[(size_t)r * ldm + j] = rand_r(seed) % 7 == 0 ? 0.f : 0.05f + frand(seed);
        }
        for (size_t w = hada_hgemm_words(S, s); w < ld; ++w) row[w] = 0xdeadbeefcafef00dull;
    }
}

/* Segments: tails of length tail (0: all full) every `every` segments, as the layer's taps make them. */
static void make(prob *p, int M, int N, int S, int s, int g, int tail, int every, int extra, unsigned seed)
{
    memset(p, 0, sizeof *p);
    p->len = malloc((size_t)(S > 0 ? S : 1));
    for (int j = 0; j < S; ++j) p->len[j] = (uint8_t)(tail && every && j % every == every - 1 ? tail : g);
    size_t ldw = hada_hgemm_words(S, s) + extra, lda = hada_hgemm_words(S, s) + 2 * extra;
    size_t ldwm = (size_t)S + extra, ldam = (size_t)S + 3 * extra, ldc = (size_t)N + extra;
    fill(M, S, s, p->len, ldw, ldwm, &p->Wb, &p->Wm, &seed);
    fill(N, S, s, p->len, lda, ldam, &p->Ab, &p->Am, &seed);
    p->C = malloc(((size_t)(M > 0 ? M : 1) * ldc + 1) * sizeof *p->C);
    p->a = (hada_hgemm_args){.M = M, .N = N, .S = S, .s = s, .Wb = p->Wb, .Wm = p->Wm, .Ab = p->Ab, .Am = p->Am,
                             .len = p->len, .C = p->C, .ldwb = ldw, .ldwm = ldwm, .ldab = lda, .ldam = ldam,
                             .ldc = ldc};
}

static void drop(prob *p)
{
    free(p->Wb); free(p->Ab); free(p->Wm); free(p->Am); free(p->C); free(p->len);
}

/* sum_j |Wm Am| len_j: the scale of a result's rounding error. */
static double scale(const hada_hgemm_args *a, int m, int n)
{
    double t = 0;
    for (int j = 0; j < a->S; ++j)
        t += fabs((double)a->Wm[(size_t)m * a->ldwm + j] * a->Am[(size_t)n * a->ldam + j]) * a->len[j];
    return t;
}

/* The reference equals the expanded float product sum_j sum_b (Wm_j w_b)(Am_j a_b). */
START_TEST(ref_equals_expanded_product)
{
    static const int gs[] = {1, 2, 3, 4, 8, 12, 16, 32, 33, 64};
    int g = gs[_i], s = hada_hgemm_slot(g);
    prob p;
    make(&p, 5, 7, 23, s, g, g > 1 ? g - 1 : 0, 4, 1, 77u + (unsigned)_i);
    hada_hgemm_ref(&p.a);
    for (int m = 0; m < 5; ++m)
        for (int n = 0; n < 7; ++n) {
            double want = 0;
            for (int j = 0; j < p.a.S; ++j) {
                uint64_t w = hada_hgemm_seg(p.Wb + m * p.a.ldwb, j, s), x = hada_hgemm_seg(p.Ab + n * p.a.ldab, j, s);
                for (int b = 0; b < p.len[j]; ++b)
                    want += (double)p.Wm[m * p.a.ldwm + j] * ((w >> b) & 1 ? 1 : -1) * p.Am[n * p.a.ldam + j] *
                            ((x >> b) & 1 ? 1 : -1);
            }
            double got = p.C[m * p.a.ldc + n];
            ck_assert_msg(fabs(got - want) <= 1e-5 * scale(&p.a, m, n) + 1e-6, "g=%d C[%d][%d] = %g, want %g", g, m,
                          n, got, want);
        }
    drop(&p);
}
END_TEST

/* M, N, S, g, tail length (0: none), tail every, extra stride */
static const int kshapes[][7] = {
    {1, 1, 1, 16, 0, 0, 0},    {8, 32, 36, 16, 0, 0, 0},  {9, 33, 37, 16, 5, 3, 1}, {7, 31, 9, 2, 1, 3, 2},
    {3, 5, 18, 4, 3, 2, 0},    {17, 65, 27, 8, 7, 3, 1},  {16, 64, 40, 32, 17, 5, 0}, {5, 40, 20, 64, 63, 4, 2},
    {13, 100, 9, 12, 4, 1, 1}, {64, 49, 288, 16, 0, 0, 0}, {2, 300, 72, 16, 0, 0, 3}, {40, 3, 36, 16, 1, 9, 0},
    {6, 6, 33, 1, 0, 0, 0},    {0, 5, 4, 16, 0, 0, 0},    {5, 0, 4, 16, 0, 0, 0},    {4, 4, 0, 16, 0, 0, 0},
    {11, 70, 50, 64, 0, 0, 1}, {8, 129, 9, 48, 47, 9, 0},
};
enum { NKSHAPES = sizeof kshapes / sizeof kshapes[0] };

static void check(const prob *p, const float *want, const float *got, const char *what, int sh)
{
    const hada_hgemm_args *a = &p->a;
    for (int m = 0; m < a->M; ++m) {
        for (int n = 0; n < a->N; ++n) {
            float w = want[(size_t)m * a->ldc + n], g = got[(size_t)m * a->ldc + n];
            if (!(fabs((double)g - w) <= 1e-5 * scale(a, m, n) + 1e-6))
                ck_abort_msg("%s shape %d (M=%d N=%d S=%d s=%d): C[%d][%d] = %.9g, want %.9g", what, sh, a->M, a->N,
                             a->S, a->s, m, n, g, w);
        }
        for (size_t n = (size_t)a->N; n < a->ldc; ++n) /* the gap between result rows is not written */
            ck_assert_msg(got[(size_t)m * a->ldc + n] == -777.f, "%s shape %d wrote past a row", what, sh);
    }
}

/* Every kernel this CPU runs, direct and through the pool on 1 and 2 threads, equal to the reference. */
START_TEST(kernels_equal_reference)
{
    const hada_hgemm_kernel *k = (const hada_hgemm_kernel *)hada_hgemm_family.rows + _i;
    if (!abc_kernel_usable(&k->d)) {
        fprintf(stderr, "hgemm: kernel %s skipped: this CPU cannot run it\n", k->d.name);
        return;
    }
    for (int sh = 0; sh < NKSHAPES; ++sh) {
        const int *d = kshapes[sh];
        prob p;
        make(&p, d[0], d[1], d[2], hada_hgemm_slot(d[3]), d[3], d[4], d[5], d[6], 1000u + (unsigned)sh);
        size_t nc = (size_t)(d[0] > 0 ? d[0] : 1) * p.a.ldc + 1;
        float *want = malloc(nc * sizeof *want);
        for (size_t i = 0; i < nc; ++i) want[i] = -777.f;
        p.a.C = want;
        hada_hgemm_ref(&p.a);
        p.a.C = p.C;
        uint32_t *Wp = NULL;
        if (k->mr) { /* the weights handed over in the kernel's row panels */
            Wp = words64(hada_hgemm_row_panels_size(&p.a, k->mr) + 16);
            hada_hgemm_pack_all_rows(&p.a, k->mr, Wp);
        }
        uint32_t *Ap = NULL;
        if (k->nr && d[1] > 0) { /* A handed over in the kernel's column panels */
            int nsub = p.a.s > 32 ? 2 : 1, np = (d[1] + k->nr - 1) / k->nr;
            size_t ps = hada_hgemm_col_panel_size(p.a.S, p.a.s, k->nr);
            Ap = words64(np * ps + 16);
            for (int i = 0; i < np; ++i) {
                int nr = d[1] - i * k->nr < k->nr ? d[1] - i * k->nr : k->nr;
                memset(Ap + i * ps, 0, ps * sizeof *Ap);
                hada_hgemm_pack_cols(&p.a, i * k->nr, nr, k->nr, nsub, Ap + i * ps);
            }
        }
        for (int mode = 0; mode < 9; ++mode) { /* direct, pool 1 and 2 threads; with row panels; with both */
            if (mode >= 3 && !Wp) break;
            for (size_t i = 0; i < nc; ++i) p.C[i] = -777.f;
            p.a.Wp = mode >= 3 ? Wp : NULL;
            p.a.Ap = mode >= 6 ? Ap : NULL;
            if (mode >= 6 && !Ap) continue;
            if (mode % 3 == 0) {
                k->fn(&p.a);
            } else {
                abc_set_threads(mode % 3);
                hada_hgemm_with(k, &p.a);
            }
            char what[64];
            snprintf(what, sizeof what, "kernel %s mode %d", k->d.name, mode);
            check(&p, want, p.C, what, sh);
        }
        free(want);
        free(Wp);
        free(Ap);
        drop(&p);
    }
    abc_set_threads(0);
}
END_TEST

/* The optional output stage: act(scale*sum + shift) per W row, for every kernel and activation. */
START_TEST(kernels_apply_the_output_stage)
{
    int nk = hada_hgemm_family.n;
    const hada_hgemm_kernel *ks = hada_hgemm_family.rows;
    prob p;
    make(&p, 13, 70, 40, 16, 16, 5, 7, 1, 3u);
    float scale[13], shift[13];
    unsigned seed = 9;
    for (int m = 0; m < 13; ++m) scale[m] = 0.5f + frand(&seed), shift[m] = frand(&seed) - 0.5f;
    size_t nc = (size_t)13 * p.a.ldc + 1;
    float *plain = malloc(nc * sizeof *plain), *want = malloc(nc * sizeof *want);
    p.a.C = plain;
    hada_hgemm_ref(&p.a);
    for (int act = HADA_ACT_NONE; act <= HADA_ACT_RELU; ++act) {
        for (size_t i = 0; i < nc; ++i) want[i] = -777.f;
        for (int m = 0; m < 13; ++m)
            for (int n = 0; n < 70; ++n) {
                float v = plain[m * p.a.ldc + n] * scale[m] + shift[m];
                want[m * p.a.ldc + n] = act == HADA_ACT_LEAKY ? (v > 0 ? v : 0.1f * v) : act == HADA_ACT_RELU ? fmaxf(v, 0) : v;
            }
        p.a.scale = scale, p.a.shift = shift, p.a.act = act;
        for (int k = 0; k < nk; ++k) {
            if (!abc_kernel_usable(&ks[k].d)) continue;
            for (int t = 1; t <= 2; ++t) {
                abc_set_threads(t);
                for (size_t i = 0; i < nc; ++i) p.C[i] = -777.f;
                p.a.C = p.C;
                hada_hgemm_with(&ks[k], &p.a);
                char what[64];
                snprintf(what, sizeof what, "kernel %s act %d", ks[k].d.name, act);
                check(&p, want, p.C, what, t);
            }
        }
    }
    abc_set_threads(0);
    free(plain);
    free(want);
    drop(&p);
}
END_TEST

/* A product large enough for the pool to split it (both ways), for the chosen kernel, 1 and 2 threads. */
START_TEST(chosen_kernel_split_across_threads)
{
    for (int t = 1; t <= 2; ++t)
        for (int tr = 0; tr < 2; ++tr) {
            prob p;
            make(&p, tr ? 300 : 70, tr ? 40 : 333, 144, 16, 16, 9, 5, 0, 5u);
            size_t nc = (size_t)p.a.M * p.a.ldc + 1;
            float *want = malloc(nc * sizeof *want);
            for (size_t i = 0; i < nc; ++i) want[i] = p.C[i] = -777.f;
            p.a.C = want;
            hada_hgemm_ref(&p.a);
            p.a.C = p.C;
            abc_set_threads(t);
            hada_hgemm(&p.a);
            check(&p, want, p.C, abc_kernel_chosen_name(&hada_hgemm_family), t);
            int mr = ((const hada_hgemm_kernel *)abc_kernel_chosen(&hada_hgemm_family))->mr;
            if (tr && mr) { /* split by rows with the weights in row panels */
                uint32_t *Wp = words64(hada_hgemm_row_panels_size(&p.a, mr) + 16);
                hada_hgemm_pack_all_rows(&p.a, mr, Wp);
                p.a.Wp = Wp;
                for (size_t i = 0; i < nc; ++i) p.C[i] = -777.f;
                hada_hgemm(&p.a);
                check(&p, want, p.C, "row panels", t);
                free(Wp);
            }
            free(want);
            drop(&p);
        }
    abc_set_threads(0);
}
END_TEST

START_TEST(env_forces_a_kernel_and_rejects_bad_names)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "HADA_KERNEL=nosuch %s abc bench -quick 2>&1", abc_test_darknet_path());
    abc_run_result r = abc_test_run(cmd);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.out, "darknet: error: HADA_KERNEL='nosuch': unknown kernel (kernels: ref|portable"),
                  "got: %s", r.out);
    ck_assert_int_eq(abc_test_count_lines(r.out), 1);
    abc_run_free(&r);
    snprintf(cmd, sizeof cmd, "HADA_KERNEL=portable %s abc bench -quick -gemm 2>&1", abc_test_darknet_path());
    r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0 && strstr(r.out, "segment GEMM kernel (HadaNet) chosen: portable") &&
                      strstr(r.out, "kernel chosen: portable;"),
                  "got: %s", r.out);
    abc_run_free(&r);
}
END_TEST

static Suite *suite_hgemm(void)
{
    Suite *s = suite_create("hgemm");
    TCase *tc = tcase_create("reference");
    tcase_add_loop_test(tc, ref_equals_expanded_product, 0, 10);
    suite_add_tcase(s, tc);
    TCase *tk = tcase_create("kernels");
    tcase_set_timeout(tk, 60);
    tcase_add_loop_test(tk, kernels_equal_reference, 0, hada_hgemm_family.n);
    tcase_add_test(tk, chosen_kernel_split_across_threads);
    tcase_add_test(tk, kernels_apply_the_output_stage);
    tcase_add_test(tk, env_forces_a_kernel_and_rejects_bad_names);
    suite_add_tcase(s, tk);
    return s;
}
ABC_TEST_SUITE(suite_hgemm)
