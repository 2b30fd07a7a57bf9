/* weights convert: the rewritten cfg changes only the converted sections (header and keys; comments, order and
 * the other sections kept), the first / last / detection-feeding layers stay float by default and -keep changes
 * that, every family converts and its model loads with the float weights as shadow weights (biases and batch
 * norm carried, the iteration count at 0) and runs; bad requests are one error line and leave no file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abc/base/darknet_private.h"
#include "abc/base/mode.h"
#include "abc/forward.h"
#include "abc/registry.h"
#include "test_stock.h"
#include "test_util.h"

static const char classifier_cfg[] =
    "# a small classifier\n[net]\nbatch=1\nwidth=12\nheight=12\nchannels=3\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "# the second conv\n[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\n"
    "activation=leaky\nlearning_rate=0.5\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[convolutional]\nfilters=16\nsize=3\nstride=1\npad=1\ngroups=2\nactivation=leaky\n\n"
    "[connected]\noutput=32\nactivation=leaky\n\n"
    "[connected]\noutput=5\nactivation=linear\n\n[softmax]\n";

static const char detector_cfg[] =
    "[net]\nbatch=1\nwidth=32\nheight=32\nchannels=3\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[convolutional]\nfilters=24\nsize=1\nstride=1\npad=1\nactivation=linear\n\n"
    "[yolo]\nmask=0,1,2\nanchors=10,14,  23,27,  37,58\nclasses=3\nnum=3\n";

/* cfg text into dir/name.cfg and random float weights (rolling variances 1) into dir/name.weights. */
static void make_model(const char *dir, const char *name, const char *text, char **cfg, char **weights)
{
    char file[300];
    snprintf(file, sizeof file, "%s.cfg", name);
    *cfg = abc_test_write(dir, file, text);
    ck_assert(asprintf(weights, "%s/%s.weights", dir, name) > 0);
    srand(3);
    network *net = load_network(*cfg, NULL, 0);
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (l->batch_normalize)
            for (int f = 0; f < l->out_c; ++f) l->rolling_variance[f] = 1, l->rolling_mean[f] = 0.01f * f;
        for (int f = 0; f < l->n && (l->type == CONVOLUTIONAL || l->type == CONNECTED); ++f) l->biases[f] = 0.1f * f;
    }
    *net->seen = 12345;
    save_weights(net, *weights);
    free_network(net);
}

static abc_run_result convert(const char *cfg, const char *weights, const char *args)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "weights convert %s %s %s", cfg, weights, args);
    return abc_test_run_darknet(cmd);
}

/* Whether b is a with some sections converted: the same lines in the same order once comments and blank lines
 * are dropped from both, the family's keys from b and its converted headers named back; returns how many
 * headers were converted. */
static int changed_sections(const char *a, const char *b)
{
    static const char *const family_keys[] = {"weight_bases=", "activation_bases=", "scale=channel"};
    static const char *const back[][2] = {{"[abc_convolutional]", "[convolutional]"}, {"[abc_connected]", "[connected]"}};
    char *x = strdup(a), *y = strdup(b), *sx = NULL, *sy = NULL, fa[4096] = "", fb[4096] = "";
    int changed = 0;
    for (char *l = strtok_r(x, "\n", &sx); l; l = strtok_r(NULL, "\n", &sx))
        if (l[0] != '#') strcat(strcat(fa, l), "\n");
    for (char *l = strtok_r(y, "\n", &sy); l; l = strtok_r(NULL, "\n", &sy)) {
        int skip = l[0] == '#';
        for (int k = 0; k < 3; ++k) skip |= !strncmp(l, family_keys[k], strlen(family_keys[k]));
        if (skip) continue;
        for (int k = 0; k < 2; ++k)
            if (!strcmp(l, back[k][0])) l = (char *)back[k][1], ++changed;
        strcat(strcat(fb, l), "\n");
    }
    ck_assert_msg(!strcmp(fa, fb), "the converted cfg differs beyond its converted sections:\n%s\n----\n%s", fa, fb);
    free(x), free(y);
    return changed;
}

