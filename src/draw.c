/* Pictures with cairo: the training chart and detections on an image, written as PNG through a temporary
 * file and a rename. Boxes and fills are whole-pixel rectangles without antialiasing (exact colours); lines
 * of the chart and text are antialiased; text uses the toy font API with fixed font options, so the bytes
 * depend only on the input (and on cairo's and the font's versions). */
#include "draw.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/files.h"
#include "abc/base/util.h"


static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- text ---- */

/* s as valid UTF-8 without control characters (each bad byte or control character becomes '?'), at most
 * n - 1 bytes, cut at a character boundary. */
static void clean_text(char *out, size_t n, const char *s)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p && o + 1 < n) {
        unsigned c = p[0];
        int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        int ok = len > 0;
        for (int i = 1; ok && i < len; ++i) ok = (p[i] & 0xC0) == 0x80;
        if (ok && len > 1) { /* no overlong forms, surrogates or code points above U+10FFFF */
            unsigned cp = len == 2 ? (c & 0x1Fu) << 6 | (p[1] & 0x3Fu)
                          : len == 3 ? (c & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu)
                                     : (c & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
            unsigned min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
            ok = cp >= min && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF) && (cp < 0x80 || cp > 0x9F);
        }
        if (ok && len == 1 && (c < 0x20 || c == 0x7F)) ok = 0;
        if (!ok) {
            out[o++] = '?';
            ++p;
            continue;
        }
        if (o + (size_t)len >= n) break;
        memcpy(out + o, p, (size_t)len);
        o += (size_t)len;
        p += len;
    }
    out[o] = 0;
}

