/* The float product of quantized weights and inputs, forward and backward
 * (see quant_product.h). */
#include "quant_product.h"

#include <string.h>

#include "base/darknet_private.h"
#include "float/float_fast.h"
#include "float/float_layers.h"
#include "kernels/im2col.h"
#include "kernels/sgemm.h"

void abc_conv_output_stage(layer l, network net)
{
    int S = l.out_h * l.out_w;
    if (l.batch_normalize) {
        forward_batchnorm_layer(l, net);
    } else {
        for (int b = 0; b < l.batch; ++b)
            for (int f = 0; f < l.n; ++f) {
                float *o = l.output + ((size_t)b * l.n + f) * S;
                for (int i = 0; i < S; ++i) o[i] += l.biases[f];
            }
    }
    activate_array(l.output, l.outputs * l.batch, l.activation);
}

/* 0: the plain path; 1: the fast conv; 2: the fast connected (1x1 image, size 1). */
static int fast_kind(const layer *l)
{
    if (!abc_float_fast_enabled()) return 0;
    if (l->h == 1 && l->w == 1 && l->size == 1 && l->pad == 0) return 2;
    if (l->size == 1 && (l->stride != 1 || l->pad != 0)) return 0;
    return 1;
}

static int is_direct(const layer *l) { return l->size == 1 && l->stride == 1 && l->pad == 0; }

static void forward_plain(layer l, network net, const float *wq, const float *aq)
{
    int P = l.out_h * l.out_w, K = l.c * l.size * l.size;
    float *col = net.workspace;
    for (int b = 0; b < l.batch; ++b) {
        const float *a = aq + (size_t)b * l.inputs;
        float *out = l.output + (size_t)b * l.outputs;
        const float *B = a;
        if (!is_direct(&l)) {
            abc_im2col(a, l.c, l.h, l.w, l.size, l.stride, l.pad, l.out_w, 0, l.out_h, col);
            B = col;
        }
        abc_sgemm_blas(0, 0, l.n, P, K, 1.f, wq, K, B, P, 0.f, out, P);
    }
    abc_conv_output_stage(l, net);
}

void abc_qprod_forward(layer l, network net, float *wq, float *aq)
{
    int kind = fast_kind(&l);
    if (!kind) {
        forward_plain(l, net, wq, aq);
        return;
    }
    l.weights = wq;
    net.input = aq;
    if (kind == 2) abc_connected_fast_forward(l, net);
    else abc_conv_fast_forward(l, net);
}

static void backward_plain(layer l, network net, const float *wq, const float *aq, float *gw, float *da_all)
{
    int S = l.out_h * l.out_w, K = l.c * l.size * l.size;
    gradient_array(l.output, l.outputs * l.batch, l.activation, l.delta);
    if (l.batch_normalize) {
        backward_batchnorm_layer(l, net);
    } else {
        for (int b = 0; b < l.batch; ++b)
            for (int f = 0; f < l.n; ++f) {
                const float *d = l.delta + ((size_t)b * l.n + f) * S;
                float s = 0;
                for (int i = 0; i < S; ++i) s += d[i];
                l.bias_updates[f] += s;
            }
    }
    int direct = is_direct(&l);
    float *col = net.workspace;
    for (int b = 0; b < l.batch; ++b) {
        const float *a = aq + (size_t)b * l.inputs;
        const float *d = l.delta + (size_t)b * l.outputs;
        const float *B = a;
        if (!direct) {
            abc_im2col(a, l.c, l.h, l.w, l.size, l.stride, l.pad, l.out_w, 0, l.out_h, col);
            B = col;
        }
        abc_sgemm_blas(0, 1, l.n, K, S, 1.f, d, S, B, S, 1.f, gw, K);
        if (!da_all) continue;
        float *da = da_all + (size_t)b * l.inputs;
        /* dA = col2im(W~^T delta) */
        if (direct) {
            abc_sgemm_blas(1, 0, K, S, l.n, 1.f, wq, K, d, S, 0.f, da, S);
        } else {
            abc_sgemm_blas(1, 0, K, S, l.n, 1.f, wq, K, d, S, 0.f, col, S);
            memset(da, 0, (size_t)l.inputs * sizeof(float));
            abc_col2im_add(col, l.c, l.h, l.w, l.size, l.stride, l.pad, l.out_h, l.out_w, da);
        }
    }
}

void abc_qprod_backward(layer l, network net, float *wq, float *aq, float *gw, float *da)
{
    memset(gw, 0, (size_t)l.nweights * sizeof(float));
    if (da) memset(da, 0, (size_t)l.batch * l.inputs * sizeof(float));
    int kind = fast_kind(&l);
    if (!kind) {
        backward_plain(l, net, wq, aq, gw, da);
        return;
    }
    l.weights = wq;
    l.weight_updates = gw;
    net.input = aq;
    net.delta = da;
    if (kind == 2) abc_connected_fast_backward(l, net);
    else abc_conv_fast_backward(l, net);
}
