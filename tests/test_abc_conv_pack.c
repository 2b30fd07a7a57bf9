/* Packing of the ABC inference path (abc_conv_pack.h) against plain
 * definitions written here: every input packer (words equal exactly, nothing
 * outside the asked pixel range written), bit-stream rows and im2col over
 * words, the border
 * classes; and the whole layer through every binary GEMM kernel and input
 * packer, on 1 and 2 threads, against the float simulation. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/threads.h"
#include "kernels/bgemm_kernels.h"
#include "kernels/bim2col.h"
#include "kernels/bitpack.h"
#include "layers/abc/abc_conv.h"
#include "layers/abc/abc_conv_pack.h"
#include "test_util.h"

static uint64_t rand64(unsigned *seed)
{
    return ((uint64_t)rand_r(seed) << 42) ^ ((uint64_t)rand_r(seed) << 21) ^ (uint64_t)rand_r(seed);
}

/* C, HW, q0, q1, bases */
static const int pshapes[][5] = {{1, 1, 0, 1, 1},    {3, 17, 0, 17, 3},  {63, 16, 0, 16, 2}, {64, 49, 5, 40, 3},
                                 {65, 33, 16, 33, 5}, {130, 20, 3, 4, 1}, {200, 70, 0, 70, 8}, {7, 100, 31, 77, 4}};
enum { NPSHAPES = sizeof pshapes / sizeof pshapes[0] };

START_TEST(input_packers_equal_definition)
{
    const abc_bitpack_kernel *k = abc_test_use_kernel(&abc_bitpack_family, _i);
    if (!k) return;
    const char *name = k->d.name;
    ck_assert_str_eq(abc_kernel_chosen_name(&abc_bitpack_family), name);
    for (int s = 0; s < NPSHAPES; ++s) {
        int C = pshapes[s][0], HW = pshapes[s][1], q0 = pshapes[s][2], q1 = pshapes[s][3], nb = pshapes[s][4];
        int cw = (C + 63) / 64;
        unsigned seed = 17u + (unsigned)s;
        float *x = malloc((size_t)C * HW * sizeof *x), thr[ABC_BITPACK_MAX_THRESHOLDS];
        /* a grid of values, so that some equal a threshold exactly (x >= thr gives 1) */
        for (int i = 0; i < C * HW; ++i) x[i] = (float)(rand_r(&seed) % 13 - 6) * 0.25f;
        for (int n = 0; n < nb; ++n) thr[n] = (float)(n % 5 - 2) * 0.25f;
        size_t nw = (size_t)nb * HW * cw;
        uint64_t *got = malloc(nw * sizeof *got), *want = malloc(nw * sizeof *want);
        for (size_t i = 0; i < nw; ++i) got[i] = want[i] = 0xdeadbeefcafef00dull;
        for (int n = 0; n < nb; ++n)
            for (int q = q0; q < q1; ++q)
                for (int w = 0; w < cw; ++w) {
                    uint64_t v = 0;
                    for (int b = 0; b < 64 && w * 64 + b < C; ++b)
                        if (x[(size_t)(w * 64 + b) * HW + q] >= thr[n]) v |= 1ull << b;
                    want[((size_t)n * HW + q) * cw + w] = v;
                }
        abc_bitpack_pixels(x, C, HW, q0, q1, thr, nb, got, cw);
        for (size_t i = 0; i < nw; ++i)
            if (got[i] != want[i])
                ck_abort_msg("packer %s C=%d HW=%d pixels [%d,%d) bases %d: word %zu = %016llx, want %016llx", name,
                             C, HW, q0, q1, nb, i, (unsigned long long)got[i], (unsigned long long)want[i]);
        free(x);
        free(got);
        free(want);
    }
    abc_kernel_set(&abc_bitpack_family, NULL);
}
END_TEST

