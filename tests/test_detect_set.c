/* The generated detection set: scenes (data/det_scene.h) keep their promises
 * (item counts, boxes inside the canvas and tight around the drawn item,
 * bounded overlap, classes of the pool, determinism by seed), and
 * `./darknet data fmnist-detect` writes what darknet's detector loader reads
 * (an image and a label file per canvas, lists, names, a .data file), the
 * same bytes for the same seed, nothing to do the second time, one-line
 * errors. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/det_scene.h"
#include "test_util.h"

/* A pool of n 28x28 items: a filled rectangle per item, of class i % 10, at an item-dependent place. */
static abc_scene_pool make_pool(int n, unsigned char **px, unsigned char **lab)
{
    *px = calloc((size_t)n * 784, 1);
    *lab = malloc((size_t)n);
    for (int i = 0; i < n; ++i) {
        int x0 = 2 + i % 5, y0 = 3 + i % 4, x1 = 20 + i % 7, y1 = 22 + i % 5;
        for (int y = y0; y < y1; ++y)
            for (int x = x0; x < x1; ++x) (*px)[(size_t)i * 784 + y * 28 + x] = (unsigned char)(120 + (x * y) % 136);
        (*lab)[i] = (unsigned char)(i % 10);
    }
    abc_scene_pool p = {*px, *lab, n};
    return p;
}

static float iou(const float *a, const float *b)
{
    float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (w <= 0 || h <= 0) return 0;
    float i = w * h;
    return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i);
}

START_TEST(scenes_keep_their_limits)
{
    unsigned char *px, *lab;
    abc_scene_pool pool = make_pool(50, &px, &lab);
    int w = 192 + 17 * (_i % 3), h = 160 + 31 * (_i % 2), counts[ABC_SCENE_MAX_ITEMS + 1] = {0};
    abc_scene_limits lim = abc_scene_default_limits(w, h);
    for (int k = 0; k < 60; ++k) {
        abc_scene s;
        abc_scene_random(&s, &pool, w, h, &lim, 1000u * (unsigned)_i + (unsigned)k);
        ck_assert_int_ge(s.n, 1);
        ck_assert_int_le(s.n, lim.max_items);
        ++counts[s.n];
        for (int i = 0; i < s.n; ++i) {
            const abc_scene_item *it = &s.item[i];
            ck_assert_int_eq(it->cls, pool.labels[it->src]);
            ck_assert(it->box[0] >= 0 && it->box[1] >= 0 && it->box[2] <= (float)w && it->box[3] <= (float)h);
            ck_assert(it->box[2] > it->box[0] && it->box[3] > it->box[1]);
            float size = ABC_SCENE_SRC * it->scale;
            ck_assert_msg(size >= lim.min_size * 0.999f && size <= lim.max_size * 1.001f, "size %g", size);
            /* the box is the drawn rectangle of the source, scaled */
            int x0, y0, x1, y1;
            ck_assert(abc_scene_src_box(pool.pixels + (size_t)it->src * 784, &x0, &y0, &x1, &y1));
            ck_assert(fabsf(it->box[0] - (it->x + (float)x0 * it->scale)) < 1e-3f);
            ck_assert(fabsf(it->box[3] - (it->y + (float)y1 * it->scale)) < 1e-3f);
            for (int j = 0; j < i; ++j) {
                const float *a = it->box, *b = s.item[j].box;
                ck_assert_msg(iou(a, b) <= lim.max_iou + 1e-5f, "items %d, %d overlap by IoU %g", j, i, iou(a, b));
                float iw = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), ih = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
                float hidden = iw > 0 && ih > 0 ? iw * ih / ((b[2] - b[0]) * (b[3] - b[1])) : 0;
                ck_assert_msg(hidden <= lim.max_hidden + 1e-5f, "item %d hides %g of item %d", i, hidden, j);
            }
        }
    }
    int kinds = 0;
    for (int c = 1; c <= ABC_SCENE_MAX_ITEMS; ++c) kinds += counts[c] > 0;
    ck_assert_msg(kinds >= 5, "only %d different item counts in 60 scenes", kinds);
    free(px);
    free(lab);
}
END_TEST

