/* The HadaNet packed inference path (segment GEMM over packed bits) against
 * the float simulation of the same quantized layer: every kernel, 1 and 2
 * threads, borders, strides, odd channel counts, tail segments, batches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/threads.h"
#include "kernels/hgemm_kernels.h"
#include "layers/hada/hada_conv.h"
#include "layers/hada/hada_conv_pack.h"
#include "test_util.h"


typedef struct {
    int batch, h, w, c, n, size, stride, pad, bn, bw, ba, connected;
    ACTIVATION act;
} shape;

static const shape shapes[] = {
    /* the brief's (bw, ba) pairs on 3x3 pad 1 stride 1 */
    {1, 7, 6, 32, 9, 3, 1, 1, 1, 16, 16, 0, LEAKY},
    {3, 5, 5, 37, 8, 3, 1, 1, 0, 16, 2, 0, LINEAR},
    {1, 6, 7, 13, 5, 3, 2, 1, 1, 4, 4, 0, RELU},
    {3, 4, 5, 33, 17, 3, 1, 1, 1, 2, 16, 0, LEAKY},
    {1, 9, 8, 24, 16, 3, 2, 1, 0, 8, 8, 0, LINEAR},
    /* size 1, stride 2, no padding; odd channel counts with tail segments */
    {3, 5, 7, 19, 11, 1, 1, 0, 1, 16, 16, 0, LEAKY},
    {1, 7, 7, 21, 6, 1, 2, 0, 0, 4, 4, 0, LINEAR},
    {1, 8, 8, 3, 4, 3, 1, 1, 1, 16, 16, 0, LEAKY},
    {3, 3, 3, 70, 40, 3, 1, 0, 1, 16, 16, 0, LINEAR}, /* one output position per image */
    {1, 12, 11, 64, 64, 3, 1, 1, 1, 16, 16, 0, LEAKY}, /* several position blocks, panels at the edges */
    /* connected */
    {1, 1, 1, 100, 10, 1, 1, 0, 0, 16, 2, 1, LINEAR},
    {3, 1, 1, 257, 33, 1, 1, 0, 1, 16, 16, 1, LEAKY},
    {3, 1, 1, 40, 7, 1, 1, 0, 0, 8, 8, 1, LINEAR},
    {9, 1, 1, 100, 13, 1, 1, 0, 1, 16, 2, 1, LEAKY}, /* a batch large enough for images as the kernel's rows */
    {8, 3, 3, 40, 9, 3, 1, 0, 1, 16, 4, 0, LINEAR},
    /* other segment lengths: g over 64, g not a power of two, full-precision weights (g = 1), 32/64 */
    {3, 4, 4, 200, 9, 3, 1, 1, 1, 128, 128, 0, LEAKY},
    {1, 5, 4, 50, 6, 3, 1, 1, 0, 12, 24, 0, LINEAR},
    {1, 4, 5, 10, 5, 3, 2, 1, 1, 1, 4, 0, LEAKY},
    {3, 5, 5, 96, 12, 3, 1, 1, 0, 32, 64, 0, LINEAR},
    {1, 6, 6, 130, 8, 3, 1, 1, 1, 64, 64, 0, LEAKY},
};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

typedef struct {
    layer l;
    network net;
} rig;

static rig make_rig(const shape *s, unsigned seed)
{
    rig r;
    memset(&r, 0, sizeof r);
    hada_conv_opts o = {.bw = s->bw, .ba = s->ba};
    r.l = s->connected ? hada_conv_make(s->batch, 1, 1, s->c, s->n, 1, 1, 0, s->act, s->bn, &o, 1)
                       : hada_conv_make(s->batch, s->h, s->w, s->c, s->n, s->size, s->stride, s->pad, s->act, s->bn,
                                        &o, 0);
    layer *l = &r.l;
    for (int i = 0; i < l->nweights; ++i) l->weights[i] = abc_test_urand(&seed, -0.5f, 0.5f);
    for (int i = 0; i < l->nweights; i += 7) l->weights[i] = 0.f; /* ties: sgn(0) = +1 */
    for (int i = 0; i < l->n; ++i) l->biases[i] = abc_test_urand(&seed, -0.5f, 0.5f);
    if (s->bn)
        for (int i = 0; i < l->n; ++i) {
            l->scales[i] = abc_test_urand(&seed, 0.5f, 1.5f);
            l->rolling_mean[i] = abc_test_urand(&seed, -0.5f, 0.5f);
            l->rolling_variance[i] = abc_test_urand(&seed, 0.5f, 2.f);
        }
    hada_conv_quantize_weights(l);
    r.net.batch = s->batch;
    r.net.train = 0;
    r.net.input = calloc((size_t)s->batch * l->inputs, sizeof(float));
    r.net.workspace = calloc(l->workspace_size / sizeof(float) + 1, sizeof(float));
    for (int i = 0; i < s->batch * l->inputs; ++i) r.net.input[i] = abc_test_urand(&seed, -2.f, 2.f);
    for (int i = 0; i < s->batch * l->inputs; i += 11) r.net.input[i] = 0.f;
    return r;
}

