/* [abc_convolutional]: the weight quantizer against its definition, the
 * training path against a direct convolution, numerical gradient checks of
 * the backward pass, the packed inference path against the simulation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mode.h"
#include "base/threads.h"
#include "float/float_fast.h"
#include "layers/abc/abc_conv.h"
#include "test_util.h"


typedef struct {
    layer l;
    network net;
} rig;

static rig make_rig(int batch, int h, int w, int c, int n, int size, int stride, int pad, int bn, ACTIVATION act,
                    const abc_conv_opts *o, unsigned *seed)
{
    rig r;
    memset(&r, 0, sizeof r);
    r.l = abc_conv_make(batch, h, w, c, n, size, stride, pad, act, bn, o);
    layer *l = &r.l;
    abc_test_fill_conv_params(l, seed);
    r.net = abc_test_layer_net(l, batch, seed);
    return r;
}

static void free_rig(rig *r)
{
    free_layer(r->l);
    abc_test_layer_net_free(&r->net);
}

/* ---- weight quantizer ---- */

static const int quant_cases[][3] = {{1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {5, 0, 0}, {8, 0, 0}, {3, 1, 0}, {5, 1, 0}};

START_TEST(weight_bases_solve_ridge_least_squares)
{
    unsigned seed = 11u + (unsigned)_i;
    int M = quant_cases[_i][0];
    abc_conv_opts o;
    abc_conv_default_opts(&o, M, 1);
    o.scale = quant_cases[_i][1] ? ABC_SCALE_CHANNEL : ABC_SCALE_LAYER;
    rig r = make_rig(1, 5, 5, 3, 4, 3, 1, 1, 0, LINEAR, &o, &seed);
    layer *l = &r.l;
    abc_conv_state *st = abc_conv_st(l);
    /* the same bits on 1 and 2 threads (the pool takes fixed slices) */
    abc_set_threads(2);
    abc_conv_quantize_weights(l, 1);
    float *wq2 = malloc((size_t)l->nweights * sizeof(float)), *al2 = malloc((size_t)st->G * M * sizeof(float));
    memcpy(wq2, st->wq, (size_t)l->nweights * sizeof(float));
    memcpy(al2, st->alpha, (size_t)st->G * M * sizeof(float));
    abc_set_threads(1);
    abc_conv_quantize_weights(l, 1);
    ck_assert_msg(!memcmp(wq2, st->wq, (size_t)l->nweights * sizeof(float)), "wq differs between 1 and 2 threads");
    ck_assert_msg(!memcmp(al2, st->alpha, (size_t)st->G * M * sizeof(float)), "alpha differs between 1 and 2 threads");
    free(wq2), free(al2);
    int len = l->nweights / st->G;
    double err_q = 0, err_w = 0;
    for (int g = 0; g < st->G; ++g) {
        float mean, sd;
        abc_conv_group_stats(l, g, &mean, &sd);
        const float *w = l->weights + g * len, *wq = st->wq + g * len, *al = st->alpha + g * M;
        /* wq is sum_m alpha_m B_m with B_m = sgn(W - mean + u_m std) */
        for (int i = 0; i < len; ++i) {
            double s = 0;
            for (int m = 0; m < M; ++m) s += (w[i] - mean + o.u[m] * sd >= 0 ? 1 : -1) * al[m];
            ck_assert_msg(fabs(s - wq[i]) < 1e-5, "wq[%d]=%g, want %g", i, wq[i], s);
        }
        /* normal equations with the ridge: B^T (W - wq) = lambda alpha, lambda = 1e-4 len */
        for (int m = 0; m < M; ++m) {
            double s = 0;
            for (int i = 0; i < len; ++i) s += (w[i] - mean + o.u[m] * sd >= 0 ? 1 : -1) * (double)(w[i] - wq[i]);
            ck_assert_msg(fabs(s - 1e-4 * len * al[m]) < 1e-3, "M=%d m=%d: residual %g vs %g", M, m, s,
                          1e-4 * len * al[m]);
        }
        for (int i = 0; i < len; ++i) {
            err_q += (w[i] - wq[i]) * (w[i] - wq[i]);
            err_w += w[i] * w[i];
        }
    }
    /* more bases approximate better: M=1 leaves about 1/3 of a uniform's energy, M>=3 far less */
    ck_assert_msg(err_q < (M == 1 ? 0.5 : 0.2) * err_w, "M=%d: relative error %g", M, err_q / err_w);
    free_rig(&r);
}
END_TEST

/* ---- training forward against a direct convolution ---- */

START_TEST(sim_forward_equals_direct_convolution)
{
    unsigned seed = 21u + (unsigned)_i;
    static const int cases[][5] = {{3, 1, 1, 3, 3}, {1, 1, 0, 2, 1}, {5, 2, 2, 1, 5}, {3, 2, 0, 3, 0}};
    const int *k = cases[_i];
    abc_conv_opts o;
    abc_conv_default_opts(&o, k[3], k[4]);
    rig r = make_rig(2, 7, 6, 3, 4, k[0], k[1], k[2], 0, LINEAR, &o, &seed);
    layer *l = &r.l;
    l->forward(*l, r.net);
    abc_conv_state *st = abc_conv_st(l);
    float *aq = malloc((size_t)l->batch * l->inputs * sizeof(float));
    for (int i = 0; i < l->batch * l->inputs; ++i) {
        float x = r.net.input[i], s = 0;
        if (o.N == 0) s = x;
        for (int n = 0; n < o.N; ++n) s += st->beta[n] * (x >= 0.5f - st->v[n] ? 1.f : -1.f);
        aq[i] = s;
    }
    float *ref = malloc((size_t)l->batch * l->outputs * sizeof(float));
    abc_test_direct_conv(l, aq, st->wq, ref);
    for (int i = 0; i < l->batch * l->outputs; ++i)
        ck_assert_msg(fabsf(ref[i] - l->output[i]) < 1e-4f * (1 + fabsf(ref[i])), "out[%d]=%g, want %g", i,
                      l->output[i], ref[i]);
    free(aq);
    free(ref);
    free_rig(&r);
}
END_TEST

/* ---- numerical gradient checks ---- */

static double loss_of(rig *r, const float *g) { return abc_test_loss(&r->l, r->net, g); }

/* A random upstream gradient g: forward, l.delta = g, backward; returns g. */
static float *backward_with_random_grad(rig *r, unsigned *seed)
{
    layer *l = &r->l;
    int no = l->batch * l->outputs;
    float *g = malloc((size_t)no * sizeof *g);
    for (int i = 0; i < no; ++i) g[i] = abc_test_urand(seed, -1.f, 1.f);
    loss_of(r, g);
    memcpy(l->delta, g, (size_t)no * sizeof *g);
    l->backward(*l, r->net);
    return g;
}

static double fd(rig *r, const float *g, float *p, float eps) { return abc_test_fd(&r->l, r->net, g, p, eps); }

/* Without batch norm the backward is the exact derivative of the (surrogate) forward: element-wise
 * agreement. With batch norm, libdarknet's own BN backward is not the exact derivative of its forward (the
 * forward divides by sqrt(unbiased variance) + 1e-6, the backward by sqrt(biased variance + 1e-5)), so the
 * check there is the direction of the whole gradient: cosine similarity > 0.995. */
typedef struct {
    double dot, nn, aa;
    int exact;
} grad_acc;

static void check_grad_acc(grad_acc *acc, const char *what, int i, double num, double ana, double scale)
{
    acc->dot += num * ana;
    acc->nn += num * num;
    acc->aa += ana * ana;
    if (acc->exact)
        ck_assert_msg(fabs(num - ana) <= 2e-2 * (fabs(ana) + 0.05 * scale), "%s[%d]: numerical %g, analytic %g",
                      what, i, num, ana);
}

static void check_grad_end(grad_acc *acc, const char *what)
{
    double cs = acc->dot / sqrt(acc->nn * acc->aa + 1e-30);
    ck_assert_msg(cs > 0.995 || (acc->nn < 1e-12 && acc->aa < 1e-12), "%s: cosine(numerical, analytic) = %g", what, cs);
    memset(acc, 0, sizeof *acc - sizeof acc->exact);
}

#define check_grad(what, i, num, ana, scale) check_grad_acc(&acc, what, i, num, ana, scale)

static double max_abs(const float *p, int n)
{
    double m = 0;
    for (int i = 0; i < n; ++i) m = fmax(m, fabs(p[i]));
    return m;
}

/* Inputs away from the kinks of clip(R+v,0,1), so that finite differences see one linear piece. */
static void avoid_kinks(rig *r, unsigned *seed)
{
    abc_conv_state *st = abc_conv_st(&r->l);
    for (int i = 0; i < r->l.batch * r->l.inputs; ++i) {
        for (;;) {
            float x = r->net.input[i];
            int near = 0;
            for (int n = 0; n < st->o.N; ++n)
                near |= fabsf(x + st->v[n]) < 0.02f || fabsf(x + st->v[n] - 1.f) < 0.02f;
            if (!near) break;
            r->net.input[i] = abc_test_urand(seed, -2.f, 2.f);
        }
    }
}

/* {size, stride, pad, batch_normalize, N} */
static const int grad_cases[][5] = {{3, 1, 1, 0, 3}, {3, 2, 1, 1, 3}, {1, 1, 0, 1, 2}, {5, 2, 2, 0, 0}, {3, 2, 0, 0, 1}, {3, 1, 0, 1, 1}};

START_TEST(gradients_match_finite_differences)
{
    unsigned seed = 31u + (unsigned)_i;
    const int *k = grad_cases[_i];
    abc_conv_opts o;
    abc_conv_default_opts(&o, 3, k[4]);
    for (int n = 0; n < o.N; ++n) o.beta[n] = 0.5f + 0.3f * n;
    rig r = make_rig(2, 6, 5, 3, 4, k[0], k[1], k[2], k[3], LINEAR, &o, &seed);
    layer *l = &r.l;
    abc_conv_state *st = abc_conv_st(l);
    st->surrogate = 1; /* W~ = W, H_n = clip(R+v_n,0,1): the backward's rules become exact derivatives */
    avoid_kinks(&r, &seed);
    int ni = l->batch * l->inputs;
    float *g = backward_with_random_grad(&r, &seed);
    const float eps = 2e-3f;
    grad_acc acc = {0, 0, 0, !l->batch_normalize};
    double s = max_abs(r.net.delta, ni);
    for (int i = 0; i < ni; ++i) check_grad("input", i, fd(&r, g, &r.net.input[i], eps), r.net.delta[i], s);
    check_grad_end(&acc, "input");
    s = max_abs(l->weight_updates, l->nweights);
    for (int i = 0; i < l->nweights; ++i) check_grad("weights", i, fd(&r, g, &l->weights[i], eps), l->weight_updates[i], s);
    check_grad_end(&acc, "weights");
    acc.exact = 1; /* BN's shift and scale act after the normalization: exact either way */
    s = max_abs(l->bias_updates, l->n);
    for (int i = 0; i < l->n; ++i) check_grad("biases", i, fd(&r, g, &l->biases[i], eps), l->bias_updates[i], s);
    check_grad_end(&acc, "biases");
    if (l->batch_normalize) {
        s = max_abs(l->scale_updates, l->n);
        for (int i = 0; i < l->n; ++i) check_grad("scales", i, fd(&r, g, &l->scales[i], eps), l->scale_updates[i], s);
        check_grad_end(&acc, "scales");
    }
    acc.exact = !l->batch_normalize;
    for (int n = 0; n < o.N; ++n) {
        check_grad("beta", n, fd(&r, g, &st->beta[n], eps), st->beta_upd[n], fabs(st->beta_upd[n]));
        check_grad("v", n, fd(&r, g, &st->v[n], eps), st->v_upd[n], fabs(st->v_upd[n]));
    }
    if (o.N) check_grad_end(&acc, "beta and v");
    free(g);
    free_rig(&r);
}
END_TEST

/* On the real quantized layer: the output is linear in beta (beta does not move the bits) and, with float
 * activations, in the input, so finite differences hold there too; gradient=paper scales the weight
 * gradient by sum_m alpha_m^2 (Eq. 7). */
START_TEST(real_layer_gradients)
{
    unsigned seed = 41u;
    for (int N = 0; N <= 3; N += 3) {
        abc_conv_opts o;
        abc_conv_default_opts(&o, 3, N);
        rig r = make_rig(2, 6, 6, 3, 4, 3, 1, 1, 0, LINEAR, &o, &seed);
        layer *l = &r.l;
        abc_conv_state *st = abc_conv_st(l);
        int ni = l->batch * l->inputs;
        float *g = backward_with_random_grad(&r, &seed);
        grad_acc acc = {0, 0, 0, 1};
        if (N == 0) {
            double s = max_abs(r.net.delta, ni);
            for (int i = 0; i < ni; ++i) check_grad("input", i, fd(&r, g, &r.net.input[i], 1e-2f), r.net.delta[i], s);
        }
        for (int n = 0; n < N; ++n)
            check_grad("beta", n, fd(&r, g, &st->beta[n], 1e-2f), st->beta_upd[n], fabs(st->beta_upd[n]));
        /* the same backward with gradient=paper */
        float *ste = malloc((size_t)l->nweights * sizeof *ste);
        memcpy(ste, l->weight_updates, (size_t)l->nweights * sizeof *ste);
        memset(l->weight_updates, 0, (size_t)l->nweights * sizeof *ste);
        st->o.grad = ABC_GRAD_PAPER;
        loss_of(&r, g);
        memcpy(l->delta, g, (size_t)l->batch * l->outputs * sizeof *g);
        l->backward(*l, r.net);
        float a2 = 0;
        for (int m = 0; m < 3; ++m) a2 += st->alpha[m] * st->alpha[m];
        ck_assert(a2 > 0);
        for (int i = 0; i < l->nweights; ++i)
            ck_assert_msg(fabsf(l->weight_updates[i] - a2 * ste[i]) <= 1e-5f * (1 + fabsf(a2 * ste[i])),
                          "paper rule [%d]: %g vs %g", i, l->weight_updates[i], a2 * ste[i]);
        free(ste);
        free(g);
        free_rig(&r);
    }
}
END_TEST

/* ---- the fast training path (the project's float layers on W~ and A) against the plain per-image one ---- */

/* batch, h(=w), c, n, size, stride, pad, bn, N */
static const int fast_cases[][9] = {{3, 9, 5, 7, 3, 1, 1, 1, 3}, {2, 10, 3, 6, 3, 2, 1, 0, 1}, {4, 8, 4, 5, 5, 1, 2, 1, 5},
                                    {1, 7, 6, 9, 1, 1, 0, 1, 3}, {5, 1, 37, 11, 1, 1, 0, 1, 3}, {3, 1, 20, 8, 1, 1, 0, 0, 0},
                                    {2, 6, 3, 4, 3, 1, 0, 0, 0}};

typedef struct {
    float *out, *dx, *dw, *db, *ds, upd[2 * ABC_MAX_BASES];
} train_result;

static float *dup_floats(const float *p, int n)
{
    if (!p) return NULL;
    float *q = malloc((size_t)n * sizeof *q);
    memcpy(q, p, (size_t)n * sizeof *q);
    return q;
}

static train_result train_step(const int *c, int fast)
{
    unsigned seed = 500u + (unsigned)c[0] * 7u + (unsigned)c[4];
    abc_conv_opts o;
    abc_conv_default_opts(&o, 3, c[8]);
    rig r = make_rig(c[0], c[1], c[1], c[2], c[3], c[4], c[5], c[6], c[7], LEAKY, &o, &seed);
    layer *l = &r.l;
    abc_mode_set(ABC_MODE_FLOAT, fast ? "fast" : "stock");
    float *g = backward_with_random_grad(&r, &seed);
    abc_mode_set(ABC_MODE_FLOAT, NULL);
    abc_conv_state *st = abc_conv_st(l);
    train_result t;
    memset(&t, 0, sizeof t);
    t.out = dup_floats(l->output, l->batch * l->outputs);
    t.dx = dup_floats(r.net.delta, l->batch * l->inputs);
    t.dw = dup_floats(l->weight_updates, l->nweights);
    t.db = dup_floats(l->bias_updates, l->n);
    t.ds = l->batch_normalize ? dup_floats(l->scale_updates, l->n) : NULL;
    for (int n = 0; n < st->o.N; ++n) {
        t.upd[n] = st->beta_upd[n];
        t.upd[ABC_MAX_BASES + n] = st->v_upd[n];
    }
    free(g);
    free_rig(&r);
    return t;
}

static void expect_close(const char *what, const float *a, const float *b, int n)
{
    if (!a) return;
    double scale = 1e-6;
    for (int i = 0; i < n; ++i) scale = fmax(scale, fabs(b[i]));
    for (int i = 0; i < n; ++i)
        ck_assert_msg(fabs(a[i] - b[i]) <= 2e-4 * scale, "%s[%d]: fast %g vs plain %g (scale %g)", what, i, a[i], b[i], scale);
}

START_TEST(fast_training_path_equals_plain)
{
    const int *c = fast_cases[_i];
    train_result f = train_step(c, 1), p = train_step(c, 0);
    int out_hw = (c[1] + 2 * c[6] - c[4]) / c[5] + 1;
    expect_close("output", f.out, p.out, c[0] * c[3] * out_hw * out_hw);
    expect_close("input delta", f.dx, p.dx, c[0] * c[2] * c[1] * c[1]);
    expect_close("weight_updates", f.dw, p.dw, c[3] * c[2] * c[4] * c[4]);
    expect_close("bias_updates", f.db, p.db, c[3]);
    expect_close("scale_updates", f.ds, p.ds, c[3]);
    expect_close("beta/v updates", f.upd, p.upd, 2 * ABC_MAX_BASES);
    train_result *all[] = {&f, &p};
    for (int k = 0; k < 2; ++k) {
        free(all[k]->out);
        free(all[k]->dx);
        free(all[k]->dw);
        free(all[k]->db);
        free(all[k]->ds);
    }
}
END_TEST

static Suite *suite_abc_conv(void)
{
    Suite *s = suite_create("abc_conv");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, weight_bases_solve_ridge_least_squares, 0, (int)(sizeof quant_cases / sizeof quant_cases[0]));
    tcase_add_loop_test(tc, sim_forward_equals_direct_convolution, 0, 4);
    tcase_add_loop_test(tc, gradients_match_finite_differences, 0, (int)(sizeof grad_cases / sizeof grad_cases[0]));
    tcase_add_test(tc, real_layer_gradients);
    tcase_add_loop_test(tc, fast_training_path_equals_plain, 0, (int)(sizeof fast_cases / sizeof fast_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_abc_conv)
