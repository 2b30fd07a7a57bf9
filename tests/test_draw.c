/* Pictures (src/draw.c): each PNG is read back with cairo and its pixels checked: detections (box edges in
 * the class colour, the image kept inside, labels above or inside, grey images, clipping, skipped boxes),
 * the training chart (the loss where its data is and nowhere else, mAP points only when given), failures
 * (-1, a message naming the path, no file or temp file left, an old file untouched), and byte-identical
 * output for the same input. */
#include <cairo-ft.h>
#include <cairo.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "draw.h"
#include "test_util.h"

/* ---- helpers ---- */

/* This suite's own folder in the temp dir (so that other suites' files never count). */
static const char *draw_dir(void)
{
    static char dir[4200];
    snprintf(dir, sizeof dir, "%s/draw", abc_test_tmpdir());
    mkdir(dir, 0755);
    return dir;
}

static char *tmp_path(const char *name)
{
    char *p;
    ck_assert(asprintf(&p, "%s/%s", draw_dir(), name) > 0);
    return p;
}

typedef struct {
    cairo_surface_t *s;
    int w, h, stride;
    const unsigned char *data;
} png;

static png png_read(const char *path)
{
    png p;
    p.s = cairo_image_surface_create_from_png(path);
    ck_assert_msg(cairo_surface_status(p.s) == CAIRO_STATUS_SUCCESS, "%s: %s", path,
                  cairo_status_to_string(cairo_surface_status(p.s)));
    cairo_format_t f = cairo_image_surface_get_format(p.s);
    ck_assert_msg(f == CAIRO_FORMAT_RGB24 || f == CAIRO_FORMAT_ARGB32, "%s: format %d", path, (int)f);
    p.w = cairo_image_surface_get_width(p.s);
    p.h = cairo_image_surface_get_height(p.s);
    p.stride = cairo_image_surface_get_stride(p.s);
    p.data = cairo_image_surface_get_data(p.s);
    return p;
}

static void png_free(png *p) { cairo_surface_destroy(p->s); }

static void px(const png *p, int x, int y, int rgb[3])
{
    ck_assert(x >= 0 && y >= 0 && x < p->w && y < p->h);
    unsigned v = *(const unsigned *)(p->data + (size_t)y * (size_t)p->stride + (size_t)x * 4);
    rgb[0] = (int)(v >> 16 & 255);
    rgb[1] = (int)(v >> 8 & 255);
    rgb[2] = (int)(v & 255);
}

static int px_is(const png *p, int x, int y, int r, int g, int b)
{
    int c[3];
    px(p, x, y, c);
    return c[0] == r && c[1] == g && c[2] == b;
}

static int is_class(const png *p, int x, int y, int cls)
{
    unsigned char c[3];
    abc_draw_class_color(cls, c);
    return px_is(p, x, y, c[0], c[1], c[2]);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    rewind(fp);
    unsigned char *b = malloc((size_t)len + 1);
    ck_assert(fread(b, 1, (size_t)len, fp) == (size_t)len);
    fclose(fp);
    *n = (size_t)len;
    return b;
}

static int same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

/* Entries of dir whose name contains part. */
static int count_entries(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot read %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, part)) ++n;
    closedir(d);
    return n;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A w x h image, c planes: a pattern of distinct values, none a palette colour (channels in 40..200, R != G). */
static float *pattern(int w, int h, int c)
{
    float *im = malloc(sizeof *im * (size_t)w * h * c);
    for (int k = 0; k < c; ++k)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                im[((size_t)k * h + y) * w + x] = (40 + (x * 7 + y * 3 + k * 50) % 160) / 255.0f;
    return im;
}

/* The PNG's pixel equals the image's value (8-bit, rounded) at (x, y). */
static int keeps_image(const png *p, const float *im, int w, int h, int c, int x, int y)
{
    int v[3];
    for (int k = 0; k < 3; ++k) v[k] = (int)(im[((size_t)(c == 3 ? k : 0) * h + y) * w + x] * 255.0f + 0.5f);
    return px_is(p, x, y, v[0], v[1], v[2]);
}

/* Pixels of class cls's colour in [x0, x1) x [y0, y1) (clipped to the picture). */
static int count_class(const png *p, int cls, int x0, int y0, int x1, int y1)
{
    int n = 0;
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < p->h; ++y)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < p->w; ++x) n += is_class(p, x, y, cls);
    return n;
}

static const char *const names[] = {"person", "dog", "car", "bicycle"};

static int draw(const char *path, const float *im, int w, int h, int c, const abc_draw_box *b, int n)
{
    char err[512] = "";
    int r = abc_draw_detections_png(path, im, w, h, c, b, n, names, 4, err, sizeof err);
    ck_assert_msg(r == 0, "draw %s: %s", path, err);
    return r;
}

/* ---- detections ---- */

