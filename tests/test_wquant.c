/* Weight quantizers (quant/wquant.h) of the one-base binary layers: each gradient against finite differences
 * (the straight ones pass it unchanged), the beta schedule, MD-tanh's primal kept across a step of beta, beta
 * resumed from a checkpoint (it follows the saved iteration, and so does what the training log reports), the
 * hard model packed == simulated. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/darknet_private.h"
#include "base/mode.h"
#include "layers/abc/abc_conv.h"
#include "quant/wquant.h"
#include "registry.h"
#include "test_util.h"

static const abc_wquant *wq_at(int i) { return abc_wquants[i]; }
static int wq_count(void)
{
    int n = 0;
    while (abc_wquants[n]) ++n;
    return n;
}

START_TEST(gradients_match_finite_differences)
{
    const abc_wquant *q = wq_at(_i);
    enum { LEN = 37 };
    unsigned seed = 11 + (unsigned)_i;
    const float betas[] = {0.7f, 3.f};
    for (int bi = 0; bi < 2; ++bi) {
        float beta = betas[bi], w[LEN], wq[LEN], c[LEN], g[LEN], wp[LEN], sp[LEN], sm[LEN];
        for (int i = 0; i < LEN; ++i) {
            w[i] = abc_test_urand(&seed, -0.6f, 0.6f);
            c[i] = abc_test_urand(&seed, -1, 1);
        }
        q->soft(w, LEN, beta, wq);
        for (int i = 0; i < LEN; ++i) ck_assert_msg(wq[i] > -1.f && wq[i] < 1.f, "%s: soft weight %g", q->name, wq[i]);
        memcpy(g, c, sizeof g);
        q->grad(w, wq, LEN, beta, g);
        if (q->grad == abc_wquant_straight) { /* the mirror-descent family: the soft weights' gradient, as it is */
            ck_assert_msg(!memcmp(g, c, sizeof g), "%s: the straight gradient changed", q->name);
            continue;
        }
        for (int j = 0; j < LEN; ++j) {
            double eps = 1e-3, lp = 0, lm = 0;
            memcpy(wp, w, sizeof wp);
            wp[j] = w[j] + (float)eps;
            q->soft(wp, LEN, beta, sp);
            wp[j] = w[j] - (float)eps;
            q->soft(wp, LEN, beta, sm);
            for (int i = 0; i < LEN; ++i) lp += (double)c[i] * sp[i], lm += (double)c[i] * sm[i];
            double num = (lp - lm) / (2 * eps);
            ck_assert_msg(fabs(num - g[j]) <= 2e-3 * (fabs(num) + 1), "%s beta %g: dw[%d] %.6g, finite differences %.6g",
                          q->name, beta, j, g[j], num);
        }
    }
}
END_TEST

START_TEST(schedule)
{
    ck_assert_float_eq(abc_wquant_beta(1, 1.1f, 50, 0), 1);
    ck_assert_float_eq(abc_wquant_beta(1, 1.1f, 50, 49), 1);
    ck_assert_float_eq_tol(abc_wquant_beta(1, 1.1f, 50, 50), 1.1f, 1e-6);
    ck_assert_float_eq_tol(abc_wquant_beta(2, 1.1f, 50, 149), 2 * 1.21f, 1e-5);
    ck_assert_float_eq(abc_wquant_beta(1, 2, 1, 5000), 1e30f); /* capped */
    ck_assert_ptr_eq(abc_wquant_find("md_tanh_s"), &abc_wquant_md_tanh_s);
    ck_assert_ptr_null(abc_wquant_find("abc"));
}
END_TEST

typedef struct {
    layer l;
    network net;
    size_t seen;
} qrig;

static qrig make(const abc_wquant *q, int N, unsigned seed)
{
    qrig r;
    memset(&r, 0, sizeof r);
    abc_conv_opts o;
    abc_conv_default_opts(&o, 1, N);
    o.scale = ABC_SCALE_CHANNEL;
    o.wquant = q;
    o.wq_beta = 1;
    o.wq_growth = 2;
    o.wq_every = 10;
    r.l = abc_conv_make(2, 7, 9, 5, 6, 3, 1, 1, LEAKY, 1, &o);
    abc_test_fill_conv_params(&r.l, &seed);
    r.net = abc_test_layer_net(&r.l, 2, &seed);
    return r;
}

static void train_forward_at(qrig *r, size_t it)
{
    r->seen = it * (size_t)r->net.batch;
    r->net.seen = &r->seen;
    r->net.train = 1;
    r->l.forward(r->l, r->net);
}

