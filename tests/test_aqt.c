/* The AQT quant layers: the integer GEMM kernels against the definition, the quantizers at their clip edges,
 * the EMA bounds, the integer inference path against its float simulation (bit for bit) and against the
 * training path, the straight-through backward against a plain reference, and the .weights record. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/threads.h"
#include "base/mode.h"
#include "kernels/iconv.h"
#include "kernels/igemm.h"
#include "layers/aqt/aqt_conv.h"
#include "layers/layer_type.h"
#include "registry.h"
#include "test_util.h"

/* ---- kernels ---- */

static const int gm[] = {1, 5, 12, 13, 29}, gn[] = {1, 15, 16, 17, 63, 64, 65, 130}, gk[] = {4, 8, 36, 292};

START_TEST(igemm_kernels_match_the_definition)
{
    unsigned seed = 11;
    int M = gm[_i % 5], N = gn[_i / 5 % 8], kp = gk[_i / 40], ldb = N + 3, ldc = N + 5;
    int8_t *A = malloc((size_t)M * kp);
    uint8_t *B = malloc((size_t)kp / 4 * ldb * 4);
    int32_t *want = malloc((size_t)M * ldc * sizeof(int32_t)), *got = malloc((size_t)M * ldc * sizeof(int32_t));
    for (int i = 0; i < M * kp; ++i) A[i] = (int8_t)(rand_r(&seed) % 256 - 128); /* -128 too: the extremes */
    for (int i = 0; i < kp / 4 * ldb * 4; ++i) B[i] = (uint8_t)(rand_r(&seed) % 256);
    for (int i = 0; i < M * ldc; ++i) want[i] = -7;
    abc_igemm_ref(M, N, kp, A, B, ldb, want, ldc);
    for (int k = 1; k < abc_igemm_family.n; ++k) {
        const abc_kernel_desc *d = abc_test_use_kernel(&abc_igemm_family, k);
        if (!d) continue;
        for (int i = 0; i < M * ldc; ++i) got[i] = -7;
        abc_igemm(M, N, kp, A, B, ldb, got, ldc);
        for (int m = 0; m < M; ++m)
            for (int p = 0; p < ldc; ++p) /* past column N: untouched */
                ck_assert_msg(got[m * ldc + p] == want[m * ldc + p], "%s M %d N %d kp %d: C[%d][%d] = %d, want %d",
                              d->name, M, N, kp, m, p, got[m * ldc + p], want[m * ldc + p]);
    }
    abc_kernel_set(&abc_igemm_family, NULL);
    free(A), free(B), free(want), free(got);
}
END_TEST

/* ---- quantizers ---- */

static aqt_opts opts(int wb, int ab) { return (aqt_opts){wb, ab, 0}; }

/* The rows kernel's input quantization against the scalar quantizer: NaN, infinities, the clip edges, values
 * just under an integer, -0; channels past c and the pad words hold the offset; rows split in two calls. */
