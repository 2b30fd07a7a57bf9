/* classifier train/valid/predict through the real ./darknet on a tiny
 * Fashion-MNIST subset (200 + 200 images) and a tiny cfg: progress line,
 * checkpoints, resume, SIGINT, valid == predict, and clean errors. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "distill.h"
#include "image_load.h"
#include "test_util.h"

static char dir[4096];   /* the tiny data set and everything the tests write */
static char fm[4200];    /* dir/fm: output of ./darknet data fashion-mnist */

static const char tiny_net[] =
    "[net]\nbatch=32\nsubdivisions=1\nwidth=28\nheight=28\nchannels=%d\nmin_crop=28\nmax_crop=28\n"
    "learning_rate=0.05\nmomentum=0.9\ndecay=0.0005\npolicy=poly\npower=2\nmax_batches=%d\n%s\n"
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[connected]\noutput=%d\nactivation=linear\n\n[softmax]\n";

static char *write_cfg(const char *name, int channels, int max_batches, const char *extra, int outputs)
{
    char *text;
    ck_assert(asprintf(&text, tiny_net, channels, max_batches, extra, outputs) > 0);
    char *p = abc_test_write(dir, name, text);
    free(text);
    return p;
}

/* A .data file in dir: classes, lists, labels; backup in dir/backup. */
static char *write_data(const char *name, int classes, const char *train, const char *valid, const char *labels)
{
    char *text;
    ck_assert(asprintf(&text, "classes=%d\ntrain=%s\nvalid=%s\nlabels=%s\nbackup=%s/backup/\ntop=2\n", classes,
                       train, valid, labels, dir) > 0);
    char *p = abc_test_write(dir, name, text);
    free(text);
    return p;
}

static void setup_data(void)
{
    /* not abc_test_tmpdir(): that one is removed when a forked test exits */
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/abc-cls-XXXXXX", base && *base ? base : "/tmp");
    ck_assert(mkdtemp(dir) != NULL);
    snprintf(fm, sizeof fm, "%s/fm", dir);
    char args[9000];
    snprintf(args, sizeof args, "data fashion-mnist -out %s -limit 200", fm);
    abc_run_result r = abc_test_run_darknet(args);
    if (r.status != 0) fprintf(stderr, "%s\n", r.out);
    abc_run_free(&r);
    char tl[4400], vl[4400], lb[4400];
    snprintf(tl, sizeof tl, "%s/train.list", fm);
    snprintf(vl, sizeof vl, "%s/test.list", fm);
    snprintf(lb, sizeof lb, "%s/labels.txt", fm);
    free(write_data("tiny.data", 10, tl, vl, lb));
    /* 30 test images: valid and predict over the same ones */
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "head -n 30 %s/test.list > %s/test30.list", fm, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(vl, sizeof vl, "%s/test30.list", dir);
    free(write_data("tiny30.data", 10, tl, vl, lb));
    free(write_cfg("tiny.cfg", 3, 20, "", 10));
    abc_run_result t = abc_test_run_darknet(
        (snprintf(args, sizeof args, "classifier train %s/tiny.data %s/tiny.cfg -seed 1", dir, dir), args));
    if (t.status != 0) fprintf(stderr, "training the tiny cfg failed:\n%s\n", t.out);
    abc_run_free(&t);
}

static void remove_data(void)
{
    if (!dir[0] || getenv("ABC_KEEP_TMP")) return;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static char *path_in(const char *name)
{
    char *p;
    ck_assert(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static abc_run_result run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static abc_run_result run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *args;
    ck_assert(vasprintf(&args, fmt, ap) > 0);
    va_end(ap);
    abc_run_result r = abc_test_run_darknet(args);
    free(args);
    return r;
}

typedef struct {
    float epoch, loss, avg, rate, ips;
    int iter, total;
} progress;

/* Parses the progress lines of out; returns how many, the first and last. */
static int parse_progress(const char *out, progress *first, progress *last)
{
    int n = 0;
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, "epoch ", 6)) continue;
        progress p;
        char eta[32];
        int got = sscanf(l, "epoch %f iter %d/%d loss %f avg %f rate %f %f img/s ETA %31s", &p.epoch, &p.iter,
                         &p.total, &p.loss, &p.avg, &p.rate, &p.ips, eta);
        ck_assert_msg(got == 8, "progress line does not parse: %.120s", l);
        ck_assert(isfinite(p.loss) && p.loss >= 0 && p.ips > 0 && p.epoch >= 0 && p.iter <= p.total);
        if (!n) *first = p;
        *last = p;
        ++n;
    }
    return n;
}

START_TEST(train_progress_and_checkpoint)
{
    /* trained once in the fixture; the files must be there and load */
    char *ck = path_in("backup/tiny.backup"), *fin = path_in("backup/tiny_final.weights");
    ck_assert_msg(access(ck, R_OK) == 0, "no checkpoint %s", ck);
    ck_assert_msg(access(fin, R_OK) == 0, "no final weights %s", fin);
    abc_run_result r = run("classifier train %s/tiny.data %s/tiny.cfg %s -clear", dir, dir, ck);
    ck_assert_msg(r.status == 0, "%s", r.out);
    progress a, b;
    int n = parse_progress(r.out, &a, &b);
    ck_assert_msg(n >= 2, "expected progress lines:\n%s", r.out);
    ck_assert_int_eq(a.iter, 1); /* -clear: from the start */
    ck_assert_int_eq(b.iter, 20);
    ck_assert_int_eq(b.total, 20);
    ck_assert(b.rate >= 0 && a.rate > 0);
    char *saved;
    ck_assert(asprintf(&saved, "final weights saved to %s", fin) > 0);
    ck_assert_msg(strstr(r.out, saved), "the end of training does not name the weights file:\n%s", r.out);
    free(saved);
    abc_run_free(&r);
    r = run("classifier valid %s/tiny.data %s/tiny.cfg %s", dir, dir, ck);
    ck_assert_msg(r.status == 0, "checkpoint does not load:\n%s", r.out);
    abc_run_free(&r);
    free(ck);
    free(fin);
}
END_TEST