/* h, w, C, size, stride, pad, p0, p1 (p1 = -1: all) */
static const int ishapes[][8] = {{5, 4, 64, 3, 1, 1, 0, -1},  {6, 7, 130, 3, 2, 1, 3, 9}, {5, 5, 16, 5, 1, 2, 0, -1},
                                 {4, 6, 3, 1, 1, 0, 1, 20},   {9, 8, 32, 3, 2, 0, 0, -1}, {3, 3, 67, 3, 1, 2, 0, -1},
                                 {1, 1, 1, 1, 1, 0, 0, -1},   {7, 5, 24, 5, 2, 2, 2, 11}, {6, 9, 100, 3, 1, 1, 0, -1},
                                 /* windows on word boundaries, runs starting and ending inside a row */
                                 {6, 7, 128, 3, 2, 1, 2, 10}, {5, 9, 64, 3, 1, 1, 4, 30},
                                 /* windows off words into panels: several groups of 8 along a row, partial ones, steps
                                  * up to and past the vector loop's 128 bits */
                                 {9, 20, 32, 3, 1, 1, 0, -1}, {7, 19, 40, 3, 1, 1, 5, 60}, {6, 11, 127, 3, 1, 1, 0, -1},
                                 {6, 11, 129, 3, 1, 1, 0, -1}, {8, 30, 16, 3, 2, 1, 3, -1}, {5, 12, 63, 3, 2, 1, 0, -1},
                                 /* a pixel one bit past a word's end (5*12 = 60, 3*42 = 126) */
                                 {3, 30, 5, 3, 1, 1, 0, -1},   {3, 50, 3, 3, 1, 1, 0, -1}};
enum { NISHAPES = sizeof ishapes / sizeof ishapes[0] };

static int getbit(const uint64_t *w, long bit) { return (int)((w[bit / 64] >> (bit % 64)) & 1); }

/* Random pixel bits -> stream rows -> im2col rows, each checked bit by bit against the layout's definition,
 * through binary im2col kernel _i. */
START_TEST(stream_and_im2col_equal_definition)
{
    if (!abc_test_use_kernel(&abc_bim2col_family, _i)) return;
    for (int s = 0; s < NISHAPES; ++s) {
        const int *d = ishapes[s];
        int h = d[0], w = d[1], C = d[2], size = d[3], stride = d[4], pad = d[5];
        int out_h = (h + 2 * pad - size) / stride + 1, out_w = (w + 2 * pad - size) / stride + 1;
        int p0 = d[6], p1 = d[7] < 0 ? out_h * out_w : d[7];
        int cw = (C + 63) / 64, rk = (size * C + 63) / 64, kw = size * rk, ld = kw + 1;
        int rw = (int)(((long)(w + 2 * pad) * C + 63) / 64) + 1;
        unsigned seed = 5u + (unsigned)s;
        char *bits = malloc((size_t)h * w * C);
        uint64_t *px = calloc((size_t)h * w * cw, sizeof *px);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                for (int c = 0; c < C; ++c) {
                    int b = rand_r(&seed) & 1;
                    bits[((size_t)y * w + x) * C + c] = (char)b;
                    if (b) px[((size_t)y * w + x) * cw + c / 64] |= 1ull << (c % 64);
                }
        size_t nrows = (size_t)(h + 2 * pad) * rw;
        uint64_t *rows = malloc(nrows * sizeof *rows);
        for (size_t i = 0; i < nrows; ++i) rows[i] = rand64(&seed); /* stream_rows must write whole rows */
        memset(rows, 0, (size_t)pad * rw * sizeof *rows);
        memset(rows + (size_t)(pad + h) * rw, 0, (size_t)pad * rw * sizeof *rows);
        abc_bim2col_stream_rows(px, w, cw, C, pad, 0, h / 2, rows + (size_t)pad * rw, rw);
        abc_bim2col_stream_rows(px, w, cw, C, pad, h / 2, h, rows + (size_t)pad * rw, rw);
        for (int y = 0; y < h; ++y)
            for (long bit = 0; bit < 64L * rw; ++bit) {
                long x = bit / C - pad, c = bit % C;
                int want = x >= 0 && x < w ? bits[((size_t)y * w + x) * C + c] : 0;
                ck_assert_msg(getbit(rows + (size_t)(y + pad) * rw, bit) == want, "case %d: stream row %d bit %ld", s,
                              y, bit);
            }
        size_t n = (size_t)(p1 - p0) * ld;
        uint64_t *got = malloc(n * sizeof *got);
        for (size_t i = 0; i < n; ++i) got[i] = 0x5555;
        abc_bim2col(rows, rw, C, size, stride, out_w, p0, p1, got, ld, 1);
        for (int p = p0; p < p1; ++p) {
            const uint64_t *r = got + (size_t)(p - p0) * ld;
            for (int ky = 0; ky < size; ++ky)
                for (int kb = 0; kb < 64 * rk; ++kb) {
                    int kx = kb / C, c = kb % C, want = 0;
                    int iy = (p / out_w) * stride - pad + ky, ix = (p % out_w) * stride - pad + kx;
                    if (kx < size && iy >= 0 && ix >= 0 && iy < h && ix < w) want = bits[((size_t)iy * w + ix) * C + c];
                    ck_assert_msg(getbit(r + ky * rk, kb) == want, "case %d p=%d ky=%d bit %d: %d, want %d", s, p, ky,
                                  kb, getbit(r + ky * rk, kb), want);
                }
            ck_assert_msg(r[kw] == 0x5555, "case %d: wrote past kw", s);
        }
        /* the same rows written as columns of a panel: words 16 apart, rows 1 apart */
        uint64_t *pan = calloc((size_t)kw * 16, sizeof *pan);
        for (int p = p0; p < p1; p += 16) {
            int e = p + 16 < p1 ? p + 16 : p1;
            memset(pan, 0, (size_t)kw * 16 * sizeof *pan);
            abc_bim2col(rows, rw, C, size, stride, out_w, p, e, pan, 1, 16);
            for (int q = p; q < e; ++q)
                for (int i = 0; i < kw; ++i)
                    ck_assert_msg(pan[(size_t)i * 16 + (q - p)] == got[(size_t)(q - p0) * ld + i],
                                  "case %d: panel column %d word %d", s, q, i);
        }
        free(pan);
        free(bits);
        free(px);
        free(rows);
        free(got);
    }
    abc_kernel_set(&abc_bim2col_family, NULL);
}
END_TEST

