/* The detector commands (src/detector*.c) as a user runs them, and the functions under them:
 *  - box decoding of abc_det_image against the YOLO formulas worked out by hand (letterbox undone);
 *  - label files, the label-path rule (against libdarknet's own find_replace), lists, names, cfg checks:
 *    one `darknet: error:` line and exit 1 for each mistake;
 *  - a tiny float detector trained on a tiny generated set (fmnist-detect, 64x64): mAP well above chance,
 *    -map during training (mAP lines, chart, best weights), map/valid/test/calc_anchors outputs, Ctrl-C;
 *  - a small binary detector ([abc_convolutional], [hada_convolutional]): packed boxes == simulated boxes;
 *  - parity with the stock darknet: the same boxes as libdarknet's own pipeline in a hook-free program,
 *    and weights the stock trainer writes load here. */
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

#include "base/mode.h"
#include "base/util.h"
#include "detector.h"
#include "detector_common.h"
#include "test_util.h"

#define STOCK_DARKNET "/usr/bin/darknet"
#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---------------------------------------------------------------------------------------------------------
 * Box decoding, by hand.
 *
 * A 32x32x3 network: one 1x1 convolution (weights 0, so its outputs are its biases, the same in every cell)
 * and a [yolo] layer with one anchor (16, 8) and 2 classes. Per cell (col, row) of a g x g grid, YOLOv3 reads
 * the 7 outputs t = (tx, ty, tw, th, to, tc0, tc1) as
 *     x = (col + sigmoid(tx)) / g,   y = (row + sigmoid(ty)) / g          (fractions of the network input)
 *     w = exp(tw) * 16 / 32,         h = exp(th) * 8 / 32
 *     score(class c) = sigmoid(to) * sigmoid(tc_c)  (kept when above the threshold)
 * The image (W x H) went in letterboxed: scaled by s = min(32 / W, 32 / H) and centred, offsets
 * dx = (32 - s W) / 2, dy = (32 - s H) / 2 network pixels. In image pixels the box centre is
 * ((32 x - dx) / s, (32 y - dy) / s) and its size (32 w / s, 32 h / s).
 * ------------------------------------------------------------------------------------------------------- */

static const char decode_cfg_fmt[] = "[net]\nbatch=1\nwidth=32\nheight=32\nchannels=3\n\n"
                                     "[convolutional]\nfilters=7\nsize=1\nstride=%d\npad=0\nactivation=linear\n\n"
                                     "[yolo]\nmask=0\nanchors=16,8\nclasses=2\nnum=1\n";

static network *decode_net(int grid, const float t[7])
{
    char *text, name[64];
    ck_assert(asprintf(&text, decode_cfg_fmt, 32 / grid) > 0);
    snprintf(name, sizeof name, "decode%d.cfg", grid);
    char *path = abc_test_write(abc_test_tmpdir(), name, text);
    network *net = load_network(path, NULL, 0);
    free(text);
    free(path);
    ck_assert_int_eq(net->n, 2);
    layer *c = &net->layers[0];
    ck_assert_int_eq(c->out_w, grid);
    ck_assert_int_eq(c->out_h, grid);
    ck_assert_int_eq(c->n, 7);
    ck_assert_int_eq(net->layers[1].type, YOLO);
    memset(c->weights, 0, (size_t)c->nweights * sizeof *c->weights);
    memcpy(c->biases, t, 7 * sizeof *t);
    set_batch_network(net, 1);
    return net;
}

static image grey_image(int w, int h)
{
    image im = make_image(w, h, 3);
    for (int i = 0; i < w * h * 3; ++i) im.data[i] = 0.2f + 0.6f * (float)(i % 7) / 6.f;
    return im;
}

static double sigm(double x) { return 1 / (1 + exp(-x)); }

/* The box of cell (col, row) of a g x g grid in the pixels of a W x H image, by the formulas above. */
static abc_box hand_box(const float t[7], int g, int col, int row, int W, int H)
{
    const double net = 32, s = fmin(net / W, net / H), dx = (net - s * W) / 2, dy = (net - s * H) / 2;
    double cx = ((col + sigm(t[0])) / g * net - dx) / s, cy = ((row + sigm(t[1])) / g * net - dy) / s;
    double w = exp(t[2]) * 16 / s, h = exp(t[3]) * 8 / s;
    return (abc_box){(float)(cx - w / 2), (float)(cy - h / 2), (float)(cx + w / 2), (float)(cy + h / 2)};
}

static void expect_box(abc_box got, abc_box want, double tol, const char *what)
{
    ck_assert_msg(fabs(got.x0 - want.x0) <= tol && fabs(got.y0 - want.y0) <= tol && fabs(got.x1 - want.x1) <= tol &&
                      fabs(got.y1 - want.y1) <= tol,
                  "%s: box (%.4f %.4f %.4f %.4f), by hand (%.4f %.4f %.4f %.4f)", what, got.x0, got.y0, got.x1,
                  got.y1, want.x0, want.y0, want.x1, want.y1);
}

/* The detections of one W x H image through abc_det_image at threshold thresh (*n of them, malloc'd). */
static abc_det *detect(network *net, int W, int H, float thresh, int *n)
{
    image im = grey_image(W, H);
    abc_det_map_opts o = abc_det_map_default_opts();
    o.thresh = thresh;
    abc_det *v = NULL;
    int cap = 0;
    *n = 0;
    int k = abc_det_image(net, im, 7, &o, &v, n, &cap);
    ck_assert_int_eq(k, *n);
    for (int i = 0; i < *n; ++i) ck_assert_int_eq(v[i].image, 7);
    free_image(im);
    return v;
}

START_TEST(decode_one_cell_by_hand)
{
    /* objectness sigmoid(2) = 0.8808; classes sigmoid(1) = 0.7311, sigmoid(-1) = 0.2689:
     * scores 0.6439 and 0.2369 */
    const float t[7] = {0.4f, -0.3f, 0.2f, -0.1f, 2.0f, 1.0f, -1.0f};
    const double p0 = sigm(2) * sigm(1), p1 = sigm(2) * sigm(-1);
    network *net = decode_net(1, t);
    /* a wide image (64 x 32): s = 0.5, the image fills rows 8..23 of the network input (dy = 8);
     * a tall one (40 x 80): s = 0.4, columns 8..23 (dx = 8) */
    const int sizes[][2] = {{64, 32}, {40, 80}};
    for (int k = 0; k < 2; ++k) {
        int W = sizes[k][0], H = sizes[k][1], n;
        abc_box want = hand_box(t, 1, 0, 0, W, H);
        /* at 0.25 only class 0 is above the threshold */
        abc_det *d = detect(net, W, H, 0.25f, &n);
        ck_assert_msg(n == 1, "%dx%d: %d detections, expected 1", W, H, n);
        ck_assert_int_eq(d[0].cls, 0);
        ck_assert_msg(fabs(d[0].score - p0) <= 1e-5, "score %.7f, by hand %.7f", d[0].score, p0);
        expect_box(d[0].box, want, 1e-3, "class 0");
        free(d);
        /* at 0.2 both classes, the same box (NMS is per class) */
        d = detect(net, W, H, 0.2f, &n);
        ck_assert_msg(n == 2, "%dx%d: %d detections at 0.2, expected 2", W, H, n);
        ck_assert_int_eq(d[0].cls, 0);
        ck_assert_int_eq(d[1].cls, 1);
        ck_assert_msg(fabs(d[1].score - p1) <= 1e-5, "score %.7f, by hand %.7f", d[1].score, p1);
        expect_box(d[1].box, want, 1e-3, "class 1");
        free(d);
    }
    /* the letterbox matters: the wide image's box is not the network box scaled by 2 */
    abc_box wide = hand_box(t, 1, 0, 0, 64, 32);
    ck_assert(fabs((wide.y0 + wide.y1) / 2 - 2 * 32 * sigm(t[1])) > 5);
    /* appending: a second image goes after the first, with its own id */
    image im = grey_image(64, 32);
    abc_det_map_opts o = abc_det_map_default_opts();
    o.thresh = 0.25f;
    abc_det *v = NULL;
    int n = 0, cap = 0;
    ck_assert_int_eq(abc_det_image(net, im, 0, &o, &v, &n, &cap), 1);
    ck_assert_int_eq(abc_det_image(net, im, 1, &o, &v, &n, &cap), 1);
    ck_assert_int_eq(n, 2);
    ck_assert(v[0].image == 0 && v[1].image == 1);
    ck_assert(!memcmp(&v[0].box, &v[1].box, sizeof v[0].box) && v[0].score == v[1].score);
    free(v);
    free_image(im);
    free_network(net);
}
END_TEST

START_TEST(decode_grid_by_hand)
{
    /* 2x2 cells (stride 16): the same outputs in each cell, small boxes, four detections whose centres
     * differ by half the network (col / g) */
    const float t[7] = {-0.5f, 0.7f, -1.0f, -0.5f, 3.0f, -0.2f, -2.0f};
    const double p0 = sigm(3) * sigm(-0.2);
    network *net = decode_net(2, t);
    int n;
    abc_det *d = detect(net, 64, 32, 0.25f, &n);
    ck_assert_msg(n == 4, "%d detections, expected 4 (one per cell)", n);
    int seen[4] = {0};
    for (int i = 0; i < n; ++i) {
        ck_assert_int_eq(d[i].cls, 0);
        ck_assert_msg(fabs(d[i].score - p0) <= 1e-5, "score %.7f, by hand %.7f", d[i].score, p0);
        int found = 0;
        for (int cell = 0; cell < 4 && !found; ++cell) {
            abc_box want = hand_box(t, 2, cell % 2, cell / 2, 64, 32);
            if (fabs(d[i].box.x0 - want.x0) <= 1e-3 && fabs(d[i].box.y0 - want.y0) <= 1e-3 &&
                fabs(d[i].box.x1 - want.x1) <= 1e-3 && fabs(d[i].box.y1 - want.y1) <= 1e-3) {
                ck_assert_msg(!seen[cell], "two detections for cell %d", cell);
                seen[cell] = found = 1;
            }
        }
        ck_assert_msg(found, "detection %d (%.3f %.3f %.3f %.3f) is no cell's box", i, d[i].box.x0, d[i].box.y0,
                      d[i].box.x1, d[i].box.y1);
    }
    free(d);
    free_network(net);
}
END_TEST

START_TEST(decode_below_threshold)
{
    int n;
    /* objectness sigmoid(-3) = 0.047 below 0.25: nothing, whatever the classes */
    const float low_obj[7] = {0, 0, 0, 0, -3.0f, 5.0f, 5.0f};
    network *net = decode_net(1, low_obj);
    abc_det *d = detect(net, 64, 32, 0.25f, &n);
    ck_assert_int_eq(n, 0);
    free(d);
    /* ...but at 0.04 it is there: score 0.047 * 0.993 */
    d = detect(net, 64, 32, 0.04f, &n);
    ck_assert_int_eq(n, 2);
    ck_assert(fabs(d[0].score - sigm(-3) * sigm(5)) <= 1e-5);
    free(d);
    free_network(net);
    /* objectness 0.5 above the threshold but 0.5 * sigmoid(-3) = 0.024 below it for each class */
    const float low_cls[7] = {0, 0, 0, 0, 0.0f, -3.0f, -3.0f};
    net = decode_net(1, low_cls);
    d = detect(net, 64, 32, 0.25f, &n);
    ck_assert_int_eq(n, 0);
    free(d);
    free_network(net);
}
END_TEST

