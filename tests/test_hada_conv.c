/* [hada_convolutional] / [hada_connected]: the quantizers against their
 * definition (segments along input channels per tap, tail segments), the
 * weight projection, the training forward against a direct convolution,
 * and numerical gradient checks of the backward (both weight rules, both
 * input rules), each rule also checked from its formula on the real layer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/hada/hada_conv.h"
#include "test_util.h"


typedef struct {
    layer l;
    network net;
} rig;

/* {batch, h, w, c, n, size, stride, pad, bn, bw, ba, connected} */
typedef struct {
    int batch, h, w, c, n, size, stride, pad, bn, bw, ba, connected;
} shape;

static rig make_rig_rules(const shape *s, int grad, int xgrad, unsigned *seed)
{
    rig r;
    memset(&r, 0, sizeof r);
    hada_conv_opts o = {.bw = s->bw, .ba = s->ba, .grad = grad, .xgrad = xgrad};
    r.l = s->connected ? hada_conv_make(s->batch, 1, 1, s->c, s->n, 1, 1, 0, LINEAR, s->bn, &o, 1)
                       : hada_conv_make(s->batch, s->h, s->w, s->c, s->n, s->size, s->stride, s->pad, LINEAR, s->bn, &o, 0);
    layer *l = &r.l;
    abc_test_fill_conv_params(l, seed);
    hada_conv_quantize_weights(l);
    r.net = abc_test_layer_net(l, s->batch, seed);
    return r;
}

static rig make_rig(const shape *s, unsigned *seed) { return make_rig_rules(s, HADA_GRAD_STE, HADA_XGRAD_SEGMENT, seed); }

static void free_rig(rig *r)
{
    free_layer(r->l);
    abc_test_layer_net_free(&r->net);
}

/* Reference quantization, written from the definition: element (f, ch, ky, kx) of the weights belongs to
 * segment ch / bw of tap (ky, kx); input element (b, ch, y, x) to segment ch / ba of pixel (y, x). */
static void ref_weights(const layer *l, int bw, float *wq)
{
    int taps = l->size * l->size;
    for (int f = 0; f < l->n; ++f)
        for (int ch = 0; ch < l->c; ++ch)
            for (int t = 0; t < taps; ++t) {
                double sum = 0;
                int cnt = 0;
                for (int c2 = 0; c2 < l->c; ++c2)
                    if (c2 / bw == ch / bw) {
                        sum += fabs(l->weights[(f * l->c + c2) * taps + t]);
                        ++cnt;
                    }
                float w = l->weights[(f * l->c + ch) * taps + t];
                wq[(f * l->c + ch) * taps + t] = (float)(sum / cnt) * (w >= 0 ? 1.f : -1.f);
            }
}

static void ref_input(const layer *l, int ba, const float *x, float *aq)
{
    int hw = l->h * l->w;
    for (int b = 0; b < l->batch; ++b)
        for (int ch = 0; ch < l->c; ++ch)
            for (int i = 0; i < hw; ++i) {
                const float *xb = x + (size_t)b * l->inputs;
                float v = xb[ch * hw + i];
                if (ba == 1) {
                    aq[(size_t)b * l->inputs + ch * hw + i] = v;
                    continue;
                }
                double sum = 0;
                int cnt = 0;
                for (int c2 = 0; c2 < l->c; ++c2)
                    if (c2 / ba == ch / ba) {
                        sum += fabs(xb[c2 * hw + i]);
                        ++cnt;
                    }
                aq[(size_t)b * l->inputs + ch * hw + i] = (float)(sum / cnt) * (v >= 0 ? 1.f : -1.f);
            }
}

static const shape quant_cases[] = {
    {2, 5, 4, 5, 3, 3, 1, 1, 0, 2, 2, 0},  {1, 4, 4, 16, 2, 3, 1, 1, 0, 16, 2, 0}, {2, 3, 5, 7, 4, 1, 1, 0, 0, 4, 1, 0},
    {3, 1, 1, 37, 5, 1, 1, 0, 0, 16, 8, 1}, {1, 6, 6, 3, 2, 5, 2, 2, 0, 1, 3, 0},  {2, 1, 1, 9, 3, 1, 1, 0, 0, 64, 4, 1},
};

