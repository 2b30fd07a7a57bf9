#include "classifier_common.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "abc/base/cfg.h"
#include "abc/base/files.h"
#include "abc/base/util.h"
#include "data/fmnist.h"
#include "weights-tools/summary.h"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) ++s;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

abc_strs abc_read_lines(const char *path, const char *what)
{
    abc_strs s = {NULL, 0};
    FILE *fp = fopen(path, "r");
    if (!fp) abc_die("cannot open %s file '%s': %s", what, path, strerror(errno));
    int cap = 0;
    char *line = NULL;
    size_t len = 0;
    ssize_t got;
    while ((got = getline(&line, &len, fp)) >= 0) {
        if (memchr(line, 0, (size_t)got)) abc_die("%s file '%s' line %d: NUL byte (binary file?)", what, path, s.n + 1);
        char *t = trim(line);
        if (!*t) continue;
        if (s.n == cap) {
            cap = cap ? 2 * cap : 256;
            s.v = realloc(s.v, (size_t)cap * sizeof *s.v);
            if (!s.v) abc_die("out of memory reading '%s'", path);
        }
        s.v[s.n++] = abc_xstrdup(t);
    }
    free(line);
    fclose(fp);
    return s;
}

void abc_strs_free(abc_strs *s)
{
    for (int i = 0; i < s->n; ++i) free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int parse_int(const char *v, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < min || x > max) return -1;
    *out = (int)x;
    return 0;
}

abc_data_cfg abc_data_cfg_read(const char *path)
{
    abc_data_cfg d = {0};
    d.path = abc_xstrdup(path);
    d.classes = -1;
    d.top = 1;
    FILE *fp = fopen(path, "r");
    if (!fp) abc_die("cannot open data file '%s': %s", path, strerror(errno));
    char *line = NULL;
    size_t len = 0;
    int lineno = 0;
    while (getline(&line, &len, fp) >= 0) {
        ++lineno;
        char *t = trim(line);
        if (!*t || *t == '#' || *t == ';') continue;
        char *eq = strchr(t, '=');
        if (!eq) abc_die("%s:%d: expected key=value, got '%.60s'", path, lineno, t);
        *eq = 0;
        char *k = trim(t), *v = trim(eq + 1);
        if (!*v) abc_die("%s:%d: key '%s' has no value", path, lineno, k);
        if (!strcmp(k, "classes")) {
            if (parse_int(v, 1, 1 << 20, &d.classes)) abc_die("%s:%d: classes: '%s' is not a positive number", path, lineno, v);
        } else if (!strcmp(k, "top")) {
            if (parse_int(v, 1, 1 << 20, &d.top)) abc_die("%s:%d: top: '%s' is not a positive number", path, lineno, v);
        } else if (!strcmp(k, "train")) {
            free(d.train), d.train = abc_xstrdup(v);
        } else if (!strcmp(k, "valid")) {
            free(d.valid), d.valid = abc_xstrdup(v);
        } else if (!strcmp(k, "labels") || !strcmp(k, "names")) {
            free(d.labels), d.labels = abc_xstrdup(v);
        } else if (!strcmp(k, "backup")) {
            free(d.backup), d.backup = abc_xstrdup(v);
        } /* other darknet keys (eval, tree, results...) are not used here */
    }
    free(line);
    fclose(fp);
    if (d.classes < 0) abc_die("data file '%s': missing key 'classes'", path);
    if (!d.labels) abc_die("data file '%s': missing key 'labels'", path);
    if (!d.backup) d.backup = abc_xstrdup("backup");
    if (d.top > d.classes) d.top = d.classes;
    return d;
}

void abc_data_cfg_free(abc_data_cfg *d)
{
    free(d->path);
    free(d->train);
    free(d->valid);
    free(d->labels);
    free(d->backup);
    memset(d, 0, sizeof *d);
}

abc_strs abc_labels_load(const abc_data_cfg *d)
{
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
    const char *file = !strcmp(key, "train") ? d->train : d->valid;
    if (!file) abc_die("data file '%s': missing key '%s'", d->path, key);
    abc_strs s = abc_read_lines(file, "image list");
    if (s.n == 0) abc_die("image list '%s' (%s= in '%s') is empty", file, key, d->path);
    if (listed) *listed = s.n;
    if (limit > 0 && limit < s.n) {
        for (int i = limit; i < s.n; ++i) free(s.v[i]);
        s.n = limit;
    }
    for (int i = 0; i < s.n; ++i) {
        struct stat st;
        if (stat(s.v[i], &st) != 0 || !S_ISREG(st.st_mode))
            abc_die("image list '%s', image %d: cannot open '%s': %s", file, i + 1, s.v[i],
                    errno ? strerror(errno) : "not a file");
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

void abc_check_image_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) abc_die("cannot open image '%s': %s", path, strerror(errno));
    unsigned char m[12] = {0};
    size_t got = fread(m, 1, sizeof m, fp);
    fclose(fp);
    int ok = got >= 4 && ((m[0] == 0x89 && m[1] == 'P' && m[2] == 'N' && m[3] == 'G') ||
                          (m[0] == 0xFF && m[1] == 0xD8) || (m[0] == 'B' && m[1] == 'M') ||
                          !memcmp(m, "GIF8", 4) || (m[0] == 'P' && m[1] >= '1' && m[1] <= '6') ||
                          !memcmp(m, "II*", 4) || !memcmp(m, "MM\0*", 4) ||
                          (got >= 12 && !memcmp(m, "RIFF", 4) && !memcmp(m + 8, "WEBP", 4)));
    if (!ok) abc_die("'%s' is not an image (PNG, JPEG, BMP, GIF, PNM, TIFF or WebP expected)", path);
}

network *abc_cls_load_network(const char *cfg, const char *weights, int clear)
{
    char *w = weights && *weights ? (char *)weights : NULL;
    network *net = load_network((char *)cfg, w, clear);
    abc_print_model_summary(net, stderr);
    return net;
}

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }

void abc_stop_catch(abc_stop_guard *g)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESTART; /* the loader threads' reads carry on */
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    sigaction(SIGINT, &sa, &g->old_int);
    sigaction(SIGTERM, &sa, &g->old_term);
}

void abc_stop_release(const abc_stop_guard *g)
{
    sigaction(SIGINT, &g->old_int, NULL);
    sigaction(SIGTERM, &g->old_term, NULL);
}

int abc_stop_signal(void) { return stop_signal; }

const char *abc_stop_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal"; }

void abc_fmt_eta(char *buf, size_t n, double s)
{
    if (!(s >= 0) || s > 1e7) { snprintf(buf, n, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, n, "%lds", t);
}