START_TEST(decode_nonfinite_outputs)
{
    /* a diverged network: exp(tw) overflows (tw huge or inf), the width underflows to 0 (tw = -1e30), or the
     * outputs are NaN: no detection, no crash (the box would be infinite, empty or NaN) */
    const float cases[][7] = {
        {0, 0, 1e30f, 0, 2, 2, 2},     {0, 0, INFINITY, 0, 2, 2, 2}, {0, 0, 0, 100.f, 2, 2, 2},
        {0, 0, -1e30f, 0, 2, 2, 2},    {0, 0, 0, -INFINITY, 2, 2, 2}, {NAN, 0, 0, 0, 2, 2, 2},
        {0, 0, NAN, 0, 2, 2, 2},       {0, 0, 0, 0, NAN, 2, 2},       {0, 0, 0, 0, 2, NAN, NAN},
    };
    for (int k = 0; k < N_OF(cases); ++k) {
        network *net = decode_net(1, cases[k]);
        int n;
        abc_det *d = detect(net, 64, 32, 0.005f, &n);
        ck_assert_msg(n == 0, "case %d: %d detections (first: score %g box %g %g %g %g)", k, n, n ? d[0].score : 0,
                      n ? d[0].box.x0 : 0, n ? d[0].box.y0 : 0, n ? d[0].box.x1 : 0, n ? d[0].box.y1 : 0);
        free(d);
        free_network(net);
    }
}
END_TEST

/* ---------------------------------------------------------------------------------------------------------
 * The label-path rule and label files, in-process.
 * ------------------------------------------------------------------------------------------------------- */

START_TEST(label_path_rule)
{
    static const char *const cases[][2] = {
        {"/d/images/a.jpg", "/d/labels/a.txt"},
        {"/d/JPEGImages/a.png", "/d/labels/a.txt"},
        {"/d/raw/a.JPEG", "/d/labels/a.txt"},
        {"/d/x/a.JPG", "/d/x/a.txt"},
        {"rel/a.png", "rel/a.txt"},
        /* the first occurrence only */
        {"/images/b/images/a.jpg", "/labels/b/images/a.txt"},
        {"/d/a.jpg.jpg", "/d/a.txt.jpg"},
        /* every rule once, in libdarknet's order: images, then raw (in "raw_labels", made by the first) */
        {"/raw_images/a.png", "/labels_labels/a.txt"},
        /* no known extension: unchanged */
        {"/d/a.jpeg", "/d/a.jpeg"},
        {"/d/a.bmp", "/d/a.bmp"},
    };
    for (int i = 0; i < N_OF(cases); ++i) {
        char got[4096], ref[4096], tmp[4096];
        abc_det_label_path(cases[i][0], got, sizeof got);
        ck_assert_msg(!strcmp(got, cases[i][1]), "'%s' -> '%s', expected '%s'", cases[i][0], got, cases[i][1]);
        /* libdarknet's own replacements (fill_truth_detection's chain of find_replace) */
        static char *const rules[][2] = {{"images", "labels"}, {"JPEGImages", "labels"}, {"raw", "labels"},
                                         {".jpg", ".txt"},     {".png", ".txt"},         {".JPG", ".txt"},
                                         {".JPEG", ".txt"}};
        snprintf(ref, sizeof ref, "%s", cases[i][0]);
        for (int r = 0; r < N_OF(rules); ++r) {
            find_replace(ref, rules[r][0], rules[r][1], tmp);
            memcpy(ref, tmp, sizeof ref);
        }
        ck_assert_msg(!strcmp(got, ref), "'%s' -> '%s', libdarknet's find_replace gives '%s'", cases[i][0], got, ref);
    }
    /* a short buffer: truncated, terminated */
    char small[8];
    abc_det_label_path("/d/images/a.jpg", small, sizeof small);
    ck_assert_str_eq(small, "/d/labe");
}
END_TEST

typedef struct {
    const char *name, *label; /* the label file */
    int line;                 /* the line the message names */
    const char *expect;
} bad_label;

static const bad_label bad_labels[] = {
    {"class_10", "0 0.5 0.5 0.2 0.2\n10 0.5 0.5 0.2 0.2\n", 2, "class 10 is not in 0..9"},
    {"class_neg", "-1 0.5 0.5 0.2 0.2\n", 1, "class -1 is not in 0..9"},
    {"class_float", "1.0 0.5 0.5 0.2\n", 1, "class '1.0' is not a whole number"},
    {"class_huge", "4294967297 0.5 0.5 0.2 0.2\n", 1, "class 4294967297 is not in 0..9"},
    {"nan", "0 nan 0.5 0.2 0.2\n", 1, "is not a centre in [0,1]"},
    {"inf", "0 0.5 0.5 inf 0.2\n", 1, "is not a centre in [0,1]"},
    {"four_fields", "0 0.5 0.5 0.2\n", 1, "expected 'class x_center y_center width height', got '0 0.5 0.5 0.2'"},
    {"six_fields", "\n0 0.5 0.5 0.2 0.2 0.7\n", 2, "expected 'class x_center"},
    {"w_zero", "0 0.5 0.5 0 0.2\n", 1, "size in (0,1]"},
    {"w_above_1", "0 0.5 0.5 1.5 0.2\n", 1, "size in (0,1]"},
    {"cx_above_1", "3 1.01 0.5 0.2 0.2\n", 1, "centre in [0,1]"},
    {"h_negative", "3 0.5 0.5 0.2 -0.2\n", 1, "size in (0,1]"},
    {"junk", "0 0.5 0.5 0.2 0.2\nhello world\n", 2, "got 'hello world'"},
};

/* abc_det_read_labels(path, classes) in a child with its stderr into a file: returns the exit status (0 when it
 * returned) and what it printed (*err, malloc'd). */
static int read_labels_in_child(const char *path, int classes, char **err)
{
    char *ef;
    ck_assert(asprintf(&ef, "%s.err", path) > 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(ef, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        abc_label *l;
        abc_det_read_labels(path, classes, &l);
        _exit(0);
    }
    int st;
    ck_assert(waitpid(pid, &st, 0) == pid);
    *err = abc_test_slurp(ef);
    free(ef);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void read_labels_rejects_one(int i)
{
    const bad_label *c = &bad_labels[i];
    char name[64];
    snprintf(name, sizeof name, "%s.txt", c->name);
    char *p = abc_test_write(abc_test_tmpdir(), name, c->label), *err, *want;
    int st = read_labels_in_child(p, 10, &err);
    ck_assert(asprintf(&want, "darknet: error: label file '%s' line %d: ", p, c->line) > 0);
    ck_assert_msg(st == 1, "%s: exit status %d, printed:\n%s", c->name, st, err);
    ck_assert_msg(abc_test_count_lines(err) == 1 && !strncmp(err, want, strlen(want)) && strstr(err, c->expect),
                  "%s: expected one line '%s...%s', got:\n%s", c->name, want, c->expect, err);
    free(want);
    free(err);
    free(p);
}

START_TEST(read_labels_rejects)
{
    for (int i = 0; i < N_OF(bad_labels); ++i) read_labels_rejects_one(i);
}
END_TEST

START_TEST(read_labels_accepts)
{
    /* blank lines (also with spaces), CRLF, the edges of the ranges, exponents */
    char *p = abc_test_write(abc_test_tmpdir(), "ok.txt",
                             "\n0 0.5 0.5 0.25 0.125\n   \n9 0 1 1 1\r\n\t\n3 1e-1 .9 1e-3 0.5   \n");
    abc_label *l = NULL;
    int n = abc_det_read_labels(p, 10, &l);
    ck_assert_int_eq(n, 3);
    ck_assert(l[0].cls == 0 && l[0].cx == 0.5f && l[0].cy == 0.5f && l[0].w == 0.25f && l[0].h == 0.125f);
    ck_assert(l[1].cls == 9 && l[1].cx == 0 && l[1].cy == 1 && l[1].w == 1 && l[1].h == 1);
    ck_assert(l[2].cls == 3 && fabsf(l[2].cx - 0.1f) < 1e-7f && fabsf(l[2].w - 1e-3f) < 1e-9f);
    free(l);
    free(p);
    /* an empty file: no boxes (an image without objects) */
    p = abc_test_write(abc_test_tmpdir(), "empty.txt", "\n\n");
    l = (abc_label *)1;
    ck_assert_int_eq(abc_det_read_labels(p, 10, &l), 0);
    ck_assert_ptr_null(l);
    free(p);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------------
 * The tiny data set, the tiny models and everything the command tests write: made once in the fixture, in a
 * directory of its own (abc_test_tmpdir() belongs to each forked test).
 * ------------------------------------------------------------------------------------------------------- */

static char root[4096];
static pid_t root_owner;
static int fixture_ok;
static double train_seconds;

/* The float detector: 64x64 input, 5 convolutions, one [yolo] layer (3 anchors from calc_anchors on the set)
 * at stride 8. Trained 300 iterations of 8 images (~5 s on 2 cores). */
static const char tiny_cfg_fmt[] =
    "[net]\nbatch=%d\nsubdivisions=1\nwidth=64\nheight=64\nchannels=3\nmomentum=0.9\ndecay=0.0005\n"
    "learning_rate=0.002\nburn_in=10\nmax_batches=%d\npolicy=constant\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[%s]\nbatch_normalize=1\nfilters=32\nsize=3\nstride=1\npad=1\nactivation=leaky\n%s\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[%s]\nbatch_normalize=1\nfilters=32\nsize=3\nstride=1\npad=1\nactivation=leaky\n%s\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=64\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[convolutional]\nfilters=%d\nsize=1\nstride=1\npad=1\nactivation=linear\n\n"
    "%s\n";
static const char yolo_fmt[] = "[yolo]\nmask=0,1,2\nanchors=12,29,  29,14,  24,30\nclasses=%d\nnum=3\njitter=.1\n"
                               "ignore_thresh=.7\ntruth_thresh=1\nrandom=0\n%s";
#define TRAIN_ITERS 300

#define path_in(...) abc_test_pathf(root, __VA_ARGS__)

/* A detector cfg in root: conv2 / conv3 of the given sections (with their extra keys), classes, max_batches,
 * extra [yolo] keys; last: replaces the whole [yolo] section when not NULL. */
static char *write_cfg_full(const char *name, int batch, int max_batches, const char *s2, const char *k2,
                            const char *s3, const char *k3, int classes, const char *yolo_extra, const char *last)
{
    char *yolo, *text;
    ck_assert(asprintf(&yolo, yolo_fmt, classes, yolo_extra) > 0);
    ck_assert(asprintf(&text, tiny_cfg_fmt, batch, max_batches, s2, k2, s3, k3, 3 * (5 + classes),
                       last ? last : yolo) > 0);
    char *p = abc_test_write(root, name, text);
    free(yolo);
    free(text);
    return p;
}

static char *write_cfg(const char *name, int max_batches)
{
    return write_cfg_full(name, 8, max_batches, "convolutional", "", "convolutional", "", 10, "", NULL);
}

/* A .data file in root; backup in root/backup. */
static char *write_data(const char *name, int classes, const char *train, const char *valid, const char *names)
{
    char *text;
    ck_assert(asprintf(&text, "classes=%d\ntrain=%s\nvalid=%s\nnames=%s\nbackup=%s/backup/\n", classes, train, valid,
                       names, root) > 0);
    char *p = abc_test_write(root, name, text);
    free(text);
    return p;
}

#define run abc_test_darknetf

/* Runs darknet with its stdout alone into *out (malloc'd); r.out gets its stderr. */
static abc_run_result run_split(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static abc_run_result run_split(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *args, *cmd, *file;
    ck_assert(vasprintf(&args, fmt, ap) > 0);
    va_end(ap);
    static int k;
    ck_assert(asprintf(&file, "%s/stdout.%d.%d", root, (int)getpid(), k++) > 0);
    ck_assert(asprintf(&cmd, "( %s %s > %s )", abc_test_darknet_path(), args, file) > 0);
    abc_run_result r = abc_test_run(cmd);
    *out = access(file, R_OK) == 0 ? abc_test_slurp(file) : strdup("");
    unlink(file);
    free(file);
    free(cmd);
    free(args);
    return r;
}

static void rm_root(void)
{
    if (!root[0] || getpid() != root_owner || getenv("ABC_KEEP_TMP")) return;
    char *cmd;
    if (asprintf(&cmd, "rm -rf '%s'", root) > 0) {
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
        free(cmd);
    }
    root[0] = 0;
}

static char *saved_asan; /* ASAN_OPTIONS before setup_set added the suppressions */

static void setup_set(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/abc-det-XXXXXX", base && *base ? base : "/tmp");
    ck_assert(mkdtemp(root) != NULL);
    root_owner = getpid();
    atexit(rm_root);
    /* libdarknet's detection loader copies each label path onto itself (fill_truth_detection: find_replace with
     * output == input, an sprintf the compiler made a strcpy): AddressSanitizer's interceptor reports the overlap
     * and aborts every `detector train` of a sanitizer build. Harmless in practice (the bytes are copied in
     * place); suppressed for the programs this suite runs. No effect on other builds. */
    char *supp = abc_test_write(root, "asan.supp", "interceptor_via_fun:fill_truth_detection\n"), *opts;
    const char *old = getenv("ASAN_OPTIONS");
    free(saved_asan);
    saved_asan = old ? strdup(old) : NULL;
    ck_assert(asprintf(&opts, "%s%ssuppressions=%s", old ? old : "", old && *old ? ":" : "", supp) > 0);
    setenv("ASAN_OPTIONS", opts, 1);
    free(opts);
    free(supp);
    /* 200 training and 50 valid canvases of 64x64, 1-8 items of 10 classes each */
    abc_run_result r = run("data fmnist-detect -out %s/set -n 200 -valid 50 -size 64 -seed 1 -video_frames 0", root);
    ck_assert_msg(r.status == 0, "data fmnist-detect failed:\n%s", r.out);
    abc_run_free(&r);
    char *tl = path_in("set/train.list"), *vl = path_in("set/valid.list"), *nm = path_in("set/fmnist-detect.names");
    free(write_data("det.data", 10, tl, vl, nm));
    free(tl);
    free(vl);
    free(nm);
    /* the float model, trained with -map: its log is read by the tests; seeded, so that its thresholds are met
     * on every run alike (on a machine and thread count) */
    free(write_cfg("tiny.cfg", TRAIN_ITERS));
    char *cmd;
    ck_assert(asprintf(&cmd, "%s detector train %s/det.data %s/tiny.cfg -map -seed 1 > %s/train.log 2>&1",
                       abc_test_darknet_path(), root, root, root) > 0);
    double t0 = abc_now();
    int st = system(cmd);
    train_seconds = abc_now() - t0;
    free(cmd);
    fixture_ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    fprintf(stderr, "detector: the tiny float model trained in %.1f s (status %d)\n", train_seconds, st);
}

/* The suppressions file goes with root: the suites after this one must not be pointed at it. */
static void teardown_set(void)
{
    if (saved_asan) setenv("ASAN_OPTIONS", saved_asan, 1);
    else unsetenv("ASAN_OPTIONS");
    free(saved_asan);
    saved_asan = NULL;
    rm_root();
}

static void need_fixture(void)
{
    if (fixture_ok) return;
    char *log = path_in("train.log");
    char *text = access(log, R_OK) == 0 ? abc_test_slurp(log) : strdup("(no log)");
    ck_abort_msg("training the tiny detector in the fixture failed:\n%s", text);
}

static int count_errors(const char *out)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, "darknet: error:")); ++p) ++n;
    return n;
}

