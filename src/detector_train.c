/* detector train: darknet's detection loader (jitter, hue, saturation,
 * exposure, flips) through the project's training loop, with multi-scale
 * training where the last layer says random=1, -map (mAP on the valid list
 * every few epochs, the best weights kept), and a chart beside the
 * checkpoints. */
#include "detector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abc/base/files.h"
#include "abc/base/threads.h"
#include "abc/base/rng.h"
#include "abc/base/util.h"
#include "abc/netio.h"
#include "detector_common.h"
#include "dist.h"
#include "draw.h"
#include "progress.h"
#include "weights-tools/summary.h"

#define CHART_SECONDS 20.0

typedef struct {
    network *net;
    const char *cfg;
    int base_w, base_h, random;
    uint64_t scale_seed;
    /* loss history for the chart */
    float *it, *loss, *avg;
    int n, cap;
    /* mAP history */
    float map_it[1024], map_val[1024];
    int nmap;
    int map_every, last_map_it;
    double best_map;
    const abc_data_cfg *d;
    const abc_strs *valid;
    char chart[4400], best[4400];
    double last_chart;
    double ips;
} train_ctx;

/* A multiple of 32 near base * f. */
static int scaled(int base, float f)
{
    int v = (int)(base * f / 32.f + 0.5f) * 32;
    return v < 32 ? 32 : v;
}

/* random=1: every 10 iterations a new input size between 0.7x and 1.4x the cfg's (multiples of 32, as the
 * strides of the network), the cfg's own size for the last 10% of the iterations. The size of a block of 10
 * is a function of the seed and the block alone, so that a resumed run trains at the sizes the first would
 * have. */
static int reshape(void *ctx, network *net, load_args *args, int it)
{
    train_ctx *t = ctx;
    if (!t->random) return 0;
    int w = t->base_w, h = t->base_h;
    if (it < net->max_batches * 9 / 10) {
        uint64_t z = abc_mix64(t->scale_seed ^ ((uint64_t)(it / 10) << 32));
        float f = 0.7f + 0.7f * (float)(z % 1001) / 1000.f;
        w = scaled(t->base_w, f);
        h = scaled(t->base_h, f);
    }
    if (w == net->w && h == net->h) return 0;
    resize_network(net, w, h);
    args->w = w;
    args->h = h;
    return 1;
}

static void draw_chart(train_ctx *t, int it, float avg, double ips)
{
    char title[512], err[256], eta[32];
    int imgs = t->net->batch * t->net->subdivisions;
    abc_fmt_eta(eta, sizeof eta, ips > 0 ? (double)(t->net->max_batches - it) * imgs / ips : -1);
    snprintf(title, sizeof title, "%s  iteration %d/%d  avg loss %.3f  %.1f img/s  ETA %s", t->cfg, it,
             t->net->max_batches, avg, ips, eta);
    abc_series loss = {t->it, t->loss, t->n}, avgs = {t->it, t->avg, t->n}, map = {t->map_it, t->map_val, t->nmap};
    if (abc_chart_png(t->chart, 1000, 600, title, t->net->max_batches, &loss, &avgs, t->nmap ? &map : NULL, err,
                      sizeof err))
        abc_warn("chart not written: %s", err);
}

static void evaluate(train_ctx *t, network *net, int it)
{
    int w = net->w, h = net->h;
    if (w != t->base_w || h != t->base_h) resize_network(net, t->base_w, t->base_h);
    abc_det_map_opts o = abc_det_map_default_opts();
    o.quiet = 1;
    abc_det_map_summary s;
    abc_det_map_run(net, t->d, t->valid, &o, &s, NULL);
    if (w != net->w || h != net->h) resize_network(net, w, h);
    if (s.images < t->valid->n) return; /* stopped: the loop saves the checkpoint and ends */
    printf("mAP@0.5 at iteration %d: %.2f%% (mAP@[.5:.95] %.2f%%; %d valid images)%s\n", it, 100 * s.map,
           100 * s.map_coco, t->valid->n, s.map > t->best_map ? ", the best so far" : "");
    if (t->nmap < (int)(sizeof t->map_it / sizeof t->map_it[0])) {
        t->map_it[t->nmap] = (float)it;
        t->map_val[t->nmap++] = (float)s.map;
    }
    char err[8400];
    if (s.map > t->best_map && abc_save_weights_try(net, t->best, net->n, err, sizeof err) == 0) t->best_map = s.map;
    else if (s.map > t->best_map) fprintf(stderr, "darknet: warning: %s; tried again at the next mAP\n", err);
    fflush(stdout);
}