START_TEST(quantizers_follow_the_definition)
{
    unsigned seed = 101u + (unsigned)_i;
    const shape *s = &quant_cases[_i];
    rig r = make_rig(s, &seed);
    layer *l = &r.l;
    hada_conv_state *st = hada_conv_st(l);
    r.net.input[0] = 0.f; /* sgn(0) = +1 */
    l->weights[0] = 0.f;
    hada_conv_quantize_weights(l);
    float *wq = malloc((size_t)l->nweights * sizeof *wq);
    ref_weights(l, s->bw, wq);
    for (int i = 0; i < l->nweights; ++i)
        ck_assert_msg(fabsf(wq[i] - st->wq[i]) <= 1e-6f * (1 + fabsf(wq[i])), "case %d: wq[%d]=%g, want %g", _i, i,
                      st->wq[i], wq[i]);
    ck_assert(st->wq[0] >= 0.f);
    /* one magnitude per (filter, tap, segment): the segment's mean |W| */
    ck_assert_int_eq(st->sw, (l->c + s->bw - 1) / s->bw);
    for (int f = 0; f < l->n; ++f)
        for (int t = 0; t < st->taps; ++t)
            for (int sg = 0; sg < st->sw; ++sg)
                ck_assert(fabsf(st->wmag[(f * st->taps + t) * st->sw + sg] -
                                fabsf(wq[(f * l->c + sg * s->bw) * st->taps + t])) <= 1e-6f);
    float *aq = malloc((size_t)l->batch * l->inputs * sizeof *aq);
    float *got = malloc((size_t)l->batch * l->inputs * sizeof *got);
    ref_input(l, s->ba, r.net.input, aq);
    hada_conv_quantize_input(l, r.net.input, got, l->batch);
    for (int i = 0; i < l->batch * l->inputs; ++i)
        ck_assert_msg(fabsf(aq[i] - got[i]) <= 1e-6f * (1 + fabsf(aq[i])), "case %d: A[%d]=%g, want %g", _i, i, got[i],
                      aq[i]);
    if (s->ba > 1) ck_assert(got[0] > 0.f);
    free(wq);
    free(aq);
    free(got);
    free_rig(&r);
}
END_TEST

START_TEST(weights_are_centred_and_clipped)
{
    unsigned seed = 7;
    shape s = {1, 4, 4, 6, 3, 3, 1, 1, 0, 4, 2, 0};
    rig r = make_rig(&s, &seed);
    layer *l = &r.l;
    int K = l->nweights / l->n;
    for (int i = 0; i < l->nweights; ++i) l->weights[i] = abc_test_urand(&seed, -1.f, 3.f);
    l->weights[0] = 40.f;
    hada_conv_centre_weights(l);
    for (int f = 0; f < l->n; ++f) {
        double m = 0;
        int clipped = 0;
        for (int k = 0; k < K; ++k) {
            float w = l->weights[f * K + k];
            ck_assert(w >= -1.f && w <= 1.f);
            clipped += w == 1.f;
            m += w;
        }
        /* centred, then clipped: the mean moves only through the clipped ones, and a 40 is clipped */
        ck_assert_msg(f > 0 || clipped >= 1, "filter 0 has no clipped weight");
        ck_assert_msg(fabs(m / K) < 0.6, "filter %d: mean %g after centring", f, m / K);
    }
    /* a filter inside [-1, 1] with mean 0 is left alone (the projection is idempotent) */
    float *keep = malloc((size_t)l->nweights * sizeof *keep);
    for (int i = 0; i < l->nweights; ++i) l->weights[i] = (i % 2 ? 0.25f : -0.25f);
    memcpy(keep, l->weights, (size_t)l->nweights * sizeof *keep);
    hada_conv_centre_weights(l);
    for (int i = 0; i < l->nweights; ++i) ck_assert(fabsf(keep[i] - l->weights[i]) < 1e-6f);
    free(keep);
    free_rig(&r);
}
END_TEST