START_TEST(abc33_rewrites_only_converted_sections_and_carries_weights)
{
    const char *dir = abc_test_tmpdir();
    char *cfg, *w, out[4200], ocfg[4300], ow[4300];
    make_model(dir, "cls", classifier_cfg, &cfg, &w);
    snprintf(out, sizeof out, "%s/cls-abc33", dir);
    char args[4400];
    snprintf(args, sizeof args, "-to abc33 -out %s", out);
    abc_run_result r = convert(cfg, w, args);
    ck_assert_msg(r.status == 0, "%s", r.out);
    /* layer 0 first (kept), 1 converted, 3 grouped (kept: no binary equivalent), 4 converted, 5 last (kept) */
    ck_assert_msg(strstr(r.out, "    0  convolutional  -                      kept float: the first layer") &&
                  strstr(r.out, "    1  convolutional  abc_convolutional") &&
                  strstr(r.out, "    3  convolutional  -                      kept float: 'groups' has no") &&
                  strstr(r.out, "    4  connected      abc_connected") &&
                  strstr(r.out, "    5  connected      -                      kept float: the last layer"), "%s", r.out);
    double e1 = -1, e4 = -1;
    const char *q = strstr(r.out, "||W - Wq|| / ||W||");
    ck_assert(q && sscanf(strstr(q, "\n    1  abc_convolutional"), "\n    1  abc_convolutional %lf", &e1) == 1 &&
              sscanf(strstr(q, "\n    4  abc_connected"), "\n    4  abc_connected %lf", &e4) == 1);
    ck_assert_msg(e1 > 0.01 && e1 < 0.8 && e4 > 0.01 && e4 < 0.8, "errors %g %g", e1, e4);
    abc_run_free(&r);
    snprintf(ocfg, sizeof ocfg, "%s.cfg", out);
    snprintf(ow, sizeof ow, "%s.weights", out);
    char *a = abc_test_slurp(cfg), *b = abc_test_slurp(ocfg);
    ck_assert_int_eq(changed_sections(a, b), 2);
    ck_assert_msg(strstr(b, "# a small classifier\n[net]") && strstr(b, "# the second conv\n[abc_convolutional]\n") &&
                  strstr(b, "learning_rate=0.5\n# converted from [convolutional] by ./darknet weights convert -to "
                            "abc33\nweight_bases=3\nactivation_bases=3\n\n[maxpool]") &&
                  strstr(b, "[abc_connected]\noutput=32\n"), "%s", b);
    /* the binary model: the float weights as its shadow weights, biases and batch norm carried, seen 0 */
    network *f = load_network(cfg, w, 0), *n = load_network(ocfg, ow, 0);
    ck_assert_int_eq((int)*n->seen, 0);
    ck_assert(abc_registry_of(&n->layers[1]) && abc_registry_of(&n->layers[4]) && !abc_registry_of(&n->layers[3]));
    for (int i = 0; i < f->n; ++i) {
        layer *x = &f->layers[i], *y = &n->layers[i];
        if (x->type != CONVOLUTIONAL && x->type != CONNECTED) continue;
        ck_assert(!memcmp(x->weights, y->weights, sizeof(float) * x->nweights));
        ck_assert(!memcmp(x->biases, y->biases, sizeof(float) * x->n));
        if (x->batch_normalize) ck_assert(!memcmp(x->rolling_mean, y->rolling_mean, sizeof(float) * x->n));
    }
    /* it runs, packed and finite */
    float in[12 * 12 * 3];
    for (int i = 0; i < 12 * 12 * 3; ++i) in[i] = (float)(i % 7) / 7;
    float *o = network_predict(n, in);
    for (int i = 0; i < 5; ++i) ck_assert(isfinite(o[i]));
    free_network(f), free_network(n);
    free(a), free(b), free(cfg), free(w);
}
END_TEST