START_TEST(input_planes_match_the_scalar_quantizer)
{
    if (!abc_iconv_usable()) return;
    enum { C = 6, H = 3, W = 19, PAD = 2, WP = W + 2 * PAD, CW = (C + 3) / 4, PS = (H + 2 * PAD) * WP + 5 };
    const float s = 3.f, qlo = -5.f, qhi = 10.f, special[] = {NAN, INFINITY, -INFINITY, -5.f / 3.f, 10.f / 3.f,
                                                                 -0.f, 0.99999994f, -0.3333f, 3.4f, -1e30f, 1e30f};
    const int zp = 5;
    unsigned seed = 77;
    float x[C * H * W];
    for (int i = 0; i < C * H * W; ++i)
        x[i] = i % 3 ? abc_test_urand(&seed, -3.f, 4.f) : special[i / 3 % (sizeof special / sizeof special[0])];
    uint32_t planes[CW * PS];
    for (int i = 0; i < CW * PS; ++i) planes[i] = 0xdeadbeefu;
    abc_iquant_planes_avx512(x, C, H, W, PAD, 0, 1, s, qlo, qhi, zp, planes, WP, PS);
    abc_iquant_planes_avx512(x, C, H, W, PAD, 1, H, s, qlo, qhi, zp, planes, WP, PS);
    for (int g = 0; g < CW; ++g)
        for (int y = 0; y < H; ++y)
            for (int xp = 0; xp < WP; ++xp) {
                uint32_t word = planes[g * PS + (y + PAD) * WP + xp];
                for (int j = 0; j < 4; ++j) {
                    int c = 4 * g + j, xi = xp - PAD, got = (int)(word >> (8 * j) & 0xff), want = zp;
                    if (c < C && xi >= 0 && xi < W) want = (int)aqt_qa(x[(c * H + y) * W + xi], s, qlo, qhi) + zp;
                    ck_assert_msg(got == want, "plane %d row %d word %d byte %d: %d, want %d (x %g)", g, y, xp, j, got,
                                  want, c < C && xi >= 0 && xi < W ? x[(c * H + y) * W + xi] : 0.f);
                }
            }
    ck_assert(planes[0] == 0xdeadbeefu && planes[PS - 1] == 0xdeadbeefu); /* pad rows: the caller's */
}
END_TEST

START_TEST(weights_per_filter_reach_their_extremes)
{
    aqt_opts o = opts(4, 8);
    layer l = aqt_make(1, 3, 3, 2, 2, 1, 1, 0, LINEAR, 0, &o, 0);
    aqt_state *st = aqt_st(&l);
    const float w0[] = {0.7f, -0.35f}, w1[] = {-2.f, 0.1f};
    memcpy(l.weights, w0, sizeof w0), memcpy(l.weights + 2, w1, sizeof w1);
    aqt_quantize_weights(&l, st, 0);
    /* 4 bits: qmax 7; filter 0: s = 10, 0.7 -> 7, -0.35 -> -3.5 -> -4 (rintf: to even); filter 1: s = 3.5 */
    ck_assert_int_eq(st->w8[0], 7);
    ck_assert_int_eq(st->w8[1], -4);
    ck_assert(st->w8[2] == 0 && st->w8[3] == 0); /* the depth's padding to 4 */
    ck_assert(st->w8[4] == -7 && st->w8[5] == 0);
    ck_assert(st->wsum[0] == 3 && st->wsum[1] == -7);
    ck_assert_float_eq(st->wq[0], 7.f);
    aqt_quantize_weights(&l, st, 1);
    ck_assert(fabsf(st->wq[0] - 0.7f) < 1e-7f && fabsf(st->wq[1] + 0.4f) < 1e-7f && fabsf(st->wq[2] + 2.f) < 1e-7f);
    memset(l.weights, 0, 4 * sizeof(float)); /* an all-zero filter: scale 1, integers 0 */
    aqt_quantize_weights(&l, st, 1);
    ck_assert(st->sw[0] == 1.f && st->w8[0] == 0 && st->wq[1] == 0.f);
    free_layer(l);
}
END_TEST

