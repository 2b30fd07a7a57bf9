/* Data-parallel training over Open MPI (src/dist.c): 2 ranks x batch B against one process x batch 2B in 2
 * subdivisions (a float, a binary and a detector cfg), ranks holding the same bytes, ./darknet under mpirun
 * (one progress stream, exact resume with -seed, a killed rank). The 2-rank runs are this test binary again,
 * started by mpirun as a worker (ABC_TEST_DIST_WORKER). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/threads.h"
#include "base/util.h"
#include "darknet.h"
#include "dist.h"
#include "netio.h"
#include "precision.h"
#include "test_stock.h"
#include "test_util.h"

#define MPIRUN "mpirun --allow-run-as-root --oversubscribe -np 2 "
#define ITERATIONS 3

static const char head_fmt[] = "[net]\nbatch=%d\nsubdivisions=%d\nwidth=%d\nheight=%d\nchannels=3\n"
                               "learning_rate=0.05\nmomentum=0.9\ndecay=0.0005\nmax_batches=100\npolicy=constant\n";
static const char cls_body[] = "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
                               "[maxpool]\nsize=2\nstride=2\n"
                               "[%s]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n%s"
                               "[connected]\nbatch_normalize=1\noutput=5\nactivation=linear\n[softmax]\n";
static const char det_body[] = "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
                               "[%s]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=2\npad=1\nactivation=leaky\n%s"
                               "[convolutional]\nfilters=21\nsize=1\nstride=1\npad=1\nactivation=linear\n"
                               "[yolo]\nmask=0,1,2\nanchors=6,8, 10,6, 12,12\nclasses=2\nnum=3\njitter=0\nrandom=0\n";

/* One image of iteration it, image g of the world's batch: pixels and its truth, a function of (it, g) alone. */
static void synth(float *x, int nx, float *y, int ny, int det, int it, int g)
{
    unsigned s = 7919u * (unsigned)it + 104729u * (unsigned)g + 1;
    for (int i = 0; i < nx; ++i) x[i] = abc_test_urand(&s, 0, 1);
    memset(y, 0, sizeof(float) * (size_t)ny);
    if (!det) {
        y[g % ny] = 1;
        return;
    }
    for (int b = 0; b < 2; ++b) { /* x, y, w, h, class */
        y[5 * b + 0] = abc_test_urand(&s, .25f, .75f);
        y[5 * b + 1] = abc_test_urand(&s, .25f, .75f);
        y[5 * b + 2] = abc_test_urand(&s, .15f, .4f);
        y[5 * b + 3] = abc_test_urand(&s, .15f, .4f);
        y[5 * b + 4] = (float)((g + b) % 2);
    }
}

/* The end of a command's output, short enough for a failure message. */
static const char *tail(const char *out)
{
    size_t n = out ? strlen(out) : 0;
    return n > 1500 ? out + n - 1500 : out ? out : "";
}

static data batch_of(network *net, int det, int it, int first, int n)
{
    data d = {0};
    d.X = make_matrix(n, net->inputs);
    d.y = make_matrix(n, net->truths);
    for (int i = 0; i < n; ++i) synth(d.X.vals[i], net->inputs, d.y.vals[i], net->truths, det, it, first + i);
    return d;
}

/* Under mpirun: "<cfg> <start weights> <det 0|1> <out prefix>": ITERATIONS iterations on this rank's part of
 * the world's batch, then <out prefix>.<rank>.weights. */
int abc_test_dist_worker(const char *spec)
{
    char cfg[1024], start[1024], out[1024];
    int det;
    if (sscanf(spec, "%1023s %1023s %d %1023s", cfg, start, &det, out) != 4) return 2;
    abc_dist_init();
    abc_set_threads(1);
    network *net = abc_parse_network(cfg);
    abc_load_weights(net, start, 0, net->n);
    abc_precision_apply(cfg);
    abc_dist_prepare(net, cfg);
    int world = abc_dist_world(), rank = abc_dist_rank();
    int n = net->batch * (net->subdivisions / world);
    for (int it = 0; it < ITERATIONS; ++it) {
        data d = batch_of(net, det, it, rank * n, n);
        int stop = 0;
        abc_dist_train(net, d, &stop);
        free_data(d);
    }
    char path[1100];
    snprintf(path, sizeof path, "%s.%d.weights", out, rank);
    abc_save_weights(net, path, net->n);
    abc_free_network(net);
    abc_dist_finish();
    return 0;
}