START_TEST(training_forward_is_the_quantized_convolution)
{
    unsigned seed = 201u + (unsigned)_i;
    const shape *s = &quant_cases[_i];
    rig r = make_rig(s, &seed);
    layer *l = &r.l;
    l->forward(*l, r.net);
    float *wq = malloc((size_t)l->nweights * sizeof *wq);
    float *aq = malloc((size_t)l->batch * l->inputs * sizeof *aq);
    float *ref = malloc((size_t)l->batch * l->outputs * sizeof *ref);
    ref_weights(l, s->bw, wq);
    ref_input(l, s->ba, r.net.input, aq);
    abc_test_direct_conv(l, aq, wq, ref);
    for (int i = 0; i < l->batch * l->outputs; ++i)
        ck_assert_msg(fabsf(ref[i] - l->output[i]) < 1e-4f * (1 + fabsf(ref[i])), "case %d: out[%d]=%g, want %g", _i, i,
                      l->output[i], ref[i]);
    free(wq);
    free(aq);
    free(ref);
    free_rig(&r);
}
END_TEST

/* ---- numerical gradient checks on the surrogates (hada_conv.h: the functions each rule differentiates
 * exactly) ---- */

static double loss_of(rig *r, const float *g) { return abc_test_loss(&r->l, r->net, g); }

static double fd(rig *r, const float *g, float *p, float eps) { return abc_test_fd(&r->l, r->net, g, p, eps); }

/* x away from the kinks of clip (+-1) and, for weights, of |x| (0). */
static void away_from_kinks(float *p, int n, int zero_too, unsigned *seed, float lo, float hi)
{
    for (int i = 0; i < n; ++i)
        while (fabsf(fabsf(p[i]) - 1.f) < 0.03f || (zero_too && fabsf(p[i]) < 0.03f)) p[i] = abc_test_urand(seed, lo, hi);
}

static const shape grad_cases[] = {
    {2, 5, 4, 5, 3, 3, 1, 1, 0, 2, 2, 0},  {2, 6, 5, 6, 4, 3, 2, 1, 1, 4, 2, 0}, {1, 4, 4, 7, 3, 1, 1, 0, 0, 16, 1, 0},
    {3, 1, 1, 11, 4, 1, 1, 0, 0, 4, 4, 1}, {2, 5, 5, 3, 2, 3, 1, 0, 1, 2, 1, 0}, {2, 1, 1, 9, 5, 1, 1, 0, 0, 8, 2, 1},
};

