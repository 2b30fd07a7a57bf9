/* The inference [maxpool] (float/float_maxpool.c) against libdarknet's forward_maxpool_layer, bit for bit:
 * window sizes, strides and paddings (darknet's default padding size - 1 too), odd sizes, batch 2, inputs with
 * ties, signed zeros, NaN and infinities, 1 and 2 threads; training keeps libdarknet's forward and indexes. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/darknet_private.h"
#include "base/threads.h"
#include "float/float_layers.h"
#include "test_util.h"

typedef struct {
    int h, w, c, size, stride, pad;
} pool_case;

static const pool_case cases[] = {
    {8, 8, 3, 2, 2, 1},    {9, 7, 2, 2, 2, 1},    {8, 8, 3, 2, 2, 0},  {13, 13, 5, 2, 1, 1}, {11, 10, 2, 3, 2, 2},
    {7, 9, 3, 3, 1, 2},    {10, 12, 2, 5, 3, 4},  {6, 6, 4, 1, 1, 0},  {5, 5, 2, 4, 4, 3},   {33, 34, 3, 2, 2, 1},
    {64, 66, 16, 2, 2, 1}, {3, 3, 1, 3, 3, 2},    {17, 5, 2, 2, 2, 0},  {13, 13, 7, 2, 1, 1}, {9, 21, 3, 2, 1, 0},
    {4, 5, 2, 2, 1, 1},    {1, 9, 2, 2, 1, 1},    {15, 19, 3, 2, 2, 1}, {7, 7, 4, 2, 2, 1},
};

/* Values that test darknet's comparison: ties, +0/-0, NaN, +-inf, huge negatives. */
static void fill(float *x, int n, unsigned seed)
{
    for (int i = 0; i < n; ++i) {
        unsigned r = (seed = seed * 1103515245u + 12345u) >> 8;
        switch (r % 16) {
        case 0: x[i] = NAN; break;
        case 1: x[i] = -INFINITY; break;
        case 2: x[i] = INFINITY * (r % 32 == 2 ? 1 : -1); break;
        case 3: x[i] = 0.0f; break;
        case 4: x[i] = -0.0f; break;
        case 5: x[i] = -FLT_MAX; break;
        case 6: x[i] = 1.0f; break; /* ties */
        default: x[i] = (float)(r % 2001) / 1000.0f - 1.0f;
        }
    }
}

START_TEST(inference_matches_stock_bit_for_bit)
{
    const pool_case *k = &cases[_i];
    layer ours = make_maxpool_layer(2, k->h, k->w, k->c, k->size, k->stride, k->pad);
    layer stock = make_maxpool_layer(2, k->h, k->w, k->c, k->size, k->stride, k->pad);
    float *in = malloc(sizeof(float) * ours.inputs * 2);
    fill(in, ours.inputs * 2, 11u + (unsigned)_i);
    network net = {0};
    net.input = in;
    net.train = 0;
    forward_maxpool_layer(stock, net);
    for (int threads = 1; threads <= 2; ++threads) {
        abc_set_threads(threads);
        memset(ours.output, 0x55, sizeof(float) * ours.outputs * 2);
        abc_maxpool_fast_forward(ours, net);
        ck_assert_msg(!memcmp(ours.output, stock.output, sizeof(float) * ours.outputs * 2),
                      "case %d (%dx%dx%d size %d stride %d pad %d), %d threads: outputs differ", _i, k->h, k->w, k->c,
                      k->size, k->stride, k->pad, threads);
    }
    /* training: libdarknet's forward, indexes included */
    net.train = 1;
    memset(ours.indexes, 0, sizeof(int) * ours.outputs * 2);
    abc_maxpool_fast_forward(ours, net);
    forward_maxpool_layer(stock, net);
    ck_assert(!memcmp(ours.output, stock.output, sizeof(float) * ours.outputs * 2));
    ck_assert(!memcmp(ours.indexes, stock.indexes, sizeof(int) * ours.outputs * 2));
    abc_set_threads(0);
    free(in);
    free_layer(ours);
    free_layer(stock);
}
END_TEST

static Suite *suite_float_maxpool(void)
{
    Suite *s = suite_create("float_maxpool");
    TCase *tc = tcase_create("maxpool");
    tcase_add_loop_test(tc, inference_matches_stock_bit_for_bit, 0, (int)(sizeof cases / sizeof cases[0]));
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_float_maxpool)