START_TEST(box_edges_in_class_colour_and_image_kept)
{
    int w = 200, h = 150, line;
    abc_draw_detection_sizes(w, h, &line, NULL);
    float *im = pattern(w, h, 3);
    char *path = tmp_path("det_box.png");
    abc_draw_box b = {50, 60, 120, 130, 1, 0.87f};
    draw(path, im, w, h, 3, &b, 1);
    png p = png_read(path);
    ck_assert_int_eq(p.w, w);
    ck_assert_int_eq(p.h, h);
    /* every edge, its whole thickness */
    for (int t = 0; t < line; ++t) {
        for (int x = 50; x < 120; x += 7) {
            ck_assert_msg(is_class(&p, x, 60 + t, 1), "top edge at (%d, %d)", x, 60 + t);
            ck_assert_msg(is_class(&p, x, 129 - t, 1), "bottom edge at (%d, %d)", x, 129 - t);
        }
        for (int y = 60; y < 130; y += 7) {
            ck_assert_msg(is_class(&p, 50 + t, y, 1), "left edge at (%d, %d)", 50 + t, y);
            ck_assert_msg(is_class(&p, 119 - t, y, 1), "right edge at (%d, %d)", 119 - t, y);
        }
    }
    /* inside the box, past the edges (and below where a label could be) */
    for (int y = 60 + line; y < 130 - line; ++y)
        for (int x = 50 + line; x < 120 - line; ++x)
            if (y > 60 + 40) ck_assert_msg(keeps_image(&p, im, w, h, 3, x, y), "inside the box at (%d, %d)", x, y);
    /* the edge is no thicker than the line, and outside the box below and right is the image */
    ck_assert(keeps_image(&p, im, w, h, 3, 50 + line, 100));
    ck_assert(keeps_image(&p, im, w, h, 3, 85, 130));
    ck_assert(keeps_image(&p, im, w, h, 3, 120, 100));
    ck_assert(keeps_image(&p, im, w, h, 3, 49, 100));
    png_free(&p);
    free(im);
    free(path);
}
END_TEST

START_TEST(label_above_the_box)
{
    int w = 300, h = 200, font;
    abc_draw_detection_sizes(w, h, NULL, &font);
    float *im = pattern(w, h, 3);
    char *path = tmp_path("det_label.png"), *bare = tmp_path("det_label_bare.png");
    abc_draw_box b = {100, 80, 220, 180, 0, 0.5f};
    draw(path, im, w, h, 3, &b, 1);
    png p = png_read(path);
    /* a filled band of the class colour just above the box, at its left */
    int above = count_class(&p, 0, 100, 80 - font / 2, 100 + 2 * font, 80);
    ck_assert_msg(above > font * font * 6 / 10, "only %d label pixels above the box", above);
    ck_assert(is_class(&p, 100, 79, 0));
    /* nothing of it far above, nor inside the box under its top edge */
    ck_assert_int_eq(count_class(&p, 0, 0, 0, w, 80 - 3 * font), 0);
    int line;
    abc_draw_detection_sizes(w, h, &line, NULL);
    ck_assert_int_eq(count_class(&p, 0, 100 + line, 80 + line, 220 - line, 80 + line + font), 0);
    png_free(&p);
    free(im);
    free(path);
    free(bare);
}
END_TEST

START_TEST(label_inside_when_box_touches_the_top)
{
    int w = 300, h = 200, font, line;
    abc_draw_detection_sizes(w, h, &line, &font);
    float *im = pattern(w, h, 3);
    char *path = tmp_path("det_top.png");
    abc_draw_box b = {100, 0, 220, 150, 0, 0.99f};
    draw(path, im, w, h, 3, &b, 1);
    png p = png_read(path);
    int inside = count_class(&p, 0, 100 + line, line, 100 + line + 2 * font, line + font);
    ck_assert_msg(inside > 2 * font * font / 3, "only %d label pixels inside the box's top", inside);
    /* a box lower down has none there */
    abc_draw_box low = {100, 40, 220, 150, 0, 0.99f};
    draw(path, im, w, h, 3, &low, 1);
    png q = png_read(path);
    ck_assert_int_eq(count_class(&q, 0, 100 + line, 40 + line, 100 + line + 2 * font, 40 + line + font / 2), 0);
    png_free(&p);
    png_free(&q);
    free(im);
    free(path);
}
END_TEST

START_TEST(label_kept_inside_at_the_right_edge)
{
    int w = 200, h = 150, font;
    abc_draw_detection_sizes(w, h, NULL, &font);
    float *im = pattern(w, h, 3);
    char *path = tmp_path("det_right.png");
    abc_draw_box b = {190, 60, 200, 100, 2, 0.5f}; /* "car 50%" is wider than the box */
    draw(path, im, w, h, 3, &b, 1);
    png p = png_read(path);
    /* the label ends at the image's right edge and reaches left of the box */
    ck_assert(is_class(&p, w - 1, 59, 2));
    ck_assert_msg(count_class(&p, 2, 150, 60 - font / 2, 190, 60) > 0, "the label does not extend left of the box");
    png_free(&p);
    free(im);
    free(path);
}
END_TEST