START_TEST(rendering_draws_the_items_and_depends_on_the_seed_only)
{
    unsigned char *px, *lab;
    abc_scene_pool pool = make_pool(20, &px, &lab);
    abc_scene_limits lim = abc_scene_default_limits(128, 96);
    abc_scene a, b, c;
    abc_scene_random(&a, &pool, 128, 96, &lim, 42);
    abc_scene_random(&b, &pool, 128, 96, &lim, 42);
    abc_scene_random(&c, &pool, 128, 96, &lim, 43);
    ck_assert(!memcmp(&a, &b, sizeof a));
    ck_assert(memcmp(&a, &c, sizeof a));
    size_t n = 3 * 128 * 96;
    float *ra = malloc(n * sizeof *ra), *rb = malloc(n * sizeof *rb);
    abc_scene_render(&a, &pool, ra);
    abc_scene_render(&b, &pool, rb);
    ck_assert(!memcmp(ra, rb, n * sizeof *ra));
    for (size_t i = 0; i < n; ++i) ck_assert(ra[i] >= 0 && ra[i] <= 1);
    /* the last item is on top: at the centre of its drawn rectangle, its tint (shaded by the source value) */
    const abc_scene_item *it = &a.item[a.n - 1];
    int x = (int)(0.5f * (it->box[0] + it->box[2])), y = (int)(0.5f * (it->box[1] + it->box[3]));
    for (int k = 0; k < 3; ++k) {
        float v = ra[(size_t)k * 128 * 96 + (size_t)y * 128 + x];
        ck_assert_msg(v <= it->rgb[k] + 1e-4f && v >= 0.4f * it->rgb[k] - 1e-4f, "channel %d: %g, tint %g", k, v,
                      it->rgb[k]);
    }
    free(ra);
    free(rb);
    free(px);
    free(lab);
}
END_TEST

/* lines of a file into a malloc'd string */
static char *slurp_or_null(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fclose(fp);
    return abc_test_slurp(path);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; ++s) n += *s == '\n';
    return n;
}

START_TEST(command_writes_a_set_darknet_reads)
{
    char out[4200], args[4400];
    snprintf(out, sizeof out, "%s/det1", abc_test_tmpdir());
    snprintf(args, sizeof args, "data fmnist-detect -out %s -n 30 -valid 12 -size 96 -seed 7 -video_frames 0", out);
    abc_run_result r = abc_test_run_darknet(args);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    char path[4600];
    snprintf(path, sizeof path, "%s/train.list", out);
    char *train = abc_test_slurp(path);
    snprintf(path, sizeof path, "%s/valid.list", out);
    char *valid = abc_test_slurp(path);
    ck_assert_int_eq(count_lines(train), 30);
    ck_assert_int_eq(count_lines(valid), 12);
    snprintf(path, sizeof path, "%s/fmnist-detect.names", out);
    char *names = abc_test_slurp(path);
    ck_assert_int_eq(count_lines(names), 10);
    snprintf(path, sizeof path, "%s/fmnist-detect.data", out);
    char *data = abc_test_slurp(path);
    ck_assert_msg(strstr(data, "classes=10\n") && strstr(data, "names=") && strstr(data, "train=") &&
                      strstr(data, "valid="), "%s", data);
    int items = 0;
    for (int i = 0; i < 30; ++i) {
        snprintf(path, sizeof path, "%s/train/%06d.png", out, i);
        image im = load_image_color(path, 0, 0);
        ck_assert_int_eq(im.w, 96);
        ck_assert_int_eq(im.h, 96);
        free_image(im);
        snprintf(path, sizeof path, "%s/train/%06d.txt", out, i);
        FILE *fp = fopen(path, "r");
        ck_assert_msg(fp != NULL, "no label file %s", path);
        int cls, n = 0;
        float cx, cy, bw, bh;
        while (fscanf(fp, "%d %f %f %f %f", &cls, &cx, &cy, &bw, &bh) == 5) {
            ck_assert(cls >= 0 && cls < 10);
            ck_assert(bw > 0 && bh > 0 && cx - bw / 2 >= -1e-5f && cy - bh / 2 >= -1e-5f && cx + bw / 2 <= 1 + 1e-5f &&
                      cy + bh / 2 <= 1 + 1e-5f);
            ++n;
        }
        ck_assert(feof(fp));
        fclose(fp);
        ck_assert(n >= 1 && n <= 8);
        items += n;
    }
    ck_assert_int_gt(items, 60);
    /* the same request again: nothing to do */
    r = abc_test_run_darknet(args);
    ck_assert_msg(r.status == 0 && strstr(r.out, "nothing to do"), "%s", r.out);
    abc_run_free(&r);
    /* the same seed elsewhere: the same canvases and labels; another seed: others */
    char out2[4300], out3[4300];
    snprintf(out2, sizeof out2, "%s/det2", abc_test_tmpdir());
    snprintf(out3, sizeof out3, "%s/det3", abc_test_tmpdir());
    snprintf(args, sizeof args, "data fmnist-detect -out %s -n 30 -valid 12 -size 96 -seed 7 -video_frames 0", out2);
    r = abc_test_run_darknet(args);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    snprintf(args, sizeof args, "data fmnist-detect -out %s -n 30 -valid 12 -size 96 -seed 8 -video_frames 0", out3);
    r = abc_test_run_darknet(args);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    int same = 0, other = 0;
    for (int i = 0; i < 12; ++i) {
        char p1[4600], p2[4600], p3[4600];
        snprintf(p1, sizeof p1, "%s/valid/%06d.txt", out, i);
        snprintf(p2, sizeof p2, "%s/valid/%06d.txt", out2, i);
        snprintf(p3, sizeof p3, "%s/valid/%06d.txt", out3, i);
        char *a = slurp_or_null(p1), *b = slurp_or_null(p2), *c = slurp_or_null(p3);
        ck_assert(a && b && c);
        same += !strcmp(a, b);
        other += !strcmp(a, c);
        free(a), free(b), free(c);
    }
    ck_assert_int_eq(same, 12);
    ck_assert_int_lt(other, 2);
    free(train), free(valid), free(names), free(data);
}
END_TEST

