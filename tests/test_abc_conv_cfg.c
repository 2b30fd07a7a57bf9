/* [abc_convolutional] in cfg files and .weights files: keys parse, bad keys
 * and values fail with file:line and the key, and a saved model reloads
 * bit for bit and predicts the same. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/abc/abc_conv.h"
#include "registry.h"
#include "test_util.h"

#define NET_HEAD "[net]\nbatch=2\nwidth=9\nheight=9\nchannels=3\n"
/* Line 6 is the section header, line 7 its first key. */
#define CONV_HEAD "[abc_convolutional]\nfilters=4\nsize=3\npad=1\n"

START_TEST(good_cfg_parses)
{
    char *path;
    abc_run_result r = abc_test_check_cfg("abc_good.cfg",
                                 NET_HEAD CONV_HEAD "batch_normalize=1\nactivation=leaky\nweight_bases=2\n"
                                 "activation_bases=3\nweight_shifts=-0.5,0.5\nactivation_shifts=-1,0,1\n"
                                 "activation_scales=1,0.5,0.25\nscale=channel\ngradient=paper\n"
                                 "[abc_convolutional]\nfilters=5\nsize=1\nactivation_bases=0\n"
                                 "[avgpool]\n[abc_connected]\noutput=6\nbatch_normalize=1\nweight_bases=1\n"
                                 "activation_bases=2\n[softmax]\n",
                                 &path);
    ck_assert_msg(r.status == 0, "%s", r.out);
    /* layer 0: 4*(1+3) + 4*3*9 + 2*4 alphas + 2*3 = 16+108+8+6; layer 1: 5 + 5*4 + 3*1 alphas;
     * layer 3: 6*4 + 6*5 + 1 alpha + 2*2 */
    ck_assert_msg(strstr(r.out, "weights: 225") != NULL, "%s", r.out);
    ck_assert_msg(strstr(r.out, "abc_connected") && strstr(r.out, "ABC M=1 N=2"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "ABC M=2 N=3") && strstr(r.out, "ABC M=3 N=0"), "%s", r.out);
    abc_run_free(&r);
    free(path);
}
END_TEST

static const struct {
    const char *lines; /* appended after CONV_HEAD (first at line 10) */
    int line;
    const char *key;
} bad[] = {
    {"weigth_bases=3", 10, "weigth_bases"},
    {"weight_bases=9", 10, "weight_bases"},
    {"weight_bases=0", 10, "weight_bases"},
    {"activation_bases=-1", 10, "activation_bases"},
    {"activation_bases=9", 10, "activation_bases"},
    {"weight_shifts=-1,1", 10, "weight_shifts"},
    {"weight_shifts=-1,x,1", 10, "weight_shifts"},
    {"activation_shifts=0,0,99", 10, "activation_shifts"},
    {"activation_bases=0\nactivation_scales=1", 11, "activation_scales"},
    {"scale=filter", 10, "scale"},
    {"gradient=exact", 10, "gradient"},
    {"activation=swish", 10, "activation"},
    {"batch_normalize=2", 10, "batch_normalize"},
    {"stride=0", 10, "stride"},
    {"filters=0", 7, "filters"},
    {"outputs=6", 7, "outputs"}, /* [abc_connected] (see below): misspelled key */
};

START_TEST(bad_key_or_value_fails)
{
    char text[512], name[64], where[32];
    snprintf(text, sizeof text, NET_HEAD CONV_HEAD "%s\n", bad[_i].lines);
    snprintf(name, sizeof name, "abc_bad_%d.cfg", _i);
    if (!strcmp(bad[_i].key, "filters")) /* the header's own filters=4 is replaced */
        snprintf(text, sizeof text, NET_HEAD "[abc_convolutional]\nfilters=0\nsize=3\npad=1\n");
    if (!strcmp(bad[_i].key, "outputs")) /* a misspelled [abc_connected] key */
        snprintf(text, sizeof text, NET_HEAD "[abc_connected]\noutputs=6\nsize=3\n");
    char *path;
    abc_run_result r = abc_test_check_cfg(name, text, &path);
    ck_assert_msg(r.signal == 0 && r.status == 1, "%s: status %d signal %d\n%s", bad[_i].lines, r.status, r.signal,
                  r.out);
    const char *e = strstr(r.out, "darknet: error:");
    ck_assert_msg(e != NULL, "%s: no error line\n%s", bad[_i].lines, r.out);
    ck_assert_msg(strstr(e + 1, "darknet: error:") == NULL, "%s: several error lines\n%s", bad[_i].lines, r.out);
    snprintf(where, sizeof where, ":%d:", bad[_i].line);
    ck_assert_msg(strstr(e, path) && strstr(e, where) && strstr(e, bad[_i].key) &&
                      strstr(e, strcmp(bad[_i].key, "outputs") ? "[abc_convolutional]" : "[abc_connected]"),
                  "%s: error lacks %s%s or key %s: %s", bad[_i].lines, path, where, bad[_i].key, e);
    abc_run_free(&r);
    free(path);
}
END_TEST

