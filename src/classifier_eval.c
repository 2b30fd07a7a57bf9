/* classifier valid / predict. Both load images the same way (resized to the
 * network input, as darknet's OLD_CLASSIFICATION_DATA loader does), so predict
 * on an image gives the same answer valid counts for it. */
#include <stdlib.h>
#include <string.h>

#include "abc/base/mode.h"
#include "abc/base/util.h"
#include "abc/registry.h"
#include "classifier_common.h"
#include "classifier_train.h"

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

void abc_classifier_valid(const char *datafile, const char *cfg, const char *weights, abc_valid_result *res)
{
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs labels = abc_labels_load(&d);
    abc_strs paths = abc_list_load(&d, "valid", &labels);
    network *net = load_for_inference(cfg, weights, &d);
    int k = d.top;
    int chunk = net->batch * 8;
    if (chunk < 64) chunk = 64;

    load_args args = {0};
    args.w = net->w;
    args.h = net->h;
    args.classes = d.classes;
    args.labels = labels.v;
    args.type = OLD_CLASSIFICATION_DATA;
    data buffer = {0}, val;
    args.d = &buffer;

    int *idx = abc_xcalloc((size_t)k, sizeof *idx);
    long hit1 = 0, hitk = 0, hit1_sim = 0;
    /* Binary layers: the packed path's accuracy, and the training path's
     * (the float simulation) on the same images, to show they agree. */
    int compare = has_binary_layers(net) && abc_mode_choice(ABC_MODE_INFERENCE) != ABC_INFERENCE_SIM;
    double t_sim = 0;
    int n = paths.n;
    double t0 = abc_now(), last = t0;
    args.paths = paths.v;
    args.n = n < chunk ? n : chunk;
    pthread_t loader = load_data_in_thread(args);
    for (int at = 0; at < n;) {
        pthread_join(loader, NULL);
        val = buffer;
        int got = val.X.rows;
        int next = at + got;
        if (next < n) {
            args.paths = paths.v + next;
            args.n = n - next < chunk ? n - next : chunk;
            loader = load_data_in_thread(args);
        }
        matrix pred = network_predict_data(net, val);
        for (int i = 0; i < got; ++i) {
            int truth = argmax(val.y.vals[i], d.classes);
            top_k(pred.vals[i], d.classes, k, idx);
            if (idx[0] == truth) ++hit1;
            for (int j = 0; j < k; ++j)
                if (idx[j] == truth) { ++hitk; break; }
        }
        free_matrix(pred);
        if (compare) {
            double ts = abc_now();
            abc_mode_set(ABC_MODE_INFERENCE, "sim");
            pred = network_predict_data(net, val);
            abc_mode_set(ABC_MODE_INFERENCE, NULL);
            for (int i = 0; i < got; ++i) hit1_sim += argmax(pred.vals[i], d.classes) == argmax(val.y.vals[i], d.classes);
            free_matrix(pred);
            t_sim += abc_now() - ts;
        }
        free_data(val);
        at = next;
        double now = abc_now();
        if (now - last >= PROGRESS_SECONDS && at < n) {
            fprintf(stderr, "valid: %d/%d images, top-1 so far %.2f%%\n", at, n, 100.0 * hit1 / at);
            last = now;
        }
    }
    double secs = abc_now() - t0 - t_sim;
    double ips = n / (secs > 1e-9 ? secs : 1e-9);
    if (k > 1)
        printf("top-1: %.2f%%  top-%d: %.2f%%  (%d images, %.0f img/s)\n", 100.0 * hit1 / n, k, 100.0 * hitk / n,
               n, ips);
    else
        printf("top-1: %.2f%%  (%d images, %.0f img/s)\n", 100.0 * hit1 / n, n, ips);
    if (compare)
        printf("binary layers: top-1 %.2f%% packed (as above), %.2f%% through the training path's float simulation: "
               "difference %+.2f points\n", 100.0 * hit1 / n, 100.0 * hit1_sim / n, 100.0 * (hit1 - hit1_sim) / n);
    fflush(stdout);
    if (res) {
        res->images = n;
        res->k = k;
        res->top1 = 100.0 * hit1 / n;
        res->topk = 100.0 * hitk / n;
        res->images_per_s = ips;
    }
    free(idx);
    free_network(net);
    abc_strs_free(&paths);
    abc_strs_free(&labels);
    abc_data_cfg_free(&d);
}

static void predict_one(network *net, const abc_strs *labels, int k, int *idx, const char *path)
{
    abc_check_image_file(path);
    image im = load_image_color((char *)path, net->w, net->h);
    double t = abc_now();
    float *p = network_predict(net, im.data);
    printf("%s: Predicted in %f seconds.\n", path, abc_now() - t);
    top_k(p, labels->n, k, idx);
    for (int i = 0; i < k; ++i) printf("%5.2f%%: %s\n", 100.0 * p[idx[i]], labels->v[idx[i]]);
    fflush(stdout);
    free_image(im);
}

void abc_classifier_predict(const char *datafile, const char *cfg, const char *weights, const char *image)
{
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs labels = abc_labels_load(&d);
    network *net = load_for_inference(cfg, weights, &d);
    set_batch_network(net, 1);
    int k = d.top;
    int *idx = abc_xcalloc((size_t)k, sizeof *idx);
    if (image) {
        predict_one(net, &labels, k, idx, image);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, stdin)) >= 0) {
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = 0;
            if (!len) continue;
            predict_one(net, &labels, k, idx, line);
        }
        free(line);
    }
    free(idx);
    free_network(net);
    abc_strs_free(&labels);
    abc_data_cfg_free(&d);
}
