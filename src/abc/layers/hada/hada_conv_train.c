/* HadaNet layers: the training path (the float simulation of the quantized
 * layer and its backward: straight through or Eq. 6 for the weights, the
 * chain rule through the segment magnitude or the straight-through mask for
 * the input) and the choice of the inference path. See hada_conv.h.
 * Gradients follow darknet's convention: *_updates accumulate -dLoss/dparam. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the segment loops vectorize */
#endif
#include <math.h>

#include "base/darknet_private.h"
#include "base/mode.h"
#include "base/util.h"
#include "hada_conv.h"
#include "kernels/cpu.h"
#include "kernels/pool.h"
#include "quant/quant_product.h"

void hada_conv_forward_sim(layer l, network net)
{
    hada_conv_state *st = hada_conv_st(&l);
    hada_conv_quantize_input(&l, net.input, st->aq, l.batch);
    abc_qprod_forward(l, net, st->wq, st->aq);
}

int hada_conv_uses_packed(const layer *l)
{
    const hada_conv_state *st = hada_conv_st(l);
    return st->o.ba > 1 && !st->surrogate && abc_mode_choice(ABC_MODE_INFERENCE) == ABC_INFERENCE_PACKED;
}

void hada_conv_forward(layer l, network net)
{
    hada_conv_state *st = hada_conv_st(&l);
    if (net.train) {
        if (st->frozen) abc_die("a model loaded from a packed file has no shadow weights to train");
        /* the paper's projection, every step: each filter centred and clipped to [-1, 1] (in place) */
        if (!st->surrogate) hada_conv_centre_weights(&l);
        hada_conv_quantize_weights(&l);
    } else if (!st->wq_valid) {
        hada_conv_quantize_weights(&l);
    }
    if (!net.train && hada_conv_uses_packed(&l)) hada_conv_forward_packed(l, net);
    else hada_conv_forward_sim(l, net);
}

/* weight_updates += dW from gw = dW~: straight through (ste) or Eq. 6 (paper), segment by segment. */
static void add_weight_grad(layer *l, const hada_conv_state *st, const float *gw)
{
    if (st->o.grad == HADA_GRAD_STE) {
        for (int i = 0; i < l->nweights; ++i) l->weight_updates[i] += fabsf(l->weights[i]) <= 1.f ? gw[i] : 0.f;
        return;
    }
    int taps = st->taps;
    for (int f = 0; f < l->n; ++f)
        for (int t = 0; t < taps; ++t)
            for (int s = 0; s < st->sw; ++s) {
                int c0, c1;
                size_t base = hada_wseg(l, st, f, t, s, &c0, &c1);
                float delta = st->wmag[((size_t)f * taps + t) * st->sw + s], sum = 0;
                for (int ch = c0; ch < c1; ++ch) {
                    size_t i = base + (size_t)ch * taps;
                    sum += gw[i] * hada_sgn_or_clip(st->surrogate, l->weights[i]);
                }
                sum /= (float)(c1 - c0);
                for (int ch = c0; ch < c1; ++ch) {
                    size_t i = base + (size_t)ch * taps;
                    float w = l->weights[i];
                    l->weight_updates[i] += hada_sgn(w) * sum + (fabsf(w) <= 1.f ? delta * gw[i] : 0.f);
                }
            }
}

typedef struct {
    const layer *l;
    const float *x, *da;
    float *dx;
    int nseg, parts;
} input_grad_job;

/* input_gradient=segment for segment s of image b: through sgn (straight through) and through the
 * segment's mean magnitude, on a chunk of pixels at a time (the channels are hw floats apart). Compute-bound
 * element-wise work: cloned for AVX-512 and AVX2 (each pixel's sums in the same order: the same bits). */
ABC_CLONED static void input_grad_segment(const input_grad_job *j, int b, int s)
{
    const layer *l = j->l;
    const hada_conv_state *st = hada_conv_st(l);
    int ba = st->o.ba, hw = l->h * l->w, c0 = s * ba, c1 = c0 + ba < l->c ? c0 + ba : l->c;
    float inv = 1.f / (float)(c1 - c0);
    size_t at = ((size_t)b * l->c + c0) * hw;
    const float *x = j->x + at, *da = j->da + at;
    float *dx = j->dx + at;
    enum { CHUNK = 256 };
    float sum[CHUNK], mag[CHUNK];
    for (int i0 = 0; i0 < hw; i0 += CHUNK) {
        int n = hw - i0 < CHUNK ? hw - i0 : CHUNK;
        for (int i = 0; i < n; ++i) sum[i] = mag[i] = 0.f;
        for (int ch = 0; ch < c1 - c0; ++ch) {
            const float *xc = x + (size_t)ch * hw + i0, *dc = da + (size_t)ch * hw + i0;
            for (int i = 0; i < n; ++i) {
                sum[i] += dc[i] * hada_sgn_or_clip(st->surrogate, xc[i]);
                mag[i] += fabsf(xc[i]);
            }
        }
        for (int i = 0; i < n; ++i) sum[i] *= inv, mag[i] *= inv;
        for (int ch = 0; ch < c1 - c0; ++ch) {
            const float *xc = x + (size_t)ch * hw + i0, *dc = da + (size_t)ch * hw + i0;
            float *oc = dx + (size_t)ch * hw + i0;
            for (int i = 0; i < n; ++i)
                oc[i] += hada_sgn(xc[i]) * sum[i] + (fabsf(xc[i]) <= 1.f ? mag[i] * dc[i] : 0.f);
        }
    }
}

static void input_grad_task(void *ctx, int task, int thread)
{
    (void)thread;
    const input_grad_job *j = ctx;
    int lo, hi;
    abc_split_range(j->l->batch * j->nseg, j->parts, task, &lo, &hi);
    for (int i = lo; i < hi; ++i) input_grad_segment(j, i / j->nseg, i % j->nseg);
}

/* dx += dR from da = dA: a copy (float inputs), the straight-through mask (paper), or input_grad_segment. */
static void add_input_grad(const layer *l, const hada_conv_state *st, const float *x, const float *da, float *dx)
{
    size_t n = (size_t)l->batch * l->inputs;
    if (st->o.ba == 1) {
        for (size_t i = 0; i < n; ++i) dx[i] += da[i];
        return;
    }
    if (st->o.xgrad == HADA_XGRAD_PAPER) {
        for (size_t i = 0; i < n; ++i) dx[i] += fabsf(x[i]) <= 1.f ? da[i] : 0.f;
        return;
    }
    input_grad_job j = {l, x, da, dx, hada_nseg(l->c, st->o.ba), 0};
    int total = l->batch * j.nseg, parts = 4 * abc_pool_threads();
    if (n < 16384) parts = 1; /* too small to be worth waking the pool */
    j.parts = parts < total ? parts : total;
    abc_pool_run(j.parts, input_grad_task, &j);
}

void hada_conv_backward(layer l, network net)
{
    hada_conv_state *st = hada_conv_st(&l);
    abc_qprod_backward(l, net, st->wq, st->aq, st->gw, net.delta ? st->da : NULL);
    if (net.delta) add_input_grad(&l, st, net.input, st->da, net.delta);
    add_weight_grad(&l, st, st->gw);
}

void hada_conv_update(layer l, update_args a)
{
    update_convolutional_layer(l, a);
    hada_conv_st(&l)->wq_valid = 0;
}
