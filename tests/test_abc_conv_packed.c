/* [abc_convolutional] inference: the packed path (M*N binary GEMMs over
 * packed bits, with the padded-tap correction) computes the same function as
 * the float simulation of the training path, on random layers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/threads.h"
#include "layers/abc/abc_conv.h"
#include "test_util.h"

static int irand(unsigned *seed, int lo, int hi) { return lo + rand_r(seed) % (hi - lo + 1); }

static const int sizes[] = {1, 3, 5}, strides[] = {1, 2}, pads[] = {0, 1};
static const int channels[] = {1, 3, 5, 7, 67}; /* odd; 67*9 and 67*25 bits span several words */

/* max |packed - sim| / max |sim| of l on net's input, `packed` running the packed path; fails on an
 * all-zero output, which would compare nothing. */
static double packed_vs_sim_diff(layer *l, network net, void (*packed)(layer, network), const char *desc)
{
    size_t no = (size_t)l->batch * l->outputs;
    float *sim = malloc(no * sizeof *sim);
    abc_conv_forward_sim(*l, net);
    memcpy(sim, l->output, no * sizeof *sim);
    memset(l->output, 0, no * sizeof *sim);
    packed(*l, net);
    double md = 0, mx = 0;
    for (size_t k = 0; k < no; ++k) {
        md = fmax(md, fabs((double)l->output[k] - sim[k]));
        mx = fmax(mx, fabs(sim[k]));
    }
    ck_assert_msg(mx > 0, "%s: output all zero", desc);
    free(sim);
    return md / mx;
}

/* Case i: size, stride, pad from i; the rest drawn from a seed. Returns max|packed-sim| / max|sim|. */
static double packed_vs_sim(int i, char *desc, size_t dlen)
{
    unsigned seed = 1000u + (unsigned)i * 7919u;
    int size = sizes[i % 3], stride = strides[(i / 3) % 2], pad = pads[(i / 6) % 2];
    int c = channels[irand(&seed, 0, 4)], n = irand(&seed, 1, 9), batch = irand(&seed, 2, 3);
    int h = irand(&seed, size, size + 6), w = irand(&seed, size, size + 5);
    int M = irand(&seed, 1, 5), N = irand(&seed, 1, 5), bn = irand(&seed, 0, 1);
    abc_conv_opts o;
    abc_conv_default_opts(&o, M, N);
    o.scale = irand(&seed, 0, 1) ? ABC_SCALE_CHANNEL : ABC_SCALE_LAYER;
    for (int k = 0; k < N; ++k) {
        o.v[k] = abc_test_urand(&seed, -1.5f, 1.5f);
        o.beta[k] = abc_test_urand(&seed, 0.2f, 1.5f);
    }
    layer l = abc_conv_make(batch, h, w, c, n, size, stride, pad, i % 2 ? LEAKY : LINEAR, bn, &o);
    snprintf(desc, dlen, "c=%d n=%d %dx%d size=%d stride=%d pad=%d batch=%d M=%d N=%d bn=%d scale=%s", c, n, w, h,
             size, stride, pad, batch, M, N, bn, o.scale ? "channel" : "layer");
    for (int k = 0; k < l.nweights; ++k) l.weights[k] = abc_test_urand(&seed, -0.5f, 0.5f);
    for (int k = 0; k < l.n; ++k) l.biases[k] = abc_test_urand(&seed, -0.5f, 0.5f);
    if (bn)
        for (int k = 0; k < l.n; ++k) {
            l.scales[k] = abc_test_urand(&seed, -1.5f, 1.5f);
            l.rolling_mean[k] = abc_test_urand(&seed, -0.5f, 0.5f);
            l.rolling_variance[k] = abc_test_urand(&seed, 0.5f, 2.f);
        }
    abc_conv_quantize_weights(&l, 1); /* alpha for these weights, then frozen */
    network net;
    memset(&net, 0, sizeof net);
    net.batch = batch;
    net.train = 0;
    net.input = malloc((size_t)batch * l.inputs * sizeof(float));
    net.workspace = calloc(l.workspace_size / sizeof(float) + 1, sizeof(float));
    for (int k = 0; k < batch * l.inputs; ++k) net.input[k] = abc_test_urand(&seed, -2.f, 2.f);
    double r = packed_vs_sim_diff(&l, net, l.forward, desc); /* net.train = 0: the packed path */
    ck_assert_msg(abc_conv_st(&l)->packed_valid, "%s: the inference forward did not pack", desc);
    free(net.input);
    free(net.workspace);
    free_layer(l);
    return r;
}

#define N_CASES 36

START_TEST(packed_equals_simulated)
{
    char desc[256];
    double r = packed_vs_sim(_i, desc, sizeof desc);
    if (getenv("ABC_TEST_VERBOSE")) fprintf(stderr, "%s: max rel diff %.3g\n", desc, r);
    ck_assert_msg(r <= 1e-4, "%s: max relative difference %g", desc, r);
}
END_TEST

/* Wide shapes (several 16-column panels and blocks), positions with padded taps, each activation, one base
 * each way (the AVX-512 kernel's fused output stage) and several (the combining pass), 1 and 2 threads.
 * _i: shape x activation x bases. */
