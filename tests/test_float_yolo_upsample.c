/* The inference [yolo] and the [upsample] forward (float/float_yolo.c, float_upsample.c) against libdarknet's
 * forward_yolo_layer and forward_upsample_layer, bit for bit: odd grids, one and many classes, batch 2, scales,
 * inputs with signed zeros, infinities and large values, 1 and 2 threads; training keeps libdarknet's [yolo]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/darknet_private.h"
#include "base/threads.h"
#include "float/float_layers.h"
#include "test_util.h"

static void fill(float *x, int n, unsigned seed)
{
    for (int i = 0; i < n; ++i) {
        unsigned r = (seed = seed * 1103515245u + 12345u) >> 8;
        switch (r % 12) {
        case 0: x[i] = 0.0f; break;
        case 1: x[i] = -0.0f; break;
        case 2: x[i] = r % 24 == 2 ? INFINITY : -INFINITY; break;
        case 3: x[i] = (float)(r % 200) - 100.f; break; /* saturating logistics */
        default: x[i] = (float)(r % 20001) / 2000.0f - 5.0f;
        }
    }
}

typedef struct {
    int w, h, classes;
} yolo_case;

static const yolo_case ycases[] = {{13, 13, 10}, {7, 9, 1}, {26, 26, 80}, {1, 1, 3}};

START_TEST(yolo_inference_matches_stock_bit_for_bit)
{
    const yolo_case *k = &ycases[_i];
    int mask[3] = {0, 1, 2};
    layer ours = make_yolo_layer(2, k->w, k->h, 3, 3, mask, k->classes);
    layer stock = make_yolo_layer(2, k->w, k->h, 3, 3, mask, k->classes);
    size_t n = (size_t)ours.outputs * 2;
    float *in = malloc(sizeof(float) * n);
    fill(in, (int)n, 5u + (unsigned)_i);
    network net = {0};
    net.input = in;
    net.train = 0;
    forward_yolo_layer(stock, net);
    for (int threads = 1; threads <= 2; ++threads) {
        abc_set_threads(threads);
        memset(ours.output, 0x55, sizeof(float) * n);
        abc_yolo_fast_forward(ours, net);
        ck_assert_msg(!memcmp(ours.output, stock.output, sizeof(float) * n), "yolo %dx%d, %d classes, %d threads: "
                      "outputs differ", k->w, k->h, k->classes, threads);
    }
    abc_set_threads(0);
    free(in);
    free_layer(ours);
    free_layer(stock);
}
END_TEST

typedef struct {
    int w, h, c, stride;
    float scale;
} up_case;

static const up_case ucases[] = {{13, 13, 7, 2, 1.f}, {5, 3, 4, 3, 0.5f}, {26, 26, 128, 2, 1.f}, {1, 1, 1, 2, -2.f}};

START_TEST(upsample_matches_stock_bit_for_bit)
{
    const up_case *k = &ucases[_i];
    layer ours = make_upsample_layer(2, k->w, k->h, k->c, k->stride);
    layer stock = make_upsample_layer(2, k->w, k->h, k->c, k->stride);
    ours.scale = stock.scale = k->scale;
    size_t ni = (size_t)ours.inputs * 2, no = (size_t)ours.outputs * 2;
    float *in = malloc(sizeof(float) * ni);
    fill(in, (int)ni, 9u + (unsigned)_i);
    network net = {0};
    net.input = in;
    forward_upsample_layer(stock, net);
    for (int threads = 1; threads <= 2; ++threads) {
        abc_set_threads(threads);
        memset(ours.output, 0x55, sizeof(float) * no);
        abc_upsample_fast_forward(ours, net);
        ck_assert_msg(!memcmp(ours.output, stock.output, sizeof(float) * no), "upsample %dx%dx%d stride %d, %d "
                      "threads: outputs differ", k->w, k->h, k->c, k->stride, threads);
    }
    abc_set_threads(0);
    free(in);
    free_layer(ours);
    free_layer(stock);
}
END_TEST

static Suite *suite_float_yolo_upsample(void)
{
    Suite *s = suite_create("float_yolo_upsample");
    TCase *tc = tcase_create("heads");
    tcase_add_loop_test(tc, yolo_inference_matches_stock_bit_for_bit, 0, (int)(sizeof ycases / sizeof ycases[0]));
    tcase_add_loop_test(tc, upsample_matches_stock_bit_for_bit, 0, (int)(sizeof ucases / sizeof ucases[0]));
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_float_yolo_upsample)
