/* [quant_convolutional] and [quant_connected]: cfg keys, construction, resize, the .weights record and the
 * registry rows (aqt_conv.h). The record is the float layer's ([convolutional] or [connected] order) followed
 * by the input bounds lo and hi, so a float model of the same topology loads as the starting point (bounds
 * 0: learned from the first training batch). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aqt_conv.h"
#include "aqt_layers.h"
#include "base/util.h"
#include "kernels/select.h"
#include "kernels/iconv.h"
#include "kernels/igemm.h"
#include "quant/conv_layer.h"

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

/* One block: the state struct then every array (64-byte aligned). */
static aqt_state *state_alloc(const layer *l, const aqt_opts *o, int connected)
{
    int cp = (l->c + 3) & ~3, K = l->c * l->size * l->size, kp = cp * l->size * l->size, P = l->out_h * l->out_w;
    int cols = connected ? l->batch : P, npad = (l->n + 31) & ~31;
    size_t nb = (size_t)l->batch * l->inputs;
    /* channels last, or planes of 4 channels with the rows kernel's slack (kernels/iconv.h) */
    size_t nx = connected ? (size_t)cp * l->batch
                          : (size_t)cp * ((size_t)(l->h + 2 * l->pad) * (l->w + 2 * l->pad) + ABC_ICONV_ROWS_SLACK);
    size_t sizes[] = {(size_t)l->n * sizeof(float),        (size_t)npad * sizeof(float),
                      (size_t)l->nweights * sizeof(float), nb * sizeof(float),
                      (size_t)l->nweights * sizeof(float), nb * sizeof(float),
                      (size_t)l->n * kp,                    (size_t)l->n * sizeof(int32_t),
                      nx,                                   (size_t)kp * cols,
                      (size_t)l->n * cols * sizeof(int32_t), (size_t)npad * kp,
                      (size_t)npad * sizeof(int32_t),       (size_t)l->n * sizeof(float)};
    size_t bytes = align64(sizeof(aqt_state));
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) bytes += align64(sizes[i]);
    char *b = abc_xcalloc(1, bytes), *p = b + align64(sizeof(aqt_state));
    aqt_state *st = (aqt_state *)(void *)b;
    void **at[] = {(void **)&st->sw, (void **)&st->kf, (void **)&st->wq,   (void **)&st->aq,
                   (void **)&st->gw, (void **)&st->da, (void **)&st->w8,   (void **)&st->wsum,
                   (void **)&st->x8, (void **)&st->col, (void **)&st->acc, (void **)&st->w32,
                   (void **)&st->woff, (void **)&st->kbn};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
        *at[i] = p;
        p += align64(sizes[i]);
    }
    st->o = *o;
    st->connected = connected;
    st->K = K, st->kp = kp, st->cp = cp, st->P = P, st->npad = npad;
    return st;
}

layer aqt_make(int batch, int h, int w, int c, int n, int size, int stride, int pad, ACTIVATION act,
               int batch_normalize, const aqt_opts *o, int connected)
{
    layer l = abc_conv_layer_make(batch, h, w, c, n, size, stride, pad, act, batch_normalize);
    l.binary_weights = (float *)(void *)state_alloc(&l, o, connected);
    l.forward = aqt_forward;
    l.backward = aqt_backward;
    l.update = aqt_update;
    return l;
}

static void conv_resize(layer *l, int w, int h)
{
    aqt_state *old = aqt_st(l);
    abc_conv_layer_resize(l, w, h);
    aqt_state *st = state_alloc(l, &old->o, old->connected);
    st->lo = old->lo, st->hi = old->hi;
    if (old->frozen) { /* no shadow weights: the integers and scales carry over */
        memcpy(st->sw, old->sw, (size_t)l->n * sizeof(float));
        memcpy(st->wq, old->wq, (size_t)l->nweights * sizeof(float));
        st->frozen = 1;
        aqt_lay_out_weights(l, st, 0);
    }
    free(old);
    l->binary_weights = (float *)(void *)st;
}

/* ---- cfg ---- */

static const char *const conv_keys[] = {"filters",     "size",          "stride", "pad",
                                        "padding",     "batch_normalize", "activation", "weight_bits",
                                        "activation_bits", "quant_start", NULL};
static const char *const conn_keys[] = {"output",          "batch_normalize", "activation", "weight_bits",
                                        "activation_bits", "quant_start",     NULL};

static aqt_opts parse_opts(const abc_section *s)
{
    aqt_opts o;
    o.wbits = abc_sec_int(s, "weight_bits", 8, 2, 8);
    o.abits = abc_sec_int(s, "activation_bits", 8, 2, 8);
    o.quant_start = abc_sec_int(s, "quant_start", 0, 0, 1 << 30);
    return o;
}

static layer conv_parse(const abc_section *s, size_params p)
{
    abc_conv_geometry g = abc_parse_conv_geometry(s, p);
    int bn = abc_sec_int(s, "batch_normalize", 0, 0, 1);
    ACTIVATION act = abc_parse_activation_key(s);
    aqt_opts o = parse_opts(s);
    layer l = aqt_make(p.batch, p.h, p.w, p.c, g.n, g.size, g.stride, g.pad, act, bn, &o, 0);
    fprintf(stderr, "quant_conv %3d %2d x%2d /%2d  %4d x%4d x%4d   ->  %4d x%4d x%4d  int%d x int%d\n", l.n, l.size,
            l.size, l.stride, l.w, l.h, l.c, l.out_w, l.out_h, l.out_c, o.wbits, o.abits);
    return l;
}

