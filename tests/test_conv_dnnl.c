/* oneDNN's bf16 training convolutions (kernels/conv_dnnl.c) against a double-precision convolution of the
 * operands rounded to bf16 (within fp32 summation's error: a tap or channel placed wrong is off by the size of
 * the sum) and of the fp32 operands (within bf16's rounding, 2^-7 of the sum of |products|), forward, backward
 * weights and backward data, with darknet's accumulation (dW +=, net.delta += for kernels, = for 1x1): first
 * layers of 1 and 3 channels, odd shapes, stride 2, 5x5, on 1 and 2 threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mode.h"
#include "base/threads.h"
#include "kernels/conv_dnnl.h"
#include "kernels/sgemm.h"
#include "test_util.h"

typedef struct {
    double exact, rounded, size;
} ref_sum;

static void add_product(ref_sum *s, float a, float b)
{
    s->exact += (double)a * b;
    s->rounded += (double)abc_test_bf16_round(a) * abc_test_bf16_round(b);
    s->size += fabs((double)a * b);
}

/* got (less what it held before, `before`) against the reference sum of `terms` products */
static int close_to(float got, float before, const ref_sum *s, int terms)
{
    double v = (double)got - before, slack = 2.5e-7 * fabs(before) + 1e-6;
    return fabs(v - s->rounded) <= 2e-6 * sqrt((double)terms) * s->size + slack &&
           fabs(v - s->exact) <= s->size / 128 + slack;
}

static float *random_floats(size_t n, unsigned *seed)
{
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; ++i) x[i] = abc_test_urand(seed, -1.f, 1.f);
    return x;
}

/* the input pixel that tap (ky, kx) of output (oy, ox) reads, or -1 in the padding */
static long tap(const abc_conv_geom *g, int b, int c, int oy, int ox, int ky, int kx)
{
    int iy = oy * g->stride - g->pad + ky, ix = ox * g->stride - g->pad + kx;
    if (iy < 0 || ix < 0 || iy >= g->h || ix >= g->w) return -1;
    return (((long)b * g->c + c) * g->h + iy) * g->w + ix;
}

static const abc_conv_geom shapes[] = {
    {2, 16, 8, 8, 16, 3, 1, 1, 8, 8},     {3, 3, 28, 28, 64, 3, 1, 1, 28, 28}, {2, 1, 9, 7, 32, 3, 1, 1, 9, 7},
    {2, 17, 9, 7, 5, 3, 2, 1, 5, 4},      {1, 32, 5, 5, 48, 1, 1, 0, 5, 5},    {2, 64, 14, 14, 64, 3, 1, 1, 14, 14},
    {2, 8, 11, 11, 24, 5, 2, 2, 6, 6},    {4, 128, 4, 4, 128, 3, 1, 1, 4, 4},
};

