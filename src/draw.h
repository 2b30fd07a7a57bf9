/* Pictures of the detector commands, drawn with cairo and written as PNG: the training chart (AlexeyAB's
 * chart.png, no display needed) and detections on an image.
 *
 * Text is drawn with cairo's toy font API in ABC_DRAW_FONT (Debian's fonts-dejavu-core), grey antialiasing,
 * no hinting, so that the pixels do not depend on the desktop's fontconfig settings. fontconfig picks the
 * nearest font installed if DejaVu Sans is missing (the pictures are still drawn, with other glyphs).
 *
 * Both writers: return 0, or -1 with a one-line reason in err (naming the path when the file cannot be
 * written; err may be NULL); never crash on odd input (non-finite values are skipped, coordinates outside the
 * picture clipped); write through a temporary file renamed over path (base/files.h), so a failure or a signal
 * never leaves a half-written file; are deterministic: the same input gives the same PNG bytes. */
#ifndef ABC_DRAW_H
#define ABC_DRAW_H

#include <stddef.h>

#define ABC_DRAW_FONT "DejaVu Sans"
/* The largest picture side (cairo's limit). */
enum { ABC_DRAW_MAX_SIDE = 32767 };

/* n points (x[i], y[i]); a point with a non-finite x or y is skipped and breaks the line there. n = 0 (x and
 * y may then be NULL), or a NULL series, is no data. */
typedef struct {
    const float *x, *y;
    int n;
} abc_series;

/* The training chart as PNG (width x height pixels, 160..ABC_DRAW_MAX_SIDE wide, 120..ABC_DRAW_MAX_SIDE high):
 *   - title: one line at the top (NULL or "" for none); the training loop puts the cfg name, the iteration,
 *     the current average loss, img/s and the ETA there;
 *   - x axis: the iteration, from 0 to max_iter if > 0, else to the largest x of the series;
 *   - left axis: the loss; `loss` (raw, light blue, thin) with `loss_avg` (the running average, dark blue,
 *     thick) drawn over it; either may be NULL. The axis starts at 0 (lower if a loss is negative) and ends
 *     just above the largest running average (the raw loss if there is no average) after the first tenth of
 *     the points, so that the first iterations' huge losses do not flatten the rest; higher values are clipped;
 *   - right axis (only when map50 has points): mAP@0.5 in %, the points given as fractions 0..1, drawn red,
 *     joined, each value labelled ("71.3%") where the label does not overlap the previous one;
 *   - a legend between the title and the plot.
 * A series with more points than 4 per pixel column is drawn as each column's first, lowest, highest and last
 * point (the same picture, bounded time). */
int abc_chart_png(const char *path, int width, int height, const char *title, int max_iter, const abc_series *loss,
                  const abc_series *loss_avg, const abc_series *map50, char *err, size_t errn);

/* One detection, in pixels of the image (x0 < x1 and y0 < y1 expected; swapped if not), its class id and its
 * score (0..1). */
typedef struct {
    float x0, y0, x1, y1;
    int cls;
    float score;
} abc_draw_box;

/* The colour of class cls (any int): a fixed palette of ABC_DRAW_PALETTE saturated colours, cycled. */
enum { ABC_DRAW_PALETTE = 16 };
void abc_draw_class_color(int cls, unsigned char rgb[3]);

/* Line width and label font size (pixels) of detections drawn on a w x h image: both grow with the image's
 * size (sqrt(w*h)): 2 px lines and a 9 px font on a 64x64 image, 2 and 12 on 416x416, 17 and 104 on 4000x3000. */
void abc_draw_detection_sizes(int w, int h, int *line, int *font_px);

/* Detections drawn onto an image, written as PNG (RGB, w x h). The image is darknet's layout: c planes (c = 1:
 * grey, c = 3: R, G, B) of w*h floats in [0, 1] (clamped; NaN is 0), 1..ABC_DRAW_MAX_SIDE per side. Each box
 * (rounded to whole pixels, clipped to the image) is a rectangle outline of abc_draw_detection_sizes' line
 * width in its class's colour, drawn inside the box's edges; above it a label filled with the same colour,
 * "name 87%" in black or white (whichever reads better), left-aligned with the box and kept inside the image:
 * inside the box, at its top, when there is no room above. names[cls] is the name when 0 <= cls < classes and
 * names is not NULL (a NULL name, or a class outside, is written as its number; invalid UTF-8 and control
 * characters become '?'; darknet's char **names needs the cast (const char *const *), C's rule). Boxes with
 * a non-finite coordinate or score, and boxes wholly outside the image, are skipped. Boxes are drawn in the
 * order given, each label after all boxes, so that no box hides a label. */
int abc_draw_detections_png(const char *path, const float *chw, int w, int h, int c, const abc_draw_box *boxes,
                            int n, const char *const *names, int classes, char *err, size_t errn);

/* The same drawing on a video frame in place: rgb is w x h pixels of 3 bytes (R, G, B), rows packed. */
int abc_draw_detections_rgb(unsigned char *rgb, int w, int h, const abc_draw_box *boxes, int n,
                            const char *const *names, int classes, char *err, size_t errn);

/* A scatter panel: points (x, y) labelled, those on a Pareto front drawn red and joined in x order; x on a log
 * axis if log_x (points with x <= 0 then skipped); non-finite points skipped. */
typedef struct {
    const char *label;
    double x, y;
    int front;
} abc_scatter_point;
typedef struct {
    const char *xlabel;
    int log_x;
    const abc_scatter_point *pts;
    int n;
} abc_scatter_panel;

/* np panels side by side sharing the y axis (ylabel on the first), as PNG (160 * np..ABC_DRAW_MAX_SIDE wide,
 * 120.. high), a title on top; the writers' contract above. */
int abc_scatter_png(const char *path, int width, int height, const char *title, const char *ylabel,
                    const abc_scatter_panel *panels, int np, char *err, size_t errn);

#endif
