/* [abc_convolutional] training path: a float simulation of the quantized
 * layer (the quantized weights times the quantized inputs, through the fast
 * float layers; one im2col + GEMM per image as the reference) and its
 * straight-through backward (the paper's rules, R+v in the mask):
 *   dR      = sum_n beta_n dA 1[0 <= R + v_n <= 1]      (N = 0: dR = dA)
 *   dv_n    = sum    beta_n dA 1[0 <= R + v_n <= 1]
 *   dbeta_n = sum    dA H_n(R)
 *   dW      = dW~ (gradient=ste) or (sum_m alpha_m^2) dW~ (gradient=paper, Eq. 7).
 * Gradients follow darknet's convention: *_updates accumulate -dLoss/dparam
 * (l.delta holds -dLoss/doutput) and update() steps along them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the input-gradient lanes vectorize */
#endif
#include <stdlib.h>
#include <string.h>

#include "base/mode.h"
#include "base/util.h"

#include "abc_conv.h"
#include "base/darknet_private.h"
#include "kernels/cpu.h"
#include "kernels/pool.h"
#include "quant/quant_product.h"

/* Activation base n of r: +-1, or the differentiable clip(r+v,0,1) stand-in in surrogate mode. */
static inline float act_base(const abc_conv_state *st, float r, int n)
{
    if (st->surrogate) {
        float t = r + st->v[n];
        return t < 0 ? 0.f : t > 1 ? 1.f : t;
    }
    return abc_conv_abit(r, abc_conv_thr(st, n)) ? 1.f : -1.f;
}

typedef struct {
    const abc_conv_state *st;
    const float *x; /* layer input (R) */
    float *aq;      /* forward: quantized input */
    const float *da; /* backward: gradient w.r.t. the quantized input */
    float *dx;      /* backward: net.delta (may be NULL) */
    int n, parts;
    double *sums;   /* backward: per part, dbeta[N] then dv[N] */
} input_job;

static int input_parts(int n)
{
    int p = 4 * abc_pool_threads(), min_len = 16384;
    if (p > n / min_len) p = n / min_len;
    return p < 1 ? 1 : p;
}

ABC_CLONED static void quantize_task(void *ctx, int task, int thread)
{
    (void)thread;
    const input_job *j = ctx;
    const abc_conv_state *st = j->st;
    int i0, i1;
    abc_split_range(j->n, j->parts, task, &i0, &i1);
    if (st->surrogate) {
        for (int i = i0; i < i1; ++i) {
            float s = 0;
            for (int b = 0; b < st->o.N; ++b) s += st->beta[b] * act_base(st, j->x[i], b);
            j->aq[i] = s;
        }
        return;
    }
    /* one base at a time over the range: branch-free loops the compiler vectorizes */
    const float *x = j->x;
    float *aq = j->aq;
    for (int i = i0; i < i1; ++i) aq[i] = 0.f;
    for (int b = 0; b < st->o.N; ++b) {
        float thr = abc_conv_thr(st, b), beta = st->beta[b];
        for (int i = i0; i < i1; ++i) aq[i] += x[i] >= thr ? beta : -beta;
    }
}

static void quantize_input(const abc_conv_state *st, const float *x, float *aq, size_t n)
{
    if (st->o.N == 0) {
        memcpy(aq, x, n * sizeof(float));
        return;
    }
    input_job j = {st, x, aq, NULL, NULL, (int)n, input_parts((int)n), NULL};
    abc_pool_run(j.parts, quantize_task, &j);
}

void abc_conv_forward_sim(layer l, network net)
{
    abc_conv_state *st = abc_conv_st(&l);
    quantize_input(st, net.input, st->aq, (size_t)l.batch * l.inputs);
    abc_qprod_forward(l, net, st->wq, st->aq);
}

void abc_conv_forward(layer l, network net)
{
    abc_conv_state *st = abc_conv_st(&l);
    size_t it = net.seen ? *net.seen / (size_t)(net.batch * (net.subdivisions > 0 ? net.subdivisions : 1)) : 0;
    if (net.train) {
        if (st->frozen) abc_die("a model loaded from a packed file has no shadow weights to train");
        if (st->o.wquant) abc_conv_quantize_soft(&l, it, 1);
        else abc_conv_quantize_weights(&l, 1);
        abc_conv_forward_sim(l, net);
        return;
    }
    int mode = abc_mode_choice(ABC_MODE_INFERENCE);
    if (st->o.wquant && !st->frozen && mode == ABC_INFERENCE_SOFT) { /* the training model, to compare */
        abc_conv_quantize_soft(&l, it, 0);
        abc_conv_forward_sim(l, net);
        return;
    }
    if (st->wq_soft) st->wq_valid = 0; /* the hard model from here */
    if (st->o.N == 0 || st->surrogate || mode != ABC_INFERENCE_PACKED) {
        abc_conv_ensure_wq(&l);
        abc_conv_forward_sim(l, net);
    } else {
        if (!st->wq_valid && !st->frozen) abc_conv_quantize_weights(&l, 0); /* the packing reads alpha */
        abc_conv_forward_packed(l, net);
    }
}