/* ---- .weights round trip ---- */

static void randomize_net(network *net, unsigned *seed)
{
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (!abc_registry_of(l)) continue;
        abc_conv_state *st = abc_conv_st(l);
        for (int k = 0; k < l->nweights; ++k) l->weights[k] = (float)rand_r(seed) / RAND_MAX - 0.5f;
        for (int k = 0; k < l->n; ++k) l->biases[k] = (float)rand_r(seed) / RAND_MAX - 0.5f;
        if (l->batch_normalize)
            for (int k = 0; k < l->n; ++k) {
                l->scales[k] = (float)rand_r(seed) / RAND_MAX + 0.5f;
                l->rolling_mean[k] = (float)rand_r(seed) / RAND_MAX - 0.5f;
                l->rolling_variance[k] = (float)rand_r(seed) / RAND_MAX + 0.5f;
            }
        abc_conv_quantize_weights(l, 1);
        for (int k = 0; k < st->o.N; ++k) {
            st->beta[k] = (float)rand_r(seed) / RAND_MAX + 0.5f;
            st->v[k] = (float)rand_r(seed) / RAND_MAX - 0.5f;
        }
    }
}

static int same(const float *a, const float *b, size_t n) { return n == 0 || !memcmp(a, b, n * sizeof *a); }

START_TEST(weights_round_trip)
{
    const char *text = NET_HEAD CONV_HEAD "batch_normalize=1\nactivation=leaky\nscale=channel\n"
                                          "[abc_convolutional]\nfilters=5\nsize=3\nstride=2\nweight_bases=2\n"
                                          "activation_bases=1\nactivation=linear\n[avgpool]\n[abc_connected]\noutput=7\n"
                                          "batch_normalize=1\n[softmax]\n";
    char *cfg = abc_test_write(abc_test_tmpdir(), "abc_rt.cfg", text);
    char *w = malloc(strlen(cfg) + 16);
    sprintf(w, "%s.weights", cfg);
    network *a = load_network(cfg, NULL, 0);
    unsigned seed = 77;
    randomize_net(a, &seed);
    save_weights(a, w);
    network *b = load_network(cfg, w, 0);
    size_t floats = 0;
    for (int i = 0; i < a->n; ++i) {
        layer *la = &a->layers[i], *lb = &b->layers[i];
        const abc_layer_type *t = abc_registry_of(la);
        if (!t) continue;
        floats += t->weights_floats(la);
        abc_conv_state *sa = abc_conv_st(la), *sb = abc_conv_st(lb);
        size_t n = (size_t)la->n;
        ck_assert(same(la->weights, lb->weights, (size_t)la->nweights));
        ck_assert(same(la->biases, lb->biases, n));
        if (la->batch_normalize)
            ck_assert(same(la->scales, lb->scales, n) && same(la->rolling_mean, lb->rolling_mean, n) &&
                      same(la->rolling_variance, lb->rolling_variance, n));
        ck_assert(same(sa->alpha, sb->alpha, (size_t)sa->o.M * sa->G));
        ck_assert(same(sa->beta, sb->beta, (size_t)sa->o.N) && same(sa->v, sb->v, (size_t)sa->o.N));
    }
    /* 20 header bytes (major, minor, revision, 64-bit seen) + the floats */
    FILE *fp = fopen(w, "rb");
    fseek(fp, 0, SEEK_END);
    ck_assert_int_eq(ftell(fp), 20 + 4 * (long)floats);
    fclose(fp);
    /* the same predictions through the packed path */
    float *x = malloc((size_t)a->inputs * sizeof *x);
    for (int k = 0; k < a->inputs; ++k) x[k] = (float)rand_r(&seed) / RAND_MAX * 2 - 1;
    set_batch_network(a, 1);
    set_batch_network(b, 1);
    float *pa = network_predict(a, x);
    float *oa = malloc((size_t)a->outputs * sizeof *oa);
    memcpy(oa, pa, (size_t)a->outputs * sizeof *oa);
    float *pb = network_predict(b, x);
    ck_assert(same(oa, pb, (size_t)a->outputs));
    free(oa);
    free(x);
    free_network(a);
    free_network(b);
    free(w);
    free(cfg);
}
END_TEST