START_TEST(dnnl_conv_matches_reference)
{
    if (!abc_sgemm_bf16_supported()) {
        fprintf(stderr, "dnnl_conv_matches_reference: this CPU has no AVX512-BF16; nothing to test\n");
        return;
    }
    const abc_conv_geom *g = &shapes[_i];
    size_t nin = (size_t)g->batch * g->c * g->h * g->w, nout = (size_t)g->batch * g->n * g->out_h * g->out_w,
           nw = (size_t)g->n * g->c * g->size * g->size;
    unsigned seed = 100u + (unsigned)_i;
    float *in = random_floats(nin, &seed), *w = random_floats(nw, &seed), *dout = random_floats(nout, &seed);
    float *dw0 = random_floats(nw, &seed), *din0 = random_floats(nin, &seed);
    float *out = malloc(nout * sizeof(float)), *dw = malloc(nw * sizeof(float)), *din = malloc(nin * sizeof(float));
    ref_sum *rdin = malloc(nin * sizeof(ref_sum));
    for (int threads = 1; threads <= 2; ++threads) {
        abc_set_threads(threads);
        ck_assert_msg(abc_dnnl_conv_usable(g) || _i == 3 || _i == 6, "shape %d: oneDNN declined it", _i);
        if (!abc_dnnl_conv_usable(g)) break; /* odd strided shapes: oneDNN may decline; the caller runs its own */
        memcpy(dw, dw0, nw * sizeof(float));
        memcpy(din, din0, nin * sizeof(float));
        abc_dnnl_conv_forward(g, in, w, out);
        abc_dnnl_conv_backward(g, in, w, dout, dw, din);
        memset(rdin, 0, nin * sizeof(ref_sum));
        int taps = g->c * g->size * g->size, pixels = g->batch * g->out_h * g->out_w;
        for (int f = 0; f < g->n; ++f) {
            for (int c = 0; c < g->c; ++c)
                for (int ky = 0; ky < g->size; ++ky)
                    for (int kx = 0; kx < g->size; ++kx) {
                        size_t wi = (((size_t)f * g->c + c) * g->size + ky) * g->size + kx;
                        ref_sum s = {0, 0, 0};
                        for (int b = 0; b < g->batch; ++b)
                            for (int oy = 0; oy < g->out_h; ++oy)
                                for (int ox = 0; ox < g->out_w; ++ox) {
                                    long ii = tap(g, b, c, oy, ox, ky, kx);
                                    if (ii < 0) continue;
                                    float d = dout[(((size_t)b * g->n + f) * g->out_h + oy) * g->out_w + ox];
                                    add_product(&s, d, in[ii]);
                                    add_product(&rdin[ii], d, w[wi]);
                                }
                        ck_assert_msg(close_to(dw[wi], dw0[wi], &s, pixels),
                                      "shape %d, %d threads: dW[%zu] %g, want %g more than %g", _i, threads, wi,
                                      dw[wi], s.rounded, dw0[wi]);
                    }
            for (int b = 0; b < g->batch; ++b)
                for (int oy = 0; oy < g->out_h; ++oy)
                    for (int ox = 0; ox < g->out_w; ++ox) {
                        ref_sum s = {0, 0, 0};
                        for (int c = 0; c < g->c; ++c)
                            for (int ky = 0; ky < g->size; ++ky)
                                for (int kx = 0; kx < g->size; ++kx) {
                                    long ii = tap(g, b, c, oy, ox, ky, kx);
                                    if (ii >= 0)
                                        add_product(&s, w[(((size_t)f * g->c + c) * g->size + ky) * g->size + kx],
                                                    in[ii]);
                                }
                        size_t oi = (((size_t)b * g->n + f) * g->out_h + oy) * g->out_w + ox;
                        ck_assert_msg(close_to(out[oi], 0, &s, taps), "shape %d, %d threads: output[%zu] %g, want %g",
                                      _i, threads, oi, out[oi], s.rounded);
                    }
        }
        for (size_t i = 0; i < nin; ++i) {
            float before = g->size > 1 ? din0[i] : 0; /* darknet: a kernel's input gradient adds, a 1x1's overwrites */
            ck_assert_msg(close_to(din[i], before, &rdin[i], g->n * g->size * g->size),
                          "shape %d, %d threads: input gradient[%zu] %g, want %g more than %g", _i, threads, i, din[i],
                          rdin[i].rounded, before);
        }
    }
    abc_set_threads(0);
    free(in), free(w), free(dout), free(dw0), free(din0), free(out), free(dw), free(din), free(rdin);
}
END_TEST

START_TEST(dnnl_conv_obeys_the_switch)
{
    abc_conv_geom g = {2, 64, 14, 14, 64, 3, 1, 1, 14, 14};
    abc_mode_set(ABC_MODE_TRAIN_CONV, "own");
    ck_assert_msg(!abc_dnnl_conv_usable(&g), "ABC_TRAIN_CONV=own: oneDNN still used");
    abc_mode_set(ABC_MODE_TRAIN_CONV, "auto");
    ck_assert_int_eq(abc_dnnl_conv_usable(&g), abc_sgemm_bf16_supported());
    abc_mode_set(ABC_MODE_TRAIN_CONV, NULL);
}
END_TEST

/* More shapes than a thread keeps (darknet's random= resizes): the least used are dropped and built again when
 * they come back, with the same results. */
START_TEST(dnnl_conv_shapes_come_and_go)
{
    if (!abc_sgemm_bf16_supported()) return;
    abc_set_threads(1);
    unsigned seed = 7;
    float *in = random_floats(16 * 48 * 48, &seed), *w = random_floats(16 * 16 * 9, &seed);
    float *first = malloc(16 * 48 * 48 * sizeof(float)), *out = malloc(16 * 48 * 48 * sizeof(float));
    for (int h = 48; h >= 8; --h) {
        abc_conv_geom g = {1, 16, h, h, 16, 3, 1, 1, h, h};
        ck_assert_msg(abc_dnnl_conv_usable(&g), "%dx%d declined", h, h);
        abc_dnnl_conv_forward(&g, in, w, h == 48 ? first : out);
    }
    abc_conv_geom g = {1, 16, 48, 48, 16, 3, 1, 1, 48, 48};
    ck_assert(abc_dnnl_conv_usable(&g));
    abc_dnnl_conv_forward(&g, in, w, out);
    ck_assert_msg(!memcmp(first, out, 16 * 48 * 48 * sizeof(float)), "a shape built again gives other results");
    abc_set_threads(0);
    free(in), free(w), free(first), free(out);
}
END_TEST

static Suite *suite_conv_dnnl(void)
{
    Suite *s = suite_create("conv_dnnl");
    TCase *tc = tcase_create("bf16");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, dnnl_conv_matches_reference, 0, (int)(sizeof shapes / sizeof shapes[0]));
    tcase_add_test(tc, dnnl_conv_obeys_the_switch);
    tcase_add_test(tc, dnnl_conv_shapes_come_and_go);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_conv_dnnl)