START_TEST(md_tanh_keeps_its_primal_across_a_step)
{
    for (int keep = 0; keep <= 1; ++keep) {
        qrig r = make(keep ? &abc_wquant_md_tanh : &abc_wquant_md_tanh_s, 0, 3);
        abc_conv_state *st = abc_conv_st(&r.l);
        train_forward_at(&r, 5);
        ck_assert_float_eq(st->beta_now, 1);
        float *w0 = malloc(sizeof(float) * r.l.nweights), *p0 = malloc(sizeof(float) * r.l.nweights);
        memcpy(w0, r.l.weights, sizeof(float) * r.l.nweights);
        memcpy(p0, st->wq, sizeof(float) * r.l.nweights);
        train_forward_at(&r, 12); /* beta 1 -> 2 */
        ck_assert_float_eq(st->beta_now, 2);
        for (int i = 0; i < r.l.nweights; ++i) {
            if (keep) {
                ck_assert_msg(fabsf(st->wq[i] - p0[i]) <= 1e-6f, "md_tanh: primal %d moved %g -> %g", i, p0[i], st->wq[i]);
            } else {
                ck_assert_msg(r.l.weights[i] == w0[i], "md_tanh_s: w %d changed", i);
                ck_assert_msg(st->wq[i] == tanhf(2 * w0[i]), "md_tanh_s: soft weight %d", i);
            }
        }
        free(w0), free(p0);
        free_layer(r.l);
        abc_test_layer_net_free(&r.net);
    }
}
END_TEST

/* The hard model: sign (centred or not) and scale 1, the same through the packed kernels and the simulation. */
START_TEST(packed_equals_simulation)
{
    const abc_wquant *q = wq_at(_i);
    qrig r = make(q, 1, 21 + (unsigned)_i);
    abc_conv_state *st = abc_conv_st(&r.l);
    train_forward_at(&r, 30);
    ck_assert(st->wq_soft);
    r.net.train = 0;
    size_t n = (size_t)r.l.outputs * r.l.batch;
    float *packed = malloc(sizeof(float) * n);
    abc_mode_set(ABC_MODE_INFERENCE, "packed");
    r.l.forward(r.l, r.net);
    memcpy(packed, r.l.output, sizeof(float) * n);
    ck_assert(!st->wq_soft);
    for (int i = 0; i < r.l.nweights; ++i) ck_assert(st->wq[i] == 1.f || st->wq[i] == -1.f);
    abc_mode_set(ABC_MODE_INFERENCE, "sim");
    r.l.forward(r.l, r.net);
    abc_mode_set(ABC_MODE_INFERENCE, NULL);
    double worst = 0, mag = 0;
    for (size_t i = 0; i < n; ++i) {
        worst = fmax(worst, fabs((double)packed[i] - r.l.output[i]));
        mag = fmax(mag, fabs(r.l.output[i]));
    }
    ck_assert_msg(worst <= 1e-5 * (mag + 1), "%s: packed and simulated differ by %g (outputs up to %g)", q->name, worst,
                  mag);
    free(packed);
    free_layer(r.l);
    abc_test_layer_net_free(&r.net);
}
END_TEST

static const char *cfg_text = "[net]\nbatch=2\nwidth=8\nheight=8\nchannels=3\nlearning_rate=0.1\nmomentum=0.9\n"
                              "decay=0.0005\nmax_batches=100\n\n"
                              "[abc_convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\nstride=1\npad=1\n"
                              "activation=leaky\nweight_bases=1\nactivation_bases=0\nscale=channel\n"
                              "weight_quantizer=gd_tanh\nbeta=0.5\nbeta_growth=3\nbeta_every=7\n\n"
                              "[connected]\noutput=3\nactivation=linear\n\n[softmax]\n";

/* beta follows the iteration a checkpoint saves: a resumed run's soft weights are the saved run's. */
START_TEST(beta_resumes_from_a_checkpoint)
{
    char *cfg = abc_test_write(abc_test_tmpdir(), "wq.cfg", cfg_text);
    char *weights = abc_test_pathf(abc_test_tmpdir(), "wq.weights");
    network *a = parse_network_cfg(cfg);
    *a->seen = 23 * (size_t)a->batch; /* iteration 23: beta 0.5 * 3^3 */
    unsigned seed = 5;
    float *in = malloc(sizeof(float) * a->inputs * a->batch);
    for (int i = 0; i < a->inputs * a->batch; ++i) in[i] = abc_test_urand(&seed, -1, 1);
    network na = *a;
    na.input = in;
    na.train = 1;
    layer *la = &a->layers[0];
    la->forward(*la, na);
    float beta, near;
    ck_assert(abc_net_binarization(a, &beta, &near));
    ck_assert_float_eq_tol(beta, 13.5f, 1e-5);
    save_weights(a, weights);

    network *b = parse_network_cfg(cfg);
    load_weights(b, weights);
    ck_assert_uint_eq(*b->seen, *a->seen);
    network nb = *b;
    nb.input = in;
    nb.train = 1;
    layer *lb = &b->layers[0];
    lb->forward(*lb, nb);
    const abc_conv_state *sa = abc_conv_st(la), *sb = abc_conv_st(lb);
    ck_assert_float_eq(sb->beta_now, sa->beta_now);
    ck_assert(!memcmp(sa->wq, sb->wq, sizeof(float) * la->nweights));
    free(in);
    free_network(a);
    free_network(b);
    free(cfg);
    free(weights);
}
END_TEST

static Suite *suite_wquant(void)
{
    Suite *s = suite_create("wquant");
    TCase *tc = tcase_create("wquant");
    tcase_add_loop_test(tc, gradients_match_finite_differences, 0, wq_count());
    tcase_add_test(tc, schedule);
    tcase_add_test(tc, md_tanh_keeps_its_primal_across_a_step);
    tcase_add_loop_test(tc, packed_equals_simulation, 0, wq_count());
    tcase_add_test(tc, beta_resumes_from_a_checkpoint);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_wquant)