/* The test video: as many frames as asked at 30 fps, one truth line per frame with boxes inside the frame, the
 * same truth for the same seed; items move (the truth changes from frame to frame). */
START_TEST(command_renders_the_test_video)
{
    char out[4200], args[4400], path[4600];
    snprintf(out, sizeof out, "%s/vid", abc_test_tmpdir());
    snprintf(args, sizeof args, "data fmnist-detect -out %s -n 4 -valid 4 -size 64 -video_frames 45 -video_size 128", out);
    abc_run_result r = abc_test_run_darknet(args);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    snprintf(path, sizeof path, "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
             "stream=nb_read_frames,width,height,r_frame_rate -of csv=p=0 %s-video/video.mp4", out);
    r = abc_test_run(path);
    ck_assert_msg(r.status == 0 && strstr(r.out, "128,128,30/1,45"), "ffprobe: %s", r.out);
    abc_run_free(&r);
    snprintf(path, sizeof path, "%s-video/truth.jsonl", out);
    char *truth = abc_test_slurp(path);
    ck_assert_int_eq(count_lines(truth), 45);
    int frame = 0, boxes = 0, changes = 0;
    char prev[4096] = "";
    for (char *line = strtok(truth, "\n"); line; line = strtok(NULL, "\n"), ++frame) {
        int f;
        ck_assert_msg(sscanf(line, "{\"frame\": %d, ", &f) == 1 && f == frame, "line %d: %.80s", frame, line);
        const char *b = strstr(line, "\"boxes\": [");
        ck_assert(b && !strcmp(line + strlen(line) - 2, "]}"));
        changes += strcmp(prev, b) != 0;
        snprintf(prev, sizeof prev, "%s", b);
        for (const char *p = strstr(b, "\"x0\": "); p; p = strstr(p + 1, "\"x0\": ")) {
            float x0, y0, x1, y1;
            ck_assert(sscanf(p, "\"x0\": %f, \"y0\": %f, \"x1\": %f, \"y1\": %f", &x0, &y0, &x1, &y1) == 4);
            ck_assert_msg(x0 >= 0 && y0 >= 0 && x1 <= 128 && y1 <= 128 && x1 > x0 && y1 > y0, "frame %d: %g %g %g %g",
                          frame, x0, y0, x1, y1);
            ++boxes;
        }
    }
    ck_assert_int_gt(boxes, 45);
    ck_assert_int_gt(changes, 40);
    free(truth);
}
END_TEST

START_TEST(bad_requests_are_one_line)
{
    const char *cases[] = {"data fmnist-detect -size 10", "data fmnist-detect -n 0", "data fmnist-detect -seed x",
                           "data fmnist-detect -out /tmp/raw-stuff/x -n 2 -valid 2"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        abc_run_result r = abc_test_run_darknet(cases[i]);
        ck_assert_msg(r.status == 1 && abc_test_count_lines(r.out) == 1 && strstr(r.out, "darknet: error:"),
                      "%s: %s", cases[i], r.out);
        abc_run_free(&r);
    }
    struct stat st;
    ck_assert_msg(stat("/tmp/raw-stuff/x", &st) != 0, "a refused request created its directory");
}
END_TEST

static Suite *suite_detect_set(void)
{
    Suite *s = suite_create("detect_set");
    TCase *tc = tcase_create("scenes");
    tcase_add_loop_test(tc, scenes_keep_their_limits, 0, 4);
    tcase_add_test(tc, rendering_draws_the_items_and_depends_on_the_seed_only);
    suite_add_tcase(s, tc);
    TCase *tcmd = tcase_create("command");
    tcase_set_timeout(tcmd, 120);
    tcase_add_test(tcmd, command_writes_a_set_darknet_reads);
    tcase_add_test(tcmd, command_renders_the_test_video);
    tcase_add_test(tcmd, bad_requests_are_one_line);
    suite_add_tcase(s, tcmd);
    return s;
}
ABC_TEST_SUITE(suite_detect_set)