/* Border classes: two outputs share a class iff the same kernel taps fall inside the input. */
START_TEST(tap_patterns_classify_windows)
{
    for (int in = 1; in <= 9; ++in)
        for (int size = 1; size <= 5; ++size)
            for (int stride = 1; stride <= 3; ++stride)
                for (int pad = 0; pad <= 2; ++pad) {
                    if (in + 2 * pad < size) continue;
                    int out = (in + 2 * pad - size) / stride + 1;
                    int32_t cls[32];
                    int lo[32], hi[32];
                    int np = abc_conv_tap_patterns(in, out, size, stride, pad, cls, lo, hi);
                    ck_assert_int_eq(np, abc_conv_tap_patterns(in, out, size, stride, pad, NULL, NULL, NULL));
                    for (int o = 0; o < out; ++o) {
                        ck_assert(cls[o] >= 0 && cls[o] < np);
                        for (int k = 0; k < size; ++k) {
                            int y = o * stride - pad + k, inside = y >= 0 && y < in;
                            ck_assert_msg(inside == (k >= lo[cls[o]] && k < hi[cls[o]]),
                                          "in=%d size=%d stride=%d pad=%d o=%d tap %d", in, size, stride, pad, o, k);
                        }
                    }
                    for (int a = 0; a < np; ++a)
                        for (int b = a + 1; b < np; ++b) ck_assert(lo[a] != lo[b] || hi[a] != hi[b]);
                }
}
END_TEST

/* One layer: max |packed - simulated| / max |simulated|. */
static double layer_diff(int h, int w, int c, int n, int size, int stride, int pad, int batch, int M, int N, int bn,
                         ACTIVATION act, unsigned seed)
{
    abc_conv_opts o;
    abc_conv_default_opts(&o, M, N);
    layer l = abc_conv_make(batch, h, w, c, n, size, stride, pad, act, bn, &o);
    for (int k = 0; k < l.nweights; ++k) l.weights[k] = (float)rand_r(&seed) / RAND_MAX - .5f;
    for (int k = 0; k < l.n; ++k) l.biases[k] = (float)rand_r(&seed) / RAND_MAX - .5f;
    if (bn)
        for (int k = 0; k < l.n; ++k) l.rolling_variance[k] = .5f + (float)rand_r(&seed) / RAND_MAX;
    abc_conv_quantize_weights(&l, 1);
    network net;
    memset(&net, 0, sizeof net);
    net.batch = batch;
    net.input = malloc((size_t)batch * l.inputs * sizeof(float));
    net.workspace = calloc(l.workspace_size / sizeof(float) + 1, sizeof(float));
    for (int k = 0; k < batch * l.inputs; ++k) net.input[k] = 3.f * rand_r(&seed) / RAND_MAX - 1.f;
    size_t no = (size_t)batch * l.outputs;
    float *sim = malloc(no * sizeof *sim);
    abc_conv_forward_sim(l, net);
    memcpy(sim, l.output, no * sizeof *sim);
    for (size_t k = 0; k < no; ++k) l.output[k] = NAN; /* every output must be written */
    abc_conv_forward_packed(l, net);
    double md = 0, mx = 0;
    for (size_t k = 0; k < no; ++k) {
        double d = fabs((double)l.output[k] - sim[k]);
        md = d == d ? fmax(md, d) : INFINITY;
        mx = fmax(mx, fabs(sim[k]));
    }
    free(sim);
    free(net.input);
    free(net.workspace);
    free_layer(l);
    return mx > 0 ? md / mx : INFINITY;
}

