/* The direct convolution kernel (kernels/conv_direct.c) against a plain double-precision loop: widths across
 * its 16-pixel blocks and their tails, filter counts across its 8-filter blocks, 1-4 channels, kernels 2-7 with
 * every padding, partial row ranges; and the float layer built on it against libdarknet's at 1 and 2 threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/darknet_private.h"
#include "base/threads.h"
#include "float/float_fast.h"
#include "kernels/bn.h"
#include "kernels/conv_direct.h"
#include "test_util.h"

typedef struct {
    int c, h, w, n, size, pad;
} dcase;

static const dcase cases[] = {
    {3, 9, 37, 16, 3, 1}, {1, 5, 16, 8, 3, 1},  {4, 7, 33, 13, 7, 3}, {2, 6, 17, 3, 2, 0}, {3, 4, 50, 9, 5, 2},
    {1, 3, 15, 1, 3, 0},  {4, 8, 64, 24, 3, 2}, {3, 11, 47, 17, 4, 1}, {2, 2, 31, 7, 2, 1},
};

START_TEST(rows_match_a_plain_loop)
{
    const dcase *k = &cases[_i];
    int out_w = k->w + 2 * k->pad - k->size + 1, out_h = k->h + 2 * k->pad - k->size + 1;
    size_t plane = (size_t)out_h * out_w;
    unsigned seed = 3 + (unsigned)_i;
    float *im = malloc(sizeof(float) * k->c * k->h * k->w), *w = malloc(sizeof(float) * k->n * k->c * k->size * k->size);
    for (int i = 0; i < k->c * k->h * k->w; ++i) im[i] = abc_test_urand(&seed, -1, 1);
    for (int i = 0; i < k->n * k->c * k->size * k->size; ++i) w[i] = abc_test_urand(&seed, -1, 1);
    float *wt = malloc(sizeof(float) * abc_conv_direct_weights_floats(k->n, k->c, k->size));
    abc_conv_direct_weights(w, k->n, k->c, k->size, wt);
    float *scratch = malloc(sizeof(float) * abc_conv_direct_scratch(k->c, k->n, k->size, k->w, k->pad));
    float *out = malloc(sizeof(float) * k->n * plane);
    for (size_t i = 0; i < k->n * plane; ++i) out[i] = NAN;
    /* two calls over parts of the rows, as the pool's tasks make them */
    int mid = out_h / 3;
    abc_conv_direct_rows(im, k->c, k->h, k->w, wt, k->n, k->size, k->pad, out_h, 0, mid, out, scratch, NULL);
    abc_conv_direct_rows(im, k->c, k->h, k->w, wt, k->n, k->size, k->pad, out_h, mid, out_h, out, scratch, NULL);
    for (int f = 0; f < k->n; ++f)
        for (int y = 0; y < out_h; ++y)
            for (int x = 0; x < out_w; ++x) {
                double s = 0, mag = 0;
                for (int c = 0; c < k->c; ++c)
                    for (int ky = 0; ky < k->size; ++ky)
                        for (int kx = 0; kx < k->size; ++kx) {
                            int iy = y + ky - k->pad, ix = x + kx - k->pad;
                            if (iy < 0 || ix < 0 || iy >= k->h || ix >= k->w) continue;
                            double t = (double)w[((f * k->c + c) * k->size + ky) * k->size + kx] *
                                       im[(c * k->h + iy) * k->w + ix];
                            s += t, mag += fabs(t);
                        }
                float got = out[f * plane + (size_t)y * out_w + x];
                ck_assert_msg(fabs(got - s) <= 1e-5 * (mag + 1e-3), "case %d f %d (%d, %d): %.7g vs %.7g", _i, f, x,
                              y, got, s);
            }
    /* The output stage as the rows are stored: bit for bit the float layer's separate steps on the plain sums. */
    float *mean = malloc(sizeof(float) * k->n), *kk = malloc(sizeof(float) * k->n), *bias = malloc(sizeof(float) * k->n);
    for (int f = 0; f < k->n; ++f) {
        mean[f] = abc_test_urand(&seed, -0.5f, 0.5f);
        kk[f] = abc_test_urand(&seed, 0.2f, 3);
        bias[f] = abc_test_urand(&seed, -1, 1);
    }
    float *staged = malloc(sizeof(float) * k->n * plane), *want = malloc(sizeof(float) * k->n * plane);
    const ACTIVATION acts[] = {LEAKY, LINEAR, LOGISTIC};
    for (int bn = 0; bn <= 1; ++bn)
        for (int a = 0; a < 3; ++a) {
            abc_direct_out e = {bn ? mean : NULL, bn ? kk : NULL, bias, acts[a]};
            abc_conv_direct_rows(im, k->c, k->h, k->w, wt, k->n, k->size, k->pad, out_h, 0, mid, staged, scratch, &e);
            abc_conv_direct_rows(im, k->c, k->h, k->w, wt, k->n, k->size, k->pad, out_h, mid, out_h, staged, scratch,
                                 &e);
            memcpy(want, out, sizeof(float) * k->n * plane);
            for (int f = 0; f < k->n; ++f) {
                float *o = want + f * plane;
                if (bn) abc_bn_infer_row(o, NULL, (int)plane, mean[f], kk[f], bias[f], acts[a]);
                else abc_bias_act_row(o, (int)plane, bias[f], acts[a]);
            }
            ck_assert_msg(!memcmp(staged, want, sizeof(float) * k->n * plane), "case %d: output stage (bn %d, act %d)",
                          _i, bn, a);
        }
    free(mean), free(kk), free(bias), free(staged), free(want);
    free(im), free(w), free(wt), free(scratch), free(out);
}
END_TEST

