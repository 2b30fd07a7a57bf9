/* .weights files, read and written exactly as darknet does (same layer order
 * and layout), but checked: the file size must match the cfg before anything
 * is read, and writes are atomic (temp file, then rename). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/files.h"
#include "base/util.h"
#include "netio.h"
#include "registry.h"

/* Floats a layer stores in a .weights file (darknet's layout). */
static size_t conv_floats(const layer *l)
{
    int n = l->numload ? l->numload : l->n;
    size_t f = (size_t)n;
    if (l->batch_normalize && !l->dontloadscales) f += 3 * (size_t)n;
    return f + (size_t)l->c / (size_t)l->groups * n * l->size * l->size;
}

static size_t conn_floats(const layer *l)
{
    size_t f = (size_t)l->outputs + (size_t)l->outputs * l->inputs;
    if (l->batch_normalize && !l->dontloadscales) f += 3 * (size_t)l->outputs;
    return f;
}

size_t abc_layer_floats(const layer *l)
{
    const abc_layer_type *p = abc_registry_of(l);
    if (p) return p->weights_floats(l);
    switch (l->type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL: return conv_floats(l);
    case CONNECTED: return conn_floats(l);
    case BATCHNORM: return 3 * (size_t)l->c;
    case CRNN: return conv_floats(l->input_layer) + conv_floats(l->self_layer) + conv_floats(l->output_layer);
    case RNN: return conn_floats(l->input_layer) + conn_floats(l->self_layer) + conn_floats(l->output_layer);
    case LSTM:
        return conn_floats(l->wi) + conn_floats(l->wf) + conn_floats(l->wo) + conn_floats(l->wg) +
               conn_floats(l->ui) + conn_floats(l->uf) + conn_floats(l->uo) + conn_floats(l->ug);
    case GRU:
        return conn_floats(l->wz) + conn_floats(l->wr) + conn_floats(l->wh) + conn_floats(l->uz) +
               conn_floats(l->ur) + conn_floats(l->uh);
    case LOCAL:
        return (size_t)l->outputs + (size_t)l->size * l->size * l->c * l->n * l->out_w * l->out_h;
    default: return 0;
    }
}

static int rd(float *x, size_t n, FILE *fp) { return fread(x, sizeof(float), n, fp) == n ? 0 : -1; }
static int wr(const float *x, size_t n, FILE *fp) { return fwrite(x, sizeof(float), n, fp) == n ? 0 : -1; }

static void transpose(float *a, int rows, int cols)
{
    float *t = abc_xcalloc((size_t)rows * cols, sizeof *t);
    for (int x = 0; x < rows; ++x)
        for (int y = 0; y < cols; ++y) t[(size_t)y * rows + x] = a[(size_t)x * cols + y];
    memcpy(a, t, (size_t)rows * cols * sizeof *t);
    free(t);
}

static int load_conv(layer *l, FILE *fp)
{
    int n = l->numload ? l->numload : l->n;
    int e = rd(l->biases, (size_t)n, fp);
    if (l->batch_normalize && !l->dontloadscales) {
        e |= rd(l->scales, (size_t)n, fp);
        e |= rd(l->rolling_mean, (size_t)n, fp);
        e |= rd(l->rolling_variance, (size_t)n, fp);
    }
    e |= rd(l->weights, (size_t)l->c / l->groups * n * l->size * l->size, fp);
    if (!e && l->flipped) transpose(l->weights, l->c * l->size * l->size, l->n);
    return e;
}

static int save_conv(const layer *l, FILE *fp)
{
    int e = wr(l->biases, (size_t)l->n, fp);
    if (l->batch_normalize) {
        e |= wr(l->scales, (size_t)l->n, fp);
        e |= wr(l->rolling_mean, (size_t)l->n, fp);
        e |= wr(l->rolling_variance, (size_t)l->n, fp);
    }
    return e | wr(l->weights, (size_t)l->nweights, fp);
}

static int load_conn(layer *l, FILE *fp, int trans)
{
    int e = rd(l->biases, (size_t)l->outputs, fp);
    e |= rd(l->weights, (size_t)l->outputs * l->inputs, fp);
    if (!e && trans) transpose(l->weights, l->inputs, l->outputs);
    if (l->batch_normalize && !l->dontloadscales) {
        e |= rd(l->scales, (size_t)l->outputs, fp);
        e |= rd(l->rolling_mean, (size_t)l->outputs, fp);
        e |= rd(l->rolling_variance, (size_t)l->outputs, fp);
    }
    return e;
}