START_TEST(one_channel_image_comes_out_grey)
{
    int w = 120, h = 90;
    float *im = pattern(w, h, 1);
    char *path = tmp_path("det_grey.png");
    abc_draw_box b = {20, 40, 100, 85, 3, 0.7f};
    draw(path, im, w, h, 1, &b, 1);
    png p = png_read(path);
    ck_assert_int_eq(p.w, w);
    int grey = 0;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            if (x >= 18 && y >= 10) continue; /* the box and its label */
            ck_assert_msg(keeps_image(&p, im, w, h, 1, x, y), "(%d, %d) is not the image's grey", x, y);
            ++grey;
        }
    ck_assert_int_gt(grey, 1000);
    ck_assert(is_class(&p, 20, 60, 3)); /* the box is still in colour */
    int c[3];
    px(&p, 60, 70, c);
    ck_assert_msg(c[0] == c[1] && c[1] == c[2], "inside the box (%d, %d, %d) is not grey", c[0], c[1], c[2]);
    png_free(&p);
    free(im);
    free(path);
}
END_TEST

START_TEST(boxes_outside_clipped_inverted_same)
{
    int w = 100, h = 80, line;
    abc_draw_detection_sizes(w, h, &line, NULL);
    float *im = pattern(w, h, 3);
    char *path = tmp_path("det_clip.png"), *alone = tmp_path("det_clip_alone.png");
    abc_draw_box b[] = {
        {-50, 30, 30, 70, 1, 0.9f},        /* partly outside on the left */
        {500, 30, 600, 70, 2, 0.9f},       /* wholly outside */
        {-1e30f, -1e30f, -1e29f, 5, 2, 1}, /* far outside */
        {1e30f, 1e30f, 3e30f, 4e30f, 3, 1},
        {70, 50, 70, 50, 3, 0.4f},         /* zero size */
        {95, -10, 130, 90, 0, 2.0f},       /* larger than the image on three sides, score above 1 */
    };
    draw(path, im, w, h, 3, b, 6);
    png p = png_read(path);
    for (int y = 30 + line; y < 70 - line; ++y)
        ck_assert_msg(is_class(&p, 0, y, 1), "clipped box's edge at x=0, y=%d", y);
    ck_assert(keeps_image(&p, im, w, h, 3, 15, 60));
    ck_assert(is_class(&p, 70, 50, 3)); /* the zero-size box is a dot */
    ck_assert(is_class(&p, 99, 70, 0));
    png_free(&p);
    /* the wholly outside boxes drew nothing: the same bytes without them */
    abc_draw_box kept[] = {b[0], b[4], b[5]};
    draw(alone, im, w, h, 3, kept, 3);
    ck_assert_msg(same_bytes(path, alone), "boxes outside the image changed the picture");
    /* an inverted box is the same box */
    abc_draw_box fwd = {20, 15, 70, 60, 1, 0.6f}, inv = {70, 60, 20, 15, 1, 0.6f};
    draw(path, im, w, h, 3, &fwd, 1);
    draw(alone, im, w, h, 3, &inv, 1);
    ck_assert_msg(same_bytes(path, alone), "an inverted box is drawn differently");
    free(im);
    free(path);
    free(alone);
}
END_TEST

START_TEST(non_finite_boxes_skipped)
{
    int w = 64, h = 64;
    float *im = pattern(w, h, 3);
    char *path = tmp_path("det_nan.png"), *none = tmp_path("det_none.png");
    abc_draw_box b[] = {
        {NAN, 10, 30, 30, 0, 0.5f}, {10, 10, 30, NAN, 1, 0.5f}, {10, 10, 30, 30, 2, NAN},
        {INFINITY, 10, 30, 30, 0, 0.5f}, {10, 10, 30, 30, 0, -INFINITY},
    };
    draw(path, im, w, h, 3, b, 5);
    draw(none, im, w, h, 3, NULL, 0);
    ck_assert_msg(same_bytes(path, none), "a non-finite box was drawn");
    png p = png_read(none);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) ck_assert_msg(keeps_image(&p, im, w, h, 3, x, y), "n = 0 changed (%d, %d)", x, y);
    png_free(&p);
    /* out-of-range and NaN pixel values are clamped */
    im[0] = NAN, im[1] = -3, im[2] = 7;
    draw(none, im, w, h, 3, NULL, 0);
    p = png_read(none);
    int c[3];
    px(&p, 0, 0, c);
    ck_assert_int_eq(c[0], 0);
    px(&p, 1, 0, c);
    ck_assert_int_eq(c[0], 0);
    px(&p, 2, 0, c);
    ck_assert_int_eq(c[0], 255);
    png_free(&p);
    free(im);
    free(path);
    free(none);
}
END_TEST

