/* The darknet conv fields of the binary conv layer types (conv_layer.h). */
#include "conv_layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static const char *const activations[] = {"logistic", "loggy", "relu", "elu", "selu", "relie", "plse", "hardtan",
                                          "lhtan", "linear", "ramp", "leaky", "tanh", "stair", NULL};

ACTIVATION abc_parse_activation_key(const abc_section *s)
{
    const char *a = abc_sec_str(s, "activation");
    if (!a) return LOGISTIC; /* darknet's default for [convolutional] */
    for (const char *const *k = activations; *k; ++k)
        if (!strcmp(*k, a)) return get_activation((char *)a);
    abc_sec_die(s, "activation", "unknown activation '%s'", a);
}

abc_conv_geometry abc_parse_conv_geometry(const abc_section *s, size_params p)
{
    abc_conv_geometry g;
    g.n = abc_sec_int(s, "filters", 1, 1, 65536);
    g.size = abc_sec_int(s, "size", 1, 1, 64);
    g.stride = abc_sec_int(s, "stride", 1, 1, 64);
    g.pad = abc_sec_int(s, "pad", 0, 0, 1) ? g.size / 2 : 0;
    if (abc_sec_has(s, "padding")) {
        if (abc_sec_has(s, "pad")) abc_sec_die(s, "padding", "give either pad or padding, not both");
        g.pad = abc_sec_int(s, "padding", 0, 0, 64);
    }
    if (p.h <= 0 || p.w <= 0 || p.c <= 0)
        abc_sec_die(s, NULL, "input is %dx%dx%d, expected an image", p.w, p.h, p.c);
    if ((p.w + 2 * g.pad - g.size) < 0 || (p.h + 2 * g.pad - g.size) < 0)
        abc_sec_die(s, "size", "kernel %d larger than the padded input %dx%d", g.size, p.w + 2 * g.pad,
                    p.h + 2 * g.pad);
    return g;
}

static void set_shape(layer *l, int w, int h)
{
    l->w = w;
    l->h = h;
    l->out_w = (w + 2 * l->pad - l->size) / l->stride + 1;
    l->out_h = (h + 2 * l->pad - l->size) / l->stride + 1;
    l->out_c = l->n;
    l->outputs = l->out_h * l->out_w * l->out_c;
    l->inputs = l->w * l->h * l->c;
    l->workspace_size = (size_t)l->out_h * l->out_w * l->size * l->size * l->c * sizeof(float);
}

static void alloc_outputs(layer *l)
{
    size_t o = (size_t)l->batch * l->outputs;
    /* on whole cache lines: threads writing neighbouring blocks of positions do not share a line */
    void *out = NULL;
    if (posix_memalign(&out, 64, (o ? o : 1) * sizeof(float)) != 0) abc_die("out of memory (%zu floats)", o);
    memset(out, 0, (o ? o : 1) * sizeof(float));
    l->output = out;
    l->delta = abc_xcalloc(o, sizeof(float));
    if (l->batch_normalize) {
        l->x = abc_xcalloc(o, sizeof(float));
        l->x_norm = abc_xcalloc(o, sizeof(float));
    }
}

layer abc_conv_layer_make(int batch, int h, int w, int c, int n, int size, int stride, int pad, ACTIVATION act,
                          int batch_normalize)
{
    layer l = {0};
    l.type = CONVOLUTIONAL; /* the registry sets the plugin type id */
    l.batch = batch;
    l.c = c;
    l.n = n;
    l.size = size;
    l.stride = stride;
    l.pad = pad;
    l.groups = 1;
    l.activation = act;
    l.batch_normalize = batch_normalize;
    set_shape(&l, w, h);
    l.nweights = c * n * size * size;
    l.nbiases = n;
    l.weights = abc_xcalloc((size_t)l.nweights, sizeof(float));
    l.weight_updates = abc_xcalloc((size_t)l.nweights, sizeof(float));
    l.biases = abc_xcalloc((size_t)n, sizeof(float));
    l.bias_updates = abc_xcalloc((size_t)n, sizeof(float));
    float scale = sqrtf(2.f / (size * size * c));
    for (int i = 0; i < l.nweights; ++i) l.weights[i] = scale * (2.f * rand() / (float)RAND_MAX - 1.f);
    if (batch_normalize) {
        l.scales = abc_xcalloc((size_t)n, sizeof(float));
        l.scale_updates = abc_xcalloc((size_t)n, sizeof(float));
        for (int i = 0; i < n; ++i) l.scales[i] = 1;
        l.mean = abc_xcalloc((size_t)n, sizeof(float));
        l.variance = abc_xcalloc((size_t)n, sizeof(float));
        l.mean_delta = abc_xcalloc((size_t)n, sizeof(float));
        l.variance_delta = abc_xcalloc((size_t)n, sizeof(float));
        l.rolling_mean = abc_xcalloc((size_t)n, sizeof(float));
        l.rolling_variance = abc_xcalloc((size_t)n, sizeof(float));
    }
    alloc_outputs(&l);
    return l;
}

void abc_conv_layer_resize(layer *l, int w, int h)
{
    free(l->output);
    free(l->delta);
    free(l->x);
    free(l->x_norm);
    l->x = l->x_norm = NULL;
    set_shape(l, w, h);
    alloc_outputs(l);
}

int abc_floats_io(float *p, size_t n, FILE *fp, int save)
{
    if (!n) return 0;
    return (save ? fwrite(p, sizeof(float), n, fp) : fread(p, sizeof(float), n, fp)) == n ? 0 : -1;
}

size_t abc_float_record_floats(const layer *l) { return (size_t)l->n * (l->batch_normalize ? 4 : 1) + (size_t)l->nweights; }

/* The operands of | may run in any order; the reads must not, hence one statement each. */
static int bn_io(layer *l, FILE *fp, int save)
{
    if (!l->batch_normalize) return 0;
    int r = abc_floats_io(l->scales, (size_t)l->n, fp, save);
    r |= abc_floats_io(l->rolling_mean, (size_t)l->n, fp, save);
    return r | abc_floats_io(l->rolling_variance, (size_t)l->n, fp, save);
}

int abc_bias_bn_io(layer *l, FILE *fp, int save)
{
    int r = abc_floats_io(l->biases, (size_t)l->n, fp, save);
    return r | bn_io(l, fp, save);
}

int abc_float_record_io(layer *l, FILE *fp, int save, int connected_order)
{
    if (!connected_order) {
        int r = abc_bias_bn_io(l, fp, save);
        return r | abc_floats_io(l->weights, (size_t)l->nweights, fp, save);
    }
    int r = abc_floats_io(l->biases, (size_t)l->n, fp, save);
    r |= abc_floats_io(l->weights, (size_t)l->nweights, fp, save);
    return r | bn_io(l, fp, save);
}

void abc_connected_layer_resize(layer *l, int w, int h)
{
    (void)l;
    (void)w;
    (void)h;
}