START_TEST(shapes_it_takes)
{
    ck_assert(abc_conv_direct_suits(3, 3, 1) && abc_conv_direct_suits(1, 7, 1) && abc_conv_direct_suits(4, 2, 1));
    ck_assert(!abc_conv_direct_suits(3, 3, 2) && !abc_conv_direct_suits(5, 3, 1) && !abc_conv_direct_suits(3, 1, 1) &&
              !abc_conv_direct_suits(3, 9, 1));
}
END_TEST

/* A first layer (3 channels, wide rows) through the fast float layer, against libdarknet's forward. */
START_TEST(first_layer_matches_stock)
{
    for (int threads = 1; threads <= 2; ++threads) {
        abc_set_threads(threads);
        layer s = make_convolutional_layer(1, 21, 70, 3, 12, 1, 3, 1, 1, LEAKY, 1, 0, 0, 0);
        layer f = make_convolutional_layer(1, 21, 70, 3, 12, 1, 3, 1, 1, LEAKY, 1, 0, 0, 0);
        unsigned seed = 9;
        for (int i = 0; i < s.nweights; ++i) s.weights[i] = f.weights[i] = abc_test_urand(&seed, -1, 1);
        for (int i = 0; i < s.n; ++i) {
            s.scales[i] = f.scales[i] = abc_test_urand(&seed, 0.5f, 1.5f);
            s.biases[i] = f.biases[i] = abc_test_urand(&seed, -1, 1);
            s.rolling_mean[i] = f.rolling_mean[i] = abc_test_urand(&seed, -1, 1);
            s.rolling_variance[i] = f.rolling_variance[i] = abc_test_urand(&seed, 0.5f, 2);
        }
        float *in = malloc(sizeof(float) * s.inputs);
        for (int i = 0; i < s.inputs; ++i) in[i] = abc_test_urand(&seed, 0, 1);
        network net = {0};
        net.input = in;
        net.workspace = calloc(s.workspace_size / sizeof(float) + 1, sizeof(float));
        ck_assert(abc_float_fast_use(&f));
        forward_convolutional_layer(s, net);
        f.forward(f, net);
        for (int i = 0; i < s.outputs; ++i)
            ck_assert_msg(fabsf(s.output[i] - f.output[i]) <= 1e-4f * (1 + fabsf(s.output[i])), "%d threads, %d: %g vs %g",
                          threads, i, f.output[i], s.output[i]);
        free(in);
        free(net.workspace);
        free_layer(s);
        free_layer(f);
    }
    abc_set_threads(0);
}
END_TEST

static Suite *suite_conv_direct(void)
{
    Suite *s = suite_create("conv_direct");
    TCase *tc = tcase_create("direct");
    tcase_add_loop_test(tc, rows_match_a_plain_loop, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, shapes_it_takes);
    tcase_add_test(tc, first_layer_matches_stock);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_conv_direct)