START_TEST(inputs_clip_at_their_ranges)
{
    aqt_opts o = opts(8, 4);
    layer l = aqt_make(1, 3, 3, 1, 1, 1, 1, 0, LINEAR, 0, &o, 0);
    aqt_state *st = aqt_st(&l);
    float s, lo, hi;
    ck_assert(!aqt_input_range(st, &s, &lo, &hi)); /* not calibrated */
    st->lo = 0, st->hi = 3.f;                      /* unsigned: 0..15, s = 5 */
    ck_assert(aqt_input_range(st, &s, &lo, &hi));
    ck_assert(s == 5.f && lo == 0.f && hi == 15.f);
    ck_assert(aqt_qa(3.f, s, lo, hi) == 15.f && aqt_qa(2.99f, s, lo, hi) == 14.f && aqt_qa(100.f, s, lo, hi) == 15.f);
    ck_assert(aqt_qa(-0.01f, s, lo, hi) == 0.f && aqt_qa(0.19f, s, lo, hi) == 0.f && aqt_qa(0.2f, s, lo, hi) == 1.f);
    st->lo = -3.5f, st->hi = 2.f; /* negative inputs: 15 steps over [-3.5, 2], s = 15 / 5.5, zero point 10 */
    ck_assert(aqt_input_range(st, &s, &lo, &hi));
    ck_assert(fabsf(s - 15.f / 5.5f) < 1e-6f && lo == -10.f && hi == 5.f);
    ck_assert(aqt_qa(-3.5f, s, lo, hi) == -10.f && aqt_qa(-3.7f, s, lo, hi) == -10.f && aqt_qa(-0.1f, s, lo, hi) == -1.f);
    ck_assert(aqt_qa(2.f, s, lo, hi) == 5.f && aqt_qa(9.f, s, lo, hi) == 5.f && aqt_qa(1.5f, s, lo, hi) == 4.f);
    ck_assert(aqt_qa(0.f, s, lo, hi) == 0.f); /* zero is exact */
    free_layer(l);
}
END_TEST

START_TEST(bounds_are_an_ema_of_the_batches)
{
    aqt_opts o = opts(8, 8);
    layer l = aqt_make(1, 3, 3, 1, 1, 1, 1, 0, LINEAR, 0, &o, 0);
    aqt_state *st = aqt_st(&l);
    const float a[] = {0.5f, 2.f, 1.f}, b[] = {-1.f, 12.f, 0.f};
    aqt_update_bounds(st, a, 3);
    ck_assert(st->lo == 0.f && st->hi == 2.f); /* the first batch sets them; lo stays 0 for inputs >= 0 */
    aqt_update_bounds(st, b, 3);
    ck_assert(fabsf(st->lo + 0.1f) < 1e-7f && fabsf(st->hi - 3.f) < 1e-6f);
    free_layer(l);
}
END_TEST

START_TEST(calibration_takes_the_means_of_each_images_extremes)
{
    aqt_opts o = opts(8, 8);
    layer l = aqt_make(2, 1, 1, 4, 1, 1, 1, 0, LINEAR, 0, &o, 1);
    aqt_state *st = aqt_st(&l);
    const float x[] = {0.f, 1.f, 2.f, -1.f, 3.f, -3.f, 0.f, 0.f}, pos[] = {1.f, 2.f, 0.5f, 1.f};
    aqt_calibrate_bounds(st, x, 2, 4);
    ck_assert_msg(st->lo == -2.f && st->hi == 2.5f, "%g .. %g", st->lo, st->hi);
    aqt_calibrate_bounds(st, pos, 1, 4); /* positive inputs: lo 0, unsigned */
    ck_assert_msg(st->lo == 0.f && st->hi == 2.f, "%g .. %g", st->lo, st->hi);
    free_layer(l);
}
END_TEST

/* ---- the inference paths ---- */

typedef struct {
    int batch, h, w, c, n, size, stride, pad, bn, wb, ab, connected;
    float in_lo; /* inputs in [in_lo, 2]: 0 makes them unsigned */
    ACTIVATION act;
} shape;