START_TEST(resume_continues_from_seen)
{
    char *cfg = write_cfg("tiny_more.cfg", 3, 26, "", 10);
    abc_run_result r = run("classifier train %s/tiny.data %s %s/backup/tiny.backup", dir, cfg, dir);
    ck_assert_msg(r.status == 0, "%s", r.out);
    progress a, b;
    ck_assert(parse_progress(r.out, &a, &b) >= 1);
    ck_assert_msg(a.iter == 21, "resume should start after iteration 20, first line at %d:\n%s", a.iter, r.out);
    ck_assert_int_eq(b.iter, 26);
    ck_assert_msg(fabsf(a.epoch - 21 * 32 / 200.f) < 0.02f, "epoch %f", a.epoch);
    abc_run_free(&r);
    /* already at max_batches: nothing to do, but the final weights are written */
    r = run("classifier train %s/tiny.data %s/tiny.cfg %s/backup/tiny_more_final.weights", dir, dir, dir);
    ck_assert_msg(r.status == 0 && strstr(r.out, "already trained"), "%s", r.out);
    ck_assert_msg(parse_progress(r.out, &a, &b) == 0, "%s", r.out);
    abc_run_free(&r);
    free(cfg);
}
END_TEST

static double parse_top1(const char *out)
{
    const char *t = strstr(out, "top-1: ");
    ck_assert_msg(t != NULL, "no top-1 in:\n%s", out);
    double v = -1;
    ck_assert(sscanf(t, "top-1: %lf%%", &v) == 1);
    ck_assert(v >= 0 && v <= 100);
    return v;
}

START_TEST(valid_matches_predict)
{
    abc_run_result r = run("classifier valid %s/tiny30.data %s/tiny.cfg %s/backup/tiny_final.weights", dir, dir, dir);
    ck_assert_msg(r.status == 0, "%s", r.out);
    double top1 = parse_top1(r.out);
    ck_assert_msg(strstr(r.out, "top-2: ") && strstr(r.out, "(30 images, "), "%s", r.out);
    abc_run_free(&r);

    char *cmd;
    ck_assert(asprintf(&cmd, "( %s classifier predict %s/tiny30.data %s/tiny.cfg %s/backup/tiny_final.weights "
                             "< %s/test30.list )", abc_test_darknet_path(), dir, dir, dir, dir) > 0);
    r = abc_test_run(cmd);
    free(cmd);
    ck_assert_msg(r.status == 0, "%s", r.out);
    int images = 0, hits = 0, lines = 0;
    char truth[64] = "";
    for (char *l = r.out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        char *pred = strstr(l, ": Predicted in ");
        char *nl = strchr(l, '\n');
        if (pred && (!nl || pred < nl)) {
            ck_assert_msg(lines == 0 || lines == 2, "expected 2 lines per image");
            char *us = memrchr(l, '_', (size_t)(pred - l));
            char *dot = memrchr(l, '.', (size_t)(pred - l));
            ck_assert(us && dot && dot > us);
            snprintf(truth, sizeof truth, "%.*s", (int)(dot - us - 1), us + 1);
            ++images;
            lines = 0;
            continue;
        }
        float pct;
        char name[64];
        if (sscanf(l, "%f%%: %63s", &pct, name) == 2) {
            ck_assert(pct >= 0 && pct <= 100.001f);
            const char *pc = strchr(l, '%');
            ck_assert_msg(pc && pc - l >= 5 && pc[-3] == '.' && pc[1] == ':' && pc[2] == ' ',
                          "not \"%%5.2f%%%%: %%s\": %.40s", l);
            if (lines++ == 0 && !strcmp(name, truth)) ++hits;
        }
    }
    ck_assert_int_eq(images, 30);
    ck_assert_int_eq(lines, 2);
    char want[32], got[32];
    snprintf(want, sizeof want, "%.2f", 100.0 * hits / images);
    snprintf(got, sizeof got, "%.2f", top1);
    ck_assert_msg(!strcmp(want, got), "valid top-1 %s%% but predict gets %d/30 = %s%%", got, hits, want);
    abc_run_free(&r);

    /* one image on the command line: 2 lines (top=2) */
    r = run("classifier predict %s/tiny30.data %s/tiny.cfg %s/backup/tiny_final.weights %s/test/00000_Ankleboot.png",
            dir, dir, dir, fm);
    ck_assert_msg(r.status == 0, "%s", r.out);
    int k = 0;
    for (char *l = r.out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        float pct;
        char name[64];
        if (sscanf(l, "%f%%: %63s", &pct, name) == 2) ++k;
    }
    ck_assert_int_eq(k, 2);
    abc_run_free(&r);
}
END_TEST

START_TEST(training_beats_chance)
{
    /* 120 iterations of 32 on 200 images: far above 10% on the 200 test images */
    char *cfg = write_cfg("tiny_long.cfg", 3, 120, "", 10);
    abc_run_result r = run("classifier train %s/tiny.data %s", dir, cfg);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    r = run("classifier valid %s/tiny.data %s %s/backup/tiny_long_final.weights", dir, cfg, dir);
    ck_assert_msg(r.status == 0, "%s", r.out);
    double top1 = parse_top1(r.out);
    ck_assert_msg(top1 > 40, "top-1 %.2f%% after training on the train subset", top1);
    abc_run_free(&r);
    free(cfg);
}
END_TEST