/* ---- a float model of the same topology as the starting point (fine-tuning) ---- */

#define FT_BODY(conv, conn)                                                                                          \
    "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n[" conv "]\nfilters=5\n"     \
    "size=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=leaky\n[" conn "]\noutput=6\nbatch_normalize=1\n"    \
    "activation=leaky\n[connected]\noutput=3\nactivation=linear\n[softmax]\n"

/* darknet's [connected] leaves nweights and nbiases at 0 */
static size_t n_weights(const layer *l) { return l->type == CONNECTED ? (size_t)l->outputs * l->inputs : (size_t)l->nweights; }
static size_t n_outputs(const layer *l) { return l->type == CONNECTED ? (size_t)l->outputs : (size_t)l->n; }

static void fill(float *p, size_t n, unsigned *seed, float lo)
{
    for (size_t k = 0; k < n; ++k) p[k] = lo + (float)rand_r(seed) / RAND_MAX;
}

START_TEST(float_model_becomes_shadow_weights)
{
    char *fcfg = abc_test_write(abc_test_tmpdir(), "ft_float.cfg", NET_HEAD FT_BODY("convolutional", "connected"));
    char *bcfg = abc_test_write(abc_test_tmpdir(), "ft_abc.cfg", NET_HEAD FT_BODY("abc_convolutional", "abc_connected"));
    char *w = malloc(strlen(fcfg) + 16);
    sprintf(w, "%s.weights", fcfg);
    network *f = load_network(fcfg, NULL, 0);
    unsigned seed = 5;
    for (int i = 0; i < f->n; ++i) {
        layer *l = &f->layers[i];
        if (l->type != CONVOLUTIONAL && l->type != CONNECTED) continue;
        fill(l->weights, n_weights(l), &seed, -0.5f);
        fill(l->biases, n_outputs(l), &seed, -0.5f);
        if (l->batch_normalize) {
            fill(l->scales, n_outputs(l), &seed, 0.5f);
            fill(l->rolling_mean, n_outputs(l), &seed, -0.5f);
            fill(l->rolling_variance, n_outputs(l), &seed, 0.5f);
        }
    }
    *f->seen = 12345;
    save_weights(f, w);
    network *b = load_network(bcfg, w, 0);
    ck_assert_int_eq((int)*b->seen, 0); /* a new model: its iteration count starts again */
    int binary = 0;
    for (int i = 0; i < f->n; ++i) {
        layer *lf = &f->layers[i], *lb = &b->layers[i];
        if (lf->type != CONVOLUTIONAL && lf->type != CONNECTED) continue;
        size_t n = n_outputs(lf), nw = n_weights(lf);
        ck_assert_int_eq((int)nw, (int)n_weights(lb));
        ck_assert_msg(same(lf->weights, lb->weights, nw), "layer %d: weights", i);
        ck_assert_msg(same(lf->biases, lb->biases, n), "layer %d: biases", i);
        if (lf->batch_normalize)
            ck_assert_msg(same(lf->scales, lb->scales, n) && same(lf->rolling_mean, lb->rolling_mean, n) &&
                              same(lf->rolling_variance, lb->rolling_variance, n), "layer %d: batch norm", i);
        if (!abc_registry_of(lb)) continue;
        ++binary;
        abc_conv_state *st = abc_conv_st(lb);
        ck_assert_msg(st->alpha[0] > 0.f, "layer %d: alphas fitted to the loaded weights", i);
        ck_assert(st->beta[0] == 1.f); /* the cfg's initial activation scales */
    }
    ck_assert_int_eq(binary, 2);
    free_network(b);
    /* one float more or less is not a float model, and not an ABC one either: refused */
    FILE *fp = fopen(w, "ab");
    float extra = 0;
    fwrite(&extra, sizeof extra, 1, fp);
    fclose(fp);
    char args[1024];
    snprintf(args, sizeof args, "abc check %s %s", bcfg, w);
    abc_run_result r = abc_test_run_darknet(args);
    ck_assert_msg(r.status != 0 && strstr(r.out, "the cfg needs"), "%s", r.out);
    abc_run_free(&r);
    free_network(f);
    free(w);
    free(fcfg);
    free(bcfg);
}
END_TEST

static Suite *suite_abc_conv_cfg(void)
{
    Suite *s = suite_create("abc_conv_cfg");
    TCase *tc = tcase_create("cfg");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, good_cfg_parses);
    tcase_add_loop_test(tc, bad_key_or_value_fails, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, weights_round_trip);
    tcase_add_test(tc, float_model_becomes_shadow_weights);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_abc_conv_cfg)
