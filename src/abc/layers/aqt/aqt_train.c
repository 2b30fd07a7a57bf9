/* The quant layers' forward (training: the float product of the dequantized weights and inputs; inference:
 * the integer product), backward (straight through, zero where an input was clipped) and update. */
#include <string.h>

#include "aqt_conv.h"
#include "base/darknet_private.h"
#include "base/mode.h"
#include "base/util.h"
#include "quant/quant_product.h"

int aqt_uses_integer(void) { return abc_mode_choice(ABC_MODE_INFERENCE) != ABC_INFERENCE_SIM; }

static size_t iteration(network net)
{
    return net.seen ? *net.seen / (size_t)(net.batch * (net.subdivisions > 0 ? net.subdivisions : 1)) : 0;
}

static void quantize_weights(layer *l, aqt_state *st, int ints)
{
    if (st->w8_valid && st->wq_ints == ints) return;
    aqt_quantize_weights(l, st, !ints); /* sets wq_ints */
}

void aqt_forward(layer l, network net)
{
    aqt_state *st = aqt_st(&l);
    if (!net.train) {
        quantize_weights(&l, st, 1);
        aqt_forward_integer(l, net, !aqt_uses_integer());
        return;
    }
    if (st->frozen) abc_die("a model loaded from a packed file has no shadow weights to train");
    quantize_weights(&l, st, 0);
    size_t n = (size_t)l.batch * l.inputs;
    aqt_update_bounds(st, net.input, n);
    st->quantized = iteration(net) >= (size_t)st->o.quant_start && aqt_input_range(st, &st->s_a, &st->qlo, &st->qhi);
    if (st->quantized)
        for (size_t i = 0; i < n; ++i) st->aq[i] = aqt_qa(net.input[i], st->s_a, st->qlo, st->qhi) / st->s_a;
    else
        memcpy(st->aq, net.input, n * sizeof(float));
    abc_qprod_forward(l, net, st->wq, st->aq);
}

void aqt_backward(layer l, network net)
{
    aqt_state *st = aqt_st(&l);
    abc_qprod_backward(l, net, st->wq, st->aq, st->gw, net.delta ? st->da : NULL);
    for (int i = 0; i < l.nweights; ++i) l.weight_updates[i] += st->gw[i];
    if (!net.delta) return;
    size_t n = (size_t)l.batch * l.inputs;
    if (!st->quantized) {
        for (size_t i = 0; i < n; ++i) net.delta[i] += st->da[i];
        return;
    }
    /* floor(s x) inside [qlo, qhi] <=> s x in [qlo, qhi + 1) */
    for (size_t i = 0; i < n; ++i) {
        float v = net.input[i] * st->s_a;
        if (v >= st->qlo && v < st->qhi + 1.f) net.delta[i] += st->da[i];
    }
}

void aqt_update(layer l, update_args a)
{
    update_convolutional_layer(l, a);
    aqt_st(&l)->w8_valid = 0;
}