/* A line of out starting with prefix, or NULL. */
static const char *line_starting(const char *out, const char *prefix)
{
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, prefix, strlen(prefix))) return l;
    return NULL;
}

/* "map": X of `detector map -json` */
static double json_number(const char *json, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\": ", key);
    const char *at = strstr(json, k);
    ck_assert_msg(at != NULL, "no %s in:\n%s", k, json);
    return strtod(at + strlen(k), NULL);
}

static int is_png(const char *path, int *w, int *h)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    unsigned char b[24];
    size_t got = fread(b, 1, sizeof b, fp);
    fclose(fp);
    if (got < 24 || memcmp(b, "\x89PNG\r\n\x1a\n", 8) || memcmp(b + 12, "IHDR", 4)) return 0;
    if (w) *w = b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
    if (h) *h = b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
    return 1;
}


/* ---------------------------------------------------------------------------------------------------------
 * Training with -map, then the mAP.
 * ------------------------------------------------------------------------------------------------------- */

/* The mAP@0.5 lines of a training log: fills it[] and map[] (percent); returns how many. */
static int parse_map_lines(const char *log, int *it, double *map, int max)
{
    int n = 0;
    for (const char *l = log; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, "mAP@0.5 at iteration ", 21)) continue;
        int i, valid;
        double m, coco;
        ck_assert_msg(sscanf(l, "mAP@0.5 at iteration %d: %lf%% (mAP@[.5:.95] %lf%%; %d valid images)", &i, &m, &coco,
                             &valid) == 4, "mAP line does not parse: %.120s", l);
        ck_assert(valid == 50 && m >= 0 && m <= 100 && coco >= 0 && coco <= m + 1e-9);
        if (n < max) {
            it[n] = i;
            map[n] = m;
        }
        ++n;
    }
    return n;
}

START_TEST(train_with_map_then_map_above_chance)
{
    need_fixture();
    char *logp = path_in("train.log");
    char *log = abc_test_slurp(logp);
    /* -map: every max(4 epochs, 100) iterations = 100 here, and at the end */
    int it[8];
    double m[8];
    int n = parse_map_lines(log, it, m, 8);
    ck_assert_msg(n == 3 && it[0] == 100 && it[1] == 200 && it[2] == TRAIN_ITERS, "expected mAP at 100, 200, 300:\n%s",
                  log);
    double best = fmax(m[0], fmax(m[1], m[2]));
    const char *b = line_starting(log, "best mAP@0.5 ");
    ck_assert_msg(b != NULL, "no 'best mAP' line:\n%s", log);
    double bp;
    char bpath[4400];
    ck_assert(sscanf(b, "best mAP@0.5 %lf%%: %4399s", &bp, bpath) == 2);
    ck_assert_msg(fabs(bp - best) < 1e-9, "best %.2f, lines %.2f %.2f %.2f", bp, m[0], m[1], m[2]);
    char *best_w = path_in("backup/tiny_best.weights"), *chart = path_in("backup/tiny_chart.png");
    ck_assert_str_eq(bpath, best_w);
    int w, h;
    ck_assert_msg(is_png(chart, &w, &h) && w == 1000 && h == 600, "no 1000x600 chart %s", chart);
    ck_assert_msg(access(best_w, R_OK) == 0, "no %s", best_w);
    char *fin = path_in("backup/tiny_final.weights");
    ck_assert_msg(access(fin, R_OK) == 0, "no %s", fin);

    /* the final weights: the map command's mAP is the one of the last line; and well above chance (an
     * untrained network scores 0.00%, the network at iteration 100 at most a few percent) */
    char *js;
    abc_run_result r = run_split(&js, "detector map %s/det.data %s/tiny.cfg %s -json", root, root, fin);
    ck_assert_msg(r.status == 0 && abc_test_json_valid(js), "%s\n%s", r.out, js);
    double map = json_number(js, "map");
    fprintf(stderr, "detector: mAP@0.5 over training %.2f%% %.2f%% %.2f%%, final %.2f%% (trained in %.1f s)\n", m[0],
            m[1], m[2], 100 * map, train_seconds);
    ck_assert_msg(fabs(100 * map - m[2]) < 0.006, "map says %.4f%%, training said %.2f%%", 100 * map, m[2]);
    ck_assert_msg(100 * map >= 3.0, "mAP@0.5 %.2f%% after %d iterations: not above chance", 100 * map, TRAIN_ITERS);
    ck_assert_msg(100 * map >= m[0] + 2.0, "mAP@0.5 %.2f%% after %d iterations, %.2f%% at 100: no rise", 100 * map,
                  TRAIN_ITERS, m[0]);
    abc_run_free(&r);
    free(js);
    /* the best weights hold the best mAP */
    r = run_split(&js, "detector map %s/det.data %s/tiny.cfg %s -json", root, root, best_w);
    ck_assert_msg(r.status == 0, "%s", r.out);
    ck_assert_msg(fabs(100 * json_number(js, "map") - best) < 0.006, "best weights: %.4f%%, best line %.2f%%",
                  100 * json_number(js, "map"), best);
    abc_run_free(&r);
    free(js);
    free(fin);
    free(best_w);
    free(chart);
    free(log);
    free(logp);
}
END_TEST

/* Label lines of the first n images of a list in root. */
static int count_gt(const char *list, int n)
{
    char *lp = path_in("%s", list);
    FILE *fp = fopen(lp, "r");
    ck_assert_ptr_nonnull(fp);
    char line[4096];
    int boxes = 0;
    for (int i = 0; i < n && fgets(line, sizeof line, fp); ++i) {
        line[strcspn(line, "\n")] = 0;
        char label[4096];
        abc_det_label_path(line, label, sizeof label);
        abc_label *l;
        boxes += abc_det_read_labels(label, 10, &l);
        free(l);
    }
    fclose(fp);
    free(lp);
    return boxes;
}