/* _i: case x {gradient ste, paper} x {input_gradient segment, paper} */
START_TEST(gradients_match_finite_differences)
{
    unsigned seed = 301u + (unsigned)_i;
    const shape *s = &grad_cases[_i / 4];
    int grad = _i % 2 ? HADA_GRAD_PAPER : HADA_GRAD_STE, xgrad = _i / 2 % 2 ? HADA_XGRAD_PAPER : HADA_XGRAD_SEGMENT;
    rig r = make_rig_rules(s, grad, xgrad, &seed);
    layer *l = &r.l;
    hada_conv_st(l)->surrogate = 1;
    for (int i = 0; i < l->nweights; ++i) l->weights[i] = abc_test_urand(&seed, -1.4f, 1.4f); /* some beyond the clip */
    away_from_kinks(l->weights, l->nweights, 1, &seed, -1.4f, 1.4f);
    away_from_kinks(r.net.input, l->batch * l->inputs, 0, &seed, -2.f, 2.f);
    int no = l->batch * l->outputs, ni = l->batch * l->inputs;
    float *g = malloc((size_t)no * sizeof *g);
    for (int i = 0; i < no; ++i) g[i] = abc_test_urand(&seed, -1.f, 1.f);
    loss_of(&r, g);
    memcpy(l->delta, g, (size_t)no * sizeof *g);
    l->backward(*l, r.net);
    /* without batch norm the backward is exact element-wise; with it, libdarknet's batch-norm backward is
     * not the exact derivative of its forward (different epsilon), so the direction is checked */
    const float eps = 2e-3f;
    double dot = 0, nn = 0, aa = 0;
    for (int i = 0; i < l->nweights; ++i) {
        double num = fd(&r, g, &l->weights[i], eps), ana = l->weight_updates[i];
        if (!s->bn)
            ck_assert_msg(fabs(num - ana) <= 2e-2 * (fabs(ana) + 0.05), "case %d/%d: dW[%d] numerical %g, analytic %g",
                          _i / 4, _i % 4, i, num, ana);
        dot += num * ana, nn += num * num, aa += ana * ana;
    }
    ck_assert_msg(dot / sqrt(nn * aa + 1e-30) > 0.995, "case %d: weights cosine %g", _i, dot / sqrt(nn * aa + 1e-30));
    dot = nn = aa = 0;
    for (int i = 0; i < ni; ++i) {
        double num = fd(&r, g, &r.net.input[i], eps), ana = r.net.delta[i];
        if (!s->bn)
            ck_assert_msg(fabs(num - ana) <= 2e-2 * (fabs(ana) + 0.05), "case %d/%d: dx[%d] numerical %g, analytic %g",
                          _i / 4, _i % 4, i, num, ana);
        dot += num * ana, nn += num * num, aa += ana * ana;
    }
    ck_assert_msg(dot / sqrt(nn * aa + 1e-30) > 0.995, "case %d: input cosine %g", _i, dot / sqrt(nn * aa + 1e-30));
    free(g);
    free_rig(&r);
}
END_TEST

/* On the real layer, gradient=paper: Eq. 6 for one segment with a known upstream gradient dW~, checked
 * from the formula. */
START_TEST(weight_gradient_is_eq6)
{
    unsigned seed = 401;
    shape s = {1, 3, 3, 5, 2, 3, 1, 1, 0, 2, 2, 0};
    rig r = make_rig_rules(&s, HADA_GRAD_PAPER, HADA_XGRAD_PAPER, &seed);
    layer *l = &r.l;
    hada_conv_state *st = hada_conv_st(l);
    /* upstream dW~ of a 1x1 output with a single input pixel on: easier to build via the forward/backward */
    int no = l->batch * l->outputs;
    float *g = malloc((size_t)no * sizeof *g);
    for (int i = 0; i < no; ++i) g[i] = abc_test_urand(&seed, -1.f, 1.f);
    loss_of(&r, g);
    memcpy(l->delta, g, (size_t)no * sizeof *g);
    memset(l->weight_updates, 0, (size_t)l->nweights * sizeof(float));
    l->backward(*l, r.net);
    const float *gw = st->gw; /* dW~ as the backward saw it */
    int taps = 9;
    for (int f = 0; f < l->n; ++f)
        for (int ch = 0; ch < l->c; ++ch)
            for (int t = 0; t < taps; ++t) {
                int i = (f * l->c + ch) * taps + t, seg0 = ch / 2 * 2, seg1 = seg0 + 2 < l->c ? seg0 + 2 : l->c;
                double sum = 0, mag = 0;
                for (int c2 = seg0; c2 < seg1; ++c2) {
                    int j = (f * l->c + c2) * taps + t;
                    sum += gw[j] * (l->weights[j] >= 0 ? 1 : -1);
                    mag += fabs(l->weights[j]);
                }
                double w = l->weights[i], n = seg1 - seg0;
                double want = (w >= 0 ? 1 : -1) * sum / n + (fabs(w) <= 1 ? mag / n * gw[i] : 0);
                ck_assert_msg(fabs(want - l->weight_updates[i]) < 1e-5 * (1 + fabs(want)), "dW[%d] %g, Eq. 6 gives %g", i,
                              l->weight_updates[i], want);
            }
    free(g);
    free_rig(&r);
}
END_TEST

