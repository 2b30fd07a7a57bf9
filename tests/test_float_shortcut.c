/* The [shortcut] forward and backward (float/float_shortcut.c) against libdarknet's forward_shortcut_layer and
 * backward_shortcut_layer: alpha / beta other than 1, tensors smaller and larger than a slice, 1 and 2 threads,
 * gradients added into deltas that already hold values. Bit for bit, except where the activation's rows
 * (kernels/act.c, as the fast conv's) compute in float what libdarknet computes in double (leaky's 0.1): there
 * within 2 float roundings. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/darknet_private.h"
#include "base/threads.h"
#include "float/float_layers.h"
#include "test_util.h"

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; ++i) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)((seed >> 8) % 20001) / 4000.0f - 2.5f;
    }
}

static int same(const float *a, const float *b, size_t n, int exact)
{
    if (exact) return !memcmp(a, b, n * sizeof(float));
    for (size_t i = 0; i < n; ++i)
        if (fabsf(a[i] - b[i]) > 2.5e-7f * fabsf(b[i]) + 1e-30f) return 0;
    return 1;
}

typedef struct {
    int w, h, c;
    ACTIVATION act;
    float alpha, beta;
} sc_case;

static const sc_case cases[] = {{28, 28, 64, LEAKY, 1.f, 1.f},
                                {5, 3, 7, LINEAR, 1.f, 1.f},
                                {14, 14, 128, RELU, .5f, -2.f},
                                {9, 9, 3, LEAKY, 1.f, .25f}};

START_TEST(shortcut_matches_stock_bit_for_bit)
{
    const sc_case *k = &cases[_i];
    int batch = 2;
    layer stock = make_shortcut_layer(batch, 0, k->w, k->h, k->c, k->w, k->h, k->c);
    layer ours = make_shortcut_layer(batch, 0, k->w, k->h, k->c, k->w, k->h, k->c);
    stock.activation = ours.activation = k->act;
    stock.alpha = ours.alpha = k->alpha;
    stock.beta = ours.beta = k->beta;
    size_t n = (size_t)stock.outputs * batch;
    int exact = k->act == LINEAR || k->act == RELU;
    float *in = malloc(n * sizeof(float)), *add = malloc(n * sizeof(float)), *d0 = malloc(n * sizeof(float));
    float *want_in = malloc(n * sizeof(float)), *want_add = malloc(n * sizeof(float));
    float *got_in = malloc(n * sizeof(float)), *got_add = malloc(n * sizeof(float));
    fill(in, n, 3u + (unsigned)_i);
    fill(add, n, 7u + (unsigned)_i);
    fill(d0, n, 11u + (unsigned)_i);
    layer source = {0};
    source.output = add;
    network net = {0};
    net.layers = &source;
    net.input = in;
    net.train = 1;

    forward_shortcut_layer(stock, net);
    memcpy(stock.delta, d0, n * sizeof(float));
    fill(want_in, n, 13u);
    fill(want_add, n, 17u);
    source.delta = want_add;
    net.delta = want_in;
    backward_shortcut_layer(stock, net);

    for (int threads = 1; threads <= 2; ++threads) {
        abc_set_threads(threads);
        net.delta = NULL;
        memset(ours.output, 0x55, n * sizeof(float));
        abc_shortcut_fast_forward(ours, net);
        ck_assert_msg(same(ours.output, stock.output, n, exact), "case %d, %d threads: outputs differ", _i,
                      threads);
        memcpy(ours.delta, d0, n * sizeof(float));
        fill(got_in, n, 13u);
        fill(got_add, n, 17u);
        source.delta = got_add;
        net.delta = got_in;
        abc_shortcut_fast_backward(ours, net);
        ck_assert_msg(same(ours.delta, stock.delta, n, exact), "case %d, %d threads: deltas differ", _i,
                      threads);
        ck_assert_msg(same(got_in, want_in, n, exact), "case %d, %d threads: input gradients differ", _i,
                      threads);
        ck_assert_msg(same(got_add, want_add, n, exact), "case %d, %d threads: shortcut gradients differ",
                      _i, threads);
    }
    abc_set_threads(0);
    free(in), free(add), free(d0), free(want_in), free(want_add), free(got_in), free(got_add);
    free_layer(ours);
    free_layer(stock);
}
END_TEST

static Suite *suite_float_shortcut(void)
{
    Suite *s = suite_create("float_shortcut");
    TCase *tc = tcase_create("shortcut");
    tcase_add_loop_test(tc, shortcut_matches_stock_bit_for_bit, 0, (int)(sizeof cases / sizeof cases[0]));
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_float_shortcut)