static int save_conn(const layer *l, FILE *fp)
{
    int e = wr(l->biases, (size_t)l->outputs, fp);
    e |= wr(l->weights, (size_t)l->outputs * l->inputs, fp);
    if (l->batch_normalize) {
        e |= wr(l->scales, (size_t)l->outputs, fp);
        e |= wr(l->rolling_mean, (size_t)l->outputs, fp);
        e |= wr(l->rolling_variance, (size_t)l->outputs, fp);
    }
    return e;
}

/* A plugin layer's size in a float model of the same topology, or 0 when it has none. */
static size_t layer_floats_as_float(const layer *l)
{
    const abc_layer_type *p = abc_registry_of(l);
    if (p) return p->float_floats ? p->float_floats(l) : 0;
    return abc_layer_floats(l);
}

static int load_layer(layer *l, FILE *fp, int trans, int as_float)
{
    const abc_layer_type *p = abc_registry_of(l);
    if (p) return as_float ? p->load_float(l, fp) : p->load(l, fp);
    switch (l->type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL: return load_conv(l, fp);
    case CONNECTED: return load_conn(l, fp, trans);
    case BATCHNORM:
        return rd(l->scales, (size_t)l->c, fp) | rd(l->rolling_mean, (size_t)l->c, fp) |
               rd(l->rolling_variance, (size_t)l->c, fp);
    case CRNN: return load_conv(l->input_layer, fp) | load_conv(l->self_layer, fp) | load_conv(l->output_layer, fp);
    case RNN:
        return load_conn(l->input_layer, fp, trans) | load_conn(l->self_layer, fp, trans) |
               load_conn(l->output_layer, fp, trans);
    case LSTM: {
        layer *g[] = {l->wi, l->wf, l->wo, l->wg, l->ui, l->uf, l->uo, l->ug};
        int e = 0;
        for (int i = 0; i < 8; ++i) e |= load_conn(g[i], fp, trans);
        return e;
    }
    case GRU: {
        layer *g[] = {l->wz, l->wr, l->wh, l->uz, l->ur, l->uh};
        int e = 0;
        for (int i = 0; i < 6; ++i) e |= load_conn(g[i], fp, trans);
        return e;
    }
    case LOCAL:
        return rd(l->biases, (size_t)l->outputs, fp) |
               rd(l->weights, (size_t)l->size * l->size * l->c * l->n * l->out_w * l->out_h, fp);
    default: return 0;
    }
}

static int save_layer(const layer *l, FILE *fp)
{
    const abc_layer_type *p = abc_registry_of(l);
    if (p) return p->save(l, fp);
    switch (l->type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL: return save_conv(l, fp);
    case CONNECTED: return save_conn(l, fp);
    case BATCHNORM:
        return wr(l->scales, (size_t)l->c, fp) | wr(l->rolling_mean, (size_t)l->c, fp) |
               wr(l->rolling_variance, (size_t)l->c, fp);
    case CRNN: return save_conv(l->input_layer, fp) | save_conv(l->self_layer, fp) | save_conv(l->output_layer, fp);
    case RNN: return save_conn(l->input_layer, fp) | save_conn(l->self_layer, fp) | save_conn(l->output_layer, fp);
    case LSTM: {
        layer *g[] = {l->wi, l->wf, l->wo, l->wg, l->ui, l->uf, l->uo, l->ug};
        int e = 0;
        for (int i = 0; i < 8; ++i) e |= save_conn(g[i], fp);
        return e;
    }
    case GRU: {
        layer *g[] = {l->wz, l->wr, l->wh, l->uz, l->ur, l->uh};
        int e = 0;
        for (int i = 0; i < 6; ++i) e |= save_conn(g[i], fp);
        return e;
    }
    case LOCAL:
        return wr(l->biases, (size_t)l->outputs, fp) |
               wr(l->weights, (size_t)l->size * l->size * l->c * l->n * l->out_w * l->out_h, fp);
    default: return 0;
    }
}

static const char *type_name(const layer *l)
{
    const abc_layer_type *p = abc_registry_of(l);
    if (p) return p->name;
    switch (l->type) {
    case CONVOLUTIONAL: return "convolutional";
    case DECONVOLUTIONAL: return "deconvolutional";
    case CONNECTED: return "connected";
    case BATCHNORM: return "batchnorm";
    default: return "layer";
    }
}