/* The font of every picture at px pixels, with options that do not depend on fontconfig's settings. */
static void set_font(cairo_t *cr, double px, int bold)
{
    cairo_select_font_face(cr, ABC_DRAW_FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, px);
    cairo_font_options_t *o = cairo_font_options_create();
    cairo_font_options_set_antialias(o, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(o, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(o, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_subpixel_order(o, CAIRO_SUBPIXEL_ORDER_DEFAULT);
    cairo_set_font_options(cr, o);
    cairo_font_options_destroy(o);
}

static double text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* s with its baseline at y, anchored at x: align 0 left, 1 centre, 2 right. */
static void text_at(cairo_t *cr, const char *s, double x, double y, int align)
{
    double w = align ? text_width(cr, s) : 0;
    cairo_move_to(cr, x - (align == 1 ? w / 2 : align == 2 ? w : 0), y);
    cairo_show_text(cr, s);
}

/* ---- PNG output ---- */

static cairo_status_t write_fp(void *closure, const unsigned char *data, unsigned int length)
{
    return fwrite(data, 1, length, (FILE *)closure) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static int write_png(cairo_surface_t *s, const char *path, const char *what, char *err, size_t errn)
{
    abc_atomic_file f;
    if (abc_atomic_open(&f, path)) return abc_err(err, errn, "cannot write %s '%s': %s", what, path, strerror(errno));
    cairo_status_t st = cairo_surface_write_to_png_stream(s, write_fp, f.fp);
    if (st != CAIRO_STATUS_SUCCESS) {
        int e = errno;
        abc_atomic_abort(&f);
        return abc_err(err, errn, "cannot write %s '%s': %s", what, path,
                    st == CAIRO_STATUS_WRITE_ERROR && e ? strerror(e) : cairo_status_to_string(st));
    }
    if (abc_atomic_commit(&f)) return abc_err(err, errn, "cannot write %s '%s': %s", what, path, strerror(errno));
    return 0;
}

/* A new RGB surface and its context, or NULL with the reason in err. */
static cairo_t *new_canvas(int w, int h, const char *what, const char *path, char *err, size_t errn)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_status_t st = cairo_surface_status(s);
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        abc_err(err, errn, "%s '%s': cannot make a %dx%d picture: %s", what, path, w, h, cairo_status_to_string(st));
        return NULL;
    }
    cairo_t *cr = cairo_create(s);
    cairo_surface_destroy(s); /* cr holds it */
    st = cairo_status(cr);
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_destroy(cr);
        abc_err(err, errn, "%s '%s': %s", what, path, cairo_status_to_string(st));
        return NULL;
    }
    return cr;
}

/* Writes cr's surface to path and destroys cr. */
static int finish(cairo_t *cr, const char *path, const char *what, char *err, size_t errn)
{
    cairo_status_t st = cairo_status(cr);
    cairo_surface_t *s = cairo_get_target(cr);
    cairo_surface_flush(s);
    int r = st != CAIRO_STATUS_SUCCESS ? abc_err(err, errn, "%s '%s': drawing failed: %s", what, path,
                                              cairo_status_to_string(st))
                                       : write_png(s, path, what, err, errn);
    cairo_destroy(cr);
    return r;
}

/* ---- detections ---- */

static const unsigned char palette[ABC_DRAW_PALETTE][3] = {
    {230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},  {245, 130, 48}, {145, 30, 180},
    {70, 240, 240}, {240, 50, 230}, {210, 245, 60}, {0, 128, 128},  {170, 110, 40}, {128, 0, 0},
    {128, 128, 0},  {0, 0, 128},    {255, 105, 180}, {100, 70, 255},
};

void abc_draw_class_color(int cls, unsigned char rgb[3])
{
    int i = (int)(((long long)cls % ABC_DRAW_PALETTE + ABC_DRAW_PALETTE) % ABC_DRAW_PALETTE);
    memcpy(rgb, palette[i], 3);
}

void abc_draw_detection_sizes(int w, int h, int *line, int *font_px)
{
    double s = sqrt((double)(w > 1 ? w : 1) * (h > 1 ? h : 1));
    int l = (int)lround(0.005 * s), f = (int)lround(0.03 * s);
    if (l < 2) l = s < 16 ? 1 : 2;
    if (f < 9) f = 9;
    if (line) *line = l;
    if (font_px) *font_px = f;
}

static void fill_rect(cairo_t *cr, int x0, int y0, int x1, int y1)
{
    if (x1 > x0 && y1 > y0) {
        cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
        cairo_fill(cr);
    }
}

/* The whole-pixel box [x0, x1) x [y0, y1) of b clipped to the image; 0 if b is skipped. */
static int box_pixels(const abc_draw_box *b, int w, int h, int *x0, int *y0, int *x1, int *y1)
{
    if (!isfinite(b->x0) || !isfinite(b->y0) || !isfinite(b->x1) || !isfinite(b->y1) || !isfinite(b->score))
        return 0;
    double ax = clampd(fmin(b->x0, b->x1), -2, w + 2.0), bx = clampd(fmax(b->x0, b->x1), -2, w + 2.0);
    double ay = clampd(fmin(b->y0, b->y1), -2, h + 2.0), by = clampd(fmax(b->y0, b->y1), -2, h + 2.0);
    int ix0 = (int)lround(ax), ix1 = (int)lround(bx), iy0 = (int)lround(ay), iy1 = (int)lround(by);
    if (ix1 == ix0) ++ix1; /* a degenerate box is still a line */
    if (iy1 == iy0) ++iy1;
    if (ix1 <= 0 || iy1 <= 0 || ix0 >= w || iy0 >= h) return 0;
    *x0 = ix0 < 0 ? 0 : ix0;
    *y0 = iy0 < 0 ? 0 : iy0;
    *x1 = ix1 > w ? w : ix1;
    *y1 = iy1 > h ? h : iy1;
    return 1;
}

static void set_rgb(cairo_t *cr, const unsigned char c[3])
{
    cairo_set_source_rgb(cr, c[0] / 255.0, c[1] / 255.0, c[2] / 255.0);
}

/* The boxes and their labels drawn on cr's w x h picture (abc_draw_detections_png's rules). */
static void draw_boxes(cairo_t *cr, int w, int h, const abc_draw_box *boxes, int n, const char *const *names,
                       int classes)
{
    int line, font_px;
    abc_draw_detection_sizes(w, h, &line, &font_px);
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
    for (int i = 0; i < n; ++i) {
        int x0, y0, x1, y1;
        if (!box_pixels(&boxes[i], w, h, &x0, &y0, &x1, &y1)) continue;
        unsigned char col[3];
        abc_draw_class_color(boxes[i].cls, col);
        set_rgb(cr, col);
        if (x1 - x0 <= 2 * line || y1 - y0 <= 2 * line) {
            fill_rect(cr, x0, y0, x1, y1);
            continue;
        }
        fill_rect(cr, x0, y0, x1, y0 + line);
        fill_rect(cr, x0, y1 - line, x1, y1);
        fill_rect(cr, x0, y0 + line, x0 + line, y1 - line);
        fill_rect(cr, x1 - line, y0 + line, x1, y1 - line);
    }

    set_font(cr, font_px, 0);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    int padx = font_px / 4 > 2 ? font_px / 4 : 2, pady = font_px / 10 > 1 ? font_px / 10 : 1;
    int lh = (int)ceil(fe.ascent + fe.descent) + 2 * pady;
    for (int i = 0; i < n; ++i) {
        int x0, y0, x1, y1;
        if (!box_pixels(&boxes[i], w, h, &x0, &y0, &x1, &y1)) continue;
        const abc_draw_box *b = &boxes[i];
        char name[128], label[160];
        if (names && b->cls >= 0 && b->cls < classes && names[b->cls])
            clean_text(name, sizeof name, names[b->cls]);
        else
            snprintf(name, sizeof name, "%d", b->cls);
        snprintf(label, sizeof label, "%s %d%%", name, (int)lround(clampd(b->score, 0, 1) * 100));
        int lw = (int)ceil(text_width(cr, label)) + 2 * padx;
        int lx = x0, ly = y0 - lh;
        if (ly < 0) ly = y0; /* no room above: inside the box, at its top */
        if (lx + lw > w) lx = w - lw;
        if (lx < 0) lx = 0;
        unsigned char col[3];
        abc_draw_class_color(b->cls, col);
        set_rgb(cr, col);
        cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
        fill_rect(cr, lx, ly, lx + lw, ly + lh);
        double lum = 0.299 * col[0] + 0.587 * col[1] + 0.114 * col[2];
        if (lum > 140)
            cairo_set_source_rgb(cr, 0, 0, 0);
        else
            cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
        cairo_save(cr);
        cairo_rectangle(cr, lx, ly, lw, lh);
        cairo_clip(cr);
        text_at(cr, label, lx + padx, ly + pady + fe.ascent, 0);
        cairo_restore(cr);
    }
}

int abc_draw_detections_png(const char *path, const float *chw, int w, int h, int c, const abc_draw_box *boxes,
                            int n, const char *const *names, int classes, char *err, size_t errn)
{
    if (!path || !*path) return abc_err(err, errn, "detections: no output path");
    if (w < 1 || h < 1 || w > ABC_DRAW_MAX_SIDE || h > ABC_DRAW_MAX_SIDE)
        return abc_err(err, errn, "image '%s': size %dx%d is out of range (1..%d per side)", path, w, h,
                    ABC_DRAW_MAX_SIDE);
    if (c != 1 && c != 3) return abc_err(err, errn, "image '%s': %d channels (must be 1 or 3)", path, c);
    if (!chw) return abc_err(err, errn, "image '%s': no pixels", path);
    if (n < 0 || (n > 0 && !boxes)) return abc_err(err, errn, "image '%s': %d boxes at %p", path, n, (const void *)boxes);

    cairo_t *cr = new_canvas(w, h, "image", path, err, errn);
    if (!cr) return -1;
    cairo_surface_t *s = cairo_get_target(cr);
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    size_t plane = (size_t)w * (size_t)h;
    for (int y = 0; y < h; ++y) {
        unsigned *row = (unsigned *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; ++x) {
            unsigned v[3];
            for (int k = 0; k < 3; ++k) {
                float f = chw[(size_t)(c == 3 ? k : 0) * plane + (size_t)y * (size_t)w + (size_t)x];
                f = f >= 0 ? (f <= 1 ? f : 1) : 0; /* NaN too */
                v[k] = (unsigned)(f * 255.0f + 0.5f);
            }
            row[x] = 0xFF000000u | v[0] << 16 | v[1] << 8 | v[2];
        }
    }
    cairo_surface_mark_dirty(s);
    draw_boxes(cr, w, h, boxes, n, names, classes);
    return finish(cr, path, "image", err, errn);
}

int abc_draw_detections_rgb(unsigned char *rgb, int w, int h, const abc_draw_box *boxes, int n,
                            const char *const *names, int classes, char *err, size_t errn)
{
    if (w < 1 || h < 1 || w > ABC_DRAW_MAX_SIDE || h > ABC_DRAW_MAX_SIDE)
        return abc_err(err, errn, "frame: size %dx%d is out of range (1..%d per side)", w, h, ABC_DRAW_MAX_SIDE);
    if (!rgb) return abc_err(err, errn, "frame: no pixels");
    if (n < 0 || (n > 0 && !boxes)) return abc_err(err, errn, "frame: %d boxes at %p", n, (const void *)boxes);
    cairo_t *cr = new_canvas(w, h, "frame", "(memory)", err, errn);
    if (!cr) return -1;
    cairo_surface_t *s = cairo_get_target(cr);
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < h; ++y) {
        unsigned *row = (unsigned *)(data + (size_t)y * (size_t)stride);
        const unsigned char *p = rgb + (size_t)y * (size_t)w * 3;
        for (int x = 0; x < w; ++x, p += 3) row[x] = 0xFF000000u | (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
    }
    cairo_surface_mark_dirty(s);
    draw_boxes(cr, w, h, boxes, n, names, classes);
    cairo_surface_flush(s);
    cairo_status_t st = cairo_status(cr);
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_destroy(cr);
        return abc_err(err, errn, "frame: drawing failed: %s", cairo_status_to_string(st));
    }
    for (int y = 0; y < h; ++y) {
        const unsigned *row = (const unsigned *)(data + (size_t)y * (size_t)stride);
        unsigned char *p = rgb + (size_t)y * (size_t)w * 3;
        for (int x = 0; x < w; ++x, p += 3) {
            p[0] = (unsigned char)(row[x] >> 16);
            p[1] = (unsigned char)(row[x] >> 8);
            p[2] = (unsigned char)row[x];
        }
    }
    cairo_destroy(cr);
    return 0;
}