static const shape shapes[] = {
    {2, 7, 6, 5, 9, 3, 1, 1, 1, 8, 8, 0, 0.f, LEAKY},      {1, 9, 8, 3, 4, 3, 2, 1, 0, 4, 4, 0, -2.f, LINEAR},
    {3, 5, 7, 19, 11, 1, 1, 0, 1, 8, 4, 0, -2.f, LEAKY},   {1, 6, 7, 13, 5, 1, 2, 0, 0, 2, 2, 0, 0.f, RELU},
    {1, 12, 11, 64, 17, 3, 1, 1, 1, 8, 8, 0, -2.f, LEAKY}, {2, 3, 3, 70, 40, 3, 1, 0, 1, 8, 8, 0, 0.f, LINEAR},
    {3, 1, 1, 257, 33, 1, 1, 0, 1, 8, 8, 1, -2.f, LEAKY},  {5, 1, 1, 40, 7, 1, 1, 0, 0, 4, 8, 1, 0.f, LINEAR},
    /* large enough for 2 threads to split the quantization too */
    {1, 20, 20, 201, 13, 3, 1, 1, 1, 8, 8, 0, -2.f, LEAKY}, {40, 1, 1, 2001, 5, 1, 1, 0, 1, 8, 8, 1, 0.f, LEAKY},
    /* rows of at least 14 output pixels (the rows kernel by default): blocks past a row's and the image's end,
     * filters not a multiple of 8, bias only, an activation it does not fuse, 5 x 5, 2 threads */
    {1, 10, 30, 6, 11, 3, 1, 1, 1, 8, 8, 0, -2.f, LEAKY},  {2, 5, 26, 9, 8, 3, 1, 1, 0, 4, 4, 0, 0.f, RELU},
    {1, 4, 25, 5, 3, 1, 1, 0, 1, 8, 8, 0, -2.f, LOGISTIC}, {1, 7, 24, 4, 6, 5, 1, 2, 0, 8, 8, 0, 0.f, LINEAR},
    {1, 16, 40, 32, 20, 3, 1, 1, 1, 8, 8, 0, -2.f, LEAKY},
    /* filters split between threads (5 blocks of 32, the last partial); many channel planes */
    {1, 6, 5, 40, 130, 3, 1, 1, 1, 8, 8, 0, -2.f, LEAKY},  {1, 30, 16, 256, 10, 3, 1, 1, 1, 8, 8, 0, 0.f, LEAKY},
};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

static layer make_layer(const shape *s, unsigned *seed, network *net)
{
    aqt_opts o = opts(s->wb, s->ab);
    layer l = s->connected ? aqt_make(s->batch, 1, 1, s->c, s->n, 1, 1, 0, s->act, s->bn, &o, 1)
                           : aqt_make(s->batch, s->h, s->w, s->c, s->n, s->size, s->stride, s->pad, s->act, s->bn, &o,
                                      0);
    abc_test_fill_conv_params(&l, seed);
    *net = abc_test_layer_net(&l, s->batch, seed);
    for (int i = 0; i < s->batch * l.inputs; ++i) net->input[i] = abc_test_urand(seed, s->in_lo, 2.f);
    return l;
}

/* Calibrates the bounds with one training forward on the inputs, then runs inference. */
static void calibrate(layer *l, network *net)
{
    net->train = 1;
    l->forward(*l, *net);
    net->train = 0;
}