void abc_load_weights(network *net, const char *filename, int start, int cutoff)
{
    FILE *fp = fopen(filename, "rb");
    if (!fp) abc_die("cannot open weights file '%s': %s", filename, strerror(errno));
    long long fsize = abc_file_size(filename);
    int hdr[3];
    if (fread(hdr, sizeof(int), 3, fp) != 3) abc_die("weights file '%s' is too short for a header (%lld bytes)", filename, fsize);
    int major = hdr[0], minor = hdr[1];
    long long hsize = 12;
    if (major * 10 + minor >= 2 && major < 1000 && minor < 1000) {
        uint64_t seen;
        if (fread(&seen, 8, 1, fp) != 1) abc_die("weights file '%s' is too short for a header", filename);
        *net->seen = (size_t)seen;
        hsize += 8;
    } else {
        int32_t seen;
        if (fread(&seen, 4, 1, fp) != 1) abc_die("weights file '%s' is too short for a header", filename);
        *net->seen = (size_t)(seen < 0 ? 0 : seen);
        hsize += 4;
    }
    if (major < 0 || minor < 0 || hdr[2] < 0)
        abc_die("weights file '%s': header %d.%d.%d is not a darknet weights header", filename, major, minor, hdr[2]);
    int trans = major > 1000 || minor > 1000;
    if (cutoff > net->n) cutoff = net->n;

    /* Check the size before reading anything. A file of exactly the size of
     * the float model of this topology is one: its weights become the binary
     * layers' shadow weights (fine-tuning, the ABC-Net recipe). */
    long long need = hsize, need_float = hsize;
    int binary = 0;
    for (int i = start; i < cutoff; ++i) {
        const layer *l = &net->layers[i];
        if (l->dontload) continue;
        need += 4LL * (long long)abc_layer_floats(l);
        size_t f = layer_floats_as_float(l);
        if (abc_registry_of(l)) binary += f > 0;
        if (need_float >= 0) need_float = f || !abc_registry_of(l) ? need_float + 4LL * (long long)f : -1;
    }
    int as_float = binary > 0 && fsize != need && need_float > 0 && fsize == need_float;
    if (as_float) {
        fprintf(stderr, "%s: a float model of this topology: its weights become the shadow weights of the %d binary "
                "layers (alphas fitted to them); the iteration count restarts at 0\n", filename, binary);
        *net->seen = 0;
        need = need_float;
    }
    long long at = hsize;
    int last_full = start - 1, partial = -1;
    for (int i = start; i < cutoff; ++i) {
        if (net->layers[i].dontload) continue;
        const layer *l = &net->layers[i];
        long long b = 4LL * (long long)(as_float ? layer_floats_as_float(l) : abc_layer_floats(l));
        if (b == 0) continue;
        if (fsize >= at + b) last_full = i;
        else if (fsize > at && partial < 0) partial = i;
        at += b;
    }
    if (fsize > need && cutoff == net->n)
        abc_die("weights file '%s' has %lld bytes but the cfg needs %lld: it holds more layers or bigger "
                "layers than the cfg (wrong cfg for these weights?)", filename, fsize, need);
    if (partial >= 0)
        abc_die("weights file '%s' is truncated: it ends inside layer %d (%s); %lld bytes, the cfg needs %lld",
                filename, partial, type_name(&net->layers[partial]), fsize, need);
    if (fsize < need) {
        if (fsize == hsize) abc_die("weights file '%s' has a header but no weights (the cfg needs %lld bytes)", filename, need);
        abc_warn("weights file '%s' holds layers %d..%d only (%lld of %lld bytes): a pretrained prefix; "
                 "later layers keep their initial values", filename, start, last_full, fsize, need);
        cutoff = last_full + 1;
    }
    /* only now: an error above must start its own line */
    fprintf(stderr, "Loading weights from %s...", filename);
    for (int i = start; i < cutoff; ++i) {
        layer *l = &net->layers[i];
        if (l->dontload) continue;
        if (load_layer(l, fp, trans, as_float))
            abc_die("weights file '%s': read error in layer %d (%s)", filename, i, type_name(l));
    }
    fclose(fp);
    fprintf(stderr, "Done!\n");
}

void abc_save_weights(network *net, const char *filename, int cutoff)
{
    fprintf(stderr, "Saving weights to %s\n", filename);
    abc_atomic_file f;
    if (abc_atomic_open(&f, filename)) abc_die("cannot write weights file '%s': %s", filename, strerror(errno));
    int hdr[3] = {0, 2, 0};
    uint64_t seen = *net->seen;
    int e = fwrite(hdr, sizeof(int), 3, f.fp) != 3;
    e |= fwrite(&seen, 8, 1, f.fp) != 1;
    for (int i = 0; i < net->n && i < cutoff && !e; ++i)
        if (!net->layers[i].dontsave) e |= save_layer(&net->layers[i], f.fp);
    if (e) {
        abc_atomic_abort(&f);
        abc_die("writing weights file '%s' failed (disk full?); the previous file is unchanged", filename);
    }
    if (abc_atomic_commit(&f))
        abc_die("writing weights file '%s' failed (disk full?); the previous file is unchanged", filename);
}
