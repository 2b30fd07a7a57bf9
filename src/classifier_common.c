#include "classifier_common.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "abc/base/cfg.h"
#include "abc/base/files.h"
#include "abc/base/util.h"
#include "data/fmnist.h"
#include "weights-tools/summary.h"

abc_strs abc_labels_load(const abc_data_cfg *d)
{
    if (!d->labels) abc_die("data file '%s': missing key 'labels'", d->path);
    abc_strs l = abc_read_lines(d->labels, "labels");
    if (l.n != d->classes)
        abc_die("labels file '%s' has %d labels but data file '%s' says classes=%d", d->labels, l.n, d->path,
                d->classes);
    for (int i = 0; i < l.n; ++i)
        for (int j = 0; j < l.n; ++j)
            if (i != j && strstr(l.v[j], l.v[i]))
                abc_die("labels file '%s': label '%s' is part of label '%s' (darknet matches labels as substrings "
                        "of image paths, so it could not tell them apart)", d->labels, l.v[i], l.v[j]);
    return l;
}

int abc_label_of(const char *path, const abc_strs *labels)
{
    int found = -1;
    for (int i = 0; i < labels->n; ++i) {
        if (!strstr(path, labels->v[i])) continue;
        if (found >= 0) return -2;
        found = i;
    }
    return found;
}

abc_strs abc_list_load(const abc_data_cfg *d, const char *key, const abc_strs *labels, int limit, int *listed)
{
    abc_strs s = abc_image_list_load(d, key, limit, listed);
    const char *file = !strcmp(key, "train") ? d->train : d->valid;
    for (int i = 0; i < s.n; ++i) {
        int lab = abc_label_of(s.v[i], labels);
        if (lab == -1)
            abc_die("image list '%s', image %d: path '%s' contains none of the %d labels of '%s'", file, i + 1,
                    s.v[i], labels->n, d->labels);
        if (lab == -2)
            abc_die("image list '%s', image %d: path '%s' contains several labels of '%s' (darknet matches "
                    "labels anywhere in the path)", file, i + 1, s.v[i], d->labels);
    }
    return s;
}

void abc_check_net_for_data(const network *net, const char *cfg, const abc_data_cfg *d)
{
    if (net->c != 3 || net->w <= 0 || net->h <= 0)
        abc_die("%s: [net] input is %dx%dx%d, but the classifier loader always loads 3-channel images: use "
                "width, height and channels=3", cfg, net->w, net->h, net->c);
    if (net->outputs != d->classes)
        abc_die("%s: the network has %d outputs but data file '%s' has classes=%d", cfg, net->outputs, d->path,
                d->classes);
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

char *abc_cfg_dataset_data(const char *cfg)
{
    if (!abc_file_exists(cfg)) abc_die("cannot open cfg file '%s'", cfg);
    abc_cfg *c = abc_cfg_read(cfg);
    const char *name = c->n > 0 ? abc_sec_str(&c->sec[0], "dataset") : NULL;
    char *n = abc_xstrdup(name ? name : "fashion-mnist");
    abc_cfg_free(c);
    if (strcmp(n, "fashion-mnist"))
        abc_die("%s: [net] dataset=%s is not a known data set (known: fashion-mnist); give a .data file instead", cfg, n);
    free(n);
    if (!abc_fmnist_ready()) {
        fprintf(stderr, "Preparing Fashion-MNIST in %s (once)...\n", ABC_FMNIST_DIR);
        abc_fmnist_prepare(ABC_FMNIST_DIR, 0);
    }
    return abc_xstrdup(ABC_FMNIST_DATA);
}

abc_cls_args abc_cls_args_parse(const abc_cli *a, int need_weights, int max_extra)
{
    const char *const *pos = a->pos;
    int n = a->npos, k = 0;
    abc_cls_args c = {0};
    if (n == 0) abc_cli_fail(a, "missing arguments");
    if (ends_with(pos[0], ".cfg")) {
        c.cfg = pos[k++];
        c.data = abc_cfg_dataset_data(c.cfg);
    } else {
        if (n < 2) abc_cli_fail(a, "missing cfg file");
        if (!abc_file_exists(pos[0])) abc_die("cannot open data file '%s'", pos[0]);
        c.data = abc_xstrdup(pos[k++]);
        c.cfg = pos[k++];
    }
    if (!abc_file_exists(c.cfg)) abc_die("cannot open cfg file '%s'", c.cfg);
    if (k < n) c.weights = pos[k++];
    if (need_weights && !c.weights) abc_cli_fail(a, "missing weights file");
    if (k < n && max_extra) c.extra = pos[k++];
    if (k < n) abc_cli_fail(a, "unexpected argument '%s'", pos[k]);
    if (c.weights && *c.weights && !abc_file_exists(c.weights)) abc_die("cannot open weights file '%s'", c.weights);
    return c;
}

network *abc_cls_load_network(const char *cfg, const char *weights, int clear)
{
    char *w = weights && *weights ? (char *)weights : NULL;
    network *net = load_network((char *)cfg, w, clear);
    abc_print_model_summary(net, stderr);
    return net;
}