/* h, w, c, n, size, stride, pad, batch, M, N: small and large enough for the pool to split (>= 4M binary MACs) */
static const int lshapes[][10] = {{12, 10, 16, 8, 3, 1, 1, 1, 2, 3}, {9, 9, 24, 5, 3, 2, 1, 2, 1, 2},
                                  {9, 8, 67, 9, 3, 1, 1, 2, 3, 3},   {14, 14, 64, 24, 3, 1, 1, 1, 3, 3},
                                  {13, 11, 130, 40, 3, 2, 1, 1, 2, 2}, {20, 20, 32, 17, 3, 1, 1, 1, 1, 1},
                                  {7, 7, 96, 70, 5, 1, 2, 1, 3, 5},  {1, 1, 300, 33, 1, 1, 0, 3, 3, 3},
                                  {6, 6, 16, 8, 1, 1, 0, 4, 2, 3},   {14, 14, 256, 32, 3, 1, 1, 2, 1, 1}};
enum { NLSHAPES = sizeof lshapes / sizeof lshapes[0] };

/* Task _i: binary GEMM kernel _i (or, past the kernels, input packer _i - nkernels) on 1 and 2 threads. */
START_TEST(layer_through_every_kernel_and_packer)
{
    int nk = abc_bgemm_family.n;
    abc_kernel_family *f = _i < nk ? &abc_bgemm_family : &abc_bitpack_family;
    const abc_kernel_desc *k = abc_test_use_kernel(f, _i < nk ? _i : _i - nk);
    if (!k) return;
    char what[64];
    snprintf(what, sizeof what, "%s %s", f->what, k->name);
    for (int t = 1; t <= 2; ++t) {
        abc_set_threads(t);
        for (int s = 0; s < NLSHAPES; ++s) {
            const int *d = lshapes[s];
            double r = layer_diff(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], s % 2,
                                  s % 3 == 0 ? LEAKY : s % 3 == 1 ? LINEAR : RELU, 31u * (unsigned)s + 7u);
            ck_assert_msg(r <= 1e-4, "%s, %d threads, shape %d: max relative difference %g", what, t, s, r);
        }
    }
    abc_set_threads(0);
    abc_kernel_set(f, NULL);
}
END_TEST

/* The split across threads does not change any sum's order: 1 and 2 threads give the same bits. */
START_TEST(same_output_on_1_and_2_threads)
{
    abc_conv_opts o;
    abc_conv_default_opts(&o, 3, 3);
    layer l = abc_conv_make(1, 20, 18, 48, 40, 3, 1, 1, LEAKY, 1, &o); /* 9*40*360*432 bMACs: the pool splits it */
    unsigned seed = 3;
    for (int k = 0; k < l.n; ++k) l.rolling_variance[k] = 1;
    network net;
    memset(&net, 0, sizeof net);
    net.batch = 1;
    net.input = malloc((size_t)l.inputs * sizeof(float));
    for (int k = 0; k < l.inputs; ++k) net.input[k] = 3.f * rand_r(&seed) / RAND_MAX - 1.f;
    float *one = malloc((size_t)l.outputs * sizeof *one);
    abc_set_threads(1);
    abc_conv_forward_packed(l, net);
    memcpy(one, l.output, (size_t)l.outputs * sizeof *one);
    abc_set_threads(2);
    memset(l.output, 0, (size_t)l.outputs * sizeof *one);
    abc_conv_forward_packed(l, net);
    ck_assert_msg(!memcmp(one, l.output, (size_t)l.outputs * sizeof *one), "outputs differ between 1 and 2 threads");
    abc_set_threads(0);
    free(one);
    free(net.input);
    free_layer(l);
}
END_TEST