START_TEST(every_family_converts_and_runs)
{
    const char *fams[] = {"xnor",      "bwn",  "abc11",     "abc52",       "hada4-2", "hada16-16",
                          "hbwn4",     "md_tanh_s", "smooth-xnor", "int8",   "int4-8"};
    const char *keys[] = {"weight_bases=1\nactivation_bases=1\nscale=channel\n",
                          "weight_bases=1\nactivation_bases=0\nscale=channel\n",
                          "weight_bases=1\nactivation_bases=1\n", "weight_bases=5\nactivation_bases=2\n",
                          "weight_segment=4\nactivation_segment=2\n", "weight_segment=16\nactivation_segment=16\n",
                          "weight_segment=4\nactivation_segment=1\n",
                          "weight_bases=1\nactivation_bases=0\nscale=channel\nweight_quantizer=md_tanh_s\n",
                          "weight_bases=1\nactivation_bases=1\nscale=channel\nweight_quantizer=smooth\n",
                          "weight_bits=8\nactivation_bits=8\n", "weight_bits=4\nactivation_bits=8\n"};
    const char *dir = abc_test_tmpdir();
    char *cfg, *w;
    make_model(dir, "fam", classifier_cfg, &cfg, &w);
    for (int k = 0; k < (int)(sizeof fams / sizeof fams[0]); ++k) {
        char args[4400], ocfg[4400], ow[4400];
        snprintf(args, sizeof args, "-to %s -out %s/fam-%s", fams[k], dir, fams[k]);
        abc_run_result r = convert(cfg, w, args);
        ck_assert_msg(r.status == 0, "%s: %s", fams[k], r.out);
        abc_run_free(&r);
        snprintf(ocfg, sizeof ocfg, "%s/fam-%s.cfg", dir, fams[k]);
        snprintf(ow, sizeof ow, "%s/fam-%s.weights", dir, fams[k]);
        char *text = abc_test_slurp(ocfg);
        const char *header = fams[k][0] == 'h' ? "[hada_convolutional]"
                              : fams[k][0] == 'i' ? "[quant_convolutional]"
                                                  : "[abc_convolutional]";
        ck_assert_msg(strstr(text, keys[k]) && strstr(text, header), "%s", text);
        free(text);
        network *n = load_network(ocfg, ow, 0);
        float in[12 * 12 * 3];
        for (int i = 0; i < 12 * 12 * 3; ++i) in[i] = (float)(i % 5) / 5;
        float *o = network_predict(n, in);
        for (int i = 0; i < 5; ++i) ck_assert_msg(isfinite(o[i]), "%s: output %d", fams[k], i);
        if (!strcmp(fams[k], "int8")) { /* 8 bits after conversion: the float model's outputs, nearly */
            network *fl = load_network(cfg, w, 0);
            float *fo = network_predict(fl, in);
            for (int i = 0; i < 5; ++i)
                ck_assert_msg(fabsf(fo[i] - o[i]) < 0.02f, "int8 output %d: %g, float %g", i, o[i], fo[i]);
            free_network(fl);
        }
        free_network(n);
    }
    free(cfg), free(w);
}
END_TEST

START_TEST(keep_and_detection_layers)
{
    const char *dir = abc_test_tmpdir();
    char *cfg, *w, args[4400];
    make_model(dir, "det", detector_cfg, &cfg, &w);
    snprintf(args, sizeof args, "-to xnor -out %s/det-xnor", dir);
    abc_run_result r = convert(cfg, w, args);
    ck_assert_msg(r.status == 0 && strstr(r.out, "    4  convolutional  -                      kept float: it feeds a "
                                                 "detection layer") &&
                  strstr(r.out, "    2  convolutional  abc_convolutional") &&
                  strstr(r.out, "    3  convolutional  abc_convolutional") &&
                  strstr(r.out, "fine-tune: ./darknet detector train <data>"), "%s", r.out);
    abc_run_free(&r);
    /* -keep none: every conv, the first and the detection one too; -keep 2: only layer 2 stays */
    snprintf(args, sizeof args, "-to xnor -keep none -out %s/det-all", dir);
    r = convert(cfg, w, args);
    ck_assert_msg(r.status == 0 && strstr(r.out, "4 layers converted"), "%s", r.out);
    abc_run_free(&r);
    snprintf(args, sizeof args, "-to xnor -keep 2 -out %s/det-2", dir);
    r = convert(cfg, w, args);
    ck_assert_msg(r.status == 0 && strstr(r.out, "    2  convolutional  -                      kept float (-keep)") &&
                  strstr(r.out, "3 layers converted"), "%s", r.out);
    abc_run_free(&r);
    free(cfg), free(w);
}
END_TEST