START_TEST(map_table_matches_json)
{
    need_fixture();
    abc_run_result t = run("detector map %s/det.data %s/tiny.cfg %s/backup/tiny_final.weights", root, root, root);
    char *js;
    abc_run_result j = run_split(&js, "detector map %s/det.data %s/tiny.cfg %s/backup/tiny_final.weights -json", root,
                                 root, root);
    ck_assert_msg(t.status == 0 && j.status == 0 && abc_test_json_valid(js), "%s\n%s\n%s", t.out, j.out, js);
    /* -json: nothing but the JSON on stdout, no progress on stderr */
    ck_assert_msg(!strstr(j.out, "map: "), "%s", j.out);
    const char *l = strstr(t.out, "mean average precision (mAP@0.50) = ");
    ck_assert_msg(l != NULL, "%s", t.out);
    double tm;
    ck_assert(sscanf(l, "mean average precision (mAP@0.50) = %lf", &tm) == 1);
    ck_assert_msg(fabs(tm - json_number(js, "map")) < 1e-6, "table %.6f json %.6f", tm, json_number(js, "map"));
    ck_assert_msg(strstr(t.out, "50 images, forward ") && strstr(t.out, "64 x 64, batch 1"), "%s", t.out);
    ck_assert_msg(!strstr(t.out, "quantized layers:"), "a float model has no packed/simulated line:\n%s", t.out);
    ck_assert_int_eq((int)json_number(js, "classes"), 10);
    ck_assert_int_eq((int)json_number(js, "gt"), count_gt("set/valid.list", 50));
    abc_run_free(&t);
    abc_run_free(&j);
    free(js);
    /* -limit 5: fewer ground-truth boxes, said so */
    t = run("detector map %s/det.data %s/tiny.cfg %s/backup/tiny_final.weights -limit 5", root, root, root);
    ck_assert_msg(t.status == 0 && strstr(t.out, "5 images (-limit), forward "), "%s", t.out);
    abc_run_free(&t);
}
END_TEST

START_TEST(valid_writes_results)
{
    need_fixture();
    abc_run_result r = run("detector valid %s/det.data %s/tiny.cfg %s/backup/tiny_final.weights -out %s/results", root,
                           root, root, root);
    ck_assert_msg(r.status == 0 && strstr(r.out, "50 images: results in "), "%s", r.out);
    abc_run_free(&r);
    char *coco = path_in("results/coco_results.json");
    char *text = abc_test_slurp(coco);
    ck_assert_msg(abc_test_json_valid(text), "not JSON: %.200s", text);
    ck_assert(strstr(text, "\"category_id\": "));
    free(text);
    /* one file per class name; lines "<image id> score x0 y0 x1 y1", 1-based pixels in the 64x64 image */
    char *t = path_in("results/comp4_det_test_Trouser.txt");
    text = abc_test_slurp(t);
    int lines = 0;
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        char id[64];
        float s, x0, y0, x1, y1;
        ck_assert_msg(sscanf(l, "%63s %f %f %f %f %f", id, &s, &x0, &y0, &x1, &y1) == 6, "%.80s", l);
        ck_assert_msg(s > 0.005f && s <= 1 && x0 >= 1 && y0 >= 1 && x1 <= 65 && y1 <= 65 && x0 <= x1 && y0 <= y1,
                      "%.80s", l);
        ++lines;
    }
    ck_assert_msg(lines > 0, "no Trouser detection at 0.005 in 50 images");
    free(text);
    free(t);
    free(coco);
}
END_TEST

