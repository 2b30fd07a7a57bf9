/* detector bench: one row per layer with its type and shape, and a total that is the sum of the rows, at 1 and
 * 2 threads, for each of two cfgs with -compare; -json says the same; bad input is one error line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const char cfg_text[] =
    "[net]\nbatch=4\nwidth=40\nheight=40\nchannels=3\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[abc_convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=1\n\n"
    "[convolutional]\nfilters=24\nsize=1\nstride=1\npad=1\nactivation=linear\n\n"
    "[yolo]\nmask=0,1,2\nanchors=10,14,  23,27,  37,58\nclasses=3\nnum=3\n";

/* Sums the "ms" columns of the table rows under the header of cfg in out; checks them against its total line. */
static void check_table(const char *out, const char *cfg, int layers)
{
    const char *t = strstr(out, cfg);
    ck_assert_msg(t != NULL, "no table for %s:\n%s", cfg, out);
    t = strstr(t, "\n    0  ");
    ck_assert_msg(t != NULL, "%s", out);
    double sum1 = 0, sum2 = 0, tot1 = -1, tot2 = -1;
    int rows = 0;
    for (const char *l = t + 1; *l; l = strchr(l, '\n') + 1) {
        int idx;
        char type[64], in[64], out_shape[64];
        double m1, share, m2;
        if (sscanf(l, "%d %63s %63s -> %63s %lf %lf%% %lf", &idx, type, in, out_shape, &m1, &share, &m2) == 7) {
            ck_assert_int_eq(idx, rows);
            sum1 += m1, sum2 += m2, ++rows;
        } else if (sscanf(l, " total %lf %lf%% %lf", &tot1, &share, &tot2) == 3) {
            break;
        } else {
            ck_abort_msg("unexpected line: %.120s", l);
        }
        if (!strchr(l, '\n')) break;
    }
    ck_assert_int_eq(rows, layers);
    ck_assert_msg(tot1 > 0 && tot2 > 0, "%s", out);
    /* each row printed to 0.001 ms */
    ck_assert_msg(sum1 > tot1 - 0.0006 * rows && sum1 < tot1 + 0.0006 * rows, "rows %.4f, total %.4f", sum1, tot1);
    ck_assert_msg(sum2 > tot2 - 0.0006 * rows && sum2 < tot2 + 0.0006 * rows, "rows %.4f, total %.4f", sum2, tot2);
}

START_TEST(table_total_is_the_sum_of_its_rows)
{
    char *cfg = abc_test_write(abc_test_tmpdir(), "bench.cfg", cfg_text), args[4400];
    snprintf(args, sizeof args, "detector bench %s -rounds 3 -compare %s -width 48 -height 48", cfg, cfg);
    abc_run_result r = abc_test_run_darknet(args);
    ck_assert_msg(r.status == 0, "%s", r.out);
    ck_assert_msg(strstr(r.out, "CPU: ") && strstr(r.out, "48x48x3, batch 1, 6 layers"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "48x48x3 -> 48x48x8") && strstr(r.out, "abc_convolutional") &&
                  strstr(r.out, "24x24x16 -> 24x24x16") && strstr(r.out, "yolo"), "%s", r.out);
    check_table(r.out, cfg, 6);
    check_table(strstr(r.out, "(the sum of the rows)") + 1, cfg, 6);
    ck_assert_msg(strstr(r.out, " vs ") && strstr(r.out, "at 2 threads"), "%s", r.out);
    abc_run_free(&r);
    snprintf(args, sizeof args, "detector bench %s -rounds 2 -json 2>/dev/null", cfg);
    char cmd[4600];
    snprintf(cmd, sizeof cmd, "( %s %s )", abc_test_darknet_path(), args);
    r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0 && abc_test_json_valid(r.out) && abc_test_count_lines(r.out) == 1, "%s", r.out);
    ck_assert_msg(strstr(r.out, "\"total_ms\": [") && strstr(r.out, "\"type\": \"maxpool\""), "%s", r.out);
    abc_run_free(&r);
    free(cfg);
}
END_TEST

START_TEST(bad_input_is_one_line)
{
    const char *cases[] = {"detector bench /nonexistent.cfg", "detector bench ../cfg/yolov3-tiny-fmnist.cfg -rounds 0",
                           "detector bench ../cfg/yolov3-tiny-fmnist.cfg -compare /nonexistent.cfg -rounds 1"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        char args[300];
        snprintf(args, sizeof args, "%s", cases[i]);
        abc_run_result r = abc_test_run_darknet(args);
        const char *e = strstr(r.out, "darknet: error:");
        ck_assert_msg(r.status != 0 && e && !strstr(e + 1, "darknet: error:"), "%s:\n%s", args, r.out);
        abc_run_free(&r);
    }
}
END_TEST

static Suite *suite_detector_bench(void)
{
    Suite *s = suite_create("detector_bench");
    TCase *tc = tcase_create("bench");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, table_total_is_the_sum_of_its_rows);
    tcase_add_test(tc, bad_input_is_one_line);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_detector_bench)