START_TEST(visible_on_small_and_large_images)
{
    int line, font;
    abc_draw_detection_sizes(64, 64, &line, &font);
    ck_assert_int_eq(line, 2);
    ck_assert_int_eq(font, 9);
    abc_draw_detection_sizes(416, 416, &line, &font);
    ck_assert_int_eq(line, 2);
    ck_assert_int_eq(font, 12);
    abc_draw_detection_sizes(4000, 3000, &line, &font);
    ck_assert_int_eq(line, 17);
    ck_assert_int_eq(font, 104);

    /* 64 px: box and label there (libdarknet's draw_detections draws nothing under 167 px) */
    float *im = pattern(64, 64, 3);
    char *path = tmp_path("det_small.png");
    abc_draw_box b = {10, 30, 50, 60, 1, 0.8f};
    draw(path, im, 64, 64, 3, &b, 1);
    png p = png_read(path);
    ck_assert(is_class(&p, 10, 45, 1) && is_class(&p, 11, 45, 1) && is_class(&p, 49, 45, 1));
    ck_assert_int_gt(count_class(&p, 1, 10, 30 - 5, 30, 30), 40);
    png_free(&p);
    free(im);

    /* 1600 x 1200: thick edges, exactly the line width, and a large label */
    int w = 1600, h = 1200;
    abc_draw_detection_sizes(w, h, &line, &font);
    ck_assert_int_gt(line, 4);
    im = pattern(w, h, 3);
    abc_draw_box big = {400, 500, 1200, 1100, 2, 0.55f};
    draw(path, im, w, h, 3, &big, 1);
    p = png_read(path);
    for (int t = 0; t < line; ++t) ck_assert(is_class(&p, 400 + t, 800, 2));
    ck_assert(keeps_image(&p, im, w, h, 3, 400 + line, 800));
    ck_assert_int_gt(count_class(&p, 2, 400, 500 - font / 2, 400 + 2 * font, 500), font * font * 6 / 10);
    png_free(&p);
    free(im);
    free(path);
}
END_TEST

START_TEST(names_cleaned_and_missing_names_numbered)
{
    int w = 160, h = 120;
    float *im = pattern(w, h, 3);
    char *a = tmp_path("det_name_a.png"), *b = tmp_path("det_name_b.png");
    abc_draw_box box = {20, 50, 120, 110, 1, 0.5f};
    char err[256];
    const char *bad[] = {"x", "d\xff\xfe\ng"}, *clean[] = {"x", "d???g"};
    ck_assert_int_eq(abc_draw_detections_png(a, im, w, h, 3, &box, 1, bad, 2, err, sizeof err), 0);
    ck_assert_int_eq(abc_draw_detections_png(b, im, w, h, 3, &box, 1, clean, 2, err, sizeof err), 0);
    ck_assert_msg(same_bytes(a, b), "invalid UTF-8 and control characters are not drawn as '?'");
    const char *other[] = {"x", "dog"};
    ck_assert_int_eq(abc_draw_detections_png(b, im, w, h, 3, &box, 1, other, 2, err, sizeof err), 0);
    ck_assert_msg(!same_bytes(a, b), "the name is not drawn");
    /* no names, a NULL name, a class past the names: the class number */
    const char *numbered[] = {"x", "1"}, *nulls[] = {"x", NULL};
    ck_assert_int_eq(abc_draw_detections_png(a, im, w, h, 3, &box, 1, numbered, 2, err, sizeof err), 0);
    ck_assert_int_eq(abc_draw_detections_png(b, im, w, h, 3, &box, 1, NULL, 0, err, sizeof err), 0);
    ck_assert(same_bytes(a, b));
    ck_assert_int_eq(abc_draw_detections_png(b, im, w, h, 3, &box, 1, nulls, 2, err, sizeof err), 0);
    ck_assert(same_bytes(a, b));
    ck_assert_int_eq(abc_draw_detections_png(b, im, w, h, 3, &box, 1, numbered, 1, err, sizeof err), 0);
    ck_assert(same_bytes(a, b));
    /* negative and huge class ids get a palette colour */
    abc_draw_box odd[] = {{10, 10, 60, 60, -7, 0.5f}, {70, 20, 150, 100, 2147483647, 0.5f}};
    ck_assert_int_eq(abc_draw_detections_png(a, im, w, h, 3, odd, 2, names, 4, err, sizeof err), 0);
    png p = png_read(a);
    ck_assert(is_class(&p, 10, 40, -7) && is_class(&p, 149, 60, 2147483647));
    png_free(&p);
    free(im);
    free(a);
    free(b);
}
END_TEST

START_TEST(palette_fixed_and_distinct)
{
    unsigned char c[ABC_DRAW_PALETTE][3], d[3];
    for (int i = 0; i < ABC_DRAW_PALETTE; ++i) abc_draw_class_color(i, c[i]);
    for (int i = 0; i < ABC_DRAW_PALETTE; ++i)
        for (int j = 0; j < i; ++j) ck_assert_msg(memcmp(c[i], c[j], 3), "classes %d and %d share a colour", i, j);
    abc_draw_class_color(ABC_DRAW_PALETTE + 3, d);
    ck_assert(!memcmp(d, c[3], 3));
    abc_draw_class_color(-1, d);
    ck_assert(!memcmp(d, c[ABC_DRAW_PALETTE - 1], 3));
}
END_TEST

