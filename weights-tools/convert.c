/* weights convert: a float darknet model (cfg + weights) into a binary one of the same topology. The cfg is
 * rewritten section by section (only the converted sections change: their header, and the family's keys
 * appended; comments and every other line kept); the weights are the float ones loaded into the binary layers
 * as their shadow weights (alphas and magnitudes fitted, batch norm carried), saved in the binary layers'
 * records with the iteration count at 0, ready to fine-tune. */
#include "convert.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/files.h"
#include "abc/base/util.h"
#include "abc/quant/wquant.h"
#include "abc/registry.h"
#include "cfg_text.h"
#include "inspect.h"
#include "summary.h"

/* A binary family: what -to names, the sections it writes and their keys. */
typedef struct {
    char name[32];
    const char *conv, *connected; /* section names */
    char keys[160];               /* lines appended to a converted section */
} family;

static int parse_family(const char *to, family *f)
{
    int a, b;
    char tail;
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", to);
    f->conv = "abc_convolutional", f->connected = "abc_connected";
    if (!strcmp(to, "darknet")) {
        f->conv = f->connected = NULL; /* darknet's own binary layers only */
    } else if (!strcmp(to, "xnor")) {
        snprintf(f->keys, sizeof f->keys, "weight_bases=1\nactivation_bases=1\nscale=channel\n");
    } else if (!strcmp(to, "bwn")) {
        snprintf(f->keys, sizeof f->keys, "weight_bases=1\nactivation_bases=0\nscale=channel\n");
    } else if (strlen(to) == 5 && sscanf(to, "abc%1d%1d%c", &a, &b, &tail) == 2 && a >= 1 && b >= 0) {
        snprintf(f->keys, sizeof f->keys, "weight_bases=%d\nactivation_bases=%d\n", a, b);
    } else if (sscanf(to, "hada%d-%d%c", &a, &b, &tail) == 2 && a >= 1 && a <= 4096 && b >= 1 && b <= 4096) {
        f->conv = "hada_convolutional", f->connected = "hada_connected";
        snprintf(f->keys, sizeof f->keys, "weight_segment=%d\nactivation_segment=%d\n", a, b);
    } else if (sscanf(to, "int%d-%d%c", &a, &b, &tail) == 2 && a >= 2 && a <= 8 && b >= 2 && b <= 8) {
        f->conv = "quant_convolutional", f->connected = "quant_connected";
        snprintf(f->keys, sizeof f->keys, "weight_bits=%d\nactivation_bits=%d\n", a, b);
    } else if (sscanf(to, "int%d%c", &a, &tail) == 1 && a >= 2 && a <= 8) {
        f->conv = "quant_convolutional", f->connected = "quant_connected";
        snprintf(f->keys, sizeof f->keys, "weight_bits=%d\nactivation_bits=%d\n", a, a);
    } else if (sscanf(to, "hbwn%d%c", &a, &tail) == 1 && a >= 1 && a <= 4096) {
        f->conv = "hada_convolutional", f->connected = "hada_connected";
        snprintf(f->keys, sizeof f->keys, "weight_segment=%d\nactivation_segment=1\n", a);
    } else {
        /* a weight quantizer: <name> (float activations) or <name>-xnor (one binary activation base) */
        char q[32];
        snprintf(q, sizeof q, "%s", to);
        size_t n = strlen(q);
        int xnor = n > 5 && !strcmp(q + n - 5, "-xnor");
        if (xnor) q[n - 5] = 0;
        if (!abc_wquant_find(q)) return -1;
        snprintf(f->keys, sizeof f->keys, "weight_bases=1\nactivation_bases=%d\nscale=channel\nweight_quantizer=%s\n",
                 xnor, q);
    }
    return 0;
}

/* Why layer i cannot become type t (a key t does not take), or NULL. */
static const char *refuse(const abc_cfg_text *t, int i, const abc_layer_type *type, char *why, size_t n)
{
    for (int l = t->sec[i + 1] + 1; l < t->sec[i + 2]; ++l) {
        char k[64];
        abc_cfg_key_of(t->line[l], k, sizeof k);
        if (!k[0] || abc_layer_accepts_key(type, k)) continue;
        const char *v = strchr(t->line[l], '=') + 1;
        while (*v == ' ' || *v == '\t') ++v;
        /* a key at its float default is harmless: dropped from the converted section */
        if ((!strcmp(k, "groups") || !strcmp(k, "dilation")) && atoi(v) == 1) continue;
        if (!strcmp(k, "binary") || !strcmp(k, "xnor")) continue; /* 1: imported (binarize=darknet) */
        if (!strcmp(k, "flipped") && atoi(v) == 0) continue;
        snprintf(why, n, "'%s' has no %s equivalent", k, type->name);
        return why;
    }
    return NULL;
}