static float *floats_of(const char *path, long *n)
{
    size_t bytes = 0;
    float *f = (float *)abc_test_read_file(path, &bytes);
    ck_assert_msg(f != NULL, "no %s", path);
    *n = (long)(bytes / 4);
    return f;
}

static double max_diff(const float *a, const float *b, long n)
{
    double m = 0;
    for (long i = 5; i < n; ++i) { /* after the header: 3 ints and the 64-bit seen */
        double d = fabs((double)a[i] - b[i]) / (1 + fabs((double)b[i]));
        if (!(d <= m)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

/* 2 ranks x batch 4 against one process x batch 8 in 2 subdivisions, on the same images. */
/* env: how the ranks reduce (buckets of 1 KB: some arrays fused, others reduced in place; no overlap). */
static void check_equal_to_one_process(const char *name, int det, const char *type, const char *keys, const char *env)
{
    const char *dir = abc_test_tmpdir();
    int size = det ? 32 : 12;
    char *body, *t1, *t2;
    ck_assert(asprintf(&body, det ? det_body : cls_body, type, keys) > 0);
    ck_assert(asprintf(&t1, head_fmt, 4, 1, size, size) > 0);
    ck_assert(asprintf(&t2, head_fmt, 8, 2, size, size) > 0);
    char *c1 = abc_test_pathf(dir, "%s-ranks.cfg", name), *c2 = abc_test_pathf(dir, "%s-one.cfg", name);
    char *text;
    ck_assert(asprintf(&text, "%s%s", t1, body) > 0);
    free(abc_test_write(dir, strrchr(c1, '/') + 1, text));
    free(text);
    ck_assert(asprintf(&text, "%s%s", t2, body) > 0);
    free(abc_test_write(dir, strrchr(c2, '/') + 1, text));
    free(text);
    setenv("ABC_PRECISION", "fp32", 1);
    abc_set_threads(1);

    /* the starting weights, and the one-process reference */
    char *start = abc_test_pathf(dir, "%s-start.weights", name), *ref = abc_test_pathf(dir, "%s-ref.weights", name);
    network *net = abc_parse_network(c2);
    abc_save_weights(net, start, net->n);
    abc_precision_apply(c2);
    for (int it = 0; it < ITERATIONS; ++it) {
        data d = batch_of(net, det, it, 0, net->batch * net->subdivisions);
        train_network(net, d);
        free_data(d);
    }
    abc_save_weights(net, ref, net->n);
    abc_free_network(net);

    char *prefix = abc_test_pathf(dir, "%s-out", name);
    abc_run_result r = abc_test_runf("%s ABC_PRECISION=fp32 ABC_TEST_DIST_WORKER='%s %s %d %s' " MPIRUN
                                     "/proc/%d/exe 2>&1", env, c1, start, det, prefix, (int)getpid());
    ck_assert_msg(r.status == 0, "%s: mpirun failed (%d): %s", name, r.status, tail(r.out));
    abc_run_free(&r);
    char o0[1100], o1[1100];
    snprintf(o0, sizeof o0, "%s.0.weights", prefix);
    snprintf(o1, sizeof o1, "%s.1.weights", prefix);
    long n0, n1, nr, ns;
    float *w0 = floats_of(o0, &n0), *w1 = floats_of(o1, &n1), *wr = floats_of(ref, &nr), *ws = floats_of(start, &ns);
    ck_assert_msg(n0 == nr && n1 == nr && ns == nr, "%s: weights sizes differ", name);
    ck_assert_msg(!memcmp(w0, w1, (size_t)n0 * 4), "%s: the two ranks hold different weights", name);
    ck_assert_msg(!memcmp(w0, wr, 20), "%s: header (seen) differs from one process's", name);
    double moved = max_diff(wr, ws, nr), diff = max_diff(w0, wr, nr);
    ck_assert_msg(moved > 1e-2, "%s: training hardly moved the weights (%g): the comparison would prove nothing", name,
                  moved);
    ck_assert_msg(diff < 2e-4, "%s: 2 ranks differ from one process by %g (training moved them by %g)", name, diff,
                  moved);
    free(w0), free(w1), free(wr), free(ws), free(prefix), free(start), free(ref);
    free(c1), free(c2), free(t1), free(t2), free(body);
}

START_TEST(two_ranks_equal_one_process_float) { check_equal_to_one_process("float", 0, "convolutional", "", "ABC_MPI_BUCKET_MB=0.001"); }
END_TEST

START_TEST(two_ranks_equal_one_process_binary)
{
    check_equal_to_one_process("abc", 0, "abc_convolutional", "weight_bases=3\nactivation_bases=3\n", "ABC_MPI_OVERLAP=0");
}
END_TEST

START_TEST(two_ranks_equal_one_process_detector) { check_equal_to_one_process("det", 1, "convolutional", "", ""); }
END_TEST

/* A small classification set of 16 images (4 classes) and a cfg of batch 4 with a constant rate. */
static char *cls_setup(const char *dir, const char *name, const char *backup, int max_batches, char **cfg)
{
    char *list = abc_test_pathf(dir, "%s-train.list", name), *labels = abc_test_pathf(dir, "%s-labels.txt", name);
    FILE *fl = fopen(list, "w");
    ck_assert(fl != NULL);
    for (int i = 0; i < 16; ++i) {
        const char *cls[] = {"ant", "bee", "cat", "dog"};
        char *stem = abc_test_pathf(dir, "%s-%d-%s", name, i, cls[i % 4]);
        image im = make_image(12, 12, 3);
        unsigned s = (unsigned)i + 1;
        for (int k = 0; k < 12 * 12 * 3; ++k) im.data[k] = abc_test_urand(&s, 0, 1) * (0.3f + 0.2f * (i % 4));
        save_image(im, stem); /* libdarknet writes <stem>.jpg */
        free_image(im);
        fprintf(fl, "%s.jpg\n", stem);
        free(stem);
    }
    fclose(fl);
    free(abc_test_write(dir, strrchr(labels, '/') + 1, "ant\nbee\ncat\ndog\n"));
    char *dtext, *ctext;
    ck_assert(asprintf(&dtext, "classes=4\ntrain=%s\nlabels=%s\nbackup=%s\n", list, labels, backup) > 0);
    char data_name[256], cfg_name[256];
    snprintf(data_name, sizeof data_name, "%s.data", name);
    snprintf(cfg_name, sizeof cfg_name, "%s.cfg", name);
    char *data = abc_test_write(dir, data_name, dtext);
    ck_assert(asprintf(&ctext, "[net]\nbatch=4\nsubdivisions=1\nwidth=12\nheight=12\nchannels=3\nmin_crop=12\n"
                               "max_crop=12\nlearning_rate=0.05\nmomentum=0.9\ndecay=0.0005\nmax_batches=%d\n"
                               "policy=constant\n[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\npad=1\n"
                               "activation=leaky\n[maxpool]\nsize=2\nstride=2\n[connected]\noutput=4\n"
                               "activation=linear\n[softmax]\n", max_batches) > 0);
    *cfg = abc_test_write(dir, cfg_name, ctext);
    free(dtext), free(ctext), free(list), free(labels);
    return data;
}

START_TEST(darknet_under_mpirun_resumes_exactly)
{
    const char *dir = abc_test_tmpdir();
    char *b1 = abc_test_pathf(dir, "bk-straight"), *b2 = abc_test_pathf(dir, "bk-parts");
    char *cfg6, *cfg3, *cfg6b;
    char *d1 = cls_setup(dir, "straight", b1, 6, &cfg6);
    char *d2 = cls_setup(dir, "parts", b2, 3, &cfg3);
    abc_run_result r = abc_test_runf(MPIRUN "%s -threads 1 classifier train %s %s -seed 9 2>&1",
                                     abc_test_darknet_path(), d1, cfg6);
    ck_assert_msg(r.status == 0, "%s", tail(r.out));
    ck_assert_msg(strstr(r.out, "on 2 ranks (4 images each)") != NULL, "%s", tail(r.out));
    /* rank 0 alone prints progress */
    int lines = 0;
    for (const char *p = r.out; (p = strstr(p, "iter 1/6")); ++p) ++lines;
    ck_assert_msg(lines == 1, "%d progress lines for iteration 1: %s", lines, tail(r.out));
    abc_run_free(&r);
    /* 3 iterations, then the same cfg with max_batches=6 resumed from the checkpoint */
    r = abc_test_runf(MPIRUN "%s -threads 1 classifier train %s %s -seed 9 2>&1", abc_test_darknet_path(), d2, cfg3);
    ck_assert_msg(r.status == 0, "%s", tail(r.out));
    abc_run_free(&r);
    char *text = abc_test_slurp(cfg3), *at = strstr(text, "max_batches=3");
    ck_assert(at != NULL);
    at[12] = '6';
    free(abc_test_write(dir, "parts.cfg", text));
    free(text);
    cfg6b = cfg3;
    r = abc_test_runf(MPIRUN "%s -threads 1 classifier train %s %s %s/parts.backup -seed 9 2>&1",
                      abc_test_darknet_path(), d2, cfg6b, b2);
    ck_assert_msg(r.status == 0, "%s", tail(r.out));
    ck_assert_msg(strstr(r.out, "resumed") != NULL, "%s", tail(r.out));
    abc_run_free(&r);
    char *f1 = abc_test_pathf(b1, "straight_final.weights"), *f2 = abc_test_pathf(b2, "parts_final.weights");
    long n1, n2;
    float *w1 = floats_of(f1, &n1), *w2 = floats_of(f2, &n2);
    ck_assert(n1 == n2);
    ck_assert_msg(!memcmp(w1, w2, (size_t)n1 * 4), "a 2-rank run resumed at 3 of 6 differs from one never stopped");
    free(w1), free(w2), free(f1), free(f2), free(b1), free(b2), free(d1), free(d2), free(cfg6), free(cfg3);
}
END_TEST

/* The pid of the rank-1 process among mpirun's children whose command line holds tag. */
static pid_t rank1_pid(const char *tag)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "(for p in $(pgrep -f '%s'); do tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | "
             "grep -qx OMPI_COMM_WORLD_RANK=1 && echo $p; done | head -1)", tag);
    abc_run_result r = abc_test_run(cmd);
    pid_t p = (pid_t)atoi(r.out ? r.out : "0");
    abc_run_free(&r);
    return p;
}

START_TEST(killed_rank_ends_the_run)
{
    const char *dir = abc_test_tmpdir();
    char *bk = abc_test_pathf(dir, "bk-kill"), *cfg;
    char *d = cls_setup(dir, "killme", bk, 100000, &cfg);
    char *log = abc_test_pathf(dir, "killme.log");
    char *cmd;
    ck_assert(asprintf(&cmd, MPIRUN "%s -threads 1 classifier train %s %s -checkpoint 5 > %s 2>&1",
                       abc_test_darknet_path(), d, cfg, log) > 0);
    pid_t run = fork();
    ck_assert(run >= 0);
    if (run == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    char *ckpt = abc_test_pathf(bk, "killme.backup");
    pid_t victim = 0;
    for (int t = 0; t < 600 && (access(ckpt, F_OK) || !victim); ++t) {
        usleep(100000);
        if (!victim) victim = rank1_pid("killme.cfg");
    }
    ck_assert_msg(!access(ckpt, F_OK) && victim > 0, "no checkpoint or no rank 1 within 60 s");
    usleep(300000);
    kill(victim, SIGKILL);
    int status = 0;
    for (int t = 0; t < 300 && waitpid(run, &status, WNOHANG) == 0; ++t) usleep(100000);
    if (waitpid(run, &status, WNOHANG) == 0) {
        system("pkill -9 -f killme.cfg");
        ck_abort_msg("mpirun did not end within 30 s of a rank's death");
    }
    char *out = abc_test_slurp(log);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0, "mpirun exited %d: %s", status, tail(out));
    ck_assert_msg(strstr(out, "signal 9") != NULL || strstr(out, "Killed") != NULL, "no word of the kill: %s", tail(out));
    /* the last checkpoint is whole: it trains on */
    abc_run_result r = abc_test_darknetf("weights inspect %s %s 2>&1", cfg, ckpt);
    ck_assert_msg(r.status == 0, "the checkpoint left by the run does not load: %s", tail(r.out));
    abc_run_free(&r);
    free(out), free(ckpt), free(cmd), free(log), free(d), free(cfg), free(bk);
}
END_TEST

static Suite *suite_dist(void)
{
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("mpi");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, two_ranks_equal_one_process_float);
    tcase_add_test(tc, two_ranks_equal_one_process_binary);
    tcase_add_test(tc, two_ranks_equal_one_process_detector);
    tcase_add_test(tc, darknet_under_mpirun_resumes_exactly);
    tcase_add_test(tc, killed_rank_ends_the_run);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_dist)
