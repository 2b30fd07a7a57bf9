/* The project's [batchnorm] layer (src/abc/float_batchnorm.c) against
 * libdarknet's own forward/backward (given the buffers its constructor
 * forgets), finite differences, the update rule, and a network with
 * [batchnorm] layers (first layer, after a pool) that trains, saves,
 * reloads and resizes through ./darknet's parser. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/darknet_private.h"
#include "base/threads.h"
#include "base/util.h"
#include "float/float_batchnorm.h"
#include "test_util.h"

enum { B = 3, W = 5, H = 4, C = 6 };

static float *floats(size_t n) { return abc_xcalloc(n, sizeof(float)); }

/* libdarknet's layer with the buffers its forward and backward write. */
static layer darknet_layer(void)
{
    layer l = make_batchnorm_layer(B, W, H, C);
    size_t n = (size_t)B * l.outputs;
    l.x = floats(n);
    l.x_norm = floats(n);
    l.mean_delta = floats(C);
    l.variance_delta = floats(C);
    return l;
}

static layer project_layer(void)
{
    layer l = make_batchnorm_layer(B, W, H, C);
    abc_batchnorm_install(&l);
    return l;
}

static void set_params(layer *l, unsigned seed)
{
    for (int f = 0; f < C; ++f) {
        l->scales[f] = abc_test_urand(&seed, 0.5f, 1.5f);
        l->biases[f] = abc_test_urand(&seed, -0.5f, 0.5f);
        l->rolling_mean[f] = abc_test_urand(&seed, -0.5f, 0.5f);
        l->rolling_variance[f] = abc_test_urand(&seed, 0.5f, 2.f);
    }
}

static void assert_close(const char *what, const float *a, const float *b, size_t n, double tol)
{
    for (size_t i = 0; i < n; ++i)
        ck_assert_msg(fabs((double)a[i] - b[i]) <= tol * fmax(1, fabs(b[i])), "%s[%zu]: %g, darknet's formula %g",
                      what, i, a[i], b[i]);
}

/* _i: train (0/1) x threads (1/2) */
START_TEST(batchnorm_matches_darknet)
{
    int train = _i & 1, threads = 1 + (_i >> 1);
    abc_set_threads(threads);
    unsigned seed = 11;
    layer ref = darknet_layer(), l = project_layer();
    set_params(&ref, 5);
    set_params(&l, 5);
    network net = abc_test_layer_net(&l, B, &seed);
    net.train = train;
    size_t n = (size_t)B * l.outputs;
    float *g = floats(n), *dref = floats(n);
    for (size_t i = 0; i < n; ++i) g[i] = abc_test_urand(&seed, -1, 1);

    forward_batchnorm_layer(ref, net);
    l.forward(l, net);
    assert_close("output", l.output, ref.output, n, 1e-5);
    assert_close("rolling_mean", l.rolling_mean, ref.rolling_mean, C, 1e-5);
    assert_close("rolling_variance", l.rolling_variance, ref.rolling_variance, C, 1e-5);
    if (train) assert_close("x_norm", l.x_norm, ref.x_norm, n, 1e-5);

    memcpy(ref.delta, g, n * sizeof(float));
    memcpy(l.delta, g, n * sizeof(float));
    network rnet = net;
    rnet.delta = dref;
    backward_batchnorm_layer(ref, rnet);
    l.backward(l, net);
    assert_close("input gradient", net.delta, dref, n, 1e-4);
    assert_close("scale gradient", l.scale_updates, ref.scale_updates, C, 1e-4);
    assert_close("bias gradient", l.bias_updates, ref.bias_updates, C, 1e-4);

    /* the input gradient adds to what is there (a shortcut's share), and no input gradient at all is fine */
    memcpy(l.delta, g, n * sizeof(float));
    for (size_t i = 0; i < n; ++i) net.delta[i] = 1.f;
    l.forward(l, net);
    l.backward(l, net);
    for (size_t i = 0; i < n; ++i) ck_assert_msg(fabsf(net.delta[i] - 1.f - dref[i]) <= 1e-4f, "delta[%zu] not added", i);
    network first = net;
    first.delta = NULL;
    l.backward(l, first);

    free(g);
    free(dref);
    abc_test_layer_net_free(&net);
    free_layer(ref);
    free_layer(l);
    abc_set_threads(1);
}
END_TEST

/* The training-mode gradient against finite differences of L = sum g*out (inputs, scales, biases). */
START_TEST(batchnorm_gradient_is_numerical)
{
    unsigned seed = 3;
    layer l = project_layer();
    set_params(&l, 9);
    network net = abc_test_layer_net(&l, B, &seed);
    size_t n = (size_t)B * l.outputs;
    float *g = floats(n);
    for (size_t i = 0; i < n; ++i) g[i] = abc_test_urand(&seed, -1, 1);
    l.forward(l, net);
    memcpy(l.delta, g, n * sizeof(float));
    memset(l.scale_updates, 0, C * sizeof(float));
    memset(l.bias_updates, 0, C * sizeof(float));
    l.backward(l, net);
    /* darknet's delta is -dL/doutput by convention, here dL/doutput: updates and net.delta hold dL/dparam */
    for (size_t i = 0; i < n; i += 7) {
        double fd = abc_test_fd(&l, net, g, &net.input[i], 1e-2f);
        ck_assert_msg(fabs(fd - net.delta[i]) <= 2e-2 * fmax(1, fabs(fd)), "dL/dx[%zu]: %g, numerically %g", i,
                      net.delta[i], fd);
    }
    for (int f = 0; f < C; ++f) {
        double fs = abc_test_fd(&l, net, g, &l.scales[f], 1e-2f), fb = abc_test_fd(&l, net, g, &l.biases[f], 1e-2f);
        ck_assert_msg(fabs(fs - l.scale_updates[f]) <= 1e-2 * fmax(1, fabs(fs)), "dL/dscale[%d]: %g vs %g", f,
                      l.scale_updates[f], fs);
        ck_assert_msg(fabs(fb - l.bias_updates[f]) <= 1e-2 * fmax(1, fabs(fb)), "dL/dbias[%d]: %g vs %g", f,
                      l.bias_updates[f], fb);
    }
    free(g);
    abc_test_layer_net_free(&net);
    free_layer(l);
}
END_TEST