static void free_rig(rig *r)
{
    free_layer(r->l);
    free(r->net.input);
    free(r->net.workspace);
}

/* Every kernel x threads 1, 2: the packed forward equals the simulation to 1e-4 of the output's largest value. */
START_TEST(packed_equals_simulation)
{
    const shape *s = &shapes[_i];
    rig r = make_rig(s, 100u + (unsigned)_i);
    layer *l = &r.l;
    size_t n = (size_t)s->batch * l->outputs;
    float *want = malloc(n * sizeof *want);
    hada_conv_forward_sim(*l, r.net);
    memcpy(want, l->output, n * sizeof *want);
    float top = 0;
    for (size_t i = 0; i < n; ++i) top = fmaxf(top, fabsf(want[i]));
    for (int k = 0; k < hada_hgemm_family.n; ++k) {
        const abc_kernel_desc *kd = abc_test_use_kernel(&hada_hgemm_family, k);
        if (!kd) continue;
        for (int t = 1; t <= 2; ++t) {
            abc_set_threads(t);
            for (size_t i = 0; i < n; ++i) l->output[i] = 12345.f;
            hada_conv_forward_packed(*l, r.net);
            for (size_t i = 0; i < n; ++i)
                if (!(fabsf(l->output[i] - want[i]) <= 1e-4f * top + 1e-6f))
                    ck_abort_msg("shape %d (bw %d, ba %d, c %d, size %d, stride %d) kernel %s threads %d: out[%zu] = "
                                 "%.7g, simulation %.7g",
                                 _i, s->bw, s->ba, s->c, s->size, s->stride, kd->name, t, i, l->output[i], want[i]);
        }
    }
    abc_kernel_set(&hada_hgemm_family, NULL);
    abc_set_threads(0);
    free(want);
    free_rig(&r);
}
END_TEST

/* The layer's forward takes the packed path at inference and packs new weights after they change. */
START_TEST(forward_repacks_after_weight_change)
{
    rig r = make_rig(&shapes[0], 7u);
    layer *l = &r.l;
    size_t n = (size_t)l->batch * l->outputs;
    ck_assert(hada_conv_uses_packed(l));
    float *want = malloc(n * sizeof *want);
    for (int round = 0; round < 2; ++round) {
        l->forward(*l, r.net);
        memcpy(want, l->output, n * sizeof *want);
        hada_conv_forward_sim(*l, r.net);
        for (size_t i = 0; i < n; ++i) ck_assert_msg(fabsf(l->output[i] - want[i]) <= 1e-4f * (1 + fabsf(want[i])),
                                                     "round %d out[%zu]", round, i);
        for (int i = 0; i < l->nweights; ++i) l->weights[i] = -l->weights[i] * 0.5f; /* as an update would */
        hada_conv_st(l)->wq_valid = 0;
    }
    free(want);
    free_rig(&r);
}
END_TEST

/* Packed sizes: 1 bit a weight plus one float a product segment, from the shape only; the bits' array also
 * has room for the kernels' row panels (up to 8 rows: per segment and row one or two 32-bit words of bits
 * and a float). */
START_TEST(packed_sizes_follow_the_geometry)
{
    layer l = {0};
    l.c = 64, l.size = 3, l.n = 128;
    hada_conv_opts o = {.bw = 16, .ba = 16};
    size_t wb, wm;
    hada_conv_packed_sizes(&l, &o, &wb, &wm);
    ck_assert_uint_eq(wb, 128u * 9 * 64 / 64 + 128u * 36 * 2 / 2);
    ck_assert_uint_eq(wm, 128u * 9 * 4);
    o.ba = 1;
    hada_conv_packed_sizes(&l, &o, &wb, &wm);
    ck_assert_uint_eq(wb + wm, 0);
    l.c = 3, o.bw = 2, o.ba = 2; /* 3 channels: segments of 2 and 1 bit in 2-bit slots, a tap padded to a byte */
    hada_conv_packed_sizes(&l, &o, &wb, &wm);
    ck_assert_uint_eq(wm, 128u * 9 * 4);
    ck_assert_uint_eq(wb, 128u * 2 + 128u * 36 * 2 / 2);
}
END_TEST

static Suite *suite_hada_packed(void)
{
    Suite *s = suite_create("hada_packed");
    TCase *tc = tcase_create("packed");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, packed_equals_simulation, 0, NSHAPES);
    tcase_add_test(tc, forward_repacks_after_weight_change);
    tcase_add_test(tc, packed_sizes_follow_the_geometry);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_hada_packed)