START_TEST(bad_requests_are_one_line)
{
    const char *dir = abc_test_tmpdir();
    char *cfg, *w, *dcfg, *dw;
    make_model(dir, "bad", classifier_cfg, &cfg, &w);
    make_model(dir, "badd", detector_cfg, &dcfg, &dw);
    char *bin = abc_test_write(dir, "bin.cfg", "[net]\nbatch=1\nwidth=8\nheight=8\nchannels=3\n[abc_convolutional]\n"
                                               "filters=4\nsize=3\npad=1\nactivation=leaky\n");
    struct {
        char args[4400];
        const char *says;
    } c[13];
    int n = 0;
    snprintf(c[n].args, sizeof c[n].args, "%s %s -to abc -out %s/o1", cfg, w, dir), c[n++].says = "unknown family 'abc'";
    snprintf(c[n].args, sizeof c[n].args, "%s %s -to hada16 -out %s/o2", cfg, w, dir), c[n++].says = "'hada16'";
    snprintf(c[n].args, sizeof c[n].args, "%s %s -to xnor", cfg, w), c[n++].says = "-out is required";
    snprintf(c[n].args, sizeof c[n].args, "%s %s -out %s/o3", cfg, w, dir), c[n++].says = "-to is required";
    snprintf(c[n].args, sizeof c[n].args, "%s %s -to xnor -out %s/o4", cfg, dw, dir), c[n++].says = dw;
    snprintf(c[n].args, sizeof c[n].args, "%s %s -to xnor -out %s/nodir/o5", cfg, w, dir), c[n++].says = "nodir/o5";
    snprintf(c[n].args, sizeof c[n].args, "%s %s -to xnor -keep 99 -out %s/o6", cfg, w, dir), c[n++].says = "layer 99";
    snprintf(c[n].args, sizeof c[n].args, "%s %s -to xnor -keep 0,1,4,5 -out %s/o7", cfg, w, dir),
        c[n++].says = "nothing to convert";
    snprintf(c[n].args, sizeof c[n].args, "%s %s -to xnor -out %s/o8", bin, w, dir), c[n++].says = "bin.cfg";
    snprintf(c[n].args, sizeof c[n].args, "%s %s -to xnor -out %s/o9 -valid", cfg, w, dir), c[n++].says = "-valid needs -data";
    snprintf(c[n].args, sizeof c[n].args, "%s %s -to xnor -out %s/o10 -data %s/no.data -valid", cfg, w, dir, dir),
        c[n++].says = "no.data";
    /* the calibration images (the train list) are checked before anything is written */
    char *list = abc_test_write(dir, "gone.list", "/nonexistent/x.png\n");
    char body[4600];
    snprintf(body, sizeof body, "classes=2\ntrain=%s\nvalid=%s\n", list, list);
    char *data = abc_test_write(dir, "gone.data", body);
    snprintf(c[n].args, sizeof c[n].args, "%s %s -to int8 -out %s/o12 -data %s", cfg, w, dir, data),
        c[n++].says = "gone.list line 1: '/nonexistent/x.png'";
    snprintf(c[n].args, sizeof c[n].args, "%s %s -to int8 -out %s/o13 -data %s -calib 0", cfg, w, dir, data),
        c[n++].says = "-calib";
    free(list), free(data);
    for (int i = 0; i < n; ++i) {
        char cmd[4600];
        snprintf(cmd, sizeof cmd, "weights convert %.4400s", c[i].args);
        abc_run_result r = abc_test_run_darknet(cmd);
        const char *e = strstr(r.out, "darknet: error:");
        ck_assert_msg(r.status != 0 && e && !strstr(e + 1, "darknet: error:") && strstr(e, c[i].says), "%s:\n%s",
                      cmd, r.out);
        abc_run_free(&r);
        char path[4400];
        snprintf(path, sizeof path, "%s/o%d.cfg", dir, i + 1);
        ck_assert_msg(access(path, F_OK) != 0, "%s left behind", path);
        snprintf(path, sizeof path, "%s/o%d.weights", dir, i + 1);
        ck_assert_msg(access(path, F_OK) != 0, "%s left behind", path);
    }
    free(cfg), free(w), free(dcfg), free(dw), free(bin);
}
END_TEST

