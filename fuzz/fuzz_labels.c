/* Fuzz target: a video's ground truth (one JSON object a frame) if the input starts with '{', else a darknet
 * detection label file (class cx cy w h). What is accepted must be in range. */
#include <math.h>
#include <stdlib.h>

#include "det_truth.h"
#include "detector_common.h"
#include "targets.h"

enum { CLASSES = 10 };

static void labels(const char *path)
{
    abc_label *l = NULL;
    int n = abc_det_read_labels(path, CLASSES, &l);
    for (int i = 0; i < n; ++i)
        abc_fuzz_require(l[i].cls >= 0 && l[i].cls < CLASSES && l[i].cx >= 0 && l[i].cx <= 1 && l[i].cy >= 0 &&
                             l[i].cy <= 1 && l[i].w > 0 && l[i].w <= 1 && l[i].h > 0 && l[i].h <= 1,
                         "a label out of range");
    free(l);
}

static void truth(const char *path)
{
    abc_gt *g = NULL;
    int ng = 0, frames = 0;
    abc_det_truth_read(path, CLASSES, &g, &ng, &frames);
    for (int i = 0; i < ng; ++i)
        abc_fuzz_require(g[i].cls >= 0 && g[i].cls < CLASSES && g[i].image >= 0 && g[i].image < frames &&
                             isfinite(g[i].box.x0) && isfinite(g[i].box.x1) && g[i].box.x0 <= g[i].box.x1 &&
                             isfinite(g[i].box.y0) && isfinite(g[i].box.y1) && g[i].box.y0 <= g[i].box.y1,
                         "a ground-truth box out of range");
    free(g);
}

static void run(const char *path, const uint8_t *data, size_t size)
{
    size_t i = 0;
    while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r')) ++i;
    if (i < size && data[i] == '{')
        truth(path);
    else
        labels(path);
}

const abc_fuzz_target abc_fuzz_labels = {"labels", "detection label files and video ground truth", NULL, run};
