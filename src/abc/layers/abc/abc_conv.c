/* [abc_convolutional]: cfg keys, construction, resize and the .weights
 * record; the registry row. See abc_conv.h for the maths and the two paths.
 *
 * .weights record of one layer (float32, in this order; the first part is
 * the layout of darknet's [convolutional], so a float model's prefix reads
 * the same):
 *   biases[n]; if batch_normalize: scales[n], rolling_mean[n], rolling_variance[n];
 *   shadow weights[n*c*size*size] (darknet order: filter, channel, ky, kx);
 *   alpha[M*G] (G = 1 for scale=layer, n for scale=channel; group-major);
 *   beta[N]; v[N]   (activation scales and shifts). */
#include "abc_conv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "abc_conv_pack.h"
#include "abc_layers.h"
#include "base/darknet_private.h"
#include "base/util.h"
#include "quant/conv_layer.h"

/* Paper table S4 (ResNet-18) initial v for N = 1, 3, 5; 0 for N = 1. */
void abc_conv_default_opts(abc_conv_opts *o, int M, int N)
{
    memset(o, 0, sizeof *o);
    o->M = M;
    o->N = N;
    for (int m = 0; m < M; ++m) o->u[m] = M == 1 ? 0.f : -1.f + 2.f * m / (M - 1);
    static const float v3[] = {-1.5f, 0.f, 1.5f}, v3m5[] = {-0.9f, 0.f, 0.9f};
    static const float v5[] = {-3.5f, -2.5f, -1.5f, 0.f, 2.5f};
    for (int n = 0; n < N; ++n) {
        o->beta[n] = 1.f;
        if (N == 1) o->v[n] = 0.f;
        else if (N == 3) o->v[n] = M == 5 ? v3m5[n] : v3[n];
        else if (N == 5) o->v[n] = v5[n];
        else o->v[n] = -1.f + 2.f * n / (N - 1);
    }
    o->scale = ABC_SCALE_LAYER;
    o->grad = ABC_GRAD_STE;
}

static size_t align8(size_t x) { return (x + 7) & ~(size_t)7; }

/* One block: the state struct then every array (8-byte aligned). */
static abc_conv_state *state_alloc(const layer *l, const abc_conv_opts *o)
{
    int G = o->scale == ABC_SCALE_CHANNEL ? l->n : 1;
    int K = l->c * l->size * l->size, P = l->out_h * l->out_w, cw = (l->c + 63) / 64;
    int rk = (l->size * l->c + 63) / 64, words = l->size * rk;
    int nrc = abc_conv_tap_patterns(l->h, l->out_h, l->size, l->stride, l->pad, NULL, NULL, NULL);
    int ncc = abc_conv_tap_patterns(l->w, l->out_w, l->size, l->stride, l->pad, NULL, NULL, NULL);
    size_t nf[] = {(size_t)o->M * G, (size_t)o->N, (size_t)o->N, (size_t)o->N, (size_t)o->N,
                   (size_t)l->nweights, (size_t)l->nweights, (size_t)l->batch * l->inputs,
                   (size_t)l->batch * l->inputs, (size_t)l->n * nrc * ncc,
                   (size_t)l->out_h, (size_t)l->out_w};
    size_t bytes = align8(sizeof(abc_conv_state));
    for (size_t i = 0; i < sizeof nf / sizeof nf[0]; ++i) bytes += align8(nf[i] * sizeof(float));
    size_t nw = (size_t)o->M * l->n * words;
    bytes += nw * sizeof(uint64_t);
    char *b = abc_xcalloc(1, bytes);
    abc_conv_state *st = (abc_conv_state *)(void *)b;
    char *p = b + align8(sizeof *st);
    float *rcls, *ccls;
    float **fp[] = {&st->alpha, &st->beta, &st->v,  &st->beta_upd, &st->v_upd, &st->wq,
                    &st->gw,    &st->aq,   &st->da, &st->wcorr,    &rcls,       &ccls};
    for (size_t i = 0; i < sizeof nf / sizeof nf[0]; ++i) {
        *fp[i] = (float *)(void *)p;
        p += align8(nf[i] * sizeof(float));
    }
    st->wbits = (uint64_t *)(void *)p;
    st->rcls = (int32_t *)(void *)rcls;
    st->ccls = (int32_t *)(void *)ccls;
    st->nrc = abc_conv_tap_patterns(l->h, l->out_h, l->size, l->stride, l->pad, st->rcls, NULL, NULL);
    st->ncc = abc_conv_tap_patterns(l->w, l->out_w, l->size, l->stride, l->pad, st->ccls, NULL, NULL);
    st->o = *o;
    st->G = G;
    st->K = K;
    st->P = P;
    st->cw = cw;
    st->rk = rk;
    st->words = words;
    st->rw = (int)(((long)(l->w + 2 * l->pad) * l->c + 63) / 64) + 1;
    return st;
}