/* The scales take an SGD step with momentum; the biases stay (a .weights file has no [batchnorm] biases to keep
 * them in) and their gradient is dropped. */
START_TEST(batchnorm_update_is_sgd_with_momentum)
{
    layer l = project_layer();
    set_params(&l, 2);
    float s0[C], b0[C];
    for (int f = 0; f < C; ++f) {
        l.scale_updates[f] = 0.3f * (float)(f + 1);
        l.bias_updates[f] = -0.2f * (float)(f + 1);
        s0[f] = l.scales[f];
        b0[f] = l.biases[f];
    }
    l.learning_rate_scale = 2;
    update_args a = {0};
    a.batch = 4;
    a.learning_rate = 0.1f;
    a.momentum = 0.9f;
    l.update(l, a);
    for (int f = 0; f < C; ++f) {
        ck_assert_float_eq_tol(l.scales[f], s0[f] + 0.2f / 4 * 0.3f * (float)(f + 1), 1e-6f);
        ck_assert(l.biases[f] == b0[f] && l.bias_updates[f] == 0);
        ck_assert_float_eq_tol(l.scale_updates[f], 0.27f * (float)(f + 1), 1e-6f);
    }
    free_layer(l);
}
END_TEST

static const char *bn_cfg = "[net]\nbatch=4\nwidth=8\nheight=8\nchannels=3\nlearning_rate=0.1\nmomentum=0.9\n"
                            "[batchnorm]\n"
                            "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
                            "[maxpool]\nsize=2\nstride=2\n"
                            "[batchnorm]\n"
                            "[convolutional]\nfilters=5\nsize=1\nactivation=linear\n"
                            "[avgpool]\n[softmax]\n";

/* Was a segfault at the first forward: trains (scales move), saves, reloads, resizes. */
START_TEST(network_with_batchnorm_trains_saves_and_resizes)
{
    const char *dir = abc_test_tmpdir();
    char *cfg = abc_test_write(dir, "bn.cfg", bn_cfg);
    char weights[4096];
    snprintf(weights, sizeof weights, "%s/bn.weights", dir);
    network *net = load_network(cfg, NULL, 0);
    ck_assert_int_eq(net->layers[0].type, BATCHNORM);
    ck_assert_int_eq(net->layers[3].type, BATCHNORM);
    data d = {0};
    d.X = make_matrix(net->batch, net->inputs);
    d.y = make_matrix(net->batch, net->outputs);
    unsigned seed = 1;
    for (int i = 0; i < net->batch; ++i) {
        for (int j = 0; j < net->inputs; ++j) d.X.vals[i][j] = abc_test_urand(&seed, 0, 1);
        d.y.vals[i][i % net->outputs] = 1;
    }
    for (int it = 0; it < 3; ++it) ck_assert(isfinite(train_network(net, d)));
    int moved = 0;
    for (int f = 0; f < net->layers[3].c; ++f) moved += net->layers[3].scales[f] != 1.f;
    ck_assert_msg(moved > 0, "the scales of [batchnorm] never changed in training");
    save_weights(net, weights);

    network *back = load_network(cfg, weights, 0);
    set_batch_network(net, 1);
    set_batch_network(back, 1);
    float a[5], b[5];
    memcpy(a, network_predict(net, d.X.vals[0]), sizeof a);
    memcpy(b, network_predict(back, d.X.vals[0]), sizeof b);
    for (int k = 0; k < 5; ++k) ck_assert_float_eq_tol(a[k], b[k], 1e-6f);

    resize_network(back, 12, 12);
    ck_assert_int_eq(back->layers[3].out_w, 6);
    float *in = floats((size_t)back->inputs);
    float *out = network_predict(back, in);
    for (int k = 0; k < 5; ++k) ck_assert(isfinite(out[k]));
    free(in);
    free_data(d);
    free_network(net);
    free_network(back);
    free(cfg);
}
END_TEST

static Suite *suite_batchnorm(void)
{
    Suite *s = suite_create("batchnorm");
    TCase *tc = tcase_create("layer");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, batchnorm_matches_darknet, 0, 4);
    tcase_add_test(tc, batchnorm_gradient_is_numerical);
    tcase_add_test(tc, batchnorm_update_is_sgd_with_momentum);
    tcase_add_test(tc, network_with_batchnorm_trains_saves_and_resizes);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_batchnorm)