/* The same on batches, strides, 1x1 and 5x5 kernels, with and without
 * padding, splits by positions and by filter sets, and 3 threads (units
 * stolen across ranges, row groups shared by neighbouring ranges): every
 * thread count gives the 1-thread bits (each
 * case above the size below which a forward runs on one thread). */
START_TEST(same_output_on_any_thread_count)
{
    static const int cases[][9] = {/* batch h w c n size stride pad M */
                                   {1, 31, 29, 16, 48, 3, 1, 1, 1}, {2, 17, 23, 70, 16, 3, 2, 1, 3},
                                   {3, 12, 12, 64, 65, 1, 1, 0, 2}, {1, 26, 21, 9, 40, 5, 1, 2, 3},
                                   {2, 40, 9, 32, 64, 3, 1, 0, 1},  {1, 7, 7, 256, 96, 3, 1, 1, 3},
                                   {1, 40, 40, 16, 16, 3, 1, 1, 1}, {1, 48, 32, 8, 64, 3, 1, 1, 2}};
    const int *d = cases[_i];
    abc_conv_opts o;
    abc_conv_default_opts(&o, d[8], d[8]);
    layer l = abc_conv_make(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], _i % 2 ? LEAKY : RELU, 1, &o);
    unsigned seed = 5u + (unsigned)_i;
    for (int k = 0; k < l.nweights; ++k) l.weights[k] = (float)rand_r(&seed) / RAND_MAX - .5f;
    for (int k = 0; k < l.n; ++k) {
        l.rolling_variance[k] = 1;
        l.biases[k] = (float)rand_r(&seed) / RAND_MAX - .5f;
    }
    network net;
    memset(&net, 0, sizeof net);
    net.batch = l.batch;
    net.input = malloc((size_t)l.inputs * l.batch * sizeof(float));
    for (int k = 0; k < l.inputs * l.batch; ++k) net.input[k] = 3.f * rand_r(&seed) / RAND_MAX - 1.f;
    size_t bytes = (size_t)l.outputs * l.batch * sizeof(float);
    float *one = malloc(bytes);
    abc_set_threads(1);
    abc_conv_forward_packed(l, net);
    memcpy(one, l.output, bytes);
    for (int t = 2; t <= 3; ++t)
        for (int rep = 0; rep < 3; ++rep) {
            abc_set_threads(t);
            memset(l.output, 0, bytes);
            abc_conv_forward_packed(l, net);
            ck_assert_msg(!memcmp(one, l.output, bytes), "case %d: outputs differ between 1 and %d threads", _i, t);
        }
    abc_set_threads(0);
    free(one);
    free(net.input);
    free_layer(l);
}
END_TEST

START_TEST(env_forces_a_packer_and_rejects_bad_names)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ABC_PACK=nosuch %s abc bench -quick -layers 2>&1", abc_test_darknet_path());
    abc_run_result r = abc_test_run(cmd);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.out, "darknet: error: ABC_PACK='nosuch': unknown kernel (kernels: ref|plain|avx2|avx512)"), "got: %s", r.out);
    ck_assert_int_eq(abc_test_count_lines(r.out), 1);
    abc_run_free(&r);
    snprintf(cmd, sizeof cmd, "ABC_PACK=plain %s abc bench -quick -layers 2>&1", abc_test_darknet_path());
    r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0 && strstr(r.out, "input packer: plain") && strstr(r.out, "yolo 13x13x256->512"),
                  "got: %s", r.out);
    abc_run_free(&r);
}
END_TEST

static Suite *suite_abc_conv_pack(void)
{
    Suite *s = suite_create("abc_conv_pack");
    TCase *tc = tcase_create("pack");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, input_packers_equal_definition, 0, abc_bitpack_family.n);
    tcase_add_loop_test(tc, stream_and_im2col_equal_definition, 0, abc_bim2col_family.n);
    tcase_add_test(tc, tap_patterns_classify_windows);
    tcase_add_loop_test(tc, layer_through_every_kernel_and_packer, 0, abc_bgemm_family.n + abc_bitpack_family.n);
    tcase_add_test(tc, same_output_on_1_and_2_threads);
    tcase_add_loop_test(tc, same_output_on_any_thread_count, 0, 8);
    tcase_add_test(tc, env_forces_a_packer_and_rejects_bad_names);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_abc_conv_pack)
