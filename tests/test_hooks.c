/* The hooks are live: libdarknet's own callers reach the project's parser,
 * weights I/O and gemm. */
#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "hooks.h"
#include "test_util.h"

START_TEST(selftest_passes)
{
    ck_assert_ptr_null(abc_hooks_selftest());
}
END_TEST

START_TEST(library_load_network_uses_our_parser)
{
    const char *dir = abc_test_tmpdir();
    char *cfg = abc_test_write(dir, "hooks.cfg",
                               "[net]\nbatch=1\nwidth=5\nheight=5\nchannels=2\n"
                               "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n");
    abc_hook_counts before = abc_hooks_counts();
    network *net = load_network(cfg, NULL, 0); /* libdarknet's function */
    abc_hook_counts after = abc_hooks_counts();
    ck_assert_int_eq(after.parse, before.parse + 1);
    ck_assert_int_eq(net->n, 1);
    ck_assert_int_eq(net->layers[0].out_c, 3);
    free_network(net);
    free(cfg);
}
END_TEST

/* The project's forward pass clears the layers' gradient buffers when training (backward accumulates into them)
 * and leaves them alone at inference; the outputs are those of the layers run one after the other. */
START_TEST(forward_network_clears_gradients_only_when_training)
{
    char *cfg = abc_test_write(abc_test_tmpdir(), "fwd.cfg",
                               "[net]\nbatch=1\nwidth=6\nheight=6\nchannels=2\n"
                               "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=leaky\n"
                               "[maxpool]\nsize=2\nstride=2\n"
                               "[connected]\noutput=4\nactivation=linear\n[softmax]\n");
    network *net = load_network(cfg, NULL, 0);
    float in[72];
    for (int i = 0; i < 72; ++i) in[i] = (float)((i * 37) % 19) / 19.0f - 0.4f;
    for (int i = 0; i < net->n; ++i)
        for (int k = 0; k < net->layers[i].outputs; ++k) net->layers[i].delta[k] = 7.0f;
    float *out = abc_network_predict(net, in);
    for (int i = 0; i < net->n; ++i) ck_assert(net->layers[i].delta[0] == 7.0f);
    /* the same as each layer's forward in turn */
    network copy = *net;
    copy.input = in;
    copy.train = 0;
    for (int i = 0; i < net->n; ++i) {
        copy.index = i;
        net->layers[i].forward(net->layers[i], copy);
        copy.input = net->layers[i].output;
    }
    float again[4];
    memcpy(again, net->layers[net->n - 1].output, sizeof again);
    out = abc_network_predict(net, in);
    ck_assert(!memcmp(out, again, sizeof again));
    /* training: cleared before each layer's forward */
    float *keep_in = net->input, *keep_truth = net->truth, truth[4] = {0, 1, 0, 0};
    net->train = 1;
    net->input = in;
    net->truth = truth;
    abc_forward_network(net, NULL);
    ck_assert(net->layers[1].delta[0] == 0.0f); /* maxpool: its forward writes no gradient */
    net->input = keep_in;
    net->truth = keep_truth;
    net->train = 0;
    free_network(net);
    free(cfg);
}
END_TEST

START_TEST(executable_refuses_to_run_without_live_hooks)
{
    /* The start-up check runs before every command: a working ./darknet says so. */
    abc_run_result r = abc_test_run_darknet("abc selftest");
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "hooks live"));
    abc_run_free(&r);
}
END_TEST

static Suite *suite_hooks(void)
{
    Suite *s = suite_create("hooks");
    TCase *tc = tcase_create("live");
    tcase_add_test(tc, selftest_passes);
    tcase_add_test(tc, library_load_network_uses_our_parser);
    tcase_add_test(tc, forward_network_clears_gradients_only_when_training);
    tcase_add_test(tc, executable_refuses_to_run_without_live_hooks);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_hooks)
