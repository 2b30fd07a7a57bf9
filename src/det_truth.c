#include "det_truth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/files.h"
#include "abc/base/util.h"

/* a frame's JSON line: hundreds of boxes fit */
#define TRUTH_LINE_MAX (1 << 20)
#define TRUTH_LINE_MAX_TEXT "1048576"

/* The number after "key": at or after p and before end; 0 if there is none. */
static int number_after(const char *p, const char *end, const char *key, double *v)
{
    char k[32];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *at = strstr(p, k);
    if (!at || at >= end) return 0;
    char *stop;
    *v = strtod(at + strlen(k), &stop);
    return stop != at + strlen(k);
}

void abc_det_truth_read(const char *path, int classes, abc_gt **gts, int *ng, int *frames)
{
    abc_gt *g = NULL;
    abc_text_in in;
    abc_text_open(&in, path, "truth file", abc_free_indirect, &g);
    int n = 0, cap = 0, next = 0;
    long got;
    while ((got = abc_text_next(&in, TRUTH_LINE_MAX)) != -1) {
        char *line = in.line;
        int lineno = in.lineno;
        if (got == ABC_LINE_TOO_LONG || memchr(line, 0, (size_t)got))
            abc_die("truth file '%s' line %d: %s", path, lineno,
                    got < 0 ? "longer than " TRUTH_LINE_MAX_TEXT " bytes" : "NUL byte (binary file?)");
        if (strspn(line, " \t\r\n") == strlen(line)) continue;
        double f;
        const char *end = line + strlen(line), *boxes = strstr(line, "\"boxes\":");
        if (line[strspn(line, " \t")] != '{' || !number_after(line, end, "frame", &f) || !boxes)
            abc_die("truth file '%s' line %d: not a frame's JSON object ({\"frame\": N, ..., \"boxes\": [...]})", path,
                    lineno);
        if (f != next) abc_die("truth file '%s' line %d: frame %g where frame %d was expected", path, lineno, f, next);
        ++next;
        for (const char *p = strstr(boxes, "{"); p; p = strstr(p + 1, "{")) {
            const char *close = strchr(p, '}');
            if (!close) abc_die("truth file '%s' line %d: a box without its closing brace", path, lineno);
            double c, x0, y0, x1, y1;
            if (!number_after(p, close, "class_id", &c) || !number_after(p, close, "x0", &x0) ||
                !number_after(p, close, "y0", &y0) || !number_after(p, close, "x1", &x1) ||
                !number_after(p, close, "y1", &y1))
                abc_die("truth file '%s' line %d: a box needs class_id, x0, y0, x1 and y1", path, lineno);
            if (c != floor(c) || c < 0 || c >= classes)
                abc_die("truth file '%s' line %d: class %g is not one of the %d classes", path, lineno, c, classes);
            abc_box b = {(float)x0, (float)y0, (float)x1, (float)y1}; /* 1e300 is finite, its float is not */
            if (!isfinite(b.x0) || !isfinite(b.y0) || !isfinite(b.x1) || !isfinite(b.y1) || x1 < x0 || y1 < y0)
                abc_die("truth file '%s' line %d: box (%g, %g, %g, %g) is not finite with x0 <= x1, y0 <= y1", path,
                        lineno, x0, y0, x1, y1);
            if (n == cap) {
                cap = cap ? 2 * cap : 1024;
                abc_gt *grown = realloc(g, (size_t)cap * sizeof *g);
                if (!grown) abc_die("out of memory (truth)");
                g = grown;
            }
            abc_gt t = {(int)f, (int)c, b};
            g[n++] = t;
            p = close;
        }
    }
    if (!next) abc_die("truth file '%s' holds no frames", path);
    abc_text_close(&in);
    *gts = g;
    *ng = n;
    *frames = next;
}
