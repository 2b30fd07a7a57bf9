/* classifier valid / predict. Both load images the same way (resized to the
 * network input, as darknet's OLD_CLASSIFICATION_DATA loader does), so predict
 * on an image gives the same answer valid counts for it. */
#include <stdlib.h>
#include <string.h>

#include "abc/base/mode.h"
#include "abc/base/util.h"
#include "abc/forward.h"
#include "abc/netio.h"
#include "abc/registry.h"
#include "classifier_common.h"
#include "classifier_train.h"
#include "image_load.h"

#define PROGRESS_SECONDS 3.0

static network *load_for_inference(const char *cfg, const char *weights, const abc_data_cfg *d)
{
    network *net = abc_cls_load_network(cfg, weights, 0);
    abc_check_net_for_data(net, cfg, d);
    return net;
}

static int has_binary_layers(const network *net)
{
    for (int i = 0; i < net->n; ++i)
        if (abc_registry_of(&net->layers[i])) return 1;
    return 0;
}

static int argmax(const float *a, int n)
{
    int b = 0;
    for (int i = 1; i < n; ++i)
        if (a[i] > a[b]) b = i;
    return b;
}

typedef struct {
    long hit1, hitk, hit1_sim, hit1_soft; /* over the images done */
    int soft;   /* weight quantizers: the soft model is scored too */
    float beta; /* their beta at the weights' iteration */
    int done, listed, limit, k;
    double secs;               /* the packed path's time */
} valid_tally;

/* The result line, then the binary layers' packed/simulation line; after a stop, marked partial. */
static void print_valid(const valid_tally *t, int n, int compare, int sig)
{
    int d = t->done;
    double ips = d / (t->secs > 1e-9 ? t->secs : 1e-9);
    char limit[160] = "";
    if (t->limit > 0 && t->limit < t->listed)
        snprintf(limit, sizeof limit, "; -limit %d: the first %d of the %d in the list", t->limit, n, t->listed);
    else if (t->limit > 0)
        snprintf(limit, sizeof limit, "; -limit %d: all %d in the list", t->limit, n);
    if (sig) printf("interrupted by %s after %d of %d images, partial result: ", abc_stop_name(sig), d, n);
    printf("top-1: %.2f%%", 100.0 * t->hit1 / d);
    if (t->k > 1) printf("  top-%d: %.2f%%", t->k, 100.0 * t->hitk / d);
    printf("  (%d images, %.0f img/s%s)\n", d, ips, limit);
    if (compare)
        printf("quantized layers: top-1 %.2f%% packed (as above), %.2f%% through the training path's float simulation: "
               "difference %+.2f points\n", 100.0 * t->hit1 / d, 100.0 * t->hit1_sim / d,
               100.0 * (t->hit1 - t->hit1_sim) / d);
    if (compare && t->soft)
        printf("weight quantizers: top-1 %.2f%% with the soft weights training ran on (beta %.3g), %.2f%% with their "
               "signs (packed): gap %+.2f points\n", 100.0 * t->hit1_soft / d, t->beta, 100.0 * t->hit1 / d,
               100.0 * (t->hit1 - t->hit1_soft) / d);
    fflush(stdout);
}

static void progress_line(const valid_tally *t, int n, double elapsed)
{
    double ips = t->done / (elapsed > 1e-9 ? elapsed : 1e-9);
    char eta[32];
    abc_fmt_eta(eta, sizeof eta, (n - t->done) / (ips > 0 ? ips : 1));
    fprintf(stderr, "valid: %d/%d images, top-1 so far %.2f%%, %.0f img/s, ETA %s\n", t->done, n,
            100.0 * t->hit1 / t->done, ips, eta);
}

static void count_hits(valid_tally *t, const matrix *pred, const data *val, int classes, int *idx)
{
    for (int i = 0; i < val->X.rows; ++i) {
        int truth = argmax(val->y.vals[i], classes);
        top_k(pred->vals[i], classes, t->k, idx);
        if (idx[0] == truth) ++t->hit1;
        for (int j = 0; j < t->k; ++j)
            if (idx[j] == truth) { ++t->hitk; break; }
    }
}

/* Top-1 hits of the model as ABC_INFERENCE=mode runs it, on the same images. */
static long hits_as(const char *mode, network *net, data val, int classes)
{
    abc_mode_set(ABC_MODE_INFERENCE, mode);
    matrix pred = abc_network_predict_rows(net, val.X);
    abc_mode_set(ABC_MODE_INFERENCE, NULL);
    long hits = 0;
    for (int i = 0; i < val.X.rows; ++i) hits += argmax(pred.vals[i], classes) == argmax(val.y.vals[i], classes);
    free_matrix(pred);
    return hits;
}

/* Binary layers: the training path's float simulation on the same images, to show it agrees with the packed
 * path; with weight quantizers, also their soft model, to show how far training's model is from the binary one. */
