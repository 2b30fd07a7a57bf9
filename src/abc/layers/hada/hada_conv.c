/* [hada_convolutional] and [hada_connected]: cfg keys, construction,
 * resize, the .weights record and the registry rows. See hada_conv.h.
 *
 * The .weights record is the float layer's: [hada_convolutional] writes what
 * darknet's [convolutional] writes (biases; if batch_normalize: scales,
 * rolling_mean, rolling_variance; weights), [hada_connected] what
 * [connected] writes (biases; weights; then the batch norm arrays). The
 * segment magnitudes are computed from the weights, so a HadaNet model and
 * the float model of the same topology have the same file layout: a float
 * model loads as the starting point (with -clear to restart the count; the
 * first training step projects its weights). */
#include "hada_conv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/darknet_private.h"
#include "base/util.h"
#include "hada_conv_pack.h"
#include "hada_layers.h"
#include "quant/conv_layer.h"

static size_t align8(size_t x) { return (x + 7) & ~(size_t)7; }

/* One block: the state struct then every array (8-byte aligned). */
static hada_conv_state *state_alloc(const layer *l, const hada_conv_opts *o, int connected)
{
    int taps = l->size * l->size, sw = hada_nseg(l->c, o->bw);
    size_t nwb, nmg;
    hada_conv_packed_sizes(l, o, &nwb, &nmg);
    size_t nf[] = {(size_t)l->nweights, (size_t)l->n * taps * sw, (size_t)l->nweights,
                   (size_t)l->batch * l->inputs, (size_t)l->batch * l->inputs, nmg};
    size_t bytes = align8(sizeof(hada_conv_state)) + nwb * sizeof(uint64_t);
    for (size_t i = 0; i < sizeof nf / sizeof nf[0]; ++i) bytes += align8(nf[i] * sizeof(float));
    char *b = abc_xcalloc(1, bytes);
    hada_conv_state *st = (hada_conv_state *)(void *)b;
    char *p = b + align8(sizeof *st);
    st->wbits = (uint64_t *)(void *)p; /* first: 8-byte words right after the aligned header */
    p += nwb * sizeof(uint64_t);
    float **fp[] = {&st->wq, &st->wmag, &st->gw, &st->aq, &st->da, &st->wmag_g};
    for (size_t i = 0; i < sizeof nf / sizeof nf[0]; ++i) {
        *fp[i] = (float *)(void *)p;
        p += align8(nf[i] * sizeof(float));
    }
    st->o = *o;
    st->K = l->c * taps;
    st->P = l->out_h * l->out_w;
    st->taps = taps;
    st->sw = sw;
    st->connected = connected;
    st->wbits_words = nwb;
    st->wmag_g_floats = nmg;
    return st;
}

layer hada_conv_make(int batch, int h, int w, int c, int n, int size, int stride, int pad, ACTIVATION act,
                     int batch_normalize, const hada_conv_opts *o, int connected)
{
    layer l = abc_conv_layer_make(batch, h, w, c, n, size, stride, pad, act, batch_normalize);
    l.binary_weights = (float *)(void *)state_alloc(&l, o, connected);
    l.forward = hada_conv_forward;
    l.backward = hada_conv_backward;
    l.update = hada_conv_update;
    hada_conv_quantize_weights(&l);
    return l;
}

void hada_conv_resize(layer *l, int w, int h)
{
    hada_conv_state *old = hada_conv_st(l);
    abc_conv_layer_resize(l, w, h);
    hada_conv_state *st = state_alloc(l, &old->o, old->connected);
    st->surrogate = old->surrogate;
    if (old->frozen) { /* no shadow weights to quantize again: W~ and the magnitudes carry over */
        memcpy(st->wq, old->wq, (size_t)l->nweights * sizeof(float));
        memcpy(st->wmag, old->wmag, (size_t)l->n * st->taps * st->sw * sizeof(float));
        st->frozen = st->wq_valid = 1;
    }
    free(old);
    l->binary_weights = (float *)(void *)st;
    if (!st->frozen) hada_conv_quantize_weights(l);
}

/* ---- cfg ---- */

static const char *const conv_keys[] = {"filters", "size", "stride", "pad", "padding", "batch_normalize",
                                        "activation", "weight_segment", "activation_segment", "gradient",
                                        "input_gradient", NULL};
static const char *const conn_keys[] = {"output", "batch_normalize", "activation", "weight_segment",
                                        "activation_segment", "gradient", "input_gradient", NULL};

static hada_conv_opts parse_opts(const abc_section *s)
{
    hada_conv_opts o;
    o.grad = abc_sec_choice(s, "gradient", "ste", "paper", HADA_GRAD_STE);
    o.xgrad = abc_sec_choice(s, "input_gradient", "segment", "paper", HADA_XGRAD_SEGMENT);
    o.bw = abc_sec_int(s, "weight_segment", 16, 1, HADA_MAX_SEGMENT);
    o.ba = abc_sec_int(s, "activation_segment", 2, 1, HADA_MAX_SEGMENT);
    if (o.bw > 1 && o.ba > 1) {
        int lo = o.bw < o.ba ? o.bw : o.ba, hi = o.bw < o.ba ? o.ba : o.bw;
        if (hi % lo)
            abc_sec_die(s, abc_sec_has(s, "activation_segment") ? "activation_segment" : "weight_segment",
                        "segments %d and %d do not nest: the larger must be a multiple of the smaller "
                        "(the packed product splits into segments of the smaller)",
                        o.bw, o.ba);
    }
    return o;
}