START_TEST(detections_deterministic)
{
    int w = 416, h = 416;
    float *im = pattern(w, h, 3);
    abc_draw_box b[20];
    for (int i = 0; i < 20; ++i)
        b[i] = (abc_draw_box){(float)(i * 19 % 380), (float)(i * 37 % 380), (float)(i * 19 % 380 + 40 + i),
                              (float)(i * 37 % 380 + 30 + i), i % 4, 0.3f + 0.03f * i};
    char *a = tmp_path("det_det_a.png"), *bb = tmp_path("det_det_b.png");
    draw(a, im, w, h, 3, b, 20);
    draw(bb, im, w, h, 3, b, 20);
    ck_assert_msg(same_bytes(a, bb), "the same detections gave different bytes");
    b[7].score = 0.01f; /* a label changes: so do the bytes */
    draw(bb, im, w, h, 3, b, 20);
    ck_assert(!same_bytes(a, bb));
    free(im);
    free(a);
    free(bb);
}
END_TEST

START_TEST(detections_bad_input_and_unwritable_path)
{
    float *im = pattern(32, 32, 3);
    char err[512];
    char *path = tmp_path("det_bad.png");
    const char *dir = draw_dir();
    /* bad arguments: -1, a reason, no file */
    ck_assert_int_eq(abc_draw_detections_png(path, im, 32, 32, 2, NULL, 0, NULL, 0, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "2 channels"));
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_int_eq(abc_draw_detections_png(path, im, 0, 32, 3, NULL, 0, NULL, 0, err, sizeof err), -1);
    ck_assert_int_eq(abc_draw_detections_png(path, im, 40000, 32, 3, NULL, 0, NULL, 0, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "40000x32"));
    ck_assert_int_eq(abc_draw_detections_png(path, NULL, 32, 32, 3, NULL, 0, NULL, 0, err, sizeof err), -1);
    ck_assert_int_eq(abc_draw_detections_png(path, im, 32, 32, 3, NULL, -1, NULL, 0, err, sizeof err), -1);
    ck_assert_int_eq(abc_draw_detections_png(path, im, 32, 32, 3, NULL, 2, NULL, 0, NULL, 0), -1); /* err may be NULL */
    ck_assert(!exists(path));
    /* an old file survives a failure, and is replaced by a success */
    abc_draw_box b = {4, 4, 20, 20, 0, 1};
    draw(path, im, 32, 32, 3, &b, 1);
    size_t n0, n1;
    unsigned char *before = slurp(path, &n0);
    ck_assert_int_eq(abc_draw_detections_png(path, im, 32, 32, 5, &b, 1, NULL, 0, err, sizeof err), -1);
    unsigned char *after = slurp(path, &n1);
    ck_assert(n0 == n1 && !memcmp(before, after, n0));
    free(before);
    free(after);
    /* a missing folder: the message names the path */
    char *missing = tmp_path("no/such/dir/out.png");
    ck_assert_int_eq(abc_draw_detections_png(missing, im, 32, 32, 3, &b, 1, NULL, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, missing) && strstr(err, "No such file"), "message: %s", err);
    /* the path is a folder: the temp file is written, the rename fails, nothing is left */
    char *folder = tmp_path("det_folder.png");
    ck_assert_int_eq(mkdir(folder, 0755), 0);
    ck_assert_int_eq(abc_draw_detections_png(folder, im, 32, 32, 3, &b, 1, NULL, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, folder) != NULL, "message: %s", err);
    ck_assert_int_eq(count_entries(dir, "det_folder.png.tmp"), 0);
    ck_assert_int_eq(count_entries(dir, ".tmp."), 0);
    free(im);
    free(path);
    free(missing);
    free(folder);
}
END_TEST

START_TEST(font_is_dejavu_sans)
{
    /* the face the toy API gives for ABC_DRAW_FONT is DejaVu Sans, not a fontconfig fallback */
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 8, 8);
    cairo_t *cr = cairo_create(s);
    cairo_select_font_face(cr, ABC_DRAW_FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_scaled_font_t *sf = cairo_get_scaled_font(cr);
    ck_assert_int_eq(cairo_scaled_font_get_type(sf), CAIRO_FONT_TYPE_FT);
    FT_Face face = cairo_ft_scaled_font_lock_face(sf);
    ck_assert_ptr_nonnull(face);
    char family[128];
    snprintf(family, sizeof family, "%s", face->family_name ? face->family_name : "");
    cairo_ft_scaled_font_unlock_face(sf);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    ck_assert_msg(!strcmp(family, "DejaVu Sans"), "labels would be drawn in '%s' (is fonts-dejavu-core installed?)",
                  family);
}
END_TEST

/* ---- chart ---- */

typedef struct {
    int x0, y0, x1, y1; /* the plot's frame (its pixels) */
} frame;

static int is_black(const png *p, int x, int y) { return px_is(p, x, y, 0, 0, 0); }