START_TEST(integer_path_equals_simulation_bit_for_bit)
{
    const shape *s = &shapes[_i];
    unsigned seed = 300u + (unsigned)_i;
    network net;
    layer l = make_layer(s, &seed, &net);
    calibrate(&l, &net);
    ck_assert_msg((aqt_st(&l)->lo < 0) == (s->in_lo < 0), "shape %d: signedness", _i);
    size_t n = (size_t)s->batch * l.outputs;
    float *want = malloc(n * sizeof *want), *train = malloc(n * sizeof *train);
    setenv("ABC_INFERENCE", "sim", 1);
    abc_mode_set(ABC_MODE_INFERENCE, "sim");
    l.forward(l, net);
    memcpy(want, l.output, n * sizeof *want);
    abc_mode_set(ABC_MODE_INFERENCE, "packed");
    /* on AVX-512 VNNI each direct convolution (ABC_ICONV: by shape, rows, pixels) */
    static const char *const direct[] = {NULL, "rows", "pixels"};
    for (int k = 0; k < abc_igemm_family.n; ++k) {
        const abc_kernel_desc *kd = abc_test_use_kernel(&abc_igemm_family, k);
        if (!kd) continue;
        for (int d = 0; d < (strcmp(kd->name, "avx512vnni") ? 1 : 3); ++d) {
            abc_mode_set(ABC_MODE_ICONV, direct[d]);
            for (int t = 1; t <= 2; ++t) {
                abc_set_threads(t);
                for (size_t i = 0; i < n; ++i) l.output[i] = 12345.f;
                l.forward(l, net);
                for (size_t i = 0; i < n; ++i)
                    ck_assert_msg(l.output[i] == want[i],
                                  "shape %d kernel %s direct %s threads %d: out[%zu] = %.9g, simulation %.9g", _i,
                                  kd->name, direct[d] ? direct[d] : "auto", t, i, l.output[i], want[i]);
            }
        }
    }
    abc_mode_set(ABC_MODE_ICONV, NULL);
    abc_kernel_set(&abc_igemm_family, NULL);
    abc_set_threads(0);
    abc_mode_set(ABC_MODE_INFERENCE, NULL);
    /* the training path's product (dequantized floats) is the same function to float rounding; without batch
     * norm (whose training forward uses the batch's statistics) the outputs agree */
    if (!s->bn) {
        net.train = 1;
        l.forward(l, net);
        memcpy(train, l.output, n * sizeof *train);
        float top = 0;
        for (size_t i = 0; i < n; ++i) top = fmaxf(top, fabsf(want[i]));
        for (size_t i = 0; i < n; ++i)
            ck_assert_msg(fabsf(train[i] - want[i]) <= 1e-5f * top,
                          "shape %d: training out[%zu] = %.7g, inference %.7g", _i, i, train[i], want[i]);
    }
    free(want), free(train);
    abc_test_layer_net_free(&net);
    free_layer(l);
}
END_TEST

/* Straight through: dW = the float product's gradient at the dequantized inputs; dx = its input gradient where
 * the input was not clipped, 0 where it was. Checked against a plain double loop, without batch norm. */
START_TEST(backward_is_straight_through_with_the_clip_mask)
{
    shape s = shapes[_i];
    s.bn = 0, s.act = LINEAR;
    unsigned seed = 500u + (unsigned)_i;
    network net;
    layer l = make_layer(&s, &seed, &net);
    aqt_state *st = aqt_st(&l);
    st->lo = s.in_lo < 0 ? -1.f : 0.f, st->hi = 1.f; /* narrow bounds: many inputs clip */
    net.train = 1;
    l.forward(l, net); /* moves the bounds 1/10 towards the batch's: the forward keeps what it used */
    float *g = malloc((size_t)s.batch * l.outputs * sizeof(float));
    for (int i = 0; i < s.batch * l.outputs; ++i) g[i] = l.delta[i] = abc_test_urand(&seed, -1.f, 1.f);
    memset(l.weight_updates, 0, (size_t)l.nweights * sizeof(float));
    l.backward(l, net);
    ck_assert(st->quantized);
    /* the reference: the loss sum g * (W~ * A~) is linear in each weight and input */
    int K = st->K, taps = l.size * l.size, clipped = 0;
    for (int b = 0; b < s.batch; ++b)
        for (int f = 0; f < l.n; ++f)
            for (int oy = 0; oy < l.out_h; ++oy)
                for (int ox = 0; ox < l.out_w; ++ox) {
                    double d = g[((size_t)b * l.n + f) * l.out_h * l.out_w + oy * l.out_w + ox];
                    for (int k = 0; k < K; ++k) {
                        int c = k / taps, ky = k % taps / l.size, kx = k % l.size;
                        int iy = oy * l.stride - l.pad + ky, ix = ox * l.stride - l.pad + kx;
                        if (iy < 0 || iy >= l.h || ix < 0 || ix >= l.w) continue;
                        size_t at = (size_t)b * l.inputs + ((size_t)c * l.h + iy) * l.w + ix;
                        st->gw[f * K + k] -= (float)(d * st->aq[at]); /* gw: scratch for the residual */
                        st->da[at] -= (float)(d * st->wq[f * K + k]);
                    }
                }
    free(g);
    for (int i = 0; i < l.nweights; ++i)
        ck_assert_msg(fabsf(st->gw[i]) <= 1e-4f * (1 + fabsf(l.weight_updates[i])), "shape %d: dW[%d] off by %g", _i,
                      i, st->gw[i]);
    for (int i = 0; i < s.batch * l.inputs; ++i) {
        float v = net.input[i] * st->s_a;
        int in = v >= st->qlo && v < st->qhi + 1.f;
        clipped += !in;
        float want = in ? net.delta[i] : 0.f; /* net.delta = da where not clipped */
        ck_assert_msg(fabsf(st->da[i]) <= 1e-4f * (1 + fabsf(want)) && (in || net.delta[i] == 0.f),
                      "shape %d: dx[%d] = %g, residual %g, %s", _i, i, net.delta[i], st->da[i],
                      in ? "inside" : "clipped");
    }
    ck_assert_msg(clipped > 0, "shape %d: no input clipped", _i);
    abc_test_layer_net_free(&net);
    free_layer(l);
}
END_TEST