/* ---- chart ---- */

typedef struct {
    double x0, y0, x1, y1;     /* the plot area, device pixels */
    double vx0, vx1, vy0, vy1; /* the values at its edges */
} plot_map;

static double map_x(const plot_map *m, double v)
{
    return clampd(m->x0 + (v - m->vx0) / (m->vx1 - m->vx0) * (m->x1 - m->x0), -1e6, 1e6);
}

static double map_y(const plot_map *m, double v)
{
    return clampd(m->y1 - (v - m->vy0) / (m->vy1 - m->vy0) * (m->y1 - m->y0), -1e6, 1e6);
}

static int has_points(const abc_series *s) { return s && s->n > 0; }

/* 1, 2 or 5 times a power of ten, near range / target. */
static double nice_step(double range, double target)
{
    double raw = range / (target > 1 ? target : 1);
    if (!(raw > 0) || !isfinite(raw)) return 1;
    double mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

static void fmt_tick(char *buf, size_t n, double v, double step)
{
    if (fabs(v) < step * 1e-6) v = 0;
    if (fabs(v) >= 1e7 || step < 1e-4)
        snprintf(buf, n, "%.3g", v);
    else {
        int dec = (int)clampd(-floor(log10(step) + 1e-9), 0, 6);
        snprintf(buf, n, "%.*f", dec, v);
    }
}

/* The path of s on m: each run of finite points a line (a single point a dot, with round caps); more than 4
 * points per pixel column become each column's first, lowest, highest and last point. */
static void series_path(cairo_t *cr, const abc_series *s, const plot_map *m)
{
    int decimate = s->n > 4 * (m->x1 - m->x0);
    int down = 0;
    /* the current column's points, as indices */
    int have = 0, first = 0, lo = 0, hi = 0, last = 0;
    double col = 0;
#define PT(i) map_x(m, s->x[i]), map_y(m, s->y[i])
#define PUT(i)                                   \
    do {                                         \
        if (down)                                \
            cairo_line_to(cr, PT(i));            \
        else {                                   \
            cairo_move_to(cr, PT(i));            \
            cairo_line_to(cr, PT(i));            \
            down = 1;                            \
        }                                        \
    } while (0)
#define FLUSH()                                                                    \
    do {                                                                           \
        if (have) {                                                                \
            int idx[4] = {first, lo < hi ? lo : hi, lo < hi ? hi : lo, last};      \
            for (int k = 0; k < 4; ++k)                                            \
                if (k == 0 || idx[k] != idx[k - 1]) PUT(idx[k]);                   \
        }                                                                          \
        have = 0;                                                                  \
    } while (0)
    for (int i = 0; i < s->n; ++i) {
        if (!isfinite(s->x[i]) || !isfinite(s->y[i])) {
            if (decimate) FLUSH();
            down = 0;
            continue;
        }
        if (!decimate) {
            PUT(i);
            continue;
        }
        double c = floor(map_x(m, s->x[i]));
        if (have && c != col) FLUSH();
        if (!have) {
            have = 1;
            first = lo = hi = i;
            col = c;
        }
        if (s->y[i] < s->y[lo]) lo = i;
        if (s->y[i] > s->y[hi]) hi = i;
        last = i;
    }
    if (decimate) FLUSH();
#undef FLUSH
#undef PUT
#undef PT
}

static int check_series(const abc_series *s, const char *name, const char *path, char *err, size_t errn)
{
    if (!s) return 0;
    if (s->n < 0) return abc_err(err, errn, "chart '%s': %s series has %d points", path, name, s->n);
    if (s->n > 0 && (!s->x || !s->y)) return abc_err(err, errn, "chart '%s': %s series has no x or y values", path, name);
    return 0;
}

static const double c_raw[3] = {0.62, 0.74, 0.96}, c_avg[3] = {0.05, 0.22, 0.78}, c_map[3] = {0.86, 0.08, 0.08};

static void legend_item(cairo_t *cr, double *x, double y, double fs, const double c[3], double lw, const char *text,
                        int dot)
{
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, lw);
    cairo_move_to(cr, *x, y - fs * 0.35);
    cairo_line_to(cr, *x + fs * 1.8, y - fs * 0.35);
    cairo_stroke(cr);
    if (dot) {
        cairo_arc(cr, *x + fs * 0.9, y - fs * 0.35, fs * 0.25, 0, 2 * M_PI);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    text_at(cr, text, *x + fs * 2.3, y, 0);
    *x += fs * 2.3 + text_width(cr, text) + fs * 1.5;
}

int abc_chart_png(const char *path, int width, int height, const char *title, int max_iter, const abc_series *loss,
                  const abc_series *loss_avg, const abc_series *map50, char *err, size_t errn)
{
    if (!path || !*path) return abc_err(err, errn, "chart: no output path");
    if (width < 160 || height < 120 || width > ABC_DRAW_MAX_SIDE || height > ABC_DRAW_MAX_SIDE)
        return abc_err(err, errn, "chart '%s': size %dx%d is out of range (160..%d wide, 120..%d high)", path, width,
                    height, ABC_DRAW_MAX_SIDE, ABC_DRAW_MAX_SIDE);
    if (check_series(loss, "loss", path, err, errn) || check_series(loss_avg, "average loss", path, err, errn) ||
        check_series(map50, "mAP", path, err, errn))
        return -1;
    int has_map = has_points(map50);

    /* ranges */
    double xmax = 0, xmin = 0;
    const abc_series *all[3] = {loss, loss_avg, map50};
    for (int k = 0; k < 3; ++k)
        for (int i = 0; has_points(all[k]) && i < all[k]->n; ++i)
            if (isfinite(all[k]->x[i]) && isfinite(all[k]->y[i])) {
                xmax = fmax(xmax, all[k]->x[i]);
                xmin = fmin(xmin, all[k]->x[i]);
            }
    int fixed_x = max_iter > 0;
    if (fixed_x) xmax = max_iter;
    if (!(xmax > xmin)) xmax = xmin + 1;
    double ymin = 0, ymax = 0;
    const abc_series *scale = has_points(loss_avg) ? loss_avg : loss;
    for (int k = 0; k < 2; ++k) {
        const abc_series *s = k ? loss_avg : loss;
        for (int i = 0; has_points(s) && i < s->n; ++i)
            if (isfinite(s->x[i]) && isfinite(s->y[i])) {
                ymin = fmin(ymin, s->y[i]);
                if (s == scale && i >= s->n / 10) ymax = fmax(ymax, s->y[i]);
            }
    }
    ymax *= 1.05;
    if (!(ymax > ymin)) ymax = ymin + 1;

    cairo_t *cr = new_canvas(width, height, "chart", path, err, errn);
    if (!cr) return -1;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    double fs = fmax(9, round(fmin(width / 70.0, height / 45.0)));
    set_font(cr, fs, 0);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    char buf[512];

    /* vertical layout: title, legend, plot, x tick labels, x axis title */
    double top = fs * 0.6;
    char ctitle[400];
    clean_text(ctitle, sizeof ctitle, title);
    double title_base = 0;
    if (ctitle[0]) {
        title_base = top + fs * 1.2;
        top = title_base + fs * 0.6;
    }
    double legend_base = top + fs;
    plot_map m;
    m.y0 = legend_base + fs * 0.9;
    m.y1 = floor(height - (fs * 3.2));
    m.y0 = floor(m.y0);
    double ystep = nice_step(ymax - ymin, (m.y1 - m.y0) / (fs * 3));
    m.vy0 = floor(ymin / ystep) * ystep;
    m.vy1 = ceil(ymax / ystep - 1e-9) * ystep;
    if (!(m.vy1 > m.vy0)) m.vy1 = m.vy0 + ystep;

    /* horizontal layout: y axis title, y tick labels, plot, mAP tick labels, mAP axis title */
    double ylab_w = 0;
    for (int k = 0; k <= 1000; ++k) {
        double v = m.vy0 + k * ystep;
        if (v > m.vy1 + ystep * 1e-6) break;
        fmt_tick(buf, sizeof buf, v, ystep);
        ylab_w = fmax(ylab_w, text_width(cr, buf));
    }
    ylab_w = fmin(ylab_w, width / 4.0);
    m.x0 = fs * 1.6 + ylab_w + fs * 0.6;
    m.x1 = floor(width - (fs * 1.6 + text_width(cr, "100%") + fs * 0.6));
    m.x0 = floor(m.x0);
    fmt_tick(buf, sizeof buf, xmax, 1);
    double xstep = nice_step(xmax - xmin, (m.x1 - m.x0) / (text_width(cr, buf) + fs * 3));
    if (max_iter > 0 && xstep < 1) xstep = 1;
    m.vx0 = xmin < 0 ? floor(xmin / xstep) * xstep : 0;
    m.vx1 = fixed_x ? xmax : ceil(xmax / xstep - 1e-9) * xstep;
    if (!(m.vx1 > m.vx0)) m.vx1 = m.vx0 + xstep;

    /* grid, frame, ticks */
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    for (int k = 0; k <= 1000; ++k) {
        double v = m.vy0 + k * ystep;
        if (v > m.vy1 + ystep * 1e-6) break;
        double y = floor(map_y(&m, v)) + 0.5;
        cairo_move_to(cr, m.x0, y);
        cairo_line_to(cr, m.x1, y);
    }
    for (int k = 0; k <= 1000; ++k) {
        double v = m.vx0 + k * xstep;
        if (v > m.vx1 + xstep * 1e-6) break;
        double x = floor(map_x(&m, v)) + 0.5;
        cairo_move_to(cr, x, m.y0);
        cairo_line_to(cr, x, m.y1);
    }
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0); /* the frame is the only pure black (text is grey): tests find it */
    cairo_rectangle(cr, m.x0 + 0.5, m.y0 + 0.5, m.x1 - m.x0, m.y1 - m.y0);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    for (int k = 0; k <= 1000; ++k) {
        double v = m.vy0 + k * ystep;
        if (v > m.vy1 + ystep * 1e-6) break;
        fmt_tick(buf, sizeof buf, v, ystep);
        text_at(cr, buf, m.x0 - fs * 0.5, map_y(&m, v) + fe.ascent * 0.35, 2);
    }
    for (int k = 0; k <= 1000; ++k) {
        double v = m.vx0 + k * xstep;
        if (v > m.vx1 + xstep * 1e-6) break;
        fmt_tick(buf, sizeof buf, v, xstep);
        text_at(cr, buf, map_x(&m, v), m.y1 + fs * 1.3, 1);
    }
    text_at(cr, "iteration", (m.x0 + m.x1) / 2, height - fs * 0.6, 1);
    cairo_save(cr);
    cairo_translate(cr, fs * 1.1, (m.y0 + m.y1) / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, "loss", 0, 0, 1);
    cairo_restore(cr);
    if (has_map) {
        for (int p = 0; p <= 100; p += 20) {
            snprintf(buf, sizeof buf, "%d%%", p);
            text_at(cr, buf, m.x1 + fs * 0.5, m.y1 - p / 100.0 * (m.y1 - m.y0) + fe.ascent * 0.35, 0);
        }
        cairo_save(cr);
        cairo_translate(cr, width - fs * 0.6, (m.y0 + m.y1) / 2);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, "mAP@0.5", 0, 0, 1);
        cairo_restore(cr);
    }

    /* title and legend */
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    if (ctitle[0]) {
        set_font(cr, fs * 1.15, 1);
        text_at(cr, ctitle, m.x0, title_base, 0);
        set_font(cr, fs, 0);
    }
    double lx = m.x0, raw_w = fmax(1, fs / 13), avg_w = fmax(2, fs / 6.5);
    if (has_points(loss)) legend_item(cr, &lx, legend_base, fs, c_raw, raw_w, "loss", 0);
    if (has_points(loss_avg)) legend_item(cr, &lx, legend_base, fs, c_avg, avg_w, "avg loss", 0);
    if (has_map) legend_item(cr, &lx, legend_base, fs, c_map, 1.5, "mAP@0.5", 1);

    /* the data, clipped to the plot */
    cairo_save(cr);
    cairo_rectangle(cr, m.x0 + 1, m.y0 + 1, m.x1 - m.x0 - 1, m.y1 - m.y0 - 1);
    cairo_clip(cr);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    if (has_points(loss)) {
        series_path(cr, loss, &m);
        cairo_set_source_rgb(cr, c_raw[0], c_raw[1], c_raw[2]);
        cairo_set_line_width(cr, raw_w);
        cairo_stroke(cr);
    }
    if (has_points(loss_avg)) {
        series_path(cr, loss_avg, &m);
        cairo_set_source_rgb(cr, c_avg[0], c_avg[1], c_avg[2]);
        cairo_set_line_width(cr, avg_w);
        cairo_stroke(cr);
    }
    if (has_map) {
        plot_map mm = m;
        mm.vy0 = 0;
        mm.vy1 = 1;
        series_path(cr, map50, &mm);
        cairo_set_source_rgb(cr, c_map[0], c_map[1], c_map[2]);
        cairo_set_line_width(cr, 1.5);
        cairo_stroke(cr);
        double r = fmax(2, fs * 0.25);
        int dots = map50->n <= (m.x1 - m.x0) / 2;
        double left_of_next = INFINITY; /* labels from the newest point back, none overlapping */
        for (int i = map50->n - 1; i >= 0; --i) {
            double x = map50->x[i], y = map50->y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            double px = map_x(&mm, x), py = map_y(&mm, y);
            cairo_set_source_rgb(cr, c_map[0], c_map[1], c_map[2]);
            if (dots) {
                cairo_new_sub_path(cr);
                cairo_arc(cr, px, py, r, 0, 2 * M_PI);
                cairo_fill(cr);
            }
            snprintf(buf, sizeof buf, "%.1f%%", clampd(y * 100.0, -1e6, 1e6));
            double tw = text_width(cr, buf), tx = clampd(px - tw / 2, m.x0 + 2, m.x1 - 2 - tw);
            if (tx + tw + fs * 0.4 > left_of_next || px < m.x0 - r || px > m.x1 + r) continue;
            double ty = py - r - fs * 0.3;
            if (ty - fe.ascent < m.y0 + 2) ty = py + r + fe.ascent + fs * 0.2; /* no room above: below */
            cairo_set_source_rgb(cr, 0.6, 0, 0);
            text_at(cr, buf, tx, ty, 0);
            left_of_next = tx;
        }
    }
    cairo_restore(cr);
    return finish(cr, path, "chart", err, errn);
}