layer abc_conv_make(int batch, int h, int w, int c, int n, int size, int stride, int pad, ACTIVATION act,
                    int batch_normalize, const abc_conv_opts *o)
{
    layer l = abc_conv_layer_make(batch, h, w, c, n, size, stride, pad, act, batch_normalize);
    abc_conv_state *st = state_alloc(&l, o);
    for (int i = 0; i < o->N; ++i) {
        st->beta[i] = o->beta[i];
        st->v[i] = o->v[i];
    }
    l.binary_weights = (float *)(void *)st;
    l.forward = abc_conv_forward;
    l.backward = abc_conv_backward;
    l.update = abc_conv_update;
    abc_conv_quantize_weights(&l, 1);
    return l;
}

void abc_conv_resize(layer *l, int w, int h)
{
    abc_conv_state *old = abc_conv_st(l);
    abc_conv_layer_resize(l, w, h);
    abc_conv_state *st = state_alloc(l, &old->o);
    st->surrogate = old->surrogate;
    st->beta_now = old->beta_now;
    st->near_binary = old->near_binary;
    memcpy(st->alpha, old->alpha, (size_t)old->o.M * old->G * sizeof(float));
    for (int i = 0; i < old->o.N; ++i) {
        st->beta[i] = old->beta[i];
        st->v[i] = old->v[i];
        st->beta_upd[i] = old->beta_upd[i];
        st->v_upd[i] = old->v_upd[i];
    }
    if (old->frozen) { /* no shadow weights to quantize again: the bits (and wq, if built) carry over */
        if (old->wq_valid) memcpy(st->wq, old->wq, (size_t)l->nweights * sizeof(float));
        memcpy(st->wbits, old->wbits, (size_t)st->o.M * l->n * st->words * sizeof(uint64_t));
        st->wq_valid = old->wq_valid;
        st->frozen = 1;
    }
    free(old);
    l->binary_weights = (float *)(void *)st;
    if (st->frozen) abc_conv_pack_corrections(l);
}

/* ---- cfg ---- */

static const char *const conv_keys[] = {"filters", "size", "stride", "pad", "padding", "batch_normalize",
                                        "activation", "weight_bases", "activation_bases", "weight_shifts",
                                        "activation_shifts", "activation_scales", "scale", "gradient", "binarize",
                                        "weight_quantizer", "beta", "beta_growth", "beta_every", NULL};

static void parse_list(const abc_section *s, const char *key, int want, float lo, float hi, float *dst)
{
    if (!abc_sec_has(s, key)) return;
    int n = 0;
    float *v = abc_sec_floats(s, key, &n);
    if (n != want) {
        free(v);
        abc_sec_die(s, key, "expected %d values (one per base), got %d", want, n);
    }
    for (int i = 0; i < n; ++i) {
        if (!(v[i] >= lo && v[i] <= hi)) {
            float bad = v[i];
            free(v);
            abc_sec_die(s, key, "value %g out of range [%g, %g]", bad, lo, hi);
        }
        dst[i] = v[i];
    }
    free(v);
}