/* The frame is the chart's only pure black: the first and last black pixels of the middle row and column. */
static frame find_frame(const png *p)
{
    frame f = {-1, -1, -1, -1};
    int my = p->h / 2;
    for (int x = 0; x < p->w && f.x0 < 0; ++x)
        if (is_black(p, x, my)) f.x0 = x;
    for (int x = p->w - 1; x >= 0 && f.x1 < 0; --x)
        if (is_black(p, x, my)) f.x1 = x;
    ck_assert_msg(f.x0 > 0 && f.x1 > f.x0 + 100, "no plot frame on the middle row: %d %d", f.x0, f.x1);
    int mx = (f.x0 + f.x1) / 2;
    for (int y = 0; y < p->h && f.y0 < 0; ++y)
        if (is_black(p, mx, y)) f.y0 = y;
    for (int y = p->h - 1; y >= 0 && f.y1 < 0; --y)
        if (is_black(p, mx, y)) f.y1 = y;
    ck_assert_msg(f.x0 > 0 && f.x1 > f.x0 + 100 && f.y0 > 0 && f.y1 > f.y0 + 100, "no plot frame found: %d %d %d %d",
                  f.x0, f.y0, f.x1, f.y1);
    /* a frame: black along its four sides */
    for (int x = f.x0; x <= f.x1; x += 5) ck_assert(is_black(p, x, f.y0) && is_black(p, x, f.y1));
    for (int y = f.y0; y <= f.y1; y += 5) ck_assert(is_black(p, f.x0, y) && is_black(p, f.x1, y));
    return f;
}

static int bluish(const int c[3]) { return c[2] > c[0] + 25 && c[2] > c[1] + 10; }
static int reddish(const int c[3]) { return c[0] > 120 && c[1] < 80 && c[2] < 80; }
/* the mAP labels' dark red, darker than the points and their line (and than either blended with anything) */
static int dark_red(const int c[3]) { return c[0] > 100 && c[0] < 175 && c[1] < 40 && c[2] < 40; }

/* Pixels satisfying pred in columns [x0, x1) and rows [y0, y1). */
static int count_px(const png *p, int (*pred)(const int *), int x0, int y0, int x1, int y1)
{
    int n = 0, c[3];
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) {
            px(p, x, y, c);
            n += pred(c);
        }
    return n;
}

/* n iterations 1..n of a decreasing loss with noise, and its running average. */
typedef struct {
    float *x, *raw, *avg;
    int n;
} loss_data;

static loss_data make_loss(int n, float start, int last_iter)
{
    loss_data d = {malloc(sizeof(float) * n), malloc(sizeof(float) * n), malloc(sizeof(float) * n), n};
    unsigned seed = 5;
    float avg = -1;
    for (int i = 0; i < n; ++i) {
        d.x[i] = (float)(i + 1) * last_iter / n;
        d.raw[i] = start * expf(-3.0f * i / n) + abc_test_urand(&seed, 0, 0.5f);
        avg = avg < 0 ? d.raw[i] : avg * 0.9f + d.raw[i] * 0.1f;
        d.avg[i] = avg;
    }
    return d;
}

static void free_loss(loss_data *d)
{
    free(d->x);
    free(d->raw);
    free(d->avg);
}

static int chart(const char *path, int w, int h, const char *title, int max_iter, const loss_data *d,
                 const abc_series *map)
{
    abc_series raw = {d->x, d->raw, d->n}, avg = {d->x, d->avg, d->n};
    char err[512] = "";
    int r = abc_chart_png(path, w, h, title, max_iter, &raw, &avg, map, err, sizeof err);
    ck_assert_msg(r == 0, "chart %s: %s", path, err);
    return r;
}

/* The column of iteration it in frame f of a chart from 0 to max_iter. */
static int col_of(const frame *f, double it, int max_iter)
{
    return f->x0 + (int)lround(it / max_iter * (f->x1 - f->x0));
}

START_TEST(chart_loss_where_the_data_is)
{
    char *path = tmp_path("chart.png");
    loss_data d = make_loss(500, 8, 500); /* iterations 1..500 of 1000 */
    chart(path, 1000, 600, "fmnist-det  iter 500/1000  avg loss 0.812  350 img/s  ETA 1m20s", 1000, &d, NULL);
    png p = png_read(path);
    ck_assert_int_eq(p.w, 1000);
    ck_assert_int_eq(p.h, 600);
    frame f = find_frame(&p);
    /* the loss where the data is: in every stretch of 50 iterations up to 480 */
    for (int it = 10; it < 480; it += 50) {
        int n = count_px(&p, bluish, col_of(&f, it, 1000), f.y0 + 1, col_of(&f, it + 20, 1000), f.y1);
        ck_assert_msg(n > 10, "no loss curve at iterations %d..%d (%d pixels)", it, it + 20, n);
    }
    /* none past the data (iteration 500, plus the line's width), none outside the frame but the legend */
    int past = count_px(&p, bluish, col_of(&f, 500, 1000) + 4, f.y0 + 1, f.x1, f.y1);
    ck_assert_int_eq(past, 0);
    ck_assert_int_eq(count_px(&p, bluish, 0, f.y1 + 1, p.w, p.h), 0);
    ck_assert_int_eq(count_px(&p, bluish, 0, 0, f.x0, p.h), 0);
    ck_assert_int_eq(count_px(&p, bluish, f.x1 + 1, 0, p.w, p.h), 0);
    /* the early loss is high (top half), the late loss low (bottom half) */
    int mid = (f.y0 + f.y1) / 2;
    ck_assert_int_gt(count_px(&p, bluish, col_of(&f, 30, 1000), f.y0 + 1, col_of(&f, 60, 1000), mid), 10);
    ck_assert_int_eq(count_px(&p, bluish, col_of(&f, 400, 1000), f.y0 + 1, col_of(&f, 490, 1000), mid), 0);
    ck_assert_int_gt(count_px(&p, bluish, col_of(&f, 400, 1000), mid, col_of(&f, 490, 1000), f.y1), 10);
    /* no mAP given: nothing red */
    ck_assert_int_eq(count_px(&p, reddish, 0, 0, p.w, p.h), 0);
    png_free(&p);

    /* the same loss to iteration 1000: now the right half has it */
    free_loss(&d);
    d = make_loss(1000, 8, 1000);
    chart(path, 1000, 600, "t", 1000, &d, NULL);
    p = png_read(path);
    f = find_frame(&p);
    ck_assert_int_gt(count_px(&p, bluish, col_of(&f, 600, 1000), f.y0 + 1, f.x1, f.y1), 100);
    png_free(&p);
    free_loss(&d);
    free(path);
}
END_TEST