/* darknet's partial: the first layers' records, iteration count 0; loads into the cfg (the rest stays random). */
START_TEST(partial_keeps_the_first_layers)
{
    const char *dir = abc_test_tmpdir();
    char *cfg, *w, cmd[4400], out[4300];
    make_model(dir, "part", classifier_cfg, &cfg, &w);
    snprintf(out, sizeof out, "%s/part.conv.2", dir);
    snprintf(cmd, sizeof cmd, "partial %s %s %s 2", cfg, w, out);
    abc_run_result r = abc_test_run_darknet(cmd);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    network *full = load_network(cfg, w, 0), *part = load_network(cfg, out, 0);
    ck_assert_int_eq((int)*part->seen, 0);
    FILE *fp = fopen(out, "rb");
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fclose(fp);
    long want = 20;
    for (int i = 0; i < 2; ++i) {
        layer *l = &full->layers[i];
        want += 4L * (l->nweights + l->n + (l->batch_normalize ? 3 * l->n : 0));
        ck_assert(!memcmp(l->weights, part->layers[i].weights, sizeof(float) * l->nweights));
    }
    ck_assert_int_eq(size, want);
    free_network(full), free_network(part);
    snprintf(cmd, sizeof cmd, "partial %s %s %s 9", cfg, w, out);
    r = abc_test_run_darknet(cmd);
    ck_assert_msg(r.status != 0 && strstr(r.out, "has 7 layers, not 9"), "%s", r.out);
    abc_run_free(&r);
    free(cfg), free(w);
}
END_TEST

/* inspect: each layer with parameters, its arrays' ranges, NaN and Inf counted; -json; convert refuses NaN. */
START_TEST(inspect_reports_arrays_and_nan)
{
    const char *dir = abc_test_tmpdir();
    char *cfg, *w, cmd[4400];
    make_model(dir, "ins", classifier_cfg, &cfg, &w);
    /* layer 1's biases: one NaN, one infinity */
    network *net = load_network(cfg, w, 0);
    net->layers[1].biases[2] = NAN;
    net->layers[1].biases[5] = INFINITY;
    char *bad;
    ck_assert(asprintf(&bad, "%s/ins-nan.weights", dir) > 0);
    save_weights(net, bad);
    float b0 = net->layers[0].biases[3];
    free_network(net);
    snprintf(cmd, sizeof cmd, "weights inspect %s %s", cfg, bad);
    abc_run_result r = abc_test_run_darknet(cmd);
    ck_assert_msg(r.status == 0 && strstr(r.out, "layer 1 convolutional 12x12x8 -> 12x12x16 (3x3/1)") &&
                  strstr(r.out, "NaN 1  Inf 1") && strstr(r.out, "layer 4 connected 576 -> 32") &&
                  strstr(r.out, "total: "), "%s", r.out);
    ck_assert(b0 == 0.3f);
    abc_run_free(&r);
    snprintf(cmd, sizeof cmd, "( %s weights inspect %s %s -json 2>/dev/null )", abc_test_darknet_path(), cfg, w);
    r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0 && abc_test_json_valid(r.out) && strstr(r.out, "\"name\": \"rolling_variance\"") &&
                  strstr(r.out, "\"ratio\": 1.000"), "%s", r.out);
    abc_run_free(&r);
    snprintf(cmd, sizeof cmd, "weights convert %s %s -to xnor -out %s/ins-x", cfg, bad, dir);
    r = abc_test_run_darknet(cmd);
    ck_assert_msg(r.status != 0 && strstr(r.out, "layer 1: biases holds 1 NaN and 1 infinite values"), "%s", r.out);
    abc_run_free(&r);
    free(cfg), free(w), free(bad);
}
END_TEST

/* export undoes convert: -shadow gives back the float model's weights byte for byte; the binary weights, loaded
 * by libdarknet's own parser and reader, compute what the bwn model computes (float activations). */