/* weight_quantizer= and its schedule (beta=, beta_growth=, beta_every=). */
static void parse_quantizer(const abc_section *s, abc_conv_opts *o)
{
    const char *name = abc_sec_has(s, "weight_quantizer") ? abc_sec_str(s, "weight_quantizer") : "abc";
    const char *sched[] = {"beta", "beta_growth", "beta_every"};
    if (!strcmp(name, "abc")) {
        for (int i = 0; i < 3; ++i)
            if (abc_sec_has(s, sched[i]))
                abc_sec_die(s, sched[i], "only a weight_quantizer (%s) has a beta schedule", abc_wquant_names());
        return;
    }
    const abc_wquant *q = abc_wquant_find(name);
    if (!q) abc_sec_die(s, "weight_quantizer", "'%s' is none of abc|%s", name, abc_wquant_names());
    if (o->M != 1) abc_sec_die(s, "weight_quantizer", "%s makes one binary weight base: it needs weight_bases=1", name);
    if (o->darknet) abc_sec_die(s, "weight_quantizer", "%s and binarize=darknet both choose the weights' binarization", name);
    if (abc_sec_has(s, "weight_shifts")) abc_sec_die(s, "weight_shifts", "%s has no weight shifts", name);
    if (abc_sec_has(s, "gradient")) abc_sec_die(s, "gradient", "%s has its own gradient", name);
    o->wquant = q;
    o->wq_beta = abc_sec_float(s, "beta", q->beta, 1e-6f, 1e6f);
    o->wq_growth = abc_sec_float(s, "beta_growth", q->growth, 1.f, 100.f);
    o->wq_every = abc_sec_int(s, "beta_every", q->every, 1, 1 << 30);
}

void abc_parse_abc_keys(const abc_section *s, abc_conv_opts *out)
{
    int M = abc_sec_int(s, "weight_bases", 3, 1, ABC_MAX_BASES);
    int N = abc_sec_int(s, "activation_bases", 3, 0, ABC_MAX_BASES);
    abc_conv_opts o;
    abc_conv_default_opts(&o, M, N);
    parse_list(s, "weight_shifts", M, -8, 8, o.u);
    if (N == 0 && (abc_sec_has(s, "activation_shifts") || abc_sec_has(s, "activation_scales")))
        abc_sec_die(s, abc_sec_has(s, "activation_shifts") ? "activation_shifts" : "activation_scales",
                    "activation_bases=0 (float activations) has no activation shifts or scales");
    parse_list(s, "activation_shifts", N, -16, 16, o.v);
    parse_list(s, "activation_scales", N, -100, 100, o.beta);
    o.scale = abc_sec_choice(s, "scale", "layer", "channel", ABC_SCALE_LAYER);
    o.grad = abc_sec_choice(s, "gradient", "ste", "paper", ABC_GRAD_STE);
    o.darknet = abc_sec_choice(s, "binarize", "abc", "darknet", 0);
    if (o.darknet) {
        if (M != 1 || N > 1 || o.scale != ABC_SCALE_CHANNEL || abc_sec_has(s, "weight_shifts") ||
            abc_sec_has(s, "activation_shifts") || abc_sec_has(s, "activation_scales"))
            abc_sec_die(s, "binarize", "darknet's binarization takes weight_bases=1, activation_bases=0 (binary=1) or "
                        "1 (xnor=1), scale=channel, and no shifts or scales");
        o.u[0] = 0.f;
        if (N) o.beta[0] = 1.f, o.v[0] = 0.5f; /* v: only the training mask's centre, |R| <= 0.5 */
    }
    parse_quantizer(s, &o);
    *out = o;
}

static layer conv_parse(const abc_section *s, size_params p)
{
    abc_conv_geometry g = abc_parse_conv_geometry(s, p);
    int bn = abc_sec_int(s, "batch_normalize", 0, 0, 1);
    ACTIVATION act = abc_parse_activation_key(s);
    abc_conv_opts o;
    abc_parse_abc_keys(s, &o);
    int M = o.M, N = o.N;
    layer l = abc_conv_make(p.batch, p.h, p.w, p.c, g.n, g.size, g.stride, g.pad, act, bn, &o);
    fprintf(stderr, "abc_conv %4d %2d x%2d /%2d  %4d x%4d x%4d   ->  %4d x%4d x%4d  %s%s M=%d N=%d%s\n", l.n, l.size,
            l.size, l.stride, l.w, l.h, l.c, l.out_w, l.out_h, l.out_c, o.wquant ? "weights " : "ABC",
            o.wquant ? o.wquant->name : "", M, N, N == 0 ? " (float activations)" : "");
    return l;
}