START_TEST(chart_map_points_only_when_given)
{
    char *path = tmp_path("chart_map.png");
    loss_data d = make_loss(800, 5, 800);
    float mx[] = {200, 400, 600, 800}, my[] = {0.10f, 0.35f, 0.62f, 0.71f};
    abc_series map = {mx, my, 4};
    chart(path, 1000, 600, "map", 1000, &d, &map);
    png p = png_read(path);
    frame f = find_frame(&p);
    /* a red dot at each point: at its column, at its height on the right axis (0..100%) */
    for (int i = 0; i < 4; ++i) {
        int cx = col_of(&f, mx[i], 1000), cy = f.y1 - (int)lround(my[i] * (f.y1 - f.y0));
        int n = count_px(&p, reddish, cx - 2, cy - 2, cx + 3, cy + 3);
        ck_assert_msg(n >= 20, "mAP point %d at (%d, %d): %d red pixels", i, cx, cy, n);
        /* and its label just above: dark red text */
        int lab = count_px(&p, dark_red, cx - 30, cy - 30, cx + 30, cy - 4);
        ck_assert_msg(lab > 10, "mAP point %d: no label above (%d dark red pixels)", i, lab);
    }
    /* nothing red past the last point (but its label), nor left of the first */
    ck_assert_int_eq(count_px(&p, reddish, col_of(&f, 800, 1000) + 40, f.y0 + 1, f.x1, f.y1), 0);
    ck_assert_int_eq(count_px(&p, reddish, f.x0 + 1, f.y0 + 1, col_of(&f, 200, 1000) - 40, f.y1), 0);
    png_free(&p);
    /* without: no red anywhere; with n = 0: the same picture as without */
    char *none = tmp_path("chart_nomap.png"), *empty = tmp_path("chart_emptymap.png");
    chart(none, 1000, 600, "map", 1000, &d, NULL);
    abc_series zero = {NULL, NULL, 0};
    chart(empty, 1000, 600, "map", 1000, &d, &zero);
    p = png_read(none);
    ck_assert_int_eq(count_px(&p, reddish, 0, 0, p.w, p.h), 0);
    png_free(&p);
    ck_assert(same_bytes(none, empty));
    free_loss(&d);
    free(path);
    free(none);
    free(empty);
}
END_TEST

START_TEST(chart_deterministic)
{
    char *a = tmp_path("chart_a.png"), *b = tmp_path("chart_b.png");
    loss_data d = make_loss(10000, 20, 10000);
    float mx[] = {2000, 4000, 6000, 8000, 10000}, my[] = {0.1f, 0.3f, 0.5f, 0.55f, 0.6f};
    abc_series map = {mx, my, 5};
    chart(a, 1000, 600, "yolo  iter 10000", 20000, &d, &map);
    chart(b, 1000, 600, "yolo  iter 10000", 20000, &d, &map);
    ck_assert_msg(same_bytes(a, b), "the same chart gave different bytes");
    chart(b, 1000, 600, "yolo  iter 10001", 20000, &d, &map);
    ck_assert_msg(!same_bytes(a, b), "the title is not drawn");
    free_loss(&d);
    free(a);
    free(b);
}
END_TEST