static void count_sim_hits(valid_tally *t, network *net, data val, int classes)
{
    t->hit1_sim += hits_as("sim", net, val, classes);
    if (t->soft) t->hit1_soft += hits_as("soft", net, val, classes);
}

int abc_classifier_valid(const char *datafile, const char *cfg, const char *weights, const abc_valid_opts *opts,
                         abc_valid_result *res)
{
    abc_valid_opts none = {0, 0};
    if (!opts) opts = &none;
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs labels = abc_labels_load(&d);
    valid_tally t = {0};
    t.limit = opts->limit;
    abc_strs paths = abc_list_load(&d, "valid", &labels, opts->limit, &t.listed);
    network *net = load_for_inference(cfg, weights, &d);
    t.k = opts->top > 0 ? (opts->top < d.classes ? opts->top : d.classes) : d.top;
    int chunk = net->batch * 8;
    if (chunk < 64) chunk = 64;

    data val = abc_cls_buffer(chunk, net->w, net->h, d.classes);

    int *idx = abc_xcalloc((size_t)t.k, sizeof *idx);
    int compare = has_binary_layers(net) && abc_mode_choice(ABC_MODE_INFERENCE) != ABC_INFERENCE_SIM;
    double t_sim = 0;
    float near;
    t.soft = compare && abc_net_binarization(net, &t.beta, &near);
    int n = paths.n;
    abc_stop_guard guard;
    abc_stop_catch(&guard);
    double t0 = abc_now(), last = t0;
    int printed = 0;
    while (t.done < n) {
        /* loaded on the pool's threads, not beside them: on two cores a loader thread stalls every layer's pool */
        abc_load_classification(&val, paths.v + t.done, n - t.done < chunk ? n - t.done : chunk, &labels);
        int next = t.done + val.X.rows, stop = abc_stop_signal();
        matrix pred = abc_network_predict_rows(net, val.X);
        count_hits(&t, &pred, &val, d.classes, idx);
        free_matrix(pred);
        if (compare) {
            double ts = abc_now();
            count_sim_hits(&t, net, val, d.classes);
            t_sim += abc_now() - ts;
        }
        t.done = next;
        if (stop) break; /* the chunk loaded is done */
        double now = abc_now();
        if (t.done < n && (!printed || now - last >= PROGRESS_SECONDS)) {
            progress_line(&t, n, now - t0 - t_sim);
            last = now;
            printed = 1;
        }
    }
    abc_cls_buffer_free(&val);
    int sig = t.done < n ? abc_stop_signal() : 0;
    abc_stop_release(&guard);
    t.secs = abc_now() - t0 - t_sim;
    if (t.soft) abc_net_binarization(net, &t.beta, &near); /* the beta the soft model ran at */
    print_valid(&t, n, compare, sig);
    if (res) {
        res->images = t.done;
        res->k = t.k;
        res->top1 = 100.0 * t.hit1 / t.done;
        res->topk = 100.0 * t.hitk / t.done;
        res->top1_sim = compare ? 100.0 * t.hit1_sim / t.done : -1;
        res->images_per_s = t.done / (t.secs > 1e-9 ? t.secs : 1e-9);
    }
    free(idx);
    abc_free_network(net);
    abc_strs_free(&paths);
    abc_strs_free(&labels);
    abc_data_cfg_free(&d);
    return sig ? 128 + sig : 0;
}

static void predict_one(network *net, const abc_strs *labels, int k, int *idx, const char *path)
{
    abc_check_image_file(path);
    abc_image_buf buf = {0};
    image im = abc_load_image_color(path, net->w, net->h, &buf);
    abc_image_buf_free(&buf);
    double t = abc_now();
    float *p = abc_network_predict(net, im.data);
    printf("%s: Predicted in %f seconds.\n", path, abc_now() - t);
    top_k(p, labels->n, k, idx);
    for (int i = 0; i < k; ++i) printf("%5.2f%%: %s\n", 100.0 * p[idx[i]], labels->v[idx[i]]);
    fflush(stdout);
    free_image(im);
}

typedef struct {
    network *net;
    const abc_strs *labels;
    int k, *idx;
} predict_ctx;

static void predict_each(void *ctx, const char *path)
{
    predict_ctx *c = ctx;
    predict_one(c->net, c->labels, c->k, c->idx, path);
}

void abc_classifier_predict(const char *datafile, const char *cfg, const char *weights, const char *image, int top)
{
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs labels = abc_labels_load(&d);
    network *net = load_for_inference(cfg, weights, &d);
    set_batch_network(net, 1);
    int k = top > 0 ? (top < d.classes ? top : d.classes) : d.top;
    int *idx = abc_xcalloc((size_t)k, sizeof *idx);
    if (image) {
        predict_one(net, &labels, k, idx, image);
    } else {
        predict_ctx c = {net, &labels, k, idx};
        abc_each_stdin_path(predict_each, &c);
    }
    free(idx);
    abc_free_network(net);
    abc_strs_free(&labels);
    abc_data_cfg_free(&d);
}
