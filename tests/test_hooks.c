/* The hooks are live: libdarknet's own callers reach the project's parser,
 * weights I/O and gemm. */
#include <stdlib.h>
#include <string.h>

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
    tcase_add_test(tc, executable_refuses_to_run_without_live_hooks);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_hooks)