static int weighted(const layer *l) { return l->type == CONVOLUTIONAL || l->type == CONNECTED; }

enum { KEEP_LISTED = 1, KEEP_FIRST, KEEP_LAST, KEEP_DETECT, KEEP_TYPE };
static const char *const keep_why[] = {"", "kept float (-keep)", "kept float: the first layer",
                                       "kept float: the last layer", "kept float: it feeds a detection layer"};

/* The layers -keep names (keep[i] says why): "default" (the first and last weighted layers and the convs feeding a [yolo] or
 * [region] layer), "first", "last", "detect", "none", a type ("convolutional", "connected") or a layer index. */
static void keep_set(const network *net, const char *spec, char *keep)
{
    int first = -1, last = -1;
    for (int i = 0; i < net->n; ++i)
        if (weighted(&net->layers[i])) last = i, first = first < 0 ? i : first;
    char *s = abc_xstrdup(spec && *spec ? spec : "default"), *save = NULL;
    for (char *item = strtok_r(s, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *end;
        long idx = strtol(item, &end, 10);
        int all = !strcmp(item, "default");
        if (!*end && end != item) {
            if (idx < 0 || idx >= net->n) abc_die("-keep: layer %ld does not exist (the network has %d)", idx, net->n);
            keep[idx] = KEEP_LISTED;
        } else if (all || !strcmp(item, "first") || !strcmp(item, "last") || !strcmp(item, "detect")) {
            if ((all || !strcmp(item, "first")) && first >= 0) keep[first] = KEEP_FIRST;
            if ((all || !strcmp(item, "last")) && last >= 0) keep[last] = KEEP_LAST;
            if (all || !strcmp(item, "detect"))
                for (int i = 1; i < net->n; ++i)
                    if ((net->layers[i].type == YOLO || net->layers[i].type == REGION) && weighted(&net->layers[i - 1]))
                        keep[i - 1] = KEEP_DETECT;
        } else if (!strcmp(item, "convolutional") || !strcmp(item, "connected")) {
            for (int i = 0; i < net->n; ++i)
                if (net->layers[i].type == (!strcmp(item, "connected") ? CONNECTED : CONVOLUTIONAL)) keep[i] = KEEP_TYPE;
        } else if (strcmp(item, "none")) {
            abc_die("-keep: unknown item '%s' (layer indices, default, first, last, detect, none, convolutional, "
                    "connected)", item);
        }
    }
    free(s);
}

/* Keeps a key of a converted section if its new type takes it (refuse() let through only float defaults). */
static int binary_takes(const char *type, const char *key)
{
    return abc_layer_accepts_key(abc_registry_find(type), key);
}

/* ||a - b|| / ||a|| over n floats (0 for a zero a). */
static double rel_error(const float *a, const float *b, int n)
{
    double d = 0, m = 0;
    for (int i = 0; i < n; ++i) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        m += (double)a[i] * a[i];
    }
    return m > 0 ? sqrt(d / m) : 0;
}

static const char *type_word(const layer *l) { return l->type == CONNECTED ? "connected" : "convolutional"; }