/* tiny.cfg with its second conv an ABC (3,3) layer: the same topology, so
 * tiny.cfg's float weights are its starting point. */
static char *write_abc_cfg(const char *name, int max_batches)
{
    char *f = write_cfg(name, 3, max_batches, "", 10), *text = abc_test_slurp(f);
    ck_assert(text != NULL);
    char *second = strstr(strstr(text, "[convolutional]") + 1, "[convolutional]");
    ck_assert(second != NULL);
    char *out;
    ck_assert(asprintf(&out, "%.*s[abc_convolutional]\nweight_bases=3\nactivation_bases=3%s", (int)(second - text),
                       text, second + strlen("[convolutional]")) > 0);
    free(abc_test_write(dir, name, out));
    free(out);
    free(text);
    return f;
}

/* "...: top-1 A% packed (as above), B% through the training path's float simulation: difference D points" */
static void parse_packed_vs_sim(const char *out, double *packed, double *sim, double *diff)
{
    const char *t = strstr(out, "quantized layers: top-1 ");
    ck_assert_msg(t != NULL, "no packed/simulation line in:\n%s", out);
    ck_assert_msg(sscanf(t, "quantized layers: top-1 %lf%% packed (as above), %lf%% through the training path's float "
                            "simulation: difference %lf points", packed, sim, diff) == 3, "%s", t);
}

START_TEST(abc_model_from_float_weights)
{
    /* the float tiny.cfg model (trained in the fixture) fine-tuned as an ABC model */
    char *cfg = write_abc_cfg("tiny_abc.cfg", 60);
    abc_run_result r = run("classifier train %s/tiny.data %s %s/backup/tiny_final.weights", dir, cfg, dir);
    ck_assert_msg(r.status == 0, "%s", r.out);
    ck_assert_msg(strstr(r.out, "a float model of this topology") && strstr(r.out, "iter 60/60"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "quantized layers:") && strstr(r.out, "ABC (M,N)=(3,3)"), "%s", r.out);
    abc_run_free(&r);
    r = run("classifier valid %s/tiny.data %s %s/backup/tiny_abc_final.weights", dir, cfg, dir);
    ck_assert_msg(r.status == 0, "%s", r.out);
    ck_assert_msg(strstr(r.out, "packed: 9 binary products in one GEMM per block, kernel "), "%s", r.out);
    double top1 = parse_top1(r.out), packed, sim, diff;
    parse_packed_vs_sim(r.out, &packed, &sim, &diff);
    ck_assert_msg(top1 > 40, "top-1 %.2f%% after fine-tuning", top1);
    ck_assert(fabs(packed - top1) < 1e-9 && fabs(packed - sim - diff) < 0.011);
    /* the two paths compute the same function: at most one of the 200 images may flip on float rounding */
    ck_assert_msg(fabs(diff) <= 0.5, "packed %.2f%% vs simulation %.2f%%", packed, sim);
    abc_run_free(&r);
    free(cfg);
}
END_TEST

/* A weight quantizer (MD-tanh-S, binary activations) fine-tuned from the float model: the progress line shows beta
 * and the share of binary weights; valid scores the soft model against the packed signs. */
START_TEST(quantizer_model_reports_soft_and_hard)
{
    char *f = write_cfg("tiny_md.cfg", 3, 60, "", 10), *text = abc_test_slurp(f);
    char *second = strstr(strstr(text, "[convolutional]") + 1, "[convolutional]");
    ck_assert(second != NULL);
    char *out;
    ck_assert(asprintf(&out, "%.*s[abc_convolutional]\nweight_bases=1\nactivation_bases=1\nscale=channel\n"
                             "weight_quantizer=md_tanh_s\nbeta_growth=1.5\nbeta_every=10%s",
                       (int)(second - text), text, second + strlen("[convolutional]")) > 0);
    free(abc_test_write(dir, "tiny_md.cfg", out));
    free(out), free(text);
    abc_run_result r = run("classifier train %s/tiny.data %s %s/backup/tiny_final.weights", dir, f, dir);
    ck_assert_msg(r.status == 0, "%s", r.out);
    const char *last = strstr(r.out, "iter 60/60");
    double beta, share;
    ck_assert_msg(last && sscanf(strstr(last, " beta "), " beta %lf binary %lf%%", &beta, &share) == 2, "%s", r.out);
    ck_assert_msg(beta > 7 && beta < 12 && share >= 0 && share <= 100, "beta %g, binary %g%%", beta, share);
    abc_run_free(&r);
    r = run("classifier valid %s/tiny.data %s %s/backup/tiny_md_final.weights", dir, f, dir);
    ck_assert_msg(r.status == 0, "%s", r.out);
    double top1 = parse_top1(r.out), soft, hard, gap, vbeta;
    const char *t = strstr(r.out, "weight quantizers: top-1 ");
    ck_assert_msg(t && sscanf(t, "weight quantizers: top-1 %lf%% with the soft weights training ran on (beta %lf), "
                                 "%lf%% with their signs (packed): gap %lf points", &soft, &vbeta, &hard, &gap) == 4,
                  "%s", r.out);
    ck_assert_msg(fabs(hard - top1) < 1e-9 && fabs(hard - soft - gap) < 0.011 && fabs(vbeta - beta) < 0.01 * beta,
                  "%s", t);
    abc_run_free(&r);
    free(f);
}
END_TEST

/* weights convert -valid: the converted model's accuracy before fine-tuning, packed and simulated; then the
 * packed deployment file gives classifier valid the same top-1 as the .weights it was packed from. */