/* On the real layer, the default rules: dW = dW~ where |W| <= 1, and the input gradient through sgn and
 * the segment's mean magnitude, both checked from their formulas on known dW~ and dA. */
START_TEST(default_gradients_follow_their_formulas)
{
    unsigned seed = 501;
    shape s = {2, 4, 3, 6, 3, 3, 1, 1, 0, 4, 3, 0}; /* 6 channels: input segments of 3 */
    rig r = make_rig(&s, &seed);
    layer *l = &r.l;
    hada_conv_state *st = hada_conv_st(l);
    for (int i = 0; i < l->nweights; i += 5) l->weights[i] = abc_test_urand(&seed, 1.1f, 1.5f); /* some beyond 1 */
    int no = l->batch * l->outputs, hw = l->h * l->w;
    float *g = malloc((size_t)no * sizeof *g);
    for (int i = 0; i < no; ++i) g[i] = abc_test_urand(&seed, -1.f, 1.f);
    st->wq_valid = 0;
    l->forward(*l, r.net); /* training forward: the projection clips, so refill after it */
    for (int i = 0; i < l->nweights; i += 5) l->weights[i] = abc_test_urand(&seed, 1.1f, 1.5f);
    memcpy(l->delta, g, (size_t)no * sizeof *g);
    memset(l->weight_updates, 0, (size_t)l->nweights * sizeof(float));
    memset(r.net.delta, 0, (size_t)l->batch * l->inputs * sizeof(float));
    l->backward(*l, r.net);
    for (int i = 0; i < l->nweights; ++i) {
        double want = fabsf(l->weights[i]) <= 1.f ? st->gw[i] : 0.f;
        ck_assert_msg(fabs(want - l->weight_updates[i]) < 1e-6 * (1 + fabs(want)), "dW[%d] %g, want %g", i,
                      l->weight_updates[i], want);
    }
    const float *x = r.net.input, *da = st->da;
    for (int b = 0; b < l->batch; ++b)
        for (int ch = 0; ch < l->c; ++ch)
            for (int q = 0; q < hw; ++q) {
                size_t i = ((size_t)b * l->c + ch) * hw + q;
                double sum = 0, mag = 0;
                for (int c2 = ch / 3 * 3; c2 < ch / 3 * 3 + 3; ++c2) {
                    size_t j = ((size_t)b * l->c + c2) * hw + q;
                    sum += da[j] * (x[j] >= 0 ? 1 : -1);
                    mag += fabs(x[j]);
                }
                double want = (x[i] >= 0 ? 1 : -1) * sum / 3 + (fabs(x[i]) <= 1 ? mag / 3 * da[i] : 0);
                ck_assert_msg(fabs(want - r.net.delta[i]) < 1e-5 * (1 + fabs(want)), "dx[%zu] %g, want %g", i,
                              r.net.delta[i], want);
            }
    free(g);
    free_rig(&r);
}
END_TEST

static Suite *suite_hada_conv(void)
{
    Suite *s = suite_create("hada_conv");
    TCase *tc = tcase_create("layer");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, quantizers_follow_the_definition, 0, (int)(sizeof quant_cases / sizeof quant_cases[0]));
    tcase_add_test(tc, weights_are_centred_and_clipped);
    tcase_add_loop_test(tc, training_forward_is_the_quantized_convolution, 0,
                        (int)(sizeof quant_cases / sizeof quant_cases[0]));
    tcase_add_loop_test(tc, gradients_match_finite_differences, 0, 4 * (int)(sizeof grad_cases / sizeof grad_cases[0]));
    tcase_add_test(tc, weight_gradient_is_eq6);
    tcase_add_test(tc, default_gradients_follow_their_formulas);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_hada_conv)