START_TEST(fused_output_equals_simulated)
{
    static const int shapes[][4] = {{9, 9, 3, 5}, {23, 17, 16, 20}, {40, 13, 64, 9}, {15, 30, 67, 16}}; /* h w c n */
    static const ACTIVATION acts[] = {LEAKY, RELU, LINEAR, LOGISTIC};
    static const int bases[][2] = {{1, 1}, {3, 3}, {2, 4}, {5, 1}};
    const int *sh = shapes[_i / 16], *mn = bases[_i % 4];
    ACTIVATION act = acts[_i / 4 % 4];
    unsigned seed = 31u + (unsigned)_i;
    abc_conv_opts o;
    abc_conv_default_opts(&o, mn[0], mn[1]);
    for (int k = 0; k < mn[1]; ++k) o.v[k] = abc_test_urand(&seed, -1.f, 1.f);
    layer l = abc_conv_make(2, sh[0], sh[1], sh[2], sh[3], 3, 1, 1, act, 1, &o);
    abc_test_fill_conv_params(&l, &seed);
    abc_conv_quantize_weights(&l, 1);
    network net;
    memset(&net, 0, sizeof net);
    net.batch = 2;
    net.input = malloc((size_t)2 * l.inputs * sizeof(float));
    net.workspace = calloc(l.workspace_size / sizeof(float) + 1, sizeof(float));
    for (int k = 0; k < 2 * l.inputs; ++k) net.input[k] = abc_test_urand(&seed, -2.f, 2.f);
    char desc[128];
    for (int threads = 1; threads <= 2; ++threads) {
        abc_set_threads(threads);
        snprintf(desc, sizeof desc, "%dx%dx%d->%d (M,N)=(%d,%d) act %d, %d threads", sh[1], sh[0], sh[2], sh[3], mn[0],
                 mn[1], (int)act, threads);
        double r = packed_vs_sim_diff(&l, net, abc_conv_forward_packed, desc);
        ck_assert_msg(r <= 1e-4, "%s: max relative difference %g", desc, r);
    }
    abc_set_threads(1);
    free(net.input);
    free(net.workspace);
    free_layer(l);
}
END_TEST

/* [abc_connected] is this layer as a 1x1 convolution on a 1x1 image of `inputs` channels. */
START_TEST(packed_equals_simulated_connected)
{
    static const int ins[] = {1, 63, 64, 130};
    unsigned seed = 99u + (unsigned)_i;
    abc_conv_opts o;
    abc_conv_default_opts(&o, 1 + _i, 3 - _i % 3);
    o.scale = _i % 2 ? ABC_SCALE_CHANNEL : ABC_SCALE_LAYER;
    layer l = abc_conv_make(3, 1, 1, ins[_i], 7, 1, 1, 0, LINEAR, _i % 2, &o);
    if (l.batch_normalize)
        for (int k = 0; k < l.n; ++k) l.rolling_variance[k] = 1;
    network net;
    memset(&net, 0, sizeof net);
    net.batch = 3;
    net.input = malloc((size_t)3 * l.inputs * sizeof(float));
    for (int k = 0; k < 3 * l.inputs; ++k) net.input[k] = abc_test_urand(&seed, -2.f, 2.f);
    char desc[32];
    snprintf(desc, sizeof desc, "inputs %d", ins[_i]);
    double r = packed_vs_sim_diff(&l, net, abc_conv_forward_packed, desc);
    ck_assert_msg(r <= 1e-4, "%s: max relative difference %g", desc, r);
    free(net.input);
    free_layer(l);
}
END_TEST

/* The correction matters: without it, padded layers differ (a control that the test can fail). */
START_TEST(pad_correction_is_needed)
{
    abc_conv_opts o;
    abc_conv_default_opts(&o, 2, 2);
    layer l = abc_conv_make(1, 5, 5, 3, 4, 3, 1, 1, LINEAR, 0, &o);
    network net;
    memset(&net, 0, sizeof net);
    net.batch = 1;
    net.input = malloc((size_t)l.inputs * sizeof(float));
    net.workspace = calloc(l.workspace_size / sizeof(float) + 1, sizeof(float));
    unsigned seed = 5;
    for (int k = 0; k < l.inputs; ++k) net.input[k] = abc_test_urand(&seed, -2.f, 2.f);
    abc_conv_forward_sim(l, net);
    float *sim = malloc((size_t)l.outputs * sizeof *sim);
    memcpy(sim, l.output, (size_t)l.outputs * sizeof *sim);
    abc_conv_forward_packed(l, net);
    abc_conv_state *st = abc_conv_st(&l);
    memset(st->wcorr, 0, (size_t)l.n * st->nrc * st->ncc * sizeof(float));
    abc_conv_forward_packed(l, net); /* packed_valid: the zeroed correction stays */
    double md = 0;
    for (int k = 0; k < l.outputs; ++k) md = fmax(md, fabs((double)l.output[k] - sim[k]));
    ck_assert_msg(md > 1e-2, "no correction, yet max difference %g", md);
    free(sim);
    free(net.input);
    free(net.workspace);
    free_layer(l);
}
END_TEST

static Suite *suite_abc_conv_packed(void)
{
    Suite *s = suite_create("abc_conv_packed");
    TCase *tc = tcase_create("packed");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, packed_equals_simulated, 0, N_CASES);
    tcase_add_loop_test(tc, packed_equals_simulated_connected, 0, 4);
    tcase_add_loop_test(tc, fused_output_equals_simulated, 0, 64);
    tcase_add_test(tc, pad_correction_is_needed);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_abc_conv_packed)