static layer conn_parse(const abc_section *s, size_params p)
{
    int out = abc_sec_int(s, "output", 1, 1, 1 << 20);
    int bn = abc_sec_int(s, "batch_normalize", 0, 0, 1);
    ACTIVATION act = abc_parse_activation_key(s);
    aqt_opts o = parse_opts(s);
    if (p.inputs <= 0) abc_sec_die(s, NULL, "no input");
    layer l = aqt_make(p.batch, 1, 1, p.inputs, out, 1, 1, 0, act, bn, &o, 1);
    fprintf(stderr, "quant_connected             %4d  ->  %4d  int%d x int%d\n", p.inputs, out, o.wbits, o.abits);
    return l;
}

/* ---- .weights ---- */

static size_t record_floats(const layer *l) { return abc_float_record_floats(l) + 2; }

static int layer_io(layer *l, FILE *fp, int save)
{
    aqt_state *st = aqt_st(l);
    float b[2] = {st->lo, st->hi};
    if (abc_float_record_io(l, fp, save, st->connected) || abc_floats_io(b, 2, fp, save)) return 1;
    if (!save) {
        if (!isfinite(b[0]) || !isfinite(b[1]) || b[0] > 0 || b[1] < 0) return 1;
        st->lo = b[0], st->hi = b[1];
        st->w8_valid = 0;
    }
    return 0;
}

static int load(layer *l, FILE *fp) { return layer_io(l, fp, 0); }
static int save(const layer *l, FILE *fp) { return layer_io((layer *)l, fp, 1); }

static int load_float(layer *l, FILE *fp)
{
    aqt_state *st = aqt_st(l);
    st->lo = st->hi = 0;
    st->w8_valid = 0;
    return abc_float_record_io(l, fp, 0, st->connected);
}

/* ---- summary ---- */

static void describe(const layer *l, char *buf, size_t n, size_t *packed_bytes, size_t *float_bytes)
{
    const aqt_state *st = aqt_st(l);
    size_t common = (size_t)l->n * (l->batch_normalize ? 4 : 1) * sizeof(float);
    *float_bytes = (size_t)l->nweights * sizeof(float) + common;
    /* the integers at their bits, one scale a filter, the two bounds */
    *packed_bytes = ((size_t)l->nweights * st->o.wbits + 7) / 8 + (size_t)l->n * sizeof(float) + common + 8;
    const char *in = st->lo < 0 ? "zero-point" : "unsigned";
    if (aqt_uses_integer()) {
        char kernel[96];
        aqt_integer_kernel(l, kernel, sizeof kernel);
        snprintf(buf, n, "int%d weights x %s int%d inputs: %s", st->o.wbits, in, st->o.abits, kernel);
    }
    else
        snprintf(buf, n, "int%d weights x %s int%d inputs: float simulation (ABC_INFERENCE=sim)", st->o.wbits, in,
                 st->o.abits);
}

static const float *quantized(layer *l)
{
    aqt_state *st = aqt_st(l);
    if (st->frozen) { /* wq keeps the integers inference runs on; the dequantized weights go to l.weights */
        for (size_t i = 0; i < (size_t)l->nweights; ++i) l->weights[i] = st->wq[i] / st->sw[i / (size_t)st->K];
        return l->weights;
    }
    aqt_quantize_weights(l, st, 1);
    return st->wq;
}

static int arrays(const layer *l, abc_named_floats *out, int max)
{
    const aqt_state *st = aqt_st(l);
    if (max < 1) return 0;
    out[0] = (abc_named_floats){"input bounds (lo, hi)", &st->lo, 2};
    return 1;
}

static int stats(layer *l, abc_state_floats *out, int max)
{
    if (max < 1) return 0;
    out[0] = (abc_state_floats){&aqt_st(l)->lo, 2};
    return 1;
}

static void bits(const layer *l, int *weight_bits, int *input_bits)
{
    *weight_bits = aqt_st(l)->o.wbits;
    *input_bits = aqt_st(l)->o.abits;
}

static int needs_calibration(const layer *l)
{
    float s, qlo, qhi;
    return !aqt_input_range(aqt_st(l), &s, &qlo, &qhi);
}

const abc_layer_type aqt_conv_type = {"quant_convolutional", conv_keys, conv_parse, record_floats, load, save,
                                      conv_resize, abc_float_record_floats, load_float, describe, quantized,
                                      aqt_pack, aqt_unpack, arrays, NULL, NULL, bits, needs_calibration, stats};
const abc_layer_type aqt_connected_type = {"quant_connected", conn_keys, conn_parse, record_floats, load, save,
                                           abc_connected_layer_resize, abc_float_record_floats, load_float,
                                           describe, quantized, aqt_pack, aqt_unpack, arrays, NULL, NULL, bits,
                                           needs_calibration, stats};