/* ---- .weights ---- */

START_TEST(record_round_trips_with_its_bounds)
{
    const abc_layer_type *t = abc_registry_find("quant_convolutional");
    ck_assert(t != NULL);
    unsigned seed = 9;
    network net;
    layer l = make_layer(&shapes[1], &seed, &net);
    aqt_st(&l)->lo = -1.5f, aqt_st(&l)->hi = 2.5f;
    char *path = abc_test_pathf(abc_test_tmpdir(), "aqt.rec");
    FILE *fp = fopen(path, "wb");
    ck_assert(t->save(&l, fp) == 0);
    fclose(fp);
    ck_assert_uint_eq(t->weights_floats(&l), t->float_floats(&l) + 2);
    network net2;
    layer m = make_layer(&shapes[1], &seed, &net2);
    fp = fopen(path, "rb");
    ck_assert(t->load(&m, fp) == 0);
    fclose(fp);
    ck_assert(aqt_st(&m)->lo == -1.5f && aqt_st(&m)->hi == 2.5f);
    ck_assert(!memcmp(m.weights, l.weights, (size_t)l.nweights * sizeof(float)));
    /* a record without its bounds (a float layer's) fails as the layer's record */
    fp = fopen(path, "rb");
    char *buf = malloc(t->float_floats(&l) * sizeof(float));
    ck_assert(fread(buf, sizeof(float), t->float_floats(&l), fp) == t->float_floats(&l));
    fclose(fp);
    fp = fopen(path, "wb");
    fwrite(buf, sizeof(float), t->float_floats(&l), fp);
    fclose(fp);
    fp = fopen(path, "rb");
    ck_assert(t->load(&m, fp) != 0);
    fclose(fp);
    free(buf), free(path);
    abc_test_layer_net_free(&net), abc_test_layer_net_free(&net2);
    free_layer(l), free_layer(m);
}
END_TEST

static Suite *suite_aqt(void)
{
    Suite *s = suite_create("aqt");
    TCase *tc = tcase_create("aqt");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, igemm_kernels_match_the_definition, 0, 5 * 8 * 4);
    tcase_add_test(tc, input_planes_match_the_scalar_quantizer);
    tcase_add_test(tc, weights_per_filter_reach_their_extremes);
    tcase_add_test(tc, inputs_clip_at_their_ranges);
    tcase_add_test(tc, bounds_are_an_ema_of_the_batches);
    tcase_add_test(tc, calibration_takes_the_means_of_each_images_extremes);
    tcase_add_loop_test(tc, integer_path_equals_simulation_bit_for_bit, 0, NSHAPES);
    tcase_add_loop_test(tc, backward_is_straight_through_with_the_clip_mask, 0, NSHAPES);
    tcase_add_test(tc, record_round_trips_with_its_bounds);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_aqt)