/* ---- scatter panels (the Pareto plot) ---- */

/* x on a panel: log10 of the value for a log axis */
static double scatter_x(const abc_scatter_panel *p, double v) { return p->log_x ? log10(v) : v; }

static int scatter_ok(const abc_scatter_panel *p, const abc_scatter_point *q)
{
    return isfinite(q->x) && isfinite(q->y) && (!p->log_x || q->x > 0);
}

static void scatter_panel(cairo_t *cr, const abc_scatter_panel *p, double x0, double y0, double x1, double y1,
                          double fs, double ylo, double yhi, double ystep)
{
    char buf[64];
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < p->n; ++i)
        if (scatter_ok(p, &p->pts[i]))
            lo = fmin(lo, scatter_x(p, p->pts[i].x)), hi = fmax(hi, scatter_x(p, p->pts[i].x));
    if (!(hi >= lo)) lo = 0, hi = 1;
    double pad = (hi - lo) * 0.08 + (p->log_x ? 0.15 : 1e-9);
    plot_map m = {x0, y0, x1, y1, lo - pad, hi + pad * 2.5, ylo, yhi}; /* room on the right for labels */
    /* grid: the y steps; x at decades (log) or nice steps */
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    for (double v = ylo; v <= yhi + ystep * 1e-6; v += ystep) {
        double y = floor(map_y(&m, v)) + 0.5;
        cairo_move_to(cr, x0, y);
        cairo_line_to(cr, x1, y);
    }
    /* x ticks: nice steps, or on a log axis 1, 2 and 5 times each decade (decades alone over 3 decades) */
    double ticks[64];
    int nt = 0;
    if (p->log_x) {
        int sparse = m.vx1 - m.vx0 > 3;
        for (double d = floor(m.vx0); d <= m.vx1 && nt < 60; d += 1)
            for (int k = 0; k < (sparse ? 1 : 3); ++k) {
                double v = d + log10((double[]){1, 2, 5}[k]);
                if (v >= m.vx0 && v <= m.vx1) ticks[nt++] = v;
            }
    } else {
        double xstep = nice_step(m.vx1 - m.vx0, 5);
        for (double v = ceil(m.vx0 / xstep) * xstep; v <= m.vx1 && nt < 60; v += xstep) ticks[nt++] = v;
    }
    for (int k = 0; k < nt; ++k) {
        double x = floor(map_x(&m, ticks[k])) + 0.5;
        cairo_move_to(cr, x, y0);
        cairo_line_to(cr, x, y1);
    }
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, x0 + 0.5, y0 + 0.5, x1 - x0, y1 - y0);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    for (int k = 0; k < nt; ++k) {
        double tv = pow(10, ticks[k]);
        if (p->log_x) snprintf(buf, sizeof buf, tv >= 1 && tv < 1e6 ? "%.0f" : "%.3g", tv);
        else fmt_tick(buf, sizeof buf, ticks[k], nt > 1 ? ticks[1] - ticks[0] : 1);
        text_at(cr, buf, map_x(&m, ticks[k]), y1 + fs * 1.3, 1);
    }
    for (double v = ylo; v <= yhi + ystep * 1e-6; v += ystep) {
        fmt_tick(buf, sizeof buf, v, ystep);
        text_at(cr, buf, x0 - fs * 0.4, map_y(&m, v) + fs * 0.35, 2);
    }
    char label[200];
    clean_text(label, sizeof label, p->xlabel);
    text_at(cr, label, (x0 + x1) / 2, y1 + fs * 2.7, 1);
    /* the front: a step line through its points in x order */
    int order[64], nf = 0;
    for (int i = 0; i < p->n && nf < 64; ++i)
        if (p->pts[i].front && scatter_ok(p, &p->pts[i])) order[nf++] = i;
    for (int a = 1; a < nf; ++a)
        for (int b = a; b > 0 && p->pts[order[b]].x < p->pts[order[b - 1]].x; --b) {
            int t = order[b];
            order[b] = order[b - 1], order[b - 1] = t;
        }
    cairo_set_source_rgb(cr, 0.86, 0.08, 0.08);
    cairo_set_line_width(cr, fmax(1, fs / 6));
    for (int k = 0; k < nf; ++k) {
        const abc_scatter_point *q = &p->pts[order[k]];
        double x = map_x(&m, scatter_x(p, q->x)), y = map_y(&m, q->y);
        if (k) cairo_line_to(cr, x, y);
        else cairo_move_to(cr, x, y);
    }
    if (nf) cairo_stroke(cr);
    for (int i = 0; i < p->n; ++i) {
        const abc_scatter_point *q = &p->pts[i];
        if (!scatter_ok(p, q)) continue;
        double x = map_x(&m, scatter_x(p, q->x)), y = map_y(&m, q->y);
        if (q->front) cairo_set_source_rgb(cr, 0.86, 0.08, 0.08);
        else cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
        cairo_arc(cr, x, y, fs * 0.35, 0, 2 * M_PI);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        clean_text(label, sizeof label, q->label);
        text_at(cr, label, x + fs * 0.5, y - fs * 0.3, 0);
    }
}