static const char *act_desc(const hada_conv_opts *o) { return o->ba == 1 ? " (float activations, HBWN)" : ""; }

static layer conv_parse(const abc_section *s, size_params p)
{
    abc_conv_geometry g = abc_parse_conv_geometry(s, p);
    int bn = abc_sec_int(s, "batch_normalize", 0, 0, 1);
    ACTIVATION act = abc_parse_activation_key(s);
    hada_conv_opts o = parse_opts(s);
    layer l = hada_conv_make(p.batch, p.h, p.w, p.c, g.n, g.size, g.stride, g.pad, act, bn, &o, 0);
    fprintf(stderr, "hada_conv %3d %2d x%2d /%2d  %4d x%4d x%4d   ->  %4d x%4d x%4d  HadaNet (%d,%d)%s\n", l.n, l.size,
            l.size, l.stride, l.w, l.h, l.c, l.out_w, l.out_h, l.out_c, o.bw, o.ba, act_desc(&o));
    return l;
}

static layer conn_parse(const abc_section *s, size_params p)
{
    int out = abc_sec_int(s, "output", 1, 1, 1 << 20);
    int bn = abc_sec_int(s, "batch_normalize", 0, 0, 1);
    ACTIVATION act = abc_parse_activation_key(s);
    hada_conv_opts o = parse_opts(s);
    if (p.inputs <= 0) abc_sec_die(s, NULL, "no input");
    layer l = hada_conv_make(p.batch, 1, 1, p.inputs, out, 1, 1, 0, act, bn, &o, 1);
    fprintf(stderr, "hada_connected              %4d  ->  %4d  HadaNet (%d,%d)%s\n", p.inputs, out, o.bw, o.ba,
            act_desc(&o));
    return l;
}

/* ---- .weights ---- */

static int layer_io(layer *l, FILE *fp, int save)
{
    int r = abc_float_record_io(l, fp, save, hada_conv_st(l)->connected);
    if (!save && !r) hada_conv_quantize_weights(l);
    return r;
}

static int load(layer *l, FILE *fp) { return layer_io(l, fp, 0); }
static int save(const layer *l, FILE *fp) { return layer_io((layer *)l, fp, 1); }

/* ---- summary ---- */

static void describe(const layer *l, char *buf, size_t n, size_t *packed_bytes, size_t *float_bytes)
{
    const hada_conv_state *st = hada_conv_st(l);
    size_t common = (size_t)l->n * (l->batch_normalize ? 4 : 1) * sizeof(float); /* biases, batch norm */
    *float_bytes = (size_t)l->nweights * sizeof(float) + common;
    /* one sign bit per weight (each filter's row rounded up to whole bytes) and one magnitude per segment */
    *packed_bytes = (size_t)l->n * ((size_t)(st->K + 7) / 8) + (size_t)l->n * st->taps * st->sw * sizeof(float) + common;
    char path[160];
    if (st->o.ba == 1)
        snprintf(path, sizeof path, "float activations: float GEMM on the Hadamard weights");
    else if (!hada_conv_uses_packed(l))
        snprintf(path, sizeof path, "float simulation (ABC_INFERENCE=sim)");
    else
        snprintf(path, sizeof path, "packed segment products, kernel %s", hada_conv_kernel_name(l));
    snprintf(buf, n, "HadaNet (%d,%d), segments of %s, magnitudes per filter %d; %s", st->o.bw, st->o.ba,
             st->connected ? "consecutive inputs" : "input channels per tap", st->taps * st->sw, path);
}

/* The record is the float layer's, so the float form reads the same way (it matters in a network that mixes
 * HadaNet layers with others whose record differs from the float layer's: a float model of it loads). */
static const float *quantized(layer *l)
{
    if (!hada_conv_st(l)->frozen) hada_conv_quantize_weights(l);
    return hada_conv_st(l)->wq;
}

static int arrays(const layer *l, abc_named_floats *out, int max)
{
    const hada_conv_state *st = hada_conv_st(l);
    if (max < 1 || !st->wq_valid) return 0;
    out[0] = (abc_named_floats){"magnitudes", st->wmag, l->n * st->taps * st->sw};
    return 1;
}

/* one sign bit a weight; the inputs' signs, or floats (HBWN) */
static void bits(const layer *l, int *weight_bits, int *input_bits)
{
    *weight_bits = 1;
    *input_bits = hada_conv_st(l)->o.ba == 1 ? 32 : 1;
}

const abc_layer_type hada_conv_type = {"hada_convolutional", conv_keys, conv_parse, abc_float_record_floats, load, save,
                                       hada_conv_resize,     abc_float_record_floats, load, describe, quantized,
                                       hada_conv_pack,       hada_conv_unpack, arrays, NULL, NULL, bits, NULL, NULL};
const abc_layer_type hada_connected_type = {"hada_connected", conn_keys, conn_parse, abc_float_record_floats, load, save,
                                            abc_connected_layer_resize, abc_float_record_floats, load, describe,
                                            quantized, hada_conv_pack, hada_conv_unpack, arrays, NULL, NULL, bits, NULL, NULL};
