/* [abc_convolutional] training path: a float simulation of the quantized
 * layer (one im2col + GEMM per image on the quantized weights and inputs)
 * and its straight-through backward (methods.md section 1):
 *   dR      = sum_n beta_n dA 1[0 <= R + v_n <= 1]      (N = 0: dR = dA)
 *   dv_n    = sum    beta_n dA 1[0 <= R + v_n <= 1]
 *   dbeta_n = sum    dA H_n(R)
 *   dW      = dW~ (gradient=ste) or (sum_m alpha_m^2) dW~ (gradient=paper, Eq. 7).
 * Gradients follow darknet's convention: *_updates accumulate -dLoss/dparam
 * (l.delta holds -dLoss/doutput) and update() steps along them. */
#include <stdlib.h>
#include <string.h>

#include "abc_util.h"

#include "abc_conv.h"
#include "dn_private.h"
#include "kernels/im2col.h"
#include "kernels/sgemm.h"

/* Activation base n of r: +-1, or the differentiable clip(r+v,0,1) stand-in in surrogate mode. */
static inline float act_base(const abc_conv_state *st, float r, int n)
{
    if (st->surrogate) {
        float t = r + st->v[n];
        return t < 0 ? 0.f : t > 1 ? 1.f : t;
    }
    return abc_conv_abit(r, abc_conv_thr(st->v[n])) ? 1.f : -1.f;
}

static void quantize_input(const abc_conv_state *st, const float *x, float *aq, size_t n)
{
    int N = st->o.N;
    if (N == 0) {
        memcpy(aq, x, n * sizeof(float));
        return;
    }
    for (size_t i = 0; i < n; ++i) {
        float s = 0;
        for (int b = 0; b < N; ++b) s += st->beta[b] * act_base(st, x[i], b);
        aq[i] = s;
    }
}

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

void abc_conv_forward_sim(layer l, network net)
{
    abc_conv_state *st = abc_conv_st(&l);
    quantize_input(st, net.input, st->aq, (size_t)l.batch * l.inputs);
    float *col = net.workspace;
    for (int b = 0; b < l.batch; ++b) {
        const float *a = st->aq + (size_t)b * l.inputs;
        float *out = l.output + (size_t)b * l.outputs;
        const float *B = a;
        if (l.size == 1 && l.stride == 1 && l.pad == 0) {
            B = a;
        } else {
            abc_im2col(a, l.c, l.h, l.w, l.size, l.stride, l.pad, l.out_w, 0, l.out_h, col);
            B = col;
        }
        abc_sgemm_blas(0, 0, l.n, st->P, st->K, 1.f, st->wq, st->K, B, st->P, 0.f, out, st->P);
    }
    abc_conv_output_stage(l, net);
}

int abc_conv_inference_sim(void)
{
    static int mode = -1;
    if (mode < 0) {
        const char *e = getenv("ABC_INFERENCE");
        if (!e || !*e || !strcmp(e, "packed")) mode = 0;
        else if (!strcmp(e, "sim")) mode = 1;
        else abc_die("ABC_INFERENCE='%s': expected 'packed' (the default) or 'sim'", e);
    }
    return mode;
}

void abc_conv_forward(layer l, network net)
{
    abc_conv_state *st = abc_conv_st(&l);
    if (net.train) {
        abc_conv_quantize_weights(&l, 1);
        abc_conv_forward_sim(l, net);
        return;
    }
    if (!st->wq_valid) abc_conv_quantize_weights(&l, 0);
    if (st->o.N == 0 || st->surrogate || abc_conv_inference_sim()) abc_conv_forward_sim(l, net);
    else abc_conv_forward_packed(l, net);
}

/* Chain rule through the activation bases for one image: net.delta += dR,
 * and the beta/v gradients. */
static void backward_input(abc_conv_state *st, const float *x, const float *da, float *dx, size_t n)
{
    int N = st->o.N;
    if (N == 0) {
        if (dx)
            for (size_t i = 0; i < n; ++i) dx[i] += da[i];
        return;
    }
    for (int b = 0; b < N; ++b) {
        double db = 0, dv = 0;
        float beta = st->beta[b], v = st->v[b];
        for (size_t i = 0; i < n; ++i) {
            float t = x[i] + v;
            db += da[i] * act_base(st, x[i], b);
            if (t >= 0.f && t <= 1.f) {
                dv += beta * da[i];
                if (dx) dx[i] += beta * da[i];
            }
        }
        st->beta_upd[b] += (float)db;
        st->v_upd[b] += (float)dv;
    }
}

void abc_conv_backward(layer l, network net)
{
    abc_conv_state *st = abc_conv_st(&l);
    int S = st->P, K = st->K;
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
    int direct = l.size == 1 && l.stride == 1 && l.pad == 0;
    float *col = net.workspace;
    memset(st->gw, 0, (size_t)l.nweights * sizeof(float));
    for (int b = 0; b < l.batch; ++b) {
        const float *a = st->aq + (size_t)b * l.inputs;
        const float *d = l.delta + (size_t)b * l.outputs;
        const float *B = a;
        if (!direct) {
            abc_im2col(a, l.c, l.h, l.w, l.size, l.stride, l.pad, l.out_w, 0, l.out_h, col);
            B = col;
        }
        abc_sgemm_blas(0, 1, l.n, K, S, 1.f, d, S, B, S, 1.f, st->gw, K);
        if (!net.delta && st->o.N == 0) continue;
        /* dA = col2im(W~^T delta) */
        if (direct) {
            abc_sgemm_blas(1, 0, K, S, l.n, 1.f, st->wq, K, d, S, 0.f, st->da, S);
        } else {
            abc_sgemm_blas(1, 0, K, S, l.n, 1.f, st->wq, K, d, S, 0.f, col, S);
            memset(st->da, 0, (size_t)l.inputs * sizeof(float));
            abc_col2im_add(col, l.c, l.h, l.w, l.size, l.stride, l.pad, l.out_h, l.out_w, st->da);
        }
        backward_input(st, net.input + (size_t)b * l.inputs, st->da,
                       net.delta ? net.delta + (size_t)b * l.inputs : NULL, (size_t)l.inputs);
    }
    int len = l.nweights / st->G;
    for (int g = 0; g < st->G; ++g) {
        float f = 1.f;
        if (st->o.grad == ABC_GRAD_PAPER && !st->surrogate) {
            f = 0;
            for (int m = 0; m < st->o.M; ++m) f += st->alpha[g * st->o.M + m] * st->alpha[g * st->o.M + m];
        }
        for (int i = g * len; i < (g + 1) * len; ++i) l.weight_updates[i] += f * st->gw[i];
    }
}

void abc_conv_update(layer l, update_args a)
{
    abc_conv_state *st = abc_conv_st(&l);
    update_convolutional_layer(l, a);
    float lr = a.learning_rate * l.learning_rate_scale / a.batch;
    for (int n = 0; n < st->o.N; ++n) {
        st->beta[n] += lr * st->beta_upd[n];
        st->v[n] += lr * st->v_upd[n];
        st->beta_upd[n] *= a.momentum;
        st->v_upd[n] *= a.momentum;
    }
    st->wq_valid = 0;
    st->packed_valid = 0;
}