START_TEST(chart_odd_input)
{
    char *path = tmp_path("chart_odd.png");
    char err[512];
    float x[] = {0, 1, NAN, 3, 4, INFINITY, 6, 1e9f, -5, 2}, y[] = {1, NAN, 2, 1e30f, -3, 1, INFINITY, 2, 1, -1e30f};
    abc_series odd = {x, y, 10}, one = {x, y, 1}, none = {NULL, NULL, 0};
    float nx[] = {NAN, NAN}, ny[] = {1, 2};
    abc_series nans = {nx, ny, 2};
    struct {
        int max_iter;
        const abc_series *l, *a, *m;
    } cases[] = {
        {0, NULL, NULL, NULL}, {1000, &none, &none, &none}, {0, &odd, &odd, &odd}, {5, &odd, NULL, &odd},
        {0, &one, &one, &one}, {100, &nans, &nans, &nans},   {2147483647, &odd, &odd, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        int r = abc_chart_png(path, 640, 400, i % 2 ? NULL : "odd \xff title\n", cases[i].max_iter, cases[i].l,
                              cases[i].a, cases[i].m, err, sizeof err);
        ck_assert_msg(r == 0, "case %zu: %s", i, err);
        png p = png_read(path);
        ck_assert(p.w == 640 && p.h == 400);
        find_frame(&p);
        png_free(&p);
    }
    /* the smallest and a large chart */
    loss_data d = make_loss(300, 3, 300);
    chart(path, 160, 120, "small", 0, &d, NULL);
    png p = png_read(path);
    ck_assert(p.w == 160 && p.h == 120);
    png_free(&p);
    chart(path, 4000, 2400, "large", 0, &d, NULL);
    p = png_read(path);
    ck_assert(p.w == 4000 && p.h == 2400);
    find_frame(&p);
    png_free(&p);
    free_loss(&d);
    /* many points: drawn as the columns' extremes, still where the data is */
    d = make_loss(200000, 10, 200000);
    chart(path, 800, 500, "many", 0, &d, NULL);
    p = png_read(path);
    frame f = find_frame(&p);
    for (int k = 1; k < 10; ++k) { /* from a tenth on: the axis ends above the loss from there */
        int x0 = f.x0 + 2 + k * (f.x1 - f.x0 - 4) / 10;
        ck_assert_msg(count_px(&p, bluish, x0, f.y0 + 1, x0 + 5, f.y1) > 0, "no loss in columns %d..%d", x0, x0 + 5);
    }
    png_free(&p);
    free_loss(&d);
    /* bad arguments: -1 and a reason */
    ck_assert_int_eq(abc_chart_png(path, 100, 400, "", 0, NULL, NULL, NULL, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "100x400"));
    ck_assert_int_eq(abc_chart_png(path, 640, 40000, "", 0, NULL, NULL, NULL, err, sizeof err), -1);
    abc_series neg = {x, y, -1}, nox = {NULL, y, 3};
    ck_assert_int_eq(abc_chart_png(path, 640, 400, "", 0, &neg, NULL, NULL, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "-1 points"));
    ck_assert_int_eq(abc_chart_png(path, 640, 400, "", 0, NULL, NULL, &nox, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "mAP"));
    ck_assert_int_eq(abc_chart_png(NULL, 640, 400, "", 0, NULL, NULL, NULL, NULL, 0), -1);
    free(path);
}
END_TEST

START_TEST(chart_unwritable_path)
{
    const char *dir = draw_dir();
    char err[512];
    loss_data d = make_loss(100, 3, 100);
    abc_series raw = {d.x, d.raw, d.n};
    char *missing = tmp_path("nowhere/chart.png");
    ck_assert_int_eq(abc_chart_png(missing, 640, 400, "t", 100, &raw, NULL, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, missing) && strstr(err, "No such file"), "message: %s", err);
    char *folder = tmp_path("chart_folder.png");
    ck_assert_int_eq(mkdir(folder, 0755), 0);
    ck_assert_int_eq(abc_chart_png(folder, 640, 400, "t", 100, &raw, NULL, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, folder) != NULL, "message: %s", err);
    ck_assert_int_eq(count_entries(dir, "chart_folder.png.tmp"), 0);
    /* a good chart leaves no temp file either */
    char *good = tmp_path("chart_good.png");
    ck_assert_int_eq(abc_chart_png(good, 640, 400, "t", 100, &raw, NULL, NULL, err, sizeof err), 0);
    ck_assert_int_eq(count_entries(dir, ".tmp."), 0);
    ck_assert(exists(good));
    free_loss(&d);
    free(missing);
    free(folder);
    free(good);
}
END_TEST

static Suite *suite_draw(void)
{
    Suite *s = suite_create("draw");
    TCase *td = tcase_create("detections");
    tcase_add_test(td, box_edges_in_class_colour_and_image_kept);
    tcase_add_test(td, label_above_the_box);
    tcase_add_test(td, label_inside_when_box_touches_the_top);
    tcase_add_test(td, label_kept_inside_at_the_right_edge);
    tcase_add_test(td, one_channel_image_comes_out_grey);
    tcase_add_test(td, boxes_outside_clipped_inverted_same);
    tcase_add_test(td, non_finite_boxes_skipped);
    tcase_add_test(td, visible_on_small_and_large_images);
    tcase_add_test(td, names_cleaned_and_missing_names_numbered);
    tcase_add_test(td, palette_fixed_and_distinct);
    tcase_add_test(td, detections_deterministic);
    tcase_add_test(td, detections_bad_input_and_unwritable_path);
    tcase_add_test(td, font_is_dejavu_sans);
    tcase_set_timeout(td, 60);
    suite_add_tcase(s, td);
    TCase *tc = tcase_create("chart");
    tcase_add_test(tc, chart_loss_where_the_data_is);
    tcase_add_test(tc, chart_map_points_only_when_given);
    tcase_add_test(tc, chart_deterministic);
    tcase_add_test(tc, chart_odd_input);
    tcase_add_test(tc, chart_unwritable_path);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_draw)