static void after(void *ctx, network *net, int it, float loss, float avg_loss, double ips)
{
    train_ctx *t = ctx;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->it = realloc(t->it, (size_t)t->cap * sizeof *t->it);
        t->loss = realloc(t->loss, (size_t)t->cap * sizeof *t->loss);
        t->avg = realloc(t->avg, (size_t)t->cap * sizeof *t->avg);
        if (!t->it || !t->loss || !t->avg) abc_die("out of memory (loss history)");
    }
    t->it[t->n] = (float)it;
    t->loss[t->n] = loss;
    t->avg[t->n++] = avg_loss;
    t->ips = ips;
    if (t->valid && (it - t->last_map_it >= t->map_every || it >= net->max_batches)) {
        evaluate(t, net, it);
        t->last_map_it = it;
    }
    if (abc_now() - t->last_chart >= CHART_SECONDS || it >= net->max_batches) {
        draw_chart(t, it, avg_loss, ips);
        t->last_chart = abc_now();
    }
}

int abc_detector_train(const char *datafile, const char *cfg, const char *weights, const abc_det_train_opts *o,
                       abc_train_result *res)
{
    abc_train_seed(&o->train);
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs names = abc_det_names_load(&d);
    abc_strs paths = abc_det_list_load(&d, "train", 0, NULL);
    abc_strs valid = {0};
    if (o->map) valid = abc_det_list_load(&d, "valid", 0, NULL);

    char *w = weights && *weights ? (char *)weights : NULL;
    network *net = load_network((char *)cfg, w, o->train.clear);
    abc_print_model_summary(net, stderr);
    layer l = abc_det_check_net(net, cfg, &d);

    load_args args = {0};
    args.w = net->w;
    args.h = net->h;
    args.paths = paths.v;
    args.m = paths.n;
    args.classes = l.classes;
    args.jitter = l.jitter;
    args.num_boxes = l.max_boxes;
    args.threads = 8;
    args.angle = net->angle;
    args.exposure = net->exposure;
    args.saturation = net->saturation;
    args.hue = net->hue;
    args.type = DETECTION_DATA;

    train_ctx t = {0};
    t.net = net;
    t.cfg = cfg;
    t.base_w = net->w;
    t.base_h = net->h;
    t.random = l.random;
    t.scale_seed = abc_train_run_seed(); /* the same sizes on every rank */
    t.d = &d;
    t.valid = o->map ? &valid : NULL;
    int per_epoch = paths.n / (net->batch * net->subdivisions * abc_dist_world());
    t.map_every = 4 * per_epoch > 100 ? 4 * per_epoch : 100;
    t.last_map_it = (int)get_current_batch(net);
    t.best_map = -1;
    char *base = basecfg((char *)cfg);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", d.backup);
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; --n) dir[n - 1] = 0;
    snprintf(t.chart, sizeof t.chart, "%s/%s_chart.png", dir, base);
    snprintf(t.best, sizeof t.best, "%s/%s_best.weights", dir, base);
    free(base);
    if (abc_mkdirs(dir)) abc_die("cannot create backup directory '%s' (backup= in '%s')", dir, d.path);
    fprintf(stderr, "chart: %s%s\n", t.chart, o->map ? "; mAP on the valid list every 4 epochs, the best weights kept" : "");

    abc_train_setup setup = {cfg, d.backup, d.train, paths.n, weights, o->train};
    abc_train_hooks hooks = {&t, reshape, NULL, NULL, after};
    int rc = abc_train_loop(net, args, &setup, &hooks, res);
    if (t.n) draw_chart(&t, (int)get_current_batch(net), t.avg[t.n - 1], t.ips);
    if (o->map && t.nmap) printf("best mAP@0.5 %.2f%%: %s\n", 100 * t.best_map, t.best);
    free(t.it);
    free(t.loss);
    free(t.avg);
    abc_free_network(net);
    abc_strs_free(&paths);
    abc_strs_free(&valid);
    abc_strs_free(&names);
    abc_data_cfg_free(&d);
    return rc;
}
