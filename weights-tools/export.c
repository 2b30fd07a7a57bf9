/* weights export: the inverse of convert. A float darknet (or the stock /usr/bin/darknet) loads the result; it
 * computes what the binary model computes where the binary layers take float inputs (binary weights on float
 * activations: bwn, hbwn), and the binary weights on float activations elsewhere. */
#include "export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/files.h"
#include "abc/base/util.h"
#include "abc/netio.h"
#include "abc/packfile.h"
#include "abc/quant/conv_layer.h"
#include "abc/registry.h"
#include "cfg_text.h"

static int connected_row(const abc_layer_type *t) { return strstr(t->name, "_connected") != NULL; }

/* The keys darknet's float sections take that a binary section carries over. */
static int float_takes(const char *type, const char *key)
{
    static const char *const conv[] = {"filters", "size", "stride", "pad", "padding", "batch_normalize", "activation",
                                       NULL};
    static const char *const conn[] = {"output", "batch_normalize", "activation", NULL};
    if (abc_layer_common_key(key)) return 1;
    for (const char *const *k = strcmp(type, "connected") ? conv : conn; *k; ++k)
        if (!strcmp(*k, key)) return 1;
    return 0;
}

/* A binary layer's float record: its quantized (or shadow) weights in the float layer's record order. */
static int write_float_record(layer *l, const abc_layer_type *t, int shadow, FILE *fp)
{
    float *own = l->weights;
    if (!shadow) l->weights = (float *)t->quantized_weights(l);
    int r = abc_float_record_io(l, fp, 1, connected_row(t));
    l->weights = own;
    return r;
}

int abc_weights_export(const char *cfg, const char *weights, const char *out, int shadow)
{
    if (shadow && abc_packfile_is(weights))
        abc_die("-shadow: '%s' is a packed file, which holds no shadow weights; export it without -shadow, or "
                "export the .weights it was packed from", weights);
    abc_parse_set_batch(1);
    network *net = load_network((char *)cfg, (char *)weights, 0);
    abc_cfg_text t = abc_cfg_text_read(cfg);
    if (t.nsec != net->n + 1) abc_die("cfg '%s': %d sections for %d layers", cfg, t.nsec, net->n);
    const char **becomes = abc_xcalloc((size_t)net->n, sizeof *becomes);
    char **trailer = abc_xcalloc((size_t)net->n, sizeof *trailer);
    int exported = 0;
    for (int i = 0; i < net->n; ++i) {
        const abc_layer_type *ty = abc_registry_of(&net->layers[i]);
        if (!ty) continue;
        if (!ty->quantized_weights) abc_die("layer %d ([%s]) has no float form to export", i, ty->name);
        becomes[i] = connected_row(ty) ? "connected" : "convolutional";
        if (asprintf(&trailer[i], "# exported from [%s] by ./darknet weights export%s\n", ty->name,
                     shadow ? " -shadow (its shadow weights)" : " (its binary weights)") < 0)
            abc_die("out of memory");
        printf("%5d  %-22s -> [%s]\n", i, ty->name, becomes[i]);
        ++exported;
    }
    if (!exported) abc_die("'%s' has no binary layer: nothing to export", cfg);

    char *out_cfg = abc_xmalloc(strlen(out) + 16), *out_w = abc_xmalloc(strlen(out) + 16);
    sprintf(out_cfg, "%s.cfg", out);
    sprintf(out_w, "%s.weights", out);
    abc_atomic_file f;
    if (abc_atomic_open(&f, out_w)) abc_die("cannot write '%s': %s", out_w, strerror(errno));
    int e = abc_weights_write_header(f.fp, *net->seen);
    for (int i = 0; i < net->n && !e; ++i) {
        layer *l = &net->layers[i];
        const abc_layer_type *ty = abc_registry_of(l);
        e |= ty ? write_float_record(l, ty, shadow, f.fp) : abc_layer_record_write(l, f.fp);
    }
    if (e) {
        abc_atomic_abort(&f);
        abc_die("writing '%s' failed (disk full?)", out_w);
    }
    abc_cfg_text_write(&t, becomes, float_takes, (const char *const *)trailer, out_cfg);
    if (abc_atomic_commit(&f)) abc_die("writing '%s' failed (disk full?)", out_w);
    printf("\n%d binary layers exported as float (%s weights): %s and %s\n", exported, shadow ? "shadow" : "binary",
           out_cfg, out_w);
    for (int i = 0; i < net->n; ++i) free(trailer[i]);
    free(trailer), free(becomes), free(out_cfg), free(out_w);
    abc_cfg_text_free(&t);
    free_network(net);
    return 0;
}

int abc_cfg_float_twin(const char *cfg, const char *out)
{
    abc_cfg_text t = abc_cfg_text_read(cfg);
    const char **becomes = abc_xcalloc((size_t)t.nsec, sizeof *becomes);
    int twins = 0;
    for (int k = 1; k < t.nsec; ++k) {
        char name[64];
        const char *h = strchr(t.line[t.sec[k]], '[');
        size_t n = h ? strcspn(h + 1, "]") : 0;
        if (!n || n >= sizeof name) continue;
        memcpy(name, h + 1, n);
        name[n] = 0;
        const abc_layer_type *ty = abc_registry_find(name);
        if (!ty || !ty->quantized_weights) continue;
        becomes[k - 1] = connected_row(ty) ? "connected" : "convolutional";
        ++twins;
    }
    if (twins) abc_cfg_text_write(&t, becomes, float_takes, NULL, out);
    free(becomes);
    abc_cfg_text_free(&t);
    return twins;
}