START_TEST(convert_valid_then_packed_file_in_valid)
{
    abc_run_result r = run("weights convert %s/tiny.cfg %s/backup/tiny_final.weights -to abc33 -out %s/tiny_cv "
                           "-data %s/tiny.data -valid", dir, dir, dir, dir);
    ck_assert_msg(r.status == 0 && strstr(r.out, "before any fine-tuning"), "%s", r.out);
    double top1 = parse_top1(r.out), packed, sim, diff;
    parse_packed_vs_sim(r.out, &packed, &sim, &diff);
    ck_assert(top1 >= 0 && top1 <= 100 && fabs(packed - top1) < 1e-9);
    abc_run_free(&r);
    r = run("weights pack %s/tiny_cv.cfg %s/tiny_cv.weights -out %s/tiny_cv.abcw", dir, dir, dir);
    ck_assert_msg(r.status == 0 && strstr(r.out, "outputs identical"), "%s", r.out);
    abc_run_free(&r);
    r = run("classifier valid %s/tiny.data %s/tiny_cv.cfg %s/tiny_cv.weights", dir, dir, dir);
    double from_weights = parse_top1(r.out);
    abc_run_free(&r);
    r = run("classifier valid %s/tiny.data %s/tiny_cv.cfg %s/tiny_cv.abcw", dir, dir, dir);
    ck_assert_msg(r.status == 0 && strstr(r.out, "Loading packed weights"), "%s", r.out);
    ck_assert_msg(parse_top1(r.out) == from_weights && from_weights == top1, "top-1 %.2f%% packed file, %.2f%% "
                  ".weights, %.2f%% convert -valid", parse_top1(r.out), from_weights, top1);
    abc_run_free(&r);
}
END_TEST

/* Distillation: the mixed targets against a direct computation from the teacher's logits, then a short
 * training run with a teacher: its report line, a cross-entropy loss (libdarknet's softmax would print about
 * ten times ln 10 for soft targets), and a missing teacher as one line naming the key. */
START_TEST(distillation_mixes_the_teachers_soft_outputs)
{
    char extra[9000];
    snprintf(extra, sizeof extra, "teacher=%s/tiny.cfg\nteacher_weights=%s/backup/tiny_final.weights\ndistill=0.3\n"
             "distill_temperature=2\n", dir, dir);
    char *cfg = write_cfg("tiny_kd.cfg", 3, 30, extra, 10), tcfg[4200], tw[4200];
    snprintf(tcfg, sizeof tcfg, "%s/tiny.cfg", dir);
    snprintf(tw, sizeof tw, "%s/backup/tiny_final.weights", dir);
    network *student = load_network(cfg, NULL, 0), *teacher = load_network(tcfg, tw, 0);
    abc_distill *kd = abc_distill_open(cfg, student);
    ck_assert(kd != NULL);
    enum { ROWS = 40, K = 10 }; /* more rows than a batch (32): two teacher forwards */
    data d = abc_cls_buffer(ROWS, 28, 28, K);
    unsigned seed = 5;
    float y0[ROWS][K];
    for (int r = 0; r < ROWS; ++r) {
        for (int i = 0; i < d.X.cols; ++i) d.X.vals[r][i] = abc_test_urand(&seed, 0.f, 1.f);
        for (int j = 0; j < K; ++j) y0[r][j] = d.y.vals[r][j] = j == r % K;
    }
    abc_distill_targets(kd, &d);
    float *one = malloc(sizeof(float) * (size_t)teacher->batch * teacher->inputs);
    for (int r = 0; r < ROWS; ++r) {
        memset(one, 0, sizeof(float) * (size_t)teacher->batch * teacher->inputs);
        memcpy(one, d.X.vals[r], sizeof(float) * (size_t)d.X.cols);
        network_predict(teacher, one);
        const float *z = teacher->layers[teacher->n - 2].output;
        double sum = 0, top = z[0], total = 0;
        for (int j = 1; j < K; ++j) top = fmax(top, z[j]);
        for (int j = 0; j < K; ++j) sum += exp((z[j] - top) / 2);
        for (int j = 0; j < K; ++j) {
            double want = 0.7 * y0[r][j] + 0.3 * exp((z[j] - top) / 2) / sum;
            ck_assert_msg(fabs(d.y.vals[r][j] - want) < 1e-5, "row %d class %d: %g, want %g", r, j, d.y.vals[r][j],
                          want);
            total += d.y.vals[r][j];
        }
        ck_assert(fabs(total - 1) < 1e-5);
    }
    free(one);
    abc_cls_buffer_free(&d);
    abc_distill_close(kd);
    free_network(student), free_network(teacher);

    abc_run_result r = run("classifier train %s/tiny.data %s -seed 3", dir, cfg);
    const char *it = strstr(r.out, "iter 1/30 loss ");
    double loss = -1;
    ck_assert_msg(r.status == 0 && it && sscanf(it, "iter 1/30 loss %lf", &loss) == 1, "%s", r.out);
    ck_assert_msg(loss > 0 && loss < 4.61, "first loss %g: not a cross-entropy of 10 classes", loss);
    ck_assert_msg(strstr(r.out, "distillation from ") && strstr(r.out, "(distill=0.3, distill_temperature=2): the "
                                                                       "teacher's forwards took"), "%s", r.out);
    abc_run_free(&r);
    free(cfg);
    snprintf(extra, sizeof extra, "teacher=%s/no-such.cfg\nteacher_weights=%s/backup/tiny_final.weights\n", dir, dir);
    cfg = write_cfg("tiny_kd2.cfg", 3, 30, extra, 10);
    r = run("classifier train %s/tiny.data %s", dir, cfg);
    const char *e = strstr(r.out, "darknet: error:");
    ck_assert_msg(r.status != 0 && e && strstr(e, "teacher") && strstr(e, "no-such.cfg") &&
                      !strstr(e + 1, "darknet: error:"), "%s", r.out);
    abc_run_free(&r);
    free(cfg);
}
END_TEST