/* Chain rule through the activation bases over elements [i0, i1): dx += dR,
 * and that range's beta/v gradient sums. The sums run in LANES independent
 * float accumulators over short blocks (one accumulator would wait on each
 * add), added up in a fixed order in double: the same bits on any thread. */
enum { LANES = 16, BLOCK = 1024 };

ABC_CLONED static void backward_input_task(void *ctx, int task, int thread)
{
    (void)thread;
    const input_job *j = ctx;
    const abc_conv_state *st = j->st;
    int N = st->o.N, i0, i1;
    abc_split_range(j->n, j->parts, task, &i0, &i1);
    if (N == 0) {
        if (j->dx)
            for (int i = i0; i < i1; ++i) j->dx[i] += j->da[i];
        return;
    }
    double *db = j->sums + (size_t)task * 2 * N, *dv = db + N;
    const float *x = j->x, *da = j->da;
    for (int b = 0; b < N; ++b) {
        double sb = 0, sv = 0;
        float beta = st->beta[b], v = st->v[b], thr = abc_conv_thr(st, b);
        for (int c0 = i0; c0 < i1; c0 += BLOCK) {
            int c1 = c0 + BLOCK < i1 ? c0 + BLOCK : i1;
            float fb[LANES] = {0}, fv[LANES] = {0};
            for (int i = c0; i < c1; i += LANES) {
                int n = c1 - i < LANES ? c1 - i : LANES;
                for (int k = 0; k < n; ++k) {
                    float xi = x[i + k], d = da[i + k];
                    fb[k] += st->surrogate ? d * act_base(st, xi, b) : xi >= thr ? d : -d;
                    float t = xi + v, g = t >= 0.f && t <= 1.f ? d : 0.f; /* the straight-through mask */
                    fv[k] += g;
                    if (j->dx) j->dx[i + k] += beta * g;
                }
            }
            for (int k = 0; k < LANES; ++k) {
                sb += fb[k];
                sv += (double)beta * fv[k];
            }
        }
        db[b] = sb;
        dv[b] = sv;
    }
}

/* The gradient of n input elements from the gradient da of their quantized
 * values: net.delta (dx, may be NULL) and the beta/v updates. */
static void backward_input(abc_conv_state *st, const float *x, const float *da, float *dx, size_t n)
{
    int N = st->o.N;
    input_job j = {st, x, NULL, da, dx, (int)n, input_parts((int)n), NULL};
    if (N) j.sums = abc_xcalloc((size_t)j.parts * 2 * N, sizeof(double));
    abc_pool_run(j.parts, backward_input_task, &j);
    for (int b = 0; b < N; ++b) {
        double sb = 0, sv = 0; /* summed in part order: the same result for any thread count */
        for (int t = 0; t < j.parts; ++t) {
            sb += j.sums[(size_t)t * 2 * N + b];
            sv += j.sums[(size_t)t * 2 * N + N + b];
        }
        st->beta_upd[b] += (float)sb;
        st->v_upd[b] += (float)sv;
    }
    free(j.sums);
}

/* weight_updates += dW~ (ste), or scaled per alpha group by sum(alpha^2) (paper); a weight quantizer's
 * gradient through its projection (gw is overwritten). */
static void add_weight_grad(layer *l, const abc_conv_state *st, float *gw)
{
    int len = l->nweights / st->G;
    if (st->o.wquant && !st->surrogate) {
        for (int g = 0; g < st->G; ++g) {
            size_t at = (size_t)g * len;
            st->o.wquant->grad(l->weights + at, st->wq + at, len, st->beta_now, gw + at);
        }
        for (int i = 0; i < l->nweights; ++i) l->weight_updates[i] += gw[i];
        return;
    }
    for (int g = 0; g < st->G; ++g) {
        float f = 1.f;
        if (st->o.grad == ABC_GRAD_PAPER && !st->surrogate) {
            f = 0;
            for (int m = 0; m < st->o.M; ++m) f += st->alpha[g * st->o.M + m] * st->alpha[g * st->o.M + m];
        }
        for (int i = g * len; i < (g + 1) * len; ++i) l->weight_updates[i] += f * gw[i];
    }
}

void abc_conv_backward(layer l, network net)
{
    abc_conv_state *st = abc_conv_st(&l);
    int need_da = net.delta || st->o.N > 0;
    size_t n_in = (size_t)l.batch * l.inputs;
    abc_qprod_backward(l, net, st->wq, st->aq, st->gw, need_da ? st->da : NULL);
    if (need_da) backward_input(st, net.input, st->da, net.delta, n_in);
    add_weight_grad(&l, st, st->gw);
}

void abc_conv_update(layer l, update_args a)
{
    abc_conv_state *st = abc_conv_st(&l);
    if (st->o.wquant && !st->o.wquant->decay) a.decay = 0; /* the quantizer's recipe: no decay of its w */
    update_convolutional_layer(l, a);
    float lr = a.learning_rate * l.learning_rate_scale / a.batch;
    for (int n = 0; n < st->o.N && !st->o.darknet; ++n) { /* darknet's binarization has no trained scale or shift */
        st->beta[n] += lr * st->beta_upd[n];
        st->v[n] += lr * st->v_upd[n];
        st->beta_upd[n] *= a.momentum;
        st->v_upd[n] *= a.momentum;
    }
    st->wq_valid = 0;
    st->packed_valid = 0;
}