START_TEST(calc_anchors_prints_anchors)
{
    need_fixture();
    abc_run_result r = run("detector calc_anchors %s/det.data -num_of_clusters 3 -width 64 -height 64", root);
    ck_assert_msg(r.status == 0, "%s", r.out);
    const char *a = strstr(r.out, "anchors = ");
    ck_assert_msg(a != NULL, "%s", r.out);
    int v[6];
    ck_assert_msg(sscanf(a, "anchors = %d,%d, %d,%d, %d,%d", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6, "%s", a);
    for (int i = 0; i < 6; ++i) ck_assert(v[i] >= 1 && v[i] <= 64);
    ck_assert_msg(strstr(r.out, "of 200 images at 64x64, 3 clusters"), "%s", r.out);
    abc_run_free(&r);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------------
 * detector test.
 * ------------------------------------------------------------------------------------------------------- */

typedef struct {
    char name[64];
    int pct;
    int ext;
    float x, y, w, h;
} printed_det;

/* The "name: NN%" lines (with -ext_output their boxes) of one image's output, from after its "Predicted in"
 * line to the next one. */
static int parse_printed(const char *out, printed_det *p, int max)
{
    int n = 0;
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *nl = strchr(l, '\n');
        const char *pred = strstr(l, ": Predicted in ");
        if (pred && (!nl || pred < nl)) {
            if (l != out) break;
            continue;
        }
        printed_det d = {0};
        char rest[256] = "";
        if (sscanf(l, "%63[^:\n]: %d%%%255[^\n]", d.name, &d.pct, rest) < 2 || strchr(d.name, ' ')) continue;
        d.ext = sscanf(rest, "\t(left_x: %f top_y: %f width: %f height: %f)", &d.x, &d.y, &d.w, &d.h) == 4;
        if (n < max) p[n] = d;
        ++n;
    }
    return n;
}

typedef struct {
    int cls;
    char name[64];
    double conf, x, y, w, h;
} json_det;

/* The objects of the idx-th image entry of a detector test -out file. */
static int parse_json_objects(const char *text, int idx, json_det *o, int max, char *picture, size_t pn)
{
    const char *e = text;
    for (int i = 0; i <= idx; ++i) {
        e = strstr(e, "{\"image\": ");
        ck_assert_msg(e != NULL, "no entry %d in:\n%s", idx, text);
        if (i < idx) ++e;
    }
    const char *pic = strstr(e, "\"picture\": \"");
    ck_assert(pic != NULL);
    pic += strlen("\"picture\": \"");
    snprintf(picture, pn, "%.*s", (int)strcspn(pic, "\""), pic);
    const char *objs = strstr(e, "\"objects\": [");
    ck_assert(objs != NULL);
    const char *end = strstr(objs, "]}");
    ck_assert(end != NULL);
    int n = 0;
    for (const char *q = objs; (q = strstr(q, "{\"class_id\": ")) && q < end; ++q) {
        json_det d;
        ck_assert_msg(sscanf(q, "{\"class_id\": %d, \"name\": \"%63[^\"]\", \"confidence\": %lf, \"left_x\": %lf, "
                                "\"top_y\": %lf, \"width\": %lf, \"height\": %lf}", &d.cls, d.name, &d.conf, &d.x,
                             &d.y, &d.w, &d.h) == 7, "object does not parse: %.160s", q);
        if (n < max) o[n] = d;
        ++n;
    }
    return n;
}

/* A threshold low enough that the tiny model (300 iterations) finds something in the image on any machine, and
 * room for what it then finds. */
#define T_STR "0.02"
#define T_VAL 0.02f
#define MAX_DETS 4096

START_TEST(test_prints_draws_and_writes_json)
{
    need_fixture();
    char *img = path_in("set/valid/000003.png");
    abc_run_result r = run("detector test %s/det.data %s/tiny.cfg %s/backup/tiny_final.weights %s -thresh " T_STR " "
                           "-ext_output -out %s/one.json -out_prefix %s/one", root, root, root, img, root, root);
    ck_assert_msg(r.status == 0, "%s", r.out);
    const char *pred = strstr(r.out, ": Predicted in ");
    ck_assert_msg(pred != NULL, "%s", r.out);
    const char *start = pred;
    while (start > r.out && start[-1] != '\n') --start;
    static printed_det p[MAX_DETS];
    int np = parse_printed(start, p, MAX_DETS);
    ck_assert_msg(np >= 1 && np < MAX_DETS, "expected detections above " T_STR ":\n%s", r.out);
    char *png = path_in("one.png");
    int w, h;
    ck_assert_msg(is_png(png, &w, &h) && w == 64 && h == 64, "no 64x64 picture %s", png);
    char *jpath = path_in("one.json"), *json = abc_test_slurp(jpath);
    ck_assert_msg(abc_test_json_valid(json), "not JSON:\n%s", json);
    static json_det o[MAX_DETS];
    char picture[4400];
    int no = parse_json_objects(json, 0, o, MAX_DETS, picture, sizeof picture);
    ck_assert_str_eq(picture, png);
    ck_assert_msg(strstr(json, "\"width\": 64, \"height\": 64"), "%s", json);
    ck_assert_int_eq(no, np);
    /* the same detections through abc_det_image in-process */
    char *cfg = path_in("tiny.cfg"), *wts = path_in("backup/tiny_final.weights");
    network *net = load_network(cfg, wts, 0);
    set_batch_network(net, 1);
    image im = load_image_color(img, 0, 0);
    abc_det_map_opts mo = abc_det_map_default_opts();
    mo.thresh = T_VAL;
    abc_det *d = NULL;
    int nd = 0, cap = 0;
    abc_det_image(net, im, 0, &mo, &d, &nd, &cap);
    ck_assert_int_eq(nd, no);
    static const char *const names[10] = {"Tshirt", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal", "Shirt",   "Sneaker",  "Bag",   "Ankleboot"};
    for (int i = 0; i < np; ++i) {
        /* printed == JSON, at the printed precision */
        ck_assert_msg(p[i].ext, "-ext_output: no box on line %d:\n%s", i, r.out);
        ck_assert_str_eq(p[i].name, o[i].name);
        ck_assert_str_eq(o[i].name, names[o[i].cls]);
        ck_assert(o[i].conf > T_VAL && o[i].conf <= 1);
        ck_assert_msg(fabs(p[i].pct - 100 * o[i].conf) <= 0.5 + 1e-4, "%d%% vs %.6f", p[i].pct, o[i].conf);
        ck_assert(fabs(p[i].x - o[i].x) <= 0.51 && fabs(p[i].y - o[i].y) <= 0.51 && fabs(p[i].w - o[i].w) <= 0.51 &&
                  fabs(p[i].h - o[i].h) <= 0.51);
        /* JSON == abc_det_image */
        ck_assert_int_eq(o[i].cls, d[i].cls);
        ck_assert_msg(fabs(o[i].conf - d[i].score) <= 1e-6, "%.6f vs %.7f", o[i].conf, d[i].score);
        ck_assert(fabs(o[i].x - d[i].box.x0) <= 0.006 && fabs(o[i].y - d[i].box.y0) <= 0.006 &&
                  fabs(o[i].w - (d[i].box.x1 - d[i].box.x0)) <= 0.006 &&
                  fabs(o[i].h - (d[i].box.y1 - d[i].box.y0)) <= 0.006);
        if (i) ck_assert_msg(o[i].conf <= o[i - 1].conf, "not by confidence");
    }
    free(d);
    free_image(im);
    free_network(net);
    abc_run_free(&r);
    /* without -ext_output: only "name: NN%" */
    r = run("detector test %s/det.data %s/tiny.cfg %s/backup/tiny_final.weights %s -thresh " T_STR " -out_prefix %s/two",
            root, root, root, img, root);
    ck_assert_msg(r.status == 0, "%s", r.out);
    start = strstr(r.out, ": Predicted in ");
    while (start > r.out && start[-1] != '\n') --start;
    ck_assert_int_eq(parse_printed(start, p, MAX_DETS), np);
    for (int i = 0; i < np; ++i) ck_assert(!p[i].ext);
    ck_assert(!strstr(r.out, "left_x"));
    abc_run_free(&r);
    free(json);
    free(jpath);
    free(png);
    free(cfg);
    free(wts);
    free(img);
}
END_TEST

START_TEST(test_from_stdin_numbers_pictures)
{
    need_fixture();
    /* three paths (one with trailing spaces, a blank line between) */
    char *list, *cmd;
    ck_assert(asprintf(&list, "%s/set/valid/000000.png  \n\n%s/set/valid/000001.png\n%s/set/valid/000002.png\n", root,
                       root, root) > 0);
    char *lp = abc_test_write(root, "stdin.list", list);
    ck_assert(asprintf(&cmd, "( %s detector test %s/det.data %s/tiny.cfg %s/backup/tiny_final.weights "
                             "-out %s/multi.json -out_prefix %s/multi < %s )",
                       abc_test_darknet_path(), root, root, root, root, root, lp) > 0);
    abc_run_result r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0, "%s", r.out);
    int preds = 0;
    for (const char *p = r.out; (p = strstr(p, ": Predicted in ")); ++p) ++preds;
    ck_assert_int_eq(preds, 3);
    char *jp = path_in("multi.json"), *json = abc_test_slurp(jp);
    ck_assert_msg(abc_test_json_valid(json), "not JSON:\n%s", json);
    for (int i = 0; i < 3; ++i) {
        char *png = path_in("multi_%d.png", i), picture[4400];
        ck_assert_msg(is_png(png, NULL, NULL), "no picture %s:\n%s", png, r.out);
        json_det o[256];
        parse_json_objects(json, i, o, 256, picture, sizeof picture);
        ck_assert_str_eq(picture, png);
        free(png);
    }
    char *plain = path_in("multi.png");
    ck_assert_msg(access(plain, F_OK) != 0, "from stdin every picture is numbered, but %s exists", plain);
    free(plain);
    abc_run_free(&r);
    free(json);
    free(jp);
    free(cmd);
    free(lp);
    free(list);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------------
 * Ctrl-C during training.
 * ------------------------------------------------------------------------------------------------------- */


#define start_darknet abc_test_start_darknet
#define wait_for_line(log, prefix, pid) abc_test_wait_for_line(log, prefix, pid, 60)

START_TEST(sigint_saves_checkpoint)
{
    need_fixture();
    char *cfg = write_cfg("tiny_int.cfg", 1000000), *data = path_in("det.data"), *log = path_in("int.log");
    const char *words[] = {"detector", "train", data, cfg, NULL};
    pid_t pid = start_darknet(log, words);
    ck_assert_msg(wait_for_line(log, "epoch ", pid), "training did not start: %s", abc_test_slurp(log));
    usleep(300000);
    kill(pid, SIGINT);
    int st;
    ck_assert(waitpid(pid, &st, 0) == pid);
    char *out = abc_test_slurp(log);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 130, "status %d:\n%s", st, out);
    ck_assert_msg(strstr(out, "stopped by SIGINT") && strstr(out, "checkpoint saved"), "%s", out);
    ck_assert_msg(count_errors(out) == 0, "%s", out);
    char *ck = path_in("backup/tiny_int.backup");
    ck_assert_msg(access(ck, R_OK) == 0, "no checkpoint %s:\n%s", ck, out);
    /* the chart is drawn on the way out too */
    char *chart = path_in("backup/tiny_int_chart.png");
    ck_assert_msg(is_png(chart, NULL, NULL), "no chart %s", chart);
    char *js;
    abc_run_result r = run_split(&js, "detector map %s %s %s -limit 2 -json", data, cfg, ck);
    ck_assert_msg(r.status == 0 && abc_test_json_valid(js), "the checkpoint does not load:\n%s", r.out);
    abc_run_free(&r);
    free(js);
    free(chart);
    free(ck);
    free(out);
    free(log);
    free(data);
    free(cfg);
}
END_TEST

/* A seeded detector training (an ABC layer, random=1 sizes, 2 threads) killed with -9 at a random moment and
 * resumed from its last checkpoint ends with the bytes of the uninterrupted run. */
START_TEST(killed_and_resumed_training_is_exact)
{
    need_fixture();
    const char *yolo = "[yolo]\nmask=0,1,2\nanchors=12,29,  29,14,  24,30\nclasses=10\nnum=3\njitter=.1\n"
                       "ignore_thresh=.7\ntruth_thresh=1\nrandom=1\n";
    char *cfg = write_cfg_full("exact.cfg", 8, 160, "abc_convolutional", "", "convolutional", "", 10, "", yolo);
    char *data = path_in("det.data"), *fin = path_in("backup/exact_final.weights"), *a = path_in("exact_a.weights");
    char *ck = path_in("backup/exact.backup"), *log = path_in("exact.log");
    abc_run_result r = run("detector train %s %s -seed 3 -threads 2", data, cfg);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    ck_assert(rename(fin, a) == 0);
    unlink(ck);
    const char *words[] = {"detector", "train", data, cfg, "-seed", "3", "-threads", "2", "-checkpoint", "3", NULL};
    abc_test_kill_after_checkpoint(log, words, ck);
    r = run("detector train %s %s %s -seed 3 -threads 2 -checkpoint 3", data, cfg, ck);
    ck_assert_msg(r.status == 0 && strstr(r.out, "resumed with the checkpoint's training state"), "%s", r.out);
    fprintf(stderr, "detector: resumed at %s", strstr(r.out, "Trained "));
    abc_run_free(&r);
    r = abc_test_runf("cmp %s %s", a, fin);
    ck_assert_msg(r.status == 0, "the resumed run ends with other weights: %s", r.out);
    abc_run_free(&r);
    free(cfg);
    free(data);
    free(fin);
    free(a);
    free(ck);
    free(log);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------------
 * A binary detector: the packed path and the training path's simulation give the same boxes.
 * ------------------------------------------------------------------------------------------------------- */

/* Every detection of a has one in b of its class with a score within stol and corners within btol, and the
 * other way round; the largest differences matched go to *ws and *wb. Where two overlapping boxes of a class
 * tie in score within stol, NMS keeps whichever sorts first, and a last-bit difference may sort them the other
 * way: a detection without its match is then accepted once if b has a box of its class scored within stol
 * that overlaps it past NMS's 0.45 (at most one in 20 of a's detections). */
static void same_dets(const abc_det *a, int na, const abc_det *b, int nb, double stol, double btol, const char *what,
                      double *ws, double *wb)
{
    char *used = calloc((size_t)nb + 1, 1);
    int swaps = 0;
    for (int i = 0; i < na; ++i) {
        int best = -1;
        double bs = 0, bb = 0;
        for (int j = 0; j < nb; ++j) {
            if (used[j] || a[i].cls != b[j].cls) continue;
            double ds = fabs(a[i].score - b[j].score);
            double db = fmax(fmax(fabs(a[i].box.x0 - b[j].box.x0), fabs(a[i].box.y0 - b[j].box.y0)),
                             fmax(fabs(a[i].box.x1 - b[j].box.x1), fabs(a[i].box.y1 - b[j].box.y1)));
            if (ds <= stol && db <= btol && (best < 0 || ds + db < bs + bb)) best = j, bs = ds, bb = db;
        }
        if (best < 0 && swaps < 1 + na / 20)
            for (int j = 0; j < nb && best < 0; ++j)
                if (!used[j] && a[i].cls == b[j].cls && fabs(a[i].score - b[j].score) <= stol &&
                    abc_box_iou(a[i].box, b[j].box) > 0.45f) {
                    fprintf(stderr, "%s: detection %d of %d: a tie in score broken the other way by NMS\n", what, i,
                            na);
                    ++swaps;
                    used[j] = 1;
                    best = -2;
                }
        if (best == -2) continue;
        ck_assert_msg(best >= 0, "%s: detection %d of %d (class %d, %.6f, %.3f %.3f %.3f %.3f) has no match among %d",
                      what, i, na, a[i].cls, a[i].score, a[i].box.x0, a[i].box.y0, a[i].box.x1, a[i].box.y1, nb);
        used[best] = 1;
        *ws = fmax(*ws, bs);
        *wb = fmax(*wb, bb);
    }
    for (int j = 0; j < nb; ++j)
        ck_assert_msg(used[j], "%s: the other side's detection %d of %d (class %d, %.6f, %.3f %.3f %.3f %.3f) has no "
                      "match among %d", what, j, nb, b[j].cls, b[j].score, b[j].box.x0, b[j].box.y0, b[j].box.x1,
                      b[j].box.y1, na);
    free(used);
}

/* The first n paths of a list file. */
static char **first_paths(const char *list, int n)
{
    FILE *fp = fopen(list, "r");
    ck_assert_ptr_nonnull(fp);
    char **p = calloc((size_t)n, sizeof *p), line[4096];
    for (int i = 0; i < n; ++i) {
        ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
        line[strcspn(line, "\n")] = 0;
        p[i] = strdup(line);
    }
    fclose(fp);
    return p;
}

static void free_paths(char **p, int n)
{
    for (int i = 0; i < n; ++i) free(p[i]);
    free(p);
}

#define BIN_ITERS 200

START_TEST(binary_packed_equals_simulated)
{
    need_fixture();
    /* conv2 ABC (3,3), conv3 HadaNet (segments 16 and 2), from scratch (a HadaNet layer cannot start from
     * float weights): 200 iterations of 4 images, so that the batch norm statistics are sane (darknet's rolling
     * averages move 1% an iteration) and the scores above the threshold */
    char *cfg = write_cfg_full("tiny_bin.cfg", 4, BIN_ITERS, "abc_convolutional",
                               "weight_bases=3\nactivation_bases=3\n", "hada_convolutional",
                               "weight_segment=16\nactivation_segment=2\n", 10, "", NULL);
    /* seeded, on 2 threads (a seeded run repeats at the same thread count): unseeded runs ended anywhere from 103
     * detections, none above 0.05, to 1,525 */
    abc_run_result r = run("detector train %s/det.data %s -seed 5 -threads 2", root, cfg);
    char iters[64];
    snprintf(iters, sizeof iters, "iter %d/%d", BIN_ITERS, BIN_ITERS);
    ck_assert_msg(r.status == 0 && strstr(r.out, iters), "%s", r.out);
    ck_assert_msg(strstr(r.out, "ABC (M,N)=(3,3)"), "%s", r.out);
    abc_run_free(&r);
    char *w = path_in("backup/tiny_bin_final.weights"), *vl = path_in("set/valid.list");
    network *net = load_network(cfg, w, 0);
    set_batch_network(net, 1);
    enum { N = 6 };
    char **paths = first_paths(vl, N);
    abc_det_map_opts o = abc_det_map_default_opts();
    o.thresh = 0.002f; /* many boxes */
    double ws = 0, wb = 0;
    int total = 0, confident = 0;
    for (int k = 0; k < N; ++k) {
        image im = load_image_color(paths[k], 0, 0);
        abc_det *a = NULL, *b = NULL;
        int na = 0, nb = 0, ca = 0, cb = 0;
        abc_mode_set(ABC_MODE_INFERENCE, "packed");
        abc_det_image(net, im, k, &o, &a, &na, &ca);
        abc_mode_set(ABC_MODE_INFERENCE, "sim");
        abc_det_image(net, im, k, &o, &b, &nb, &cb);
        abc_mode_set(ABC_MODE_INFERENCE, NULL);
        char what[64];
        snprintf(what, sizeof what, "image %d packed vs simulated", k);
        same_dets(a, na, b, nb, 1e-4, 1e-3, what, &ws, &wb);
        total += na;
        for (int i = 0; i < na; ++i) confident += a[i].score > 0.05f;
        free(a);
        free(b);
        free_image(im);
    }
    fprintf(stderr, "detector: binary model, %d detections on %d images (%d above 0.05): packed - simulated at most "
            "%.2g in score, %.2g px\n", total, N, confident, ws, wb);
    ck_assert_msg(total >= 20 && confident >= 1, "too few detections (%d, %d above 0.05) to compare", total,
                  confident);
    free_paths(paths, N);
    free_network(net);

    /* detector map: both mAPs, the packed one the table's */
    r = run("detector map %s/det.data %s %s", root, cfg, w);
    ck_assert_msg(r.status == 0, "%s", r.out);
    const char *l = strstr(r.out, "quantized layers: mAP@");
    ck_assert_msg(l != NULL, "no packed/simulated line:\n%s", r.out);
    double iou, packed, sim, diff, pc, sc;
    ck_assert_msg(sscanf(l, "quantized layers: mAP@%lf %lf%% packed (as above), %lf%% through the training path's float "
                            "simulation: difference %lf points (mAP@[.5:.95] %lf%% and %lf%%)",
                         &iou, &packed, &sim, &diff, &pc, &sc) == 6, "%s", l);
    const char *t = strstr(r.out, "mean average precision (mAP@0.50) = ");
    double tm;
    ck_assert(t && sscanf(t, "mean average precision (mAP@0.50) = %lf", &tm) == 1);
    ck_assert_msg(fabs(iou - 0.5) < 1e-9 && fabs(100 * tm - packed) < 0.006, "%s", l);
    ck_assert_msg(fabs(packed - sim) <= 0.05 && fabs(pc - sc) <= 0.05, "packed and simulated mAPs differ: %s", l);
    abc_run_free(&r);
    /* ABC_INFERENCE=sim: one mAP, no comparison */
    char *cmd;
    ck_assert(asprintf(&cmd, "ABC_INFERENCE=sim %s detector map %s/det.data %s %s", abc_test_darknet_path(), root, cfg,
                       w) > 0);
    r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0 && !strstr(r.out, "quantized layers: mAP@"), "%s", r.out);
    abc_run_free(&r);
    free(cmd);
    free(vl);
    free(w);
    free(cfg);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------------
 * Parity with the stock darknet.
 * ------------------------------------------------------------------------------------------------------- */

/* libdarknet's own detection pipeline without any hook (its parser, loader, layers and gemm), as darknet's
 * test_detector runs it: letterbox, network_predict, get_network_boxes, do_nms_sort; prints every (class,
 * prob, box in pixels) with prob above the threshold, 9 digits. */
static const char *hook_free_src =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include \"darknet.h\"\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    network *net = load_network(argv[1], argv[2], 0);\n"
    "    set_batch_network(net, 1);\n"
    "    float thresh = atof(argv[3]), nms = atof(argv[4]);\n"
    "    int classes = net->layers[net->n - 1].classes;\n"
    "    for (int i = 5; i < argc; ++i) {\n"
    "        image im = load_image_color(argv[i], 0, 0);\n"
    "        image sized = letterbox_image(im, net->w, net->h);\n"
    "        network_predict(net, sized.data);\n"
    "        int nb = 0;\n"
    "        detection *dets = get_network_boxes(net, im.w, im.h, thresh, .5, 0, 1, &nb);\n"
    "        do_nms_sort(dets, nb, classes, nms);\n"
    "        printf(\"image %d\\n\", i - 5);\n"
    "        for (int j = 0; j < nb; ++j)\n"
    "            for (int k = 0; k < classes; ++k)\n"
    "                if (dets[j].prob[k] > thresh) {\n"
    "                    box b = dets[j].bbox;\n"
    "                    printf(\"%d %.9g %.9g %.9g %.9g %.9g\\n\", k, dets[j].prob[k], (b.x - b.w / 2.) * im.w,\n"
    "                           (b.y - b.h / 2.) * im.h, (b.x + b.w / 2.) * im.w, (b.y + b.h / 2.) * im.h);\n"
    "                }\n"
    "        free_detections(dets, nb);\n"
    "        free_image(sized);\n"
    "        free_image(im);\n"
    "    }\n"
    "    free_network(net);\n"
    "    return 0;\n"
    "}\n";

/* Builds the hook-free program once per test; NULL (and a line) when there is no compiler. */
static char *build_hook_free(void)
{
    char *src = path_in("hook_free_det.c"), *exe = path_in("hook_free_det");
    free(abc_test_write(root, "hook_free_det.c", hook_free_src));
    const char *cc = getenv("CC");
    char *cmd;
    ck_assert(asprintf(&cmd, "%s -std=c11 -O2 -isystem /usr/lib/darknet/include %s -o %s -L/usr/lib/darknet "
                             "-Wl,-rpath,/usr/lib/darknet -ldarknet -lm", cc && *cc ? cc : "cc", src, exe) > 0);
    abc_run_result r = abc_test_run(cmd);
    free(cmd);
    free(src);
    if (r.status != 0) {
        fprintf(stderr, "detector: skipping the hook-free comparison: cannot build it:\n%s\n", r.out);
        abc_run_free(&r);
        free(exe);
        return NULL;
    }
    abc_run_free(&r);
    return exe;
}

/* The stock program's detections and ours (abc_det_image) of the first n valid images agree. One documented
 * difference: the stock pipeline keeps boxes that are infinite (exp of a huge tw) or empty (exp of a very negative
 * one), ours drops them (abc_det_image); they are left out of the stock side and counted. Returns how many. */
static int compare_with_stock(const char *exe, const char *cfg, const char *weights, int n, float thresh,
                              int min_total, const char *what)
{
    char *vl = path_in("set/valid.list");
    char **paths = first_paths(vl, n);
    size_t cap = 0;
    char *args = NULL;
    FILE *mem = open_memstream(&args, &cap);
    fprintf(mem, "(%s %s %s %g 0.45", exe, cfg, weights, thresh);
    for (int k = 0; k < n; ++k) fprintf(mem, " %s", paths[k]);
    fprintf(mem, " 2>/dev/null)");
    fclose(mem);
    abc_run_result r = abc_test_run(args);
    free(args);
    ck_assert_msg(r.status == 0, "%s: the hook-free program failed:\n%s", what, r.out);

    network *net = load_network((char *)cfg, (char *)weights, 0);
    set_batch_network(net, 1);
    abc_det_map_opts o = abc_det_map_default_opts();
    o.thresh = thresh;
    double ws = 0, wb = 0;
    int total = 0, dropped = 0;
    const char *s = r.out;
    for (int k = 0; k < n; ++k) {
        char head[32];
        snprintf(head, sizeof head, "image %d\n", k);
        s = strstr(s, head);
        ck_assert_msg(s != NULL, "%s: no '%s' in:\n%s", what, head, r.out);
        s += strlen(head);
        abc_det ref[2048];
        int nr = 0;
        for (;;) {
            abc_det d = {k, 0, 0, {0, 0, 0, 0}};
            int used = 0;
            if (sscanf(s, "%d %f %f %f %f %f\n%n", &d.cls, &d.score, &d.box.x0, &d.box.y0, &d.box.x1, &d.box.y1,
                       &used) != 6)
                break;
            s += used;
            if (!isfinite(d.box.x0) || !isfinite(d.box.y0) || !isfinite(d.box.x1) || !isfinite(d.box.y1) ||
                !(d.box.x1 > d.box.x0) || !(d.box.y1 > d.box.y0)) {
                ++dropped;
                continue;
            }
            ck_assert(nr < 2048);
            ref[nr++] = d;
        }
        image im = load_image_color(paths[k], 0, 0);
        abc_det *ours = NULL;
        int no = 0, c = 0;
        abc_det_image(net, im, k, &o, &ours, &no, &c);
        char w[160];
        snprintf(w, sizeof w, "%s, image %d: ours vs stock", what, k);
        same_dets(ours, no, ref, nr, 1e-4, 1e-3, w, &ws, &wb);
        total += no;
        free(ours);
        free_image(im);
    }
    fprintf(stderr, "detector: %s: %d detections on %d images, ours - stock at most %.2g in score, %.2g px; %d "
            "infinite or empty stock boxes left out\n", what, total, n, ws, wb, dropped);
    ck_assert_msg(total >= min_total, "%s: only %d detections: the comparison would prove little", what, total);
    abc_run_free(&r);
    free_network(net);
    free_paths(paths, n);
    free(vl);
    return dropped;
}

START_TEST(same_boxes_as_hook_free_libdarknet)
{
    need_fixture();
    char *exe = build_hook_free();
    if (!exe) return;
    /* weights trained and written by ./darknet, loaded by the stock parser and loader */
    char *cfg = path_in("tiny.cfg"), *w = path_in("backup/tiny_final.weights");
    ck_assert_int_eq(compare_with_stock(exe, cfg, w, 8, 0.005f, 50, "./darknet-trained float model at 0.005"), 0);
    ck_assert_int_eq(compare_with_stock(exe, cfg, w, 8, 0.1f, 1, "./darknet-trained float model at 0.1"), 0);
    free(cfg);
    free(w);
    free(exe);
}
END_TEST

/* /usr/bin/darknet detector train cfg [weights] in root with the data file data; returns its final weights. */
static char *stock_train(const char *data, const char *cfg, const char *weights, int last_iter)
{
    char *cmd;
    ck_assert(asprintf(&cmd, "cd %s && env -u DISPLAY %s detector train %s %s %s", root, STOCK_DARKNET, data, cfg,
                       weights ? weights : "") > 0);
    /* libdarknet's own trainer (not the code under test) now and then dies of a segfault: tried up to 3 times */
    abc_run_result r = abc_test_run(cmd);
    for (int k = 0; k < 2 && (r.signal || r.status > 128); ++k) {
        fprintf(stderr, "detector: the stock trainer died (status %d, signal %d): tried again\n", r.status, r.signal);
        abc_run_free(&r);
        r = abc_test_run(cmd);
    }
    free(cmd);
    char *base = strrchr(cfg, '/') + 1, *w = path_in("stockbackup/%.*s_final.weights", (int)strcspn(base, "."), base);
    /* the stock trainer exits 0 on most failures: check its file and its last iteration line */
    char it[32];
    snprintf(it, sizeof it, "\n%d: ", last_iter);
    ck_assert_msg(r.status == 0 && access(w, R_OK) == 0 && strstr(r.out, it),
                  "stock training failed (status %d, no %s or no iteration %d):\n%s", r.status, w, last_iter, r.out);
    abc_run_free(&r);
    return w;
}

START_TEST(stock_trained_weights_load_here)
{
    need_fixture();
    if (access(STOCK_DARKNET, X_OK) != 0) {
        fprintf(stderr, "detector: no %s, stock trainer test skipped\n", STOCK_DARKNET);
        return;
    }
    /* the stock trainer's traps: random=0 (random=1 trains at 320..608), a backup directory that exists
     * (else the weights are silently lost), headless (train needs no DISPLAY) */
    char *sb = path_in("stockbackup");
    ck_assert(mkdir(sb, 0755) == 0);
    char *tl = path_in("set/train.list"), *vl = path_in("set/valid.list"), *nm = path_in("set/fmnist-detect.names");
    char *text;
    ck_assert(asprintf(&text, "classes=10\ntrain=%s\nvalid=%s\nnames=%s\nbackup=%s\n", tl, vl, nm, sb) > 0);
    char *data = abc_test_write(root, "stock.data", text);
    char *exe = build_hook_free();

    /* 1. from scratch, 4 iterations: the weights load in map and test. Not compared box by box: the batch norm
     * averages are 4% of the way (darknet moves them 1% an iteration), the raw outputs in the thousands, so the
     * boxes are mostly infinite (kept by the stock pipeline, dropped by ours) or 1e16 px wide, and the scores
     * saturate at 1.0, where the order of equal scores (stock: qsort, unstable) decides what NMS keeps */
    char *cfg = write_cfg("stock.cfg", 4), *w = stock_train(data, cfg, NULL, 4), *js;
    abc_run_result r = run_split(&js, "detector map %s/det.data %s %s -json", root, cfg, w);
    ck_assert_msg(r.status == 0 && abc_test_json_valid(js) && count_errors(r.out) == 0, "%s", r.out);
    abc_run_free(&r);
    free(js);
    r = run("detector test %s/det.data %s %s %s/set/valid/000000.png -out_prefix %s/stockpred", root, cfg, w, root,
            root);
    ck_assert_msg(r.status == 0 && strstr(r.out, ": Predicted in "), "%s", r.out);
    abc_run_free(&r);
    char *png = path_in("stockpred.png");
    ck_assert(is_png(png, NULL, NULL));
    free(w);
    free(cfg);

    /* 2. the stock trainer continues ./darknet's model for 4 iterations: the same boxes here as there */
    cfg = write_cfg("stockft.cfg", TRAIN_ITERS + 4);
    char *ours = path_in("backup/tiny_final.weights");
    w = stock_train(data, cfg, ours, TRAIN_ITERS + 4);
    r = run_split(&js, "detector map %s/det.data %s %s -json", root, cfg, w);
    ck_assert_msg(r.status == 0 && abc_test_json_valid(js), "%s", r.out);
    /* it did train: not the same mAP to the last digit as the weights it started from */
    char *js0;
    abc_run_result r0 = run_split(&js0, "detector map %s/det.data %s %s -json", root, cfg, ours);
    ck_assert_msg(r0.status == 0 && strcmp(js, js0), "%s", r0.out);
    abc_run_free(&r0);
    abc_run_free(&r);
    free(js0);
    free(js);
    if (exe)
        ck_assert_int_eq(compare_with_stock(exe, cfg, w, 8, 0.005f, 50, "./darknet's model, 4 stock iterations more"),
                         0);
    free(ours);
    free(exe);
    free(png);
    free(w);
    free(data);
    free(text);
    free(tl);
    free(vl);
    free(nm);
    free(sb);
    free(cfg);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------------
 * Mistakes: one error line, exit 1.
 * ------------------------------------------------------------------------------------------------------- */

/* A list of one image (a copy of a generated one) whose label file holds label, in root/bl/<name>/; returns
 * the data file. */
static char *one_image_data(const char *name, const char *label, int classes)
{
    char *d = path_in("bl/%s", name), *cmd;
    ck_assert(asprintf(&cmd, "mkdir -p %s && cp %s/set/train/000000.png %s/img.png", d, root, d) > 0);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    free(abc_test_write(d, "img.txt", label));
    char *list;
    ck_assert(asprintf(&list, "%s/img.png\n", d) > 0);
    char *lp = abc_test_write(d, "list.txt", list), *nm = path_in("set/fmnist-detect.names"), *text;
    ck_assert(asprintf(&text, "classes=%d\ntrain=%s\nvalid=%s\nnames=%s\nbackup=%s/backup\n", classes, lp, lp, nm, d) >
              0);
    char *data = abc_test_write(d, "d.data", text);
    free(text);
    free(nm);
    free(lp);
    free(list);
    free(d);
    return data;
}

static void bad_label_file_one(int idx)
{
    const bad_label *c = &bad_labels[idx];
    char *data = one_image_data(c->name, c->label, 10);
    char *lp = path_in("bl/%s/img.txt", c->name), *want;
    ck_assert(asprintf(&want, "darknet: error: label file '%s' line %d: ", lp, c->line) > 0);
    /* in turn through the training list (calc_anchors, train) and the valid list (map) */
    for (int k = idx % 3; k == idx % 3; ++k) {
        abc_run_result r = k == 1   ? run("detector map %s %s/tiny.cfg %s/backup/tiny_final.weights", data, root, root)
                           : k == 2 ? run("detector train %s %s/tiny.cfg", data, root)
                                    : run("detector calc_anchors %s -num_of_clusters 1", data);
        ck_assert_msg(r.status == 1 && r.signal == 0, "%s: status %d signal %d:\n%s", c->name, r.status, r.signal,
                      r.out);
        ck_assert_msg(count_errors(r.out) == 1, "%s: expected one error line:\n%s", c->name, r.out);
        const char *e = strstr(r.out, want);
        ck_assert_msg(e && strstr(e, c->expect), "%s: expected '%s' ... '%s' in:\n%s", c->name, want, c->expect, r.out);
        abc_run_free(&r);
    }
    free(want);
    free(lp);
    free(data);
}

/* One process each (a process costs ~0.3 s, a Check test ~0.1 s more): every case once, in turn through
 * calc_anchors, map and train. */
START_TEST(bad_label_files_fail_cleanly)
{
    need_fixture();
    for (int i = 0; i < N_OF(bad_labels); ++i) bad_label_file_one(i);
}
END_TEST

START_TEST(good_label_files_pass)
{
    need_fixture();
    /* blank lines, spaces, CRLF, an empty label file (an image without objects) */
    const char *const labels[] = {"\n  \n0 0.5 0.5 0.2 0.2\r\n\n9 0 1 1 1\n\n", ""};
    for (int k = 0; k < 2; ++k) {
        char name[32];
        snprintf(name, sizeof name, "good%d", k);
        char *data = one_image_data(name, labels[k], 10);
        char *js;
        abc_run_result r = run_split(&js, "detector map %s %s/tiny.cfg %s/backup/tiny_final.weights -json", data, root,
                                     root);
        ck_assert_msg(r.status == 0 && abc_test_json_valid(js), "%s", r.out);
        ck_assert_int_eq((int)json_number(js, "gt"), k ? 0 : 2);
        abc_run_free(&r);
        free(js);
        free(data);
    }
    /* libdarknet's rule for real: .../images/a.png has its labels in .../labels/a.txt */
    char *d = path_in("lr"), *cmd;
    ck_assert(asprintf(&cmd, "mkdir -p %s/images %s/labels && cp %s/set/train/000000.png %s/images/a.png && "
                             "printf '0 0.5 0.5 0.25 0.5\\n3 0.25 0.25 0.125 0.125\\n' > %s/labels/a.txt && "
                             "printf '9 0.5 0.5 0.1 0.1\\n' > %s/images/a.txt", d, d, root, d, d, d) > 0);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    char *list;
    ck_assert(asprintf(&list, "%s/images/a.png\n", d) > 0);
    char *lp = abc_test_write(d, "list.txt", list), *nm = path_in("set/fmnist-detect.names");
    char *data = write_data("lr.data", 10, lp, lp, nm);
    abc_run_result r = run("detector calc_anchors %s -num_of_clusters 2 -width 64 -height 64", data);
    /* the two boxes of labels/a.txt (16x32 and 8x8 px at 64x64), not the one of images/a.txt */
    ck_assert_msg(r.status == 0 && strstr(r.out, "2 boxes of 1 images") && strstr(r.out, "anchors = 8,8,  16,32"), "%s",
                  r.out);
    abc_run_free(&r);
    free(data);
    free(nm);
    free(lp);
    free(list);
    free(d);
}
END_TEST

START_TEST(no_temporary_files_left)
{
    need_fixture();
    /* test -out: the picture cannot be written: one error, no JSON and no temporary file */
    char *cmd, *out = path_in("tmpcheck");
    ck_assert(mkdir(out, 0755) == 0);
    abc_run_result r = run("detector test %s/det.data %s/tiny.cfg %s/backup/tiny_final.weights %s/set/valid/000000.png "
                           "-out %s/t.json -out_prefix %s/nodir/p", root, root, root, root, out, root);
    ck_assert_msg(r.status == 1 && count_errors(r.out) == 1 && strstr(r.out, "nodir/p.png"), "%s", r.out);
    abc_run_free(&r);
    /* from stdin, a path that is not an image after a good one */
    char *list;
    ck_assert(asprintf(&list, "%s/set/valid/000000.png\n%s/det.data\n", root, root) > 0);
    char *lp = abc_test_write(root, "badstdin.list", list);
    ck_assert(asprintf(&cmd, "( %s detector test %s/det.data %s/tiny.cfg %s/backup/tiny_final.weights -out %s/s.json "
                             "-out_prefix %s/s < %s )", abc_test_darknet_path(), root, root, root, out, out, lp) > 0);
    r = abc_test_run(cmd);
    free(cmd);
    ck_assert_msg(r.status == 1 && count_errors(r.out) == 1 && strstr(r.out, "is not an image"), "%s", r.out);
    abc_run_free(&r);
    /* the first picture was written; no JSON, no temporary file */
    char *s0 = path_in("tmpcheck/s_0.png");
    ck_assert(is_png(s0, NULL, NULL));
    unlink(s0);
    free(s0);
    /* valid stopped by SIGTERM in the middle of a long list (the valid images 60 times): no results, no
     * temporary files (11 result files: more than base/files.c's signal handler tracks) */
    ck_assert(asprintf(&cmd, "for i in $(seq 60); do cat %s/set/valid.list; done > %s/long.list", root, root) > 0);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    char *tl = path_in("set/train.list"), *ll = path_in("long.list"), *nm = path_in("set/fmnist-detect.names");
    char *data = write_data("long.data", 10, tl, ll, nm), *cfg = path_in("tiny.cfg");
    char *w = path_in("backup/tiny_final.weights"), *log = path_in("validterm.log"), *res = path_in("tmpcheck/res");
    const char *words[] = {"detector", "valid", data, cfg, w, "-out", res, NULL};
    pid_t pid = start_darknet(log, words);
    ck_assert_msg(wait_for_line(log, "Loading weights", pid), "valid did not start: %s", abc_test_slurp(log));
    usleep(500000);
    kill(pid, SIGTERM);
    int st;
    ck_assert(waitpid(pid, &st, 0) == pid);
    char *text = abc_test_slurp(log);
    ck_assert_msg((WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) || (WIFEXITED(st) && WEXITSTATUS(st) == 143),
                  "status %d (the run was too short?):\n%s", st, text);
    ck_assert_msg(!strstr(text, " images: results in "), "%s", text);
    free(text);
    ck_assert(asprintf(&cmd, "test -z \"$(ls -A %s/res 2>/dev/null)\" && test -z \"$(ls -A %s | grep -v '^res$')\"",
                       out, out) > 0);
    ck_assert_msg(system(cmd) == 0, "files left in %s", out);
    free(cmd);
    free(res);
    free(log);
    free(w);
    free(cfg);
    free(data);
    free(nm);
    free(ll);
    free(tl);
    free(lp);
    free(list);
    free(out);
}
END_TEST

typedef struct {
    const char *name;
    const char *expect;
} bad_run;

static const bad_run bad_runs[] = {
    {"missing_data", "cannot open data file"},
    {"missing_cfg", "cannot open cfg file"},
    {"missing_weights", "cannot open weights file"},
    {"map_no_weights", "detector map: missing arguments"},
    {"image_missing", "1 of 2 images cannot be used (image 2, '"},
    {"label_missing", "no label file '"},
    {"no_extension", "does not end in .jpg, .png, .JPG or .JPEG"},
    {"bmp_label_dir", "does not end in .jpg, .png, .JPG or .JPEG"},
    {"not_an_image", "is not an image"},
    {"image_is_dir", ": not a file"},
    {"empty_list", "is empty"},
    {"no_valid_key", "missing key 'valid'"},
    {"no_names_key", "missing key 'names'"},
    {"names_count", "has 9 names but data file"},
    {"not_detector", "the last layer is not a detection layer ([yolo] or [region])"},
    {"classes_mismatch", "the last layer has classes=3 but data file"},
    {"max_200", "max=200; libdarknet's loader works only with max=90"},
    {"channels_1", "channels=1"},
    {"thresh_above_1", "detector test: -thresh: '1.5' is not a number from 0 to 1"},
    {"test_not_image", "is not an image"},
    {"too_many_clusters", "fewer than the 64 clusters"},
};

static void bad_run_one(int idx)
{
    const bad_run *c = &bad_runs[idx];
    const char *n = c->name;
    char *args = NULL, *f = NULL, *g = NULL;
    char *tl = path_in("set/train.list"), *vl = path_in("set/valid.list"), *nm = path_in("set/fmnist-detect.names");
    char *img = path_in("set/valid/000000.png");
    const char *fw = "backup/tiny_final.weights";
    int rc = 0;
    char *extra = NULL; /* a file the message must name */
    if (!strcmp(n, "missing_data")) {
        rc = asprintf(&args, "detector map %s/nope.data %s/tiny.cfg %s/%s", root, root, root, fw);
    } else if (!strcmp(n, "missing_cfg")) {
        rc = asprintf(&args, "detector train %s/det.data %s/nope.cfg", root, root);
    } else if (!strcmp(n, "missing_weights")) {
        rc = asprintf(&args, "detector test %s/det.data %s/tiny.cfg %s/nope.weights %s", root, root, root, img);
    } else if (!strcmp(n, "map_no_weights")) {
        rc = asprintf(&args, "detector map %s/det.data %s/tiny.cfg", root, root);
    } else if (!strcmp(n, "image_missing") || !strcmp(n, "label_missing") || !strcmp(n, "no_extension") ||
               !strcmp(n, "bmp_label_dir") || !strcmp(n, "not_an_image") || !strcmp(n, "image_is_dir")) {
        char *d = path_in("bl/%s", n), *cmd;
        ck_assert(asprintf(&cmd, "mkdir -p %s/sub.png && cp %s %s/a.png && cp %s/set/valid/000000.txt %s/a.txt && "
                                 "cp %s %s/b.jpeg && cp %s/set/valid/000000.txt %s/b.txt && "
                                 "cp %s/set/valid/000000.txt %s/c.png && cp %s/set/valid/000000.txt %s/c.txt && "
                                 "cp %s/set/valid/000000.txt %s/sub.txt && mkdir -p %s/images %s/labels && "
                                 "cp %s %s/images/b.bmp && cp %s/set/valid/000000.txt %s/labels/b.bmp",
                           d, img, d, root, d, img, d, root, d, root, d, root, d, root, d, d, d, img, d, root, d) > 0);
        ck_assert_int_eq(system(cmd), 0);
        free(cmd);
        const char *second = !strcmp(n, "image_missing") ? "gone.png" : !strcmp(n, "label_missing") ? "nolabel.png"
                             : !strcmp(n, "no_extension") ? "b.jpeg" : !strcmp(n, "bmp_label_dir") ? "images/b.bmp"
                             : !strcmp(n, "not_an_image") ? "c.png" : "sub.png";
        if (!strcmp(n, "label_missing")) {
            ck_assert(asprintf(&cmd, "cp %s %s/nolabel.png", img, d) > 0);
            ck_assert_int_eq(system(cmd), 0);
            free(cmd);
            ck_assert(asprintf(&extra, "'%s/nolabel.txt'", d) > 0);
        } else {
            ck_assert(asprintf(&extra, "'%s/%s'", d, second) > 0);
        }
        char *list;
        ck_assert(asprintf(&list, "%s/a.png\n%s/%s\n", d, d, second) > 0);
        free(abc_test_write(d, "list.txt", list));
        free(list);
        char *lp = path_in("bl/%s/list.txt", n);
        f = write_data("bl.data", 10, tl, lp, nm);
        free(lp);
        rc = asprintf(&args, "detector map %s %s/tiny.cfg %s/%s", f, root, root, fw);
        free(d);
    } else if (!strcmp(n, "empty_list")) {
        free(abc_test_write(root, "empty.list", "\n \n"));
        char *e = path_in("empty.list");
        f = write_data("empty.data", 10, e, vl, nm);
        free(e);
        rc = asprintf(&args, "detector train %s %s/tiny.cfg", f, root);
    } else if (!strcmp(n, "no_valid_key") || !strcmp(n, "no_names_key")) {
        char *text;
        ck_assert(asprintf(&text, "classes=10\ntrain=%s\n%s=%s\n", tl, !strcmp(n, "no_valid_key") ? "names" : "valid",
                           !strcmp(n, "no_valid_key") ? nm : vl) > 0);
        f = abc_test_write(root, "nokey.data", text);
        free(text);
        rc = asprintf(&args, "detector map %s %s/tiny.cfg %s/%s", f, root, root, fw);
    } else if (!strcmp(n, "names_count")) {
        free(abc_test_write(root, "nine.names", "a\nb\nc\nd\ne\nf\ng\nh\ni\n"));
        char *nn = path_in("nine.names");
        f = write_data("nine.data", 10, tl, vl, nn);
        free(nn);
        rc = asprintf(&args, "detector test %s %s/tiny.cfg %s/%s %s", f, root, root, fw, img);
    } else if (!strcmp(n, "not_detector")) {
        g = write_cfg_full("nodet.cfg", 16, 10, "convolutional", "", "convolutional", "", 10, "",
                           "[avgpool]\n\n[softmax]\n");
        rc = asprintf(&args, "detector train %s/det.data %s", root, g);
    } else if (!strcmp(n, "classes_mismatch")) {
        g = write_cfg_full("c3.cfg", 16, 10, "convolutional", "", "convolutional", "", 3, "", NULL);
        rc = asprintf(&args, "detector train %s/det.data %s", root, g);
    } else if (!strcmp(n, "max_200")) {
        g = write_cfg_full("max200.cfg", 16, 10, "convolutional", "", "convolutional", "", 10, "max=200\n", NULL);
        rc = asprintf(&args, "detector train %s/det.data %s", root, g);
    } else if (!strcmp(n, "channels_1")) {
        char *t = write_cfg("ch1.cfg", 10), *text = abc_test_slurp(t), *at = strstr(text, "channels=3");
        ck_assert(at != NULL);
        at[9] = '1';
        g = abc_test_write(root, "ch1.cfg", text);
        free(t);
        free(text);
        rc = asprintf(&args, "detector train %s/det.data %s", root, g);
    } else if (!strcmp(n, "thresh_above_1")) {
        rc = asprintf(&args, "detector test %s/det.data %s/tiny.cfg %s/%s %s -thresh 1.5", root, root, root, fw, img);
    } else if (!strcmp(n, "test_not_image")) {
        rc = asprintf(&args, "detector test %s/det.data %s/tiny.cfg %s/%s %s/tiny.cfg", root, root, root, fw, root);
    } else if (!strcmp(n, "too_many_clusters")) {
        char *data = one_image_data("clusters", "0 0.5 0.5 0.2 0.2\n", 10);
        rc = asprintf(&args, "detector calc_anchors %s -num_of_clusters 64", data);
        free(data);
    }
    ck_assert(rc > 0);
    abc_run_result r = abc_test_run_darknet(args);
    ck_assert_msg(r.status == 1 && r.signal == 0, "%s: status %d signal %d:\n%s", n, r.status, r.signal, r.out);
    ck_assert_msg(count_errors(r.out) == 1, "%s: expected one error line:\n%s", n, r.out);
    const char *e = strstr(r.out, "darknet: error:");
    ck_assert_msg(strstr(e, c->expect), "%s: expected '%s' in:\n%s", n, c->expect, r.out);
    if (extra) ck_assert_msg(strstr(e, extra), "%s: the message does not name %s:\n%s", n, extra, r.out);
    ck_assert_msg(!strstr(r.out, "Cannot load image") && !strstr(r.out, "Couldn't open"), "%s", r.out);
    abc_run_free(&r);
    free(extra);
    free(args);
    free(f);
    free(g);
    free(tl);
    free(vl);
    free(nm);
    free(img);
}

START_TEST(bad_runs_fail_cleanly)
{
    need_fixture();
    for (int i = 0; i < N_OF(bad_runs); ++i) bad_run_one(i);
}
END_TEST

static Suite *suite_detector(void)
{
    Suite *s = suite_create("detector");
    TCase *tc = tcase_create("decode");
    tcase_set_timeout(tc, 60); /* read_labels_rejects forks 13 times: seconds under the sanitizers */
    tcase_add_test(tc, decode_one_cell_by_hand);
    tcase_add_test(tc, decode_grid_by_hand);
    tcase_add_test(tc, decode_below_threshold);
    tcase_add_test(tc, decode_nonfinite_outputs);
    tcase_add_test(tc, label_path_rule);
    tcase_add_test(tc, read_labels_accepts);
    tcase_add_test(tc, read_labels_rejects);
    suite_add_tcase(s, tc);

    tc = tcase_create("commands");
    tcase_add_unchecked_fixture(tc, setup_set, teardown_set);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, train_with_map_then_map_above_chance);
    tcase_add_test(tc, map_table_matches_json);
    tcase_add_test(tc, valid_writes_results);
    tcase_add_test(tc, calc_anchors_prints_anchors);
    tcase_add_test(tc, test_prints_draws_and_writes_json);
    tcase_add_test(tc, test_from_stdin_numbers_pictures);
    tcase_add_test(tc, sigint_saves_checkpoint);
    tcase_add_test(tc, killed_and_resumed_training_is_exact);
    tcase_add_test(tc, binary_packed_equals_simulated);
    tcase_add_test(tc, same_boxes_as_hook_free_libdarknet);
    tcase_add_test(tc, stock_trained_weights_load_here);
    tcase_add_test(tc, bad_label_files_fail_cleanly);
    tcase_add_test(tc, good_label_files_pass);
    tcase_add_test(tc, no_temporary_files_left);
    tcase_add_test(tc, bad_runs_fail_cleanly);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_detector)