START_TEST(export_undoes_convert_and_loads_in_stock_darknet)
{
    const char *dir = abc_test_tmpdir();
    char *cfg, *w;
    make_model(dir, "exp", classifier_cfg, &cfg, &w);
    abc_run_result r = abc_test_darknetf("weights convert %s %s -to bwn -out %s/exp-bwn", cfg, w, dir);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    r = abc_test_darknetf("weights export %s/exp-bwn.cfg %s/exp-bwn.weights -shadow -out %s/back", dir, dir, dir);
    ck_assert_msg(r.status == 0 && strstr(r.out, "exported as float"), "%s", r.out);
    abc_run_free(&r);
    char *back_w = abc_test_pathf(dir, "back.weights"), *back_cfg = abc_test_pathf(dir, "back.cfg");
    size_t na, nb;
    unsigned char *a = abc_test_read_file(w, &na), *b = abc_test_read_file(back_w, &nb);
    ck_assert_msg(a && b && na == nb && !memcmp(a + 20, b + 20, na - 20), "the shadow weights did not come back as "
                  "the float model's (%zu and %zu bytes)", na, nb);
    free(a), free(b);
    char *text = abc_test_slurp(back_cfg);
    ck_assert_msg(!strstr(text, "\n[abc_") && !strstr(text, "weight_bases") && strstr(text, "learning_rate=0.5"), "%s",
                  text);
    free(text);

    r = abc_test_darknetf("weights export %s/exp-bwn.cfg %s/exp-bwn.weights -out %s/bin", dir, dir, dir);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    char *bin_cfg = abc_test_pathf(dir, "bin.cfg"), *bin_w = abc_test_pathf(dir, "bin.weights");
    network *stock = abc_test_stock_parse(bin_cfg);
    abc_test_stock_load(stock, bin_w, 0, stock->n);
    char *bwn_cfg = abc_test_pathf(dir, "exp-bwn.cfg"), *bwn_w = abc_test_pathf(dir, "exp-bwn.weights");
    network *ours = load_network(bwn_cfg, bwn_w, 0);
    set_batch_network(stock, 1), set_batch_network(ours, 1);
    stock->train = ours->train = 0;
    float *x = malloc((size_t)ours->inputs * sizeof *x);
    unsigned seed = 9;
    for (int i = 0; i < ours->inputs; ++i) x[i] = abc_test_urand(&seed, 0.f, 1.f);
    float *want = malloc((size_t)ours->outputs * sizeof *want);
    memcpy(want, abc_network_predict(ours, x), (size_t)ours->outputs * sizeof *want);
    float *got = network_predict(stock, x);
    double d = abc_test_max_rel_diff(got, want, (size_t)ours->outputs);
    ck_assert_msg(d < 1e-4, "libdarknet's forward of the exported model differs from the bwn model's by %g", d);
    free(x), free(want);
    free_network(stock), free_network(ours);

    r = abc_test_darknetf("weights export %s %s -out %s/none", cfg, w, dir);
    ck_assert_msg(r.status != 0 && strstr(r.out, "no binary layer"), "%s", r.out);
    abc_run_free(&r);
    free(cfg), free(w), free(back_w), free(back_cfg), free(bin_cfg), free(bin_w), free(bwn_cfg), free(bwn_w);
}
END_TEST

/* darknet's own binary layers: xnor=1 (first layer too, whose input holds exact zeros), binary=1, with and
 * without batch norm, strides 1 and 2, weights with exact zeros; imported by -to darknet, they give libdarknet's
 * own forward's outputs (to float rounding) on the packed path and on the simulation. */
static const char darknet_binary_cfg[] =
    "[net]\nbatch=1\nwidth=17\nheight=15\nchannels=3\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\nxnor=1\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=20\nsize=3\nstride=1\npad=1\nactivation=leaky\nxnor=1\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=12\nsize=3\nstride=2\npad=1\nactivation=leaky\nbinary=1\n\n"
    "[convolutional]\nfilters=70\nsize=3\nstride=1\npad=1\nactivation=relu\nxnor=1\n\n"
    "[convolutional]\nfilters=5\nsize=1\nstride=1\npad=0\nactivation=linear\n";

