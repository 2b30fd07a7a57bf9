/* [hada_convolutional] / [hada_connected] in cfg and .weights files: keys
 * parse, bad keys and values fail with file:line and the key, a saved
 * model reloads bit for bit and predicts the same, and a float model of the
 * same topology is the same record (it loads as the starting point). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/hada/hada_conv.h"
#include "registry.h"
#include "test_util.h"

#define NET_HEAD "[net]\nbatch=2\nwidth=9\nheight=9\nchannels=3\n"
/* Line 6 is the section header, line 7 its first key. */
#define CONV_HEAD "[hada_convolutional]\nfilters=4\nsize=3\npad=1\n"

START_TEST(good_cfg_parses)
{
    char *path;
    abc_run_result r = abc_test_check_cfg("hada_good.cfg",
                                 NET_HEAD CONV_HEAD "batch_normalize=1\nactivation=leaky\nweight_segment=2\n"
                                 "activation_segment=4\n[hada_convolutional]\nfilters=5\nsize=1\nweight_segment=4\n"
                                 "activation_segment=1\n[avgpool]\n[hada_connected]\noutput=6\nbatch_normalize=1\n"
                                 "[softmax]\n",
                                 &path);
    ck_assert_msg(r.status == 0, "%s", r.out);
    /* the float layers' records: 4*4 + 4*3*9; 5 + 5*4; 6*4 + 6*5 */
    ck_assert_msg(strstr(r.out, "weights: 203") != NULL, "%s", r.out);
    ck_assert_msg(strstr(r.out, "HadaNet (2,4)") && strstr(r.out, "HadaNet (4,1) (float activations, HBWN)") &&
                      strstr(r.out, "hada_connected") && strstr(r.out, "HadaNet (16,2)"),
                  "%s", r.out);
    abc_run_free(&r);
    free(path);
}
END_TEST

/* gradient and input_gradient: the defaults (ste, segment) and the paper's rules reach the layer. */
START_TEST(gradient_keys_reach_the_layer)
{
    char *cfg = abc_test_write(abc_test_tmpdir(), "hada_rules.cfg",
                               NET_HEAD CONV_HEAD "\n[hada_convolutional]\nfilters=4\nsize=1\ngradient=paper\n"
                               "input_gradient=paper\n[hada_connected]\noutput=3\ngradient=ste\n"
                               "input_gradient=segment\n");
    network *net = load_network(cfg, NULL, 0);
    const hada_conv_opts *a = &hada_conv_st(&net->layers[0])->o, *b = &hada_conv_st(&net->layers[1])->o,
                         *c = &hada_conv_st(&net->layers[2])->o;
    ck_assert(a->grad == HADA_GRAD_STE && a->xgrad == HADA_XGRAD_SEGMENT);
    ck_assert(b->grad == HADA_GRAD_PAPER && b->xgrad == HADA_XGRAD_PAPER);
    ck_assert(c->grad == HADA_GRAD_STE && c->xgrad == HADA_XGRAD_SEGMENT);
    free_network(net);
    free(cfg);
}
END_TEST

static const struct {
    const char *lines; /* appended after CONV_HEAD (first at line 10) */
    int line;
    const char *key;
} bad[] = {
    {"weight_segmnt=3", 10, "weight_segmnt"},
    {"weight_segment=0", 10, "weight_segment"},
    {"activation_segment=-2", 10, "activation_segment"},
    {"activation_segment=99999", 10, "activation_segment"},
    {"weight_segment=16\nactivation_segment=6", 11, "activation_segment"},
    {"weight_segment=3\nactivation_segment=8", 11, "activation_segment"},
    {"weight_segment=3", 10, "weight_segment"}, /* against the default activation_segment=2 */
    {"weight_bases=3", 10, "weight_bases"},
    {"activation=swish", 10, "activation"},
    {"gradient=eq6", 10, "gradient"},
    {"input_gradient=ste", 10, "input_gradient"},
};

START_TEST(bad_key_or_value_fails)
{
    char text[512], name[64], where[32];
    snprintf(text, sizeof text, NET_HEAD CONV_HEAD "%s\n", bad[_i].lines);
    snprintf(name, sizeof name, "hada_bad_%d.cfg", _i);
    char *path;
    abc_run_result r = abc_test_check_cfg(name, text, &path);
    ck_assert_msg(r.signal == 0 && r.status == 1, "%s: status %d signal %d\n%s", bad[_i].lines, r.status, r.signal,
                  r.out);
    const char *e = strstr(r.out, "darknet: error:");
    ck_assert_msg(e != NULL, "%s: no error line\n%s", bad[_i].lines, r.out);
    ck_assert_msg(strstr(e + 1, "darknet: error:") == NULL, "%s: several error lines\n%s", bad[_i].lines, r.out);
    snprintf(where, sizeof where, ":%d:", bad[_i].line);
    ck_assert_msg(strstr(e, path) && strstr(e, where) && strstr(e, bad[_i].key) && strstr(e, "[hada_convolutional]"),
                  "%s: error lacks %s%s or key %s: %s", bad[_i].lines, path, where, bad[_i].key, e);
    abc_run_free(&r);
    free(path);
}
END_TEST

static int same(const float *a, const float *b, size_t n) { return n == 0 || !memcmp(a, b, n * sizeof *a); }

static void fill(float *p, size_t n, unsigned *seed, float lo)
{
    for (size_t k = 0; k < n; ++k) p[k] = lo + (float)rand_r(seed) / RAND_MAX;
}