/* ---- .weights ---- */

size_t abc_conv_weights_floats(const layer *l)
{
    const abc_conv_state *st = abc_conv_st(l);
    return abc_float_record_floats(l) + (size_t)st->o.M * st->G + 2 * (size_t)st->o.N;
}

static int conv_io(layer *l, FILE *fp, int save)
{
    abc_conv_state *st = abc_conv_st(l);
    int r = abc_float_record_io(l, fp, save, 0);
    r |= abc_floats_io(st->alpha, (size_t)st->o.M * st->G, fp, save);
    r |= abc_floats_io(st->beta, (size_t)st->o.N, fp, save);
    r |= abc_floats_io(st->v, (size_t)st->o.N, fp, save);
    if (!save) {
        st->wq_valid = 0;
        st->packed_valid = 0;
    }
    return r;
}

int abc_conv_load(layer *l, FILE *fp) { return conv_io(l, fp, 0); }

int abc_conv_load_float(layer *l, FILE *fp, int connected_order)
{
    int r = abc_float_record_io(l, fp, 0, connected_order);
    if (!r) abc_conv_quantize_weights(l, 1); /* alphas fitted to the loaded weights; betas and shifts keep the cfg's */
    return r;
}

static int conv_load_float(layer *l, FILE *fp) { return abc_conv_load_float(l, fp, 0); }
int abc_conv_save(const layer *l, FILE *fp) { return conv_io((layer *)l, fp, 1); }

void abc_conv_ensure_wq(layer *l)
{
    abc_conv_state *st = abc_conv_st(l);
    if (st->wq_valid && !st->wq_soft) return;
    if (st->frozen) abc_conv_weights_from_bits(l);
    else abc_conv_quantize_weights(l, 0);
}

int abc_conv_arrays(const layer *l, abc_named_floats *out, int max)
{
    const abc_conv_state *st = abc_conv_st(l);
    abc_named_floats a[] = {{"alpha", st->alpha, st->o.M * st->G}, {"beta", st->beta, st->o.N}, {"v", st->v, st->o.N}};
    int k = 0;
    for (int i = 0; i < 3 && k < max; ++i)
        if (a[i].n) out[k++] = a[i];
    return k;
}

int abc_conv_binarization(const layer *l, float *beta, float *near_binary)
{
    const abc_conv_state *st = abc_conv_st(l);
    if (!st->o.wquant) return 0;
    *beta = st->beta_now;
    *near_binary = st->near_binary;
    return l->nweights;
}

int abc_conv_momentum(layer *l, abc_state_floats *out, int max)
{
    abc_conv_state *st = abc_conv_st(l);
    if (max < 2 || !st->beta_upd) return 0;
    out[0] = (abc_state_floats){st->beta_upd, (size_t)st->o.N};
    out[1] = (abc_state_floats){st->v_upd, (size_t)st->o.N};
    return 2;
}

const float *abc_conv_quantized(layer *l)
{
    if (abc_conv_st(l)->frozen) abc_conv_ensure_wq(l);
    else abc_conv_quantize_weights(l, 0);
    return abc_conv_st(l)->wq;
}

const abc_layer_type abc_conv_type = {"abc_convolutional", conv_keys,     conv_parse,     abc_conv_weights_floats,
                                      abc_conv_load,       abc_conv_save, abc_conv_resize,
                                      abc_float_record_floats, conv_load_float, abc_conv_describe,
                                      abc_conv_quantized,  abc_conv_pack,     abc_conv_unpack,
                                      abc_conv_arrays,     abc_conv_momentum,   abc_conv_binarization, abc_conv_bits,
                                      NULL, NULL};