START_TEST(darknet_xnor_and_binary_layers_import_exactly)
{
    const char *dir = abc_test_tmpdir();
    char *cfg = abc_test_write(dir, "dk.cfg", darknet_binary_cfg), *w = abc_test_pathf(dir, "dk.weights");
    network *stock = abc_test_stock_parse(cfg);
    abc_test_fill_params(stock, 21);
    for (int i = 0; i < stock->n; ++i) /* ties: weights exactly +0 and -0 */
        for (int k = 0; k < stock->layers[i].nweights; k += 7) stock->layers[i].weights[k] = k % 14 ? 0.f : -0.f;
    abc_test_stock_save(stock, w, stock->n);
    abc_run_result r = abc_test_darknetf("weights convert %s %s -to darknet -out %s/dk-abc", cfg, w, dir);
    ck_assert_msg(r.status == 0 && strstr(r.out, "darknet's xnor=1, imported") && strstr(r.out, "darknet's binary=1"),
                  "%s", r.out);
    abc_run_free(&r);
    char *icfg = abc_test_pathf(dir, "dk-abc.cfg"), *iw = abc_test_pathf(dir, "dk-abc.weights");
    network *ours = load_network(icfg, iw, 0);
    for (int i = 0; i < 4; ++i) ck_assert_msg(abc_registry_of(&ours->layers[i]), "layer %d was not imported", i);
    set_batch_network(stock, 1), set_batch_network(ours, 1);
    stock->train = ours->train = 0;
    float *x = malloc((size_t)ours->inputs * sizeof *x);
    unsigned seed = 4;
    for (int i = 0; i < ours->inputs; ++i) x[i] = i % 5 == 0 ? 0.f : i % 5 == 1 ? -0.f : abc_test_urand(&seed, -1, 1);
    /* libdarknet's CPU forward does not binarize a binary=1 layer (only xnor=1; it then swaps the weights with an
     * empty buffer, so every second forward runs on zeros): its reference is darknet's own binarize_weights */
    for (int i = 0; i < stock->n; ++i) {
        layer *l = &stock->layers[i];
        if (!l->binary) continue;
        float *b = malloc((size_t)l->nweights * sizeof *b);
        binarize_weights(l->weights, l->n, l->c * l->size * l->size, b);
        memcpy(l->weights, b, (size_t)l->nweights * sizeof *b);
        free(b);
        l->binary = 0;
    }
    float *want = malloc((size_t)ours->outputs * sizeof *want);
    memcpy(want, network_predict(stock, x), (size_t)ours->outputs * sizeof *want);
    for (int sim = 0; sim < 2; ++sim) {
        abc_mode_set(ABC_MODE_INFERENCE, sim ? "sim" : NULL);
        float *got = abc_network_predict(ours, x);
        for (int i = 0; i < ours->n; ++i) {
            double d = abc_test_max_rel_diff(ours->layers[i].output, stock->layers[i].output,
                                             (size_t)ours->layers[i].outputs);
            ck_assert_msg(d < 1e-4, "%s path, layer %d: relative difference %g from libdarknet's forward",
                          sim ? "simulated" : "packed", i, d);
        }
        ck_assert(abc_test_max_rel_diff(got, want, (size_t)ours->outputs) < 1e-4);
    }
    abc_mode_set(ABC_MODE_INFERENCE, NULL);
    free(x), free(want);
    free_network(stock), free_network(ours);
    free(cfg), free(w), free(icfg), free(iw);
}
END_TEST

static Suite *suite_weights_convert(void)
{
    Suite *s = suite_create("weights_convert");
    TCase *tc = tcase_create("convert");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, abc33_rewrites_only_converted_sections_and_carries_weights);
    tcase_add_test(tc, every_family_converts_and_runs);
    tcase_add_test(tc, keep_and_detection_layers);
    tcase_add_test(tc, bad_requests_are_one_line);
    tcase_add_test(tc, partial_keeps_the_first_layers);
    tcase_add_test(tc, inspect_reports_arrays_and_nan);
    tcase_add_test(tc, export_undoes_convert_and_loads_in_stock_darknet);
    tcase_add_test(tc, darknet_xnor_and_binary_layers_import_exactly);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_weights_convert)