/* -to int8 with -data: the input bounds come from training images and are saved, so inference never
 * calibrates on whatever batch it sees first; without -data it does (and says so). */
START_TEST(convert_int8_calibrates_on_training_images)
{
    abc_run_result r = run("weights convert %s/tiny.cfg %s/backup/tiny_final.weights -to int8 -out %s/tiny_i8 "
                           "-data %s/tiny.data -calib 16", dir, dir, dir, dir);
    int layers = 0, images = 0, listed = 0;
    const char *t = strstr(r.out, "input bounds of "), *u = t ? strstr(t, " calibrated on ") : NULL;
    ck_assert_msg(r.status == 0 && u && sscanf(t, "input bounds of %d integer layer", &layers) == 1 &&
                      sscanf(u, " calibrated on %d of the %d", &images, &listed) == 2, "%s", r.out);
    ck_assert_msg(layers >= 1 && images == 16 && listed == 200, "%d layers, %d of %d images", layers, images, listed);
    abc_run_free(&r);
    r = run("classifier valid %s/tiny30.data %s/tiny_i8.cfg %s/tiny_i8.weights", dir, dir, dir);
    ck_assert_msg(r.status == 0 && !strstr(r.out, "no input bounds"), "%s", r.out);
    double calibrated = parse_top1(r.out);
    abc_run_free(&r);
    r = run("classifier valid %s/tiny30.data %s/tiny_i8.cfg %s/tiny_i8.weights", dir, dir, dir);
    ck_assert_msg(parse_top1(r.out) == calibrated, "%s", r.out);
    abc_run_free(&r);
    r = run("weights convert %s/tiny.cfg %s/backup/tiny_final.weights -to int8 -out %s/tiny_i8n", dir, dir, dir);
    ck_assert_msg(r.status == 0 && !strstr(r.out, "calibrated on"), "%s", r.out);
    abc_run_free(&r);
    r = run("classifier valid %s/tiny30.data %s/tiny_i8n.cfg %s/tiny_i8n.weights", dir, dir, dir);
    ck_assert_msg(r.status == 0 && strstr(r.out, "no input bounds in the weights; calibrated on the first batch"), "%s",
                  r.out);
    abc_run_free(&r);
}
END_TEST

START_TEST(data_file_from_cfg_dataset)
{
    /* "classifier valid <cfg> <weights>": the data file is the cfg's dataset
     * (default fashion-mnist) = cfg/fashion-mnist.data under the working
     * directory; here a repository-like directory pointing at 30 images */
    char *root = path_in("repo");
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/cfg %s/data/fashion-mnist && cd %s/data/fashion-mnist && "
             "touch train.list test.list labels.txt && cp %s/tiny30.data %s/cfg/fashion-mnist.data",
             root, root, root, dir, root);
    ck_assert_int_eq(system(cmd), 0);
    /* the stamp names the directory it was made in (the lists hold absolute paths) */
    char *real = realpath(root, NULL);
    ck_assert(real != NULL);
    snprintf(cmd, sizeof cmd, "printf 'train=30 test=30 dir=%s/data/fashion-mnist\\n' > %s/data/fashion-mnist/.complete",
             real, root);
    free(real);
    ck_assert_int_eq(system(cmd), 0);
    char *exe = realpath(abc_test_darknet_path(), NULL);
    ck_assert(exe != NULL);
    snprintf(cmd, sizeof cmd, "cd %s && %s classifier valid %s/tiny.cfg %s/backup/tiny_final.weights", root, exe, dir, dir);
    abc_run_result r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0 && strstr(r.out, "(30 images, "), "%s", r.out);
    abc_run_free(&r);
    free(exe);
    free(root);
}
END_TEST

static int count_temp_files(const char *d)
{
    DIR *dp = opendir(d);
    if (!dp) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (strstr(e->d_name, ".tmp")) ++n;
    closedir(dp);
    return n;
}


#define start_darknet abc_test_start_darknet
#define wait_for_line(log, prefix, pid) abc_test_wait_for_line(log, prefix, pid, 30)

/* Sends sig to pid; returns its exit status (-1 if it did not exit). */
static int stop_with(pid_t pid, int sig)
{
    kill(pid, sig);
    int st;
    ck_assert(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void sigint_leaves_checkpoint(int sig)
{
    char *cfg = write_cfg(sig == SIGINT ? "tiny_int.cfg" : "tiny_term.cfg", 3, 1000000, "", 10);
    char *log = path_in(sig == SIGINT ? "int.log" : "term.log");
    char *data = path_in("tiny.data");
    /* a temp file of a run killed by SIGKILL during a save: removed at start */
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, NULL, 0);
    char stale[200];
    snprintf(stale, sizeof stale, "backup/%s.backup.tmp.%ld", sig == SIGINT ? "tiny_int" : "tiny_term", (long)dead);
    free(abc_test_write(dir, stale, "half"));
    const char *words[] = {"classifier", "train", data, cfg, NULL};
    pid_t pid = start_darknet(log, words);
    /* wait for the first progress line (some iterations done) */
    ck_assert_msg(wait_for_line(log, "epoch ", pid), "training did not start");
    usleep(300000);
    int status = stop_with(pid, sig);
    ck_assert_msg(status == 128 + sig, "status %d", status);
    char *bdir = path_in("backup");
    ck_assert_int_eq(count_temp_files(bdir), 0);
    abc_run_result r = run("classifier valid %s %s %s/backup/%s.backup", data, cfg, dir, sig == SIGINT ? "tiny_int" : "tiny_term");
    ck_assert_msg(r.status == 0, "checkpoint after the signal does not load:\n%s", r.out);
    abc_run_free(&r);
    char *buf = abc_test_slurp(log);
    ck_assert_msg(strstr(buf, "checkpoint saved"), "%s", buf);
    free(buf);
    free(bdir);
    free(cfg);
    free(log);
    free(data);
}

/* "valid: 256/60000 images, top-1 so far 39.06%, 2892 img/s, ETA 21s" */
static void check_valid_progress(const char *out, int total)
{
    int lines = 0;
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, "valid: ", 7)) continue;
        int done, n;
        double top1, ips;
        char eta[32];
        ck_assert_msg(sscanf(l, "valid: %d/%d images, top-1 so far %lf%%, %lf img/s, ETA %31s", &done, &n, &top1, &ips,
                             eta) == 5, "progress line does not parse: %.120s", l);
        ck_assert(n == total && done > 0 && done < n && top1 >= 0 && top1 <= 100 && ips > 0);
        ck_assert_msg(isdigit((unsigned char)eta[0]) || eta[0] == '?', "ETA '%s'", eta);
        ++lines;
    }
    ck_assert_msg(lines >= 1, "no progress line in:\n%s", out);
}

