#include "detector_common.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "abc/base/files.h"
#include "abc/base/util.h"

/* s with the first occurrence of from replaced by to, into out (s unchanged when from is absent). */
static void replace_first(const char *s, const char *from, const char *to, char *out, size_t n)
{
    const char *at = strstr(s, from);
    if (!at) {
        snprintf(out, n, "%s", s);
        return;
    }
    snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

void abc_det_label_path(const char *image, char *out, size_t n)
{
    static const char *const rules[][2] = {{"images", "labels"}, {"JPEGImages", "labels"}, {"raw", "labels"},
                                           {".jpg", ".txt"},     {".png", ".txt"},         {".JPG", ".txt"},
                                           {".JPEG", ".txt"}};
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s", image);
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; ++i) {
        replace_first(a, rules[i][0], rules[i][1], b, sizeof b);
        memcpy(a, b, sizeof a);
    }
    snprintf(out, n, "%s", a);
}

/* A label line: five numbers; 1023 bytes is many times what they need. */
#define LABEL_LINE_MAX 1023
#define LABEL_LINE_MAX_TEXT "1023"

int abc_det_read_labels(const char *path, int classes, abc_label **out)
{
    abc_label *v = NULL;
    abc_text_in in;
    abc_text_open(&in, path, "label file", abc_free_indirect, &v);
    int n = 0, cap = 0;
    long got;
    while ((got = abc_text_next(&in, LABEL_LINE_MAX)) != -1) {
        char *line = in.line;
        int lineno = in.lineno;
        if (got == ABC_LINE_TOO_LONG || memchr(line, 0, (size_t)got))
            abc_die("label file '%s' line %d: %s", path, lineno,
                    got < 0 ? "longer than " LABEL_LINE_MAX_TEXT " bytes" : "NUL byte (binary file?)");
        abc_label l;
        char extra;
        int fields = sscanf(line, "%d %f %f %f %f %c", &l.cls, &l.cx, &l.cy, &l.w, &l.h, &extra);
        if (fields <= 0 && strspn(line, " \t\r\n") == strlen(line)) continue;
        if (fields != 5)
            abc_die("label file '%s' line %d: expected 'class x_center y_center width height', got '%.60s'", path,
                    lineno, strtok(line, "\r\n") ? line : "");
        /* "%d" would read "1.0" as class 1 and a shifted box, and an overflowing id as any int */
        char *end;
        long cls = strtol(line, &end, 10);
        if (!isspace((unsigned char)*end))
            abc_die("label file '%s' line %d: class '%.*s' is not a whole number", path, lineno,
                    (int)strcspn(line, " \t\r\n"), line);
        if (cls < 0 || cls >= classes)
            abc_die("label file '%s' line %d: class %ld is not in 0..%d (classes=%d)", path, lineno, cls, classes - 1,
                    classes);
        if (!isfinite(l.cx) || !isfinite(l.cy) || !isfinite(l.w) || !isfinite(l.h) || l.cx < 0 || l.cx > 1 ||
            l.cy < 0 || l.cy > 1 || !(l.w > 0) || l.w > 1 || !(l.h > 0) || l.h > 1)
            abc_die("label file '%s' line %d: box %g %g %g %g is not a centre in [0,1] and a size in (0,1] relative to "
                    "the image", path, lineno, l.cx, l.cy, l.w, l.h);
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            abc_label *grown = realloc(v, (size_t)cap * sizeof *v);
            if (!grown) abc_die("out of memory reading '%s'", path);
            v = grown;
        }
        v[n++] = l;
    }
    abc_text_close(&in);
    *out = v;
    return n;
}

abc_strs abc_det_names_load(const abc_data_cfg *d)
{
    if (!d->labels) abc_die("data file '%s': missing key 'names' (the class names file)", d->path);
    abc_strs names = abc_read_lines(d->labels, "names");
    if (names.n != d->classes)
        abc_die("names file '%s' has %d names but data file '%s' says classes=%d", d->labels, names.n, d->path,
                d->classes);
    return names;
}

abc_strs abc_det_list_load(const abc_data_cfg *d, const char *key, int limit, int *listed)
{
    abc_strs s = abc_image_list_load(d, key, limit, listed);
    const char *file = !strcmp(key, "train") ? d->train : d->valid;
    for (int i = 0; i < s.n; ++i) {
        struct stat st;
        char lp[4096];
        abc_det_label_path(s.v[i], lp, sizeof lp);
        /* the extension rule replaces the first of these anywhere in the path ("x/images/a.bmp" gets a label
         * path, "x/labels/a.bmp", that is no label file either) */
        if (!strstr(s.v[i], ".jpg") && !strstr(s.v[i], ".png") && !strstr(s.v[i], ".JPG") && !strstr(s.v[i], ".JPEG"))
            abc_die("image list '%s', image %d: '%s' does not end in .jpg, .png, .JPG or .JPEG, so libdarknet finds "
                    "no label file for it", file, i + 1, s.v[i]);
        if (stat(lp, &st) != 0)
            abc_die("image list '%s', image %d: no label file '%s' for '%s' (libdarknet's rule: 'images', "
                    "'JPEGImages' and 'raw' in the path become 'labels', the extension '.txt')", file, i + 1, lp, s.v[i]);
        abc_label *l;
        abc_det_read_labels(lp, d->classes, &l);
        free(l);
    }
    return s;
}

layer abc_det_check_net(const network *net, const char *cfg, const abc_data_cfg *d)
{
    layer l = net->layers[net->n - 1];
    if (l.type != YOLO && l.type != REGION)
        abc_die("%s: the last layer is not a detection layer ([yolo] or [region]): not a detector cfg", cfg);
    if (l.classes != d->classes)
        abc_die("%s: the last layer has classes=%d but data file '%s' says classes=%d", cfg, l.classes, d->path,
                d->classes);
    for (int i = 0; i < net->n; ++i)
        if ((net->layers[i].type == YOLO || net->layers[i].type == REGION) && net->layers[i].classes != d->classes)
            abc_die("%s: layer %d has classes=%d but data file '%s' says classes=%d", cfg, i, net->layers[i].classes,
                    d->path, d->classes);
    /* libdarknet sizes the truth buffers for 90 boxes ([yolo]) or 30 ([region]) whatever max= says */
    int want_max = l.type == YOLO ? 90 : 30;
    if (l.max_boxes != want_max)
        abc_die("%s: the last layer has max=%d; libdarknet's loader works only with max=%d for [%s]", cfg, l.max_boxes,
                want_max, l.type == YOLO ? "yolo" : "region");
    if (net->c != 3) abc_die("%s: [net] channels=%d, but darknet's detection loader loads 3-channel images", cfg, net->c);
    return l;
}