/* darknet's [connected] leaves nweights at 0 */
static size_t n_weights(const layer *l) { return l->type == CONNECTED ? (size_t)l->outputs * l->inputs : (size_t)l->nweights; }
static size_t n_outputs(const layer *l) { return l->type == CONNECTED ? (size_t)l->outputs : (size_t)l->n; }

static void randomize(network *net, unsigned *seed)
{
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL && l->type != CONNECTED && !abc_registry_of(l)) continue;
        fill(l->weights, n_weights(l), seed, -0.5f);
        fill(l->biases, n_outputs(l), seed, -0.5f);
        if (l->batch_normalize) {
            fill(l->scales, n_outputs(l), seed, 0.5f);
            fill(l->rolling_mean, n_outputs(l), seed, -0.5f);
            fill(l->rolling_variance, n_outputs(l), seed, 0.5f);
        }
        if (abc_registry_of(l)) {
            hada_conv_centre_weights(l);
            hada_conv_quantize_weights(l);
        }
    }
}

#define BODY(conv, conn, keys)                                                                                     \
    "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n[" conv "]\nfilters=8\n"   \
    "size=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=leaky\n" keys "[" conn "]\noutput=6\n"             \
    "batch_normalize=1\nactivation=leaky\n" keys "[connected]\noutput=3\nactivation=linear\n[softmax]\n"

START_TEST(weights_round_trip)
{
    char *cfg = abc_test_write(abc_test_tmpdir(), "hada_rt.cfg",
                               NET_HEAD BODY("hada_convolutional", "hada_connected", "weight_segment=2\n"));
    char *w = malloc(strlen(cfg) + 16);
    sprintf(w, "%s.weights", cfg);
    network *a = load_network(cfg, NULL, 0);
    unsigned seed = 78;
    randomize(a, &seed);
    save_weights(a, w);
    network *b = load_network(cfg, w, 0);
    int binary = 0;
    for (int i = 0; i < a->n; ++i) {
        layer *la = &a->layers[i], *lb = &b->layers[i];
        if (!abc_registry_of(la)) continue;
        ++binary;
        size_t n = (size_t)la->n;
        ck_assert(same(la->weights, lb->weights, (size_t)la->nweights));
        ck_assert(same(la->biases, lb->biases, n));
        ck_assert(same(la->scales, lb->scales, n) && same(la->rolling_mean, lb->rolling_mean, n) &&
                  same(la->rolling_variance, lb->rolling_variance, n));
        ck_assert(same(hada_conv_st(la)->wq, hada_conv_st(lb)->wq, (size_t)la->nweights));
    }
    ck_assert_int_eq(binary, 2);
    /* the same predictions (packed path) */
    float *x = malloc((size_t)a->inputs * sizeof *x);
    for (int k = 0; k < a->inputs; ++k) x[k] = (float)rand_r(&seed) / RAND_MAX * 2 - 1;
    set_batch_network(a, 1);
    set_batch_network(b, 1);
    float *oa = malloc((size_t)a->outputs * sizeof *oa);
    memcpy(oa, network_predict(a, x), (size_t)a->outputs * sizeof *oa);
    ck_assert(same(oa, network_predict(b, x), (size_t)a->outputs));
    free(oa);
    free(x);
    free_network(a);
    free_network(b);
    free(w);
    free(cfg);
}
END_TEST

/* A float model of the same topology is the same record: every float lands in its place. */
START_TEST(float_model_is_the_same_record)
{
    char *fcfg = abc_test_write(abc_test_tmpdir(), "hft_float.cfg", NET_HEAD BODY("convolutional", "connected", ""));
    char *hcfg = abc_test_write(abc_test_tmpdir(), "hft_hada.cfg",
                                NET_HEAD BODY("hada_convolutional", "hada_connected", "activation_segment=4\n"));
    char *w = malloc(strlen(fcfg) + 16);
    sprintf(w, "%s.weights", fcfg);
    network *f = load_network(fcfg, NULL, 0);
    unsigned seed = 6;
    randomize(f, &seed);
    save_weights(f, w);
    network *h = load_network(hcfg, w, 0);
    int binary = 0;
    for (int i = 0; i < f->n; ++i) {
        layer *lf = &f->layers[i], *lh = &h->layers[i];
        if (lf->type != CONVOLUTIONAL && lf->type != CONNECTED) continue;
        size_t n = n_outputs(lf), nw = n_weights(lf), K = nw / n;
        ck_assert_msg(same(lf->biases, lh->biases, n), "layer %d: biases", i);
        ck_assert_msg(!lf->batch_normalize || same(lf->scales, lh->scales, n), "layer %d: scales", i);
        if (!abc_registry_of(lh)) {
            ck_assert_msg(same(lf->weights, lh->weights, nw), "layer %d: weights", i);
            continue;
        }
        ++binary;
        ck_assert_msg(same(lf->weights, lh->weights, nw), "layer %d: weights", i);
        ck_assert(K > 0);
    }
    ck_assert_int_eq(binary, 2);
    free_network(f);
    free_network(h);
    free(w);
    free(fcfg);
    free(hcfg);
}
END_TEST

static Suite *suite_hada_conv_cfg(void)
{
    Suite *s = suite_create("hada_conv_cfg");
    TCase *tc = tcase_create("cfg");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, good_cfg_parses);
    tcase_add_test(tc, gradient_keys_reach_the_layer);
    tcase_add_loop_test(tc, bad_key_or_value_fails, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, weights_round_trip);
    tcase_add_test(tc, float_model_is_the_same_record);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_hada_conv_cfg)