/* A valid list of the 200 test images 300 times over (60,000 lines): long enough to interrupt. */
static char *write_big_data(void)
{
    char *big = path_in("big.list"), *data = path_in("big.data");
    if (access(data, R_OK) == 0) { free(big); return data; }
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "for i in $(seq 300); do cat %s/test.list; done > %s", fm, big);
    ck_assert_int_eq(system(cmd), 0);
    char tl[4400], lb[4400];
    snprintf(tl, sizeof tl, "%s/train.list", fm);
    snprintf(lb, sizeof lb, "%s/labels.txt", fm);
    free(data);
    data = write_data("big.data", 10, tl, big, lb);
    free(big);
    return data;
}

static void valid_stops_on(int sig)
{
    char *data = write_big_data(), *cfg = path_in("tiny.cfg"), *w = path_in("backup/tiny_final.weights");
    char *log = path_in(sig == SIGINT ? "valid_int.log" : "valid_term.log");
    const char *words[] = {"classifier", "valid", data, cfg, w, NULL};
    pid_t pid = start_darknet(log, words);
    ck_assert_msg(wait_for_line(log, "valid: ", pid), "valid printed no progress");
    int status = stop_with(pid, sig);
    char *out = abc_test_slurp(log);
    ck_assert_msg(status == 128 + sig, "status %d:\n%s", status, out);
    check_valid_progress(out, 60000);
    const char *at = strstr(out, "interrupted by ");
    ck_assert_msg(at != NULL, "no partial result:\n%s", out);
    char name[16];
    int done, total, images;
    double top1, top2;
    ck_assert_msg(sscanf(at, "interrupted by %15s after %d of %d images, partial result: top-1: %lf%%  top-2: %lf%%  "
                             "(%d images, ", name, &done, &total, &top1, &top2, &images) == 6, "%s", at);
    ck_assert_str_eq(name, sig == SIGINT ? "SIGINT" : "SIGTERM");
    ck_assert_msg(done > 0 && done < total && total == 60000 && images == done, "%s", at);
    ck_assert(top1 >= 0 && top1 <= top2 && top2 <= 100);
    ck_assert_msg(!strstr(out, "darknet: error"), "%s", out);
    free(out);
    free(log);
    free(w);
    free(cfg);
    free(data);
}

START_TEST(valid_sigint_prints_partial_result) { valid_stops_on(SIGINT); }
END_TEST

START_TEST(valid_sigterm_prints_partial_result) { valid_stops_on(SIGTERM); }
END_TEST

START_TEST(valid_limit_takes_the_first_images)
{
    /* the first 30 of the 200-image list are the images of tiny30.data: the same result */
    abc_run_result all30 = run("classifier valid %s/tiny30.data %s/tiny.cfg %s/backup/tiny_final.weights", dir, dir, dir);
    abc_run_result lim = run("classifier valid %s/tiny.data %s/tiny.cfg %s/backup/tiny_final.weights -limit 30", dir,
                             dir, dir);
    ck_assert_msg(all30.status == 0 && lim.status == 0, "%s\n%s", all30.out, lim.out);
    ck_assert_msg(strstr(lim.out, "(30 images, ") && strstr(lim.out, "-limit 30: the first 30 of the 200 in the list"),
                  "%s", lim.out);
    const char *a = strstr(all30.out, "top-1: "), *b = strstr(lim.out, "top-1: ");
    ck_assert(a && b);
    ck_assert_msg(!strncmp(a, b, strcspn(a, "(")), "-limit 30: %.60s; the 30-image list: %.60s", b, a);
    abc_run_free(&all30);
    abc_run_free(&lim);
    /* a limit beyond the list: all of it */
    lim = run("classifier valid %s/tiny30.data %s/tiny.cfg %s/backup/tiny_final.weights -limit 1000 -t 3", dir, dir, dir);
    ck_assert_msg(lim.status == 0 && strstr(lim.out, "(30 images, ") && strstr(lim.out, "-limit 1000: all 30 in the list"),
                  "%s", lim.out);
    ck_assert_msg(strstr(lim.out, "top-3: "), "-t 3: %s", lim.out);
    abc_run_free(&lim);
    /* predict -t 3: three classes */
    lim = run("classifier predict %s/tiny30.data %s/tiny.cfg %s/backup/tiny_final.weights %s/test/00000_Ankleboot.png "
              "-t 3", dir, dir, dir, fm);
    ck_assert_msg(lim.status == 0, "%s", lim.out);
    int k = 0;
    for (char *l = lim.out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        float pct;
        char label[64];
        if (sscanf(l, "%f%%: %63s", &pct, label) == 2) ++k;
    }
    ck_assert_int_eq(k, 3);
    abc_run_free(&lim);
}
END_TEST