int abc_weights_convert(const char *cfg, const char *weights, abc_convert_opts *o)
{
    family f;
    if (parse_family(o->to, &f))
        abc_die("-to: unknown family '%s' (xnor, bwn, abcMN such as abc33, hada<w>-<a> such as hada16-2, hbwn<w>, "
                "int<b> or int<w>-<a> (AQT, 2..8 bits) such as int8 or int4-8, a weight quantizer %s, or one with "
                "-xnor appended)", o->to, abc_wquant_names());
    network *net = load_network((char *)cfg, NULL, 0);
    for (int i = 0; i < net->n; ++i)
        if (abc_registry_of(&net->layers[i]))
            abc_die("cfg '%s': layer %d is already [%s]: convert a float model", cfg, i,
                    abc_registry_of(&net->layers[i])->name);
    load_weights(net, (char *)weights);
    abc_check_finite(net, weights);
    abc_cfg_text t = abc_cfg_text_read(cfg);
    if (t.nsec != net->n + 1) abc_die("cfg '%s': %d sections for %d layers", cfg, t.nsec, net->n);
    char *keep = abc_xcalloc((size_t)net->n, 1);
    keep_set(net, o->keep, keep);
    const char **becomes = abc_xcalloc((size_t)net->n, sizeof *becomes);
    char *imported = abc_xcalloc((size_t)net->n, 1); /* darknet's binary=1 (1) / xnor=1 (2) layers */
    int converted = 0;
    printf("%5s  %-14s %-22s %s\n", "layer", "float", "becomes", "note");
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (!weighted(l)) continue;
        const char *to = l->type == CONNECTED ? f.connected : f.conv, *note = NULL;
        char why[160], said[200];
        int darknet_binary = l->type == CONVOLUTIONAL && (l->binary || l->xnor);
        if (darknet_binary && keep[i] != KEEP_LISTED) { /* already binary: the same function on the packed path */
            to = "abc_convolutional";
            imported[i] = l->xnor ? 2 : 1;
            note = l->xnor ? "darknet's xnor=1, imported (binarize=darknet)" : "darknet's binary=1, imported "
                                                                                "(binarize=darknet)";
        }
        const char *refused = imported[i] ? refuse(&t, i, abc_registry_find(to), why, sizeof why) : NULL;
        if (refused) {
            snprintf(said, sizeof said, "kept as darknet's: %s", refused);
            note = said;
            imported[i] = 0;
        } else if (imported[i]) {
            becomes[i] = to;
            ++converted;
        } else if (keep[i]) {
            note = keep_why[(int)keep[i]];
        } else if (darknet_binary || !to) {
            note = darknet_binary ? "kept as darknet's (-keep)" : "kept float (-to darknet)";
        } else if ((note = refuse(&t, i, abc_registry_find(to), why, sizeof why))) {
            snprintf(said, sizeof said, "kept float: %s", note);
            note = said;
        } else {
            becomes[i] = to;
            ++converted;
        }
        printf("%5d  %-14s %-22s %s\n", i, type_word(l), becomes[i] ? becomes[i] : "-", note ? note : "");
    }
    if (!converted) abc_die("nothing to convert in '%s' (every weighted layer is kept float)", cfg);

    char *out_cfg = abc_xmalloc(strlen(o->out) + 16), *out_w = abc_xmalloc(strlen(o->out) + 16);
    sprintf(out_cfg, "%s.cfg", o->out);
    sprintf(out_w, "%s.weights", o->out);
    abc_atomic_file probe; /* the weights' path is writable: said before anything is written */
    if (abc_atomic_open(&probe, out_w)) abc_die("cannot write '%s': %s", out_w, strerror(errno));
    abc_atomic_abort(&probe);
    char **trailer = abc_xcalloc((size_t)net->n, sizeof *trailer);
    for (int i = 0; i < net->n; ++i) {
        int r = 0;
        if (imported[i])
            r = asprintf(&trailer[i], "# imported from darknet's [convolutional] %s=1 by ./darknet weights convert\n"
                         "weight_bases=1\nactivation_bases=%d\nscale=channel\nbinarize=darknet\n",
                         imported[i] == 2 ? "xnor" : "binary", imported[i] == 2);
        else if (becomes[i])
            r = asprintf(&trailer[i], "# converted from [%s] by ./darknet weights convert -to %s\n%s",
                         type_word(&net->layers[i]), f.name, f.keys);
        if (r < 0) abc_die("out of memory");
    }
    abc_cfg_text_write(&t, becomes, binary_takes, (const char *const *)trailer, out_cfg);
    for (int i = 0; i < net->n; ++i) free(trailer[i]);
    free(trailer);
    /* the float weights as the binary layers' starting point (the loader's fine-tuning path), saved in the
     * binary model's own records */
    network *bin = load_network(out_cfg, (char *)weights, 0);
    *bin->seen = 0;
    save_weights(bin, out_w); /* atomic: written whole under its name, or an error and nothing */

    printf("\nquantization error ||W - Wq|| / ||W|| of each converted layer (before fine-tuning):\n");
    for (int i = 0; i < bin->n; ++i) {
        layer *l = &bin->layers[i];
        const abc_layer_type *ty = abc_registry_of(l);
        if (!ty || !ty->quantized_weights) continue;
        const float *wq = ty->quantized_weights(l);
        printf("%5d  %-22s %8.4f\n", i, ty->name, rel_error(net->layers[i].weights, wq, l->nweights));
    }
    printf("\n");
    abc_print_model_summary(bin, stdout);
    o->detector = net->layers[net->n - 1].type == YOLO || net->layers[net->n - 1].type == REGION;
    printf("\n%d layers converted to %s: %s and %s\nfine-tune: ./darknet %s train <data> %s %s\n", converted, f.name,
           out_cfg, out_w, o->detector ? "detector" : "classifier", out_cfg, out_w);
    free_network(bin);
    free_network(net);
    abc_cfg_text_free(&t);
    free(keep), free(becomes), free(imported), free(out_cfg), free(out_w);
    return 0;
}
