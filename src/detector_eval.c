/* The detections of a network over an image list, and their mAP against
 * the labels (detector map, detector train -map). */
#include "detector.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/util.h"
#include "abc/forward.h"
#include "detector_common.h"
#include "image_load.h"
#include "progress.h"

#define PROGRESS_SECONDS 3.0

abc_det_map_opts abc_det_map_default_opts(void)
{
    abc_det_map_opts o = {0.005f, 0.45f, 0.5f, 0.25f, 0};
    return o;
}

int abc_det_image(network *net, image im, int image_id, const abc_det_map_opts *o, abc_det **v, int *n, int *cap)
{
    image sized = letterbox_image(im, net->w, net->h);
    int kept = abc_det_letterboxed(net, sized, im.w, im.h, image_id, o, v, n, cap);
    free_image(sized);
    return kept;
}

int abc_det_letterboxed(network *net, image sized, int w, int h, int image_id, const abc_det_map_opts *o, abc_det **v,
                        int *n, int *cap)
{
    image im = {w, h, 3, NULL}; /* only its size is read below */
    abc_network_predict(net, sized.data);
    int nb = 0;
    detection *dets = get_network_boxes(net, im.w, im.h, o->thresh, 0.5f, NULL, 1, &nb);
    int classes = net->layers[net->n - 1].classes, first = *n;
    for (int i = 0; i < nb; ++i) {
        box b = dets[i].bbox;
        abc_box px = {(b.x - b.w / 2) * (float)im.w, (b.y - b.h / 2) * (float)im.h, (b.x + b.w / 2) * (float)im.w,
                      (b.y + b.h / 2) * (float)im.h};
        /* an untrained or diverged network decodes inf/NaN boxes (exp of its raw outputs): no detection */
        if (!isfinite(px.x0) || !isfinite(px.y0) || !isfinite(px.x1) || !isfinite(px.y1) || !(px.x1 > px.x0) ||
            !(px.y1 > px.y0))
            continue;
        for (int c = 0; c < classes; ++c) {
            float p = dets[i].prob[c];
            if (!(p > o->thresh)) continue; /* also drops NaN */
            if (*n == *cap) {
                *cap = *cap ? 2 * *cap : 1024;
                *v = realloc(*v, (size_t)*cap * sizeof **v);
                if (!*v) abc_die("out of memory (detections)");
            }
            abc_det *d = &(*v)[(*n)++];
            d->image = image_id;
            d->cls = c;
            d->score = p;
            d->box = px;
        }
    }
    free_detections(dets, nb);
    int kept = abc_nms(*v + first, *n - first, o->nms);
    *n = first + kept;
    return kept;
}

/* The labels of one image as ground truth in its pixels. */
static void add_truth(const abc_data_cfg *d, const char *path, int image_id, int w, int h, abc_gt **g, int *n, int *cap)
{
    char lp[4096];
    abc_det_label_path(path, lp, sizeof lp);
    abc_label *l;
    int k = abc_det_read_labels(lp, d->classes, &l);
    for (int i = 0; i < k; ++i) {
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 1024;
            *g = realloc(*g, (size_t)*cap * sizeof **g);
            if (!*g) abc_die("out of memory (ground truth)");
        }
        abc_gt *t = &(*g)[(*n)++];
        t->image = image_id;
        t->cls = l[i].cls;
        t->box.x0 = (l[i].cx - l[i].w / 2) * (float)w;
        t->box.x1 = (l[i].cx + l[i].w / 2) * (float)w;
        t->box.y0 = (l[i].cy - l[i].h / 2) * (float)h;
        t->box.y1 = (l[i].cy + l[i].h / 2) * (float)h;
    }
    free(l);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void abc_det_map_run(network *net, const abc_data_cfg *d, const abc_strs *paths, const abc_det_map_opts *o,
                     abc_det_map_summary *s, abc_map_result *full)
{
    int batch = net->batch;
    set_batch_network(net, 1); /* at batch 2 libdarknet's box decoding averages a flipped image in */
    abc_det *dets = NULL;
    abc_gt *gts = NULL;
    int nd = 0, cd = 0, ng = 0, cg = 0;
    double *ms = abc_xmalloc((size_t)paths->n * sizeof *ms), t0 = abc_now(), last = t0;
    int done = 0;
    abc_image_buf buf = {0};
    for (int i = 0; i < paths->n && !abc_stop_signal(); ++i, ++done) {
        image im = abc_load_image_color(paths->v[i], 0, 0, &buf);
        double ts = abc_now();
        abc_det_image(net, im, i, o, &dets, &nd, &cd);
        ms[i] = 1e3 * (abc_now() - ts);
        add_truth(d, paths->v[i], i, im.w, im.h, &gts, &ng, &cg);
        free_image(im);
        double now = abc_now();
        if (!o->quiet && now - last >= PROGRESS_SECONDS && i + 1 < paths->n) {
            char eta[32];
            abc_fmt_eta(eta, sizeof eta, (now - t0) / (i + 1) * (paths->n - i - 1));
            fprintf(stderr, "map: %d/%d images, %.1f ms a forward, ETA %s\n", i + 1, paths->n, ms[i], eta);
            last = now;
        }
    }
    abc_image_buf_free(&buf);
    set_batch_network(net, batch);
    abc_map_result r;
    if (abc_map_compute(dets, nd, gts, ng, d->classes, o->iou_thresh, o->conf_thresh, &r))
        abc_die("map: the detections or the labels hold values the evaluation cannot take (NaN boxes?)");
    qsort(ms, (size_t)done, sizeof *ms, cmp_double);
    s->map = r.map;
    s->map_coco = r.map_coco;
    s->forward_ms = done ? ms[done / 2] : 0;
    s->images = done;
    if (full) *full = r;
    else abc_map_free(&r);
    free(ms);
    free(dets);
    free(gts);
}