int abc_scatter_png(const char *path, int width, int height, const char *title, const char *ylabel,
                    const abc_scatter_panel *panels, int np, char *err, size_t errn)
{
    if (!path || !*path) return abc_err(err, errn, "plot: no output path");
    if (np < 1 || np > 8) return abc_err(err, errn, "plot '%s': %d panels (1..8)", path, np);
    if (width < 160 * np || height < 120 || width > ABC_DRAW_MAX_SIDE || height > ABC_DRAW_MAX_SIDE)
        return abc_err(err, errn, "plot '%s': size %dx%d is out of range", path, width, height);
    double ylo = INFINITY, yhi = -INFINITY;
    for (int k = 0; k < np; ++k)
        for (int i = 0; i < panels[k].n; ++i)
            if (scatter_ok(&panels[k], &panels[k].pts[i]))
                ylo = fmin(ylo, panels[k].pts[i].y), yhi = fmax(yhi, panels[k].pts[i].y);
    if (!(yhi >= ylo)) ylo = 0, yhi = 1;
    double ystep = nice_step(yhi - ylo + 1e-9, 6), margin = (yhi - ylo) * 0.04 + 1e-9;
    ylo = floor((ylo - margin) / ystep) * ystep, yhi = (floor(yhi / ystep) + 1) * ystep;
    cairo_t *cr = new_canvas(width, height, "plot", path, err, errn);
    if (!cr) return -1;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    double fs = fmax(9, round(fmin(width / (60.0 * np), height / 40.0)));
    set_font(cr, fs, 0);
    char buf[400];
    clean_text(buf, sizeof buf, title);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    if (buf[0]) text_at(cr, buf, width / 2.0, fs * 1.6, 1);
    double top = fs * 3, bottom = height - fs * 3.6, pw = (double)width / np;
    for (int k = 0; k < np; ++k) {
        double x0 = floor(k * pw + fs * 4.5), x1 = floor((k + 1) * pw - fs * 1.2);
        scatter_panel(cr, &panels[k], x0, floor(top), x1, floor(bottom), fs, ylo, yhi, ystep);
        if (k == 0 && ylabel) {
            cairo_save(cr);
            cairo_translate(cr, fs * 1.1, (top + bottom) / 2);
            cairo_rotate(cr, -M_PI / 2);
            clean_text(buf, sizeof buf, ylabel);
            cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
            text_at(cr, buf, 0, 0, 1);
            cairo_restore(cr);
        }
    }
    return finish(cr, path, "plot", err, errn);
}