START_TEST(sigint_saves_checkpoint) { sigint_leaves_checkpoint(SIGINT); }
END_TEST

START_TEST(sigterm_saves_checkpoint) { sigint_leaves_checkpoint(SIGTERM); }
END_TEST

/* Each bad invocation: non-zero exit, no signal, one error line with these words. */
typedef struct {
    const char *name;
    const char *expect;
} bad_run;

static const bad_run bad_runs[] = {
    {"missing_data", "cannot open data file"},
    {"missing_cfg", "cannot open cfg file"},
    {"missing_weights", "cannot open weights file"},
    {"valid_no_weights", "missing weights"},
    {"empty_list", "is empty"},
    {"label_none", "contains none of the 10 labels"},
    {"label_two", "several labels"},
    {"image_missing", "cannot open"},
    {"channels_1", "channels=3"},
    {"classes_mismatch", "outputs but data file"},
    {"labels_count", "has 10 labels but"},
    {"unknown_dataset", "not a known data set"},
    {"dataset_bad_key", "dataset"},
    {"predict_not_image", "is not an image"},
    {"unknown_option", "unknown option"},
    {"no_max_batches", "max_batches"},
};
#define N_BAD (int)(sizeof bad_runs / sizeof bad_runs[0])

START_TEST(bad_args_fail_cleanly)
{
    const bad_run *c = &bad_runs[_i];
    char *tl, *vl, *lb, *args = NULL, *f = NULL;
    ck_assert(asprintf(&tl, "%s/train.list", fm) > 0 && asprintf(&vl, "%s/test.list", fm) > 0 &&
              asprintf(&lb, "%s/labels.txt", fm) > 0);
    char *png = NULL;
    ck_assert(asprintf(&png, "%s/train/00000_Ankleboot.png", fm) > 0);
    const char *n = c->name;
    char cp[9000];
    int rc = 0;
    if (!strcmp(n, "missing_data")) {
        rc = asprintf(&args, "classifier train %s/nope.data %s/tiny.cfg", dir, dir);
    } else if (!strcmp(n, "missing_cfg")) {
        rc = asprintf(&args, "classifier train %s/tiny.data %s/nope.cfg", dir, dir);
    } else if (!strcmp(n, "missing_weights")) {
        rc = asprintf(&args, "classifier valid %s/tiny.data %s/tiny.cfg %s/nope.weights", dir, dir, dir);
    } else if (!strcmp(n, "valid_no_weights")) {
        rc = asprintf(&args, "classifier valid %s/tiny.data %s/tiny.cfg", dir, dir);
    } else if (!strcmp(n, "empty_list")) {
        free(abc_test_write(dir, "empty.list", "\n\n"));
        f = write_data("empty.data", 10, (snprintf(cp, sizeof cp, "%s/empty.list", dir), cp), vl, lb);
        rc = asprintf(&args, "classifier train %s %s/tiny.cfg", f, dir);
    } else if (!strcmp(n, "label_none") || !strcmp(n, "label_two") || !strcmp(n, "image_missing")) {
        const char *img = !strcmp(n, "label_none") ? "nolabel.png" : !strcmp(n, "label_two") ? "Coat_Bag.png" : "Gone_Coat.png";
        snprintf(cp, sizeof cp, "cp %s %s/%s", png, dir, img);
        if (strcmp(n, "image_missing")) ck_assert_int_eq(system(cp), 0);
        snprintf(cp, sizeof cp, "%s\n%s/%s\n", png, dir, img);
        free(abc_test_write(dir, "bad.list", cp));
        f = write_data("bad.data", 10, tl, (snprintf(cp, sizeof cp, "%s/bad.list", dir), cp), lb);
        rc = asprintf(&args, "classifier valid %s %s/tiny.cfg %s/backup/tiny.backup", f, dir, dir);
    } else if (!strcmp(n, "channels_1")) {
        free(write_cfg("c1.cfg", 1, 10, "", 10));
        rc = asprintf(&args, "classifier train %s/tiny.data %s/c1.cfg", dir, dir);
    } else if (!strcmp(n, "classes_mismatch")) {
        free(write_cfg("out5.cfg", 3, 10, "", 5));
        rc = asprintf(&args, "classifier train %s/tiny.data %s/out5.cfg", dir, dir);
    } else if (!strcmp(n, "labels_count")) {
        f = write_data("nine.data", 9, tl, vl, lb);
        rc = asprintf(&args, "classifier train %s %s/tiny.cfg", f, dir);
    } else if (!strcmp(n, "unknown_dataset")) {
        /* the cfg's dataset is checked by the parser too: either message names it */
        free(write_cfg("mnist.cfg", 3, 10, "dataset=mnist", 10));
        rc = asprintf(&args, "classifier train %s/mnist.cfg", dir);
    } else if (!strcmp(n, "dataset_bad_key")) {
        free(write_cfg("mnist2.cfg", 3, 10, "dataset=mnist", 10));
        rc = asprintf(&args, "classifier train %s/tiny.data %s/mnist2.cfg", dir, dir);
    } else if (!strcmp(n, "predict_not_image")) {
        rc = asprintf(&args, "classifier predict %s/tiny.data %s/tiny.cfg %s/backup/tiny.backup %s/tiny.cfg", dir, dir,
                      dir, dir);
    } else if (!strcmp(n, "unknown_option")) {
        rc = asprintf(&args, "classifier train %s/tiny.data %s/tiny.cfg -clearr", dir, dir);
    } else if (!strcmp(n, "no_max_batches")) {
        free(write_cfg("nomax.cfg", 3, 0, "", 10));
        rc = asprintf(&args, "classifier train %s/tiny.data %s/nomax.cfg", dir, dir);
    }
    ck_assert(rc > 0);
    abc_run_result r = abc_test_run_darknet(args);
    ck_assert_msg(r.status > 0 && r.signal == 0, "%s: status %d signal %d:\n%s", n, r.status, r.signal, r.out);
    int errs = 0;
    for (const char *p = r.out; (p = strstr(p, "darknet: error:")); ++p) ++errs;
    ck_assert_msg(errs == 1, "%s: expected one error line:\n%s", n, r.out);
    ck_assert_msg(strstr(strstr(r.out, "darknet: error:"), c->expect), "%s: expected '%s' in:\n%s", n, c->expect, r.out);
    ck_assert_msg(!strstr(r.out, "Too many or too few labels"), "%s", r.out);
    abc_run_free(&r);
    free(args);
    free(f);
    free(tl);
    free(vl);
    free(lb);
    free(png);
}
END_TEST


