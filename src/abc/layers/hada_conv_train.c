/* HadaNet layers: the training path (the float simulation of the quantized
 * layer and its backward: Eq. 6 for the weights, the straight-through mask
 * for the input) and the choice of the inference path. See hada_conv.h.
 * Gradients follow darknet's convention: *_updates accumulate -dLoss/dparam. */
#include <math.h>

#include "abc_conv.h"
#include "dn_private.h"
#include "hada_conv.h"
#include "quant_product.h"

void hada_conv_forward_sim(layer l, network net)
{
    hada_conv_state *st = hada_conv_st(&l);
    hada_conv_quantize_input(&l, net.input, st->aq, l.batch);
    abc_qprod_forward(l, net, st->wq, st->aq);
}

int hada_conv_uses_packed(const layer *l)
{
    const hada_conv_state *st = hada_conv_st(l);
    return st->o.ba > 1 && !st->surrogate && !abc_conv_inference_sim();
}

void hada_conv_forward(layer l, network net)
{
    hada_conv_state *st = hada_conv_st(&l);
    if (net.train) {
        /* the paper's projection, every step: each filter centred and clipped to [-1, 1] (in place) */
        if (!st->surrogate) hada_conv_centre_weights(&l);
        hada_conv_quantize_weights(&l);
    } else if (!st->wq_valid) {
        hada_conv_quantize_weights(&l);
    }
    if (!net.train && hada_conv_uses_packed(&l)) hada_conv_forward_packed(l, net);
    else hada_conv_forward_sim(l, net);
}

/* Eq. 6, segment by segment: weight_updates += dW from gw = dW~. */
static void add_weight_grad(layer *l, const hada_conv_state *st, const float *gw)
{
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

void hada_conv_backward(layer l, network net)
{
    hada_conv_state *st = hada_conv_st(&l);
    abc_qprod_backward(l, net, st->wq, st->aq, st->gw, net.delta ? st->da : NULL);
    if (net.delta) {
        size_t n = (size_t)l.batch * l.inputs;
        const float *x = net.input, *da = st->da;
        if (st->o.ba == 1)
            for (size_t i = 0; i < n; ++i) net.delta[i] += da[i];
        else
            for (size_t i = 0; i < n; ++i) net.delta[i] += fabsf(x[i]) <= 1.f ? da[i] : 0.f;
    }
    add_weight_grad(&l, st, st->gw);
}

void hada_conv_update(layer l, update_args a)
{
    update_convolutional_layer(l, a);
    hada_conv_st(&l)->wq_valid = 0;
}