/* abc pareto on two rows (weights at their initial values, saved): both measured; the front rule on the
 * parameters (XNOR has fewer bytes: on the front; int8 only if its top-1 is higher); the plot written;
 * an unknown row is one error line. */
static double json_num(const char *js, const char *row, const char *key)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"row\": \"%s\"", row);
    const char *at = strstr(js, pat), *k;
    ck_assert_msg(at, "no row %s in %s", row, js);
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    k = strstr(at, pat);
    ck_assert_msg(k, "no %s in row %s", key, row);
    return atof(k + strlen(pat));
}

static int json_front_bytes(const char *js, const char *row)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"row\": \"%s\"", row);
    const char *f = strstr(strstr(js, pat), "\"front\": {\"bytes\": ");
    ck_assert(f != NULL);
    return !strncmp(f + strlen("\"front\": {\"bytes\": "), "true", 4);
}

START_TEST(pareto_measures_rows_and_marks_the_front)
{
    char *pw = path_in("pw");
    ck_assert(mkdir(pw, 0755) == 0 || access(pw, F_OK) == 0);
    const char *rows[] = {"xnor", "int8"};
    for (int i = 0; i < 2; ++i) {
        char cfg[256], w[4400];
        snprintf(cfg, sizeof cfg, "../cfg/fmnist-%s.cfg", rows[i]);
        snprintf(w, sizeof w, "%s/fmnist-%s_final.weights", pw, rows[i]);
        network *net = load_network(cfg, NULL, 0);
        save_weights(net, w);
        free_network(net);
    }
    char *png = path_in("pareto.png");
    abc_run_result r = run("abc pareto %s/tiny30.data -rows xnor,int8 -cfg ../cfg -weights %s -rounds 1 -json -out %s",
                           dir, pw, png);
    ck_assert_msg(r.status == 0, "%s", r.out);
    const char *js = strstr(r.out, "{\"machine\"");
    ck_assert_msg(js && abc_test_json_valid(js), "%s", r.out);
    double tx = json_num(js, "xnor", "top1"), ti = json_num(js, "int8", "top1");
    ck_assert(tx >= 0 && tx <= 100 && ti >= 0 && ti <= 100);
    ck_assert_msg(json_num(js, "xnor", "bytes") < json_num(js, "int8", "bytes") &&
                      json_num(js, "xnor", "bitops") < json_num(js, "int8", "bitops") && json_num(js, "int8", "ms") > 0,
                  "%s", js);
    ck_assert_msg(json_front_bytes(js, "xnor") && json_front_bytes(js, "int8") == (ti > tx), "%s", js);
    FILE *fp = fopen(png, "rb");
    unsigned char sig[8] = {0};
    ck_assert_msg(fp && fread(sig, 1, 8, fp) == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8), "no plot %s", png);
    fclose(fp);
    abc_run_free(&r);
    r = run("abc pareto %s/tiny30.data -rows xnor,nosuch -cfg ../cfg -weights %s", dir, pw);
    const char *expect[] = {"nosuch", "fmnist-nosuch.cfg"};
    abc_test_expect_one_error("pareto -rows nosuch", &r, NULL, expect, 2);
    abc_run_free(&r);
    free(png), free(pw);
}
END_TEST

static Suite *suite_classifier(void)
{
    Suite *s = suite_create("classifier");
    TCase *tc = tcase_create("train");
    tcase_add_unchecked_fixture(tc, setup_data, remove_data);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, train_progress_and_checkpoint);
    tcase_add_test(tc, resume_continues_from_seen);
    tcase_add_test(tc, valid_matches_predict);
    tcase_add_test(tc, training_beats_chance);
    tcase_add_test(tc, abc_model_from_float_weights);
    tcase_add_test(tc, quantizer_model_reports_soft_and_hard);
    tcase_add_test(tc, pareto_measures_rows_and_marks_the_front);
    tcase_add_test(tc, convert_valid_then_packed_file_in_valid);
    tcase_add_test(tc, convert_int8_calibrates_on_training_images);
    tcase_add_test(tc, distillation_mixes_the_teachers_soft_outputs);
    tcase_add_test(tc, data_file_from_cfg_dataset);
    tcase_add_test(tc, sigint_saves_checkpoint);
    tcase_add_test(tc, sigterm_saves_checkpoint);
    tcase_add_test(tc, valid_limit_takes_the_first_images);
    tcase_add_test(tc, valid_sigint_prints_partial_result);
    tcase_add_test(tc, valid_sigterm_prints_partial_result);
    tcase_add_loop_test(tc, bad_args_fail_cleanly, 0, N_BAD);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_classifier)
