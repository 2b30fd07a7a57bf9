/* The cfgs shipped in cfg/: all load; the ResNet-18 cfgs train (a few
 * iterations on small generated image sets: 28 px with 10 classes, 224 px
 * with ImageNet's 1000); the Fashion-MNIST family shares one topology, so a
 * float model of it is the starting point of every binary row; HadaNet
 * ResNet-18 is at least 7.43x smaller than the float one. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "darknet.h"
#include "test_util.h"

#define CFG_DIR "../cfg"

START_TEST(every_shipped_cfg_loads)
{
    DIR *d = opendir(CFG_DIR);
    ck_assert(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".cfg")) continue;
        char args[1024];
        snprintf(args, sizeof args, "abc check %s/%s", CFG_DIR, e->d_name);
        abc_run_result r = abc_test_run_darknet(args);
        ck_assert_msg(r.status == 0 && strstr(r.out, "layers: "), "%s: %s", e->d_name, r.out);
        /* a cfg with binary layers says which, and its packed size */
        if (strstr(e->d_name, "abc") || strstr(e->d_name, "hada") || strstr(e->d_name, "hbwn"))
            ck_assert_msg(strstr(r.out, "quantized layers:") && strstr(r.out, "smaller)"), "%s: %s", e->d_name, r.out);
        abc_run_free(&r);
        ++n;
    }
    closedir(d);
    ck_assert_int_ge(n, 10);
}
END_TEST

/* The cfg with some [net] keys replaced ("key=value" lines), written to dir/name. */
static char *cfg_with_net(const char *cfg, const char *dir, const char *name, const char *const *kv)
{
    char *text = abc_test_slurp(cfg);
    size_t cap = strlen(text) + 4096, at = 0;
    char *out = malloc(cap);
    int in_net = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '[') in_net = !strncmp(line, "[net]", 5);
        const char *put = line;
        for (int i = 0; in_net && kv[i]; ++i) {
            size_t k = strcspn(kv[i], "=") + 1;
            if (!strncmp(line, kv[i], k)) put = kv[i];
        }
        at += (size_t)snprintf(out + at, cap - at, "%s\n", put);
    }
    char *p = abc_test_write(dir, name, out);
    free(out);
    free(text);
    return p;
}

/* n random w x h images named img<i>_<label>.png with labels lab0000.. over
 * `classes` classes; writes the list, labels and data files; returns the data file. */
static char *image_set(const char *dir, int n, int w, int h, int classes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/labels.txt", dir);
    FILE *lf = fopen(path, "w");
    for (int c = 0; c < classes; ++c) fprintf(lf, "lab%04d\n", c);
    fclose(lf);
    snprintf(path, sizeof path, "%s/train.list", dir);
    FILE *list = fopen(path, "w");
    srand(3);
    for (int i = 0; i < n; ++i) {
        image im = make_random_image(w, h, 3);
        for (int k = 0; k < w * h * 3; ++k) im.data[k] = im.data[k] < 0 ? 0 : im.data[k] > 1 ? 1 : im.data[k];
        char base[4096];
        snprintf(base, sizeof base, "%s/img%d_lab%04d", dir, i, (i * 7) % classes);
        save_image_options(im, base, PNG, 0); /* adds .png */
        free_image(im);
        fprintf(list, "%s.png\n", base);
    }
    fclose(list);
    char text[16384];
    snprintf(text, sizeof text, "classes=%d\ntrain=%s/train.list\nvalid=%s/train.list\nlabels=%s/labels.txt\nbackup=%s/\n",
             classes, dir, dir, dir, dir);
    return abc_test_write(dir, "set.data", text);
}

/* Trains cfg for `iters` iterations on data; the last progress line must show them and a finite loss. */
static void train_briefly(const char *data, const char *cfg, int iters, const char *weights_name)
{
    char args[8192];
    snprintf(args, sizeof args, "classifier train %s %s", data, cfg);
    abc_run_result r = abc_test_run_darknet(args);
    ck_assert_msg(r.status == 0, "%s", r.out);
    char want[64];
    snprintf(want, sizeof want, "iter %d/%d loss ", iters, iters);
    const char *p = strstr(r.out, want);
    ck_assert_msg(p != NULL, "no '%s' in:\n%s", want, r.out);
    float loss = NAN;
    ck_assert(sscanf(p + strlen(want), "%f", &loss) == 1);
    ck_assert_msg(isfinite(loss) && loss > 0, "loss %f", loss);
    ck_assert_msg(strstr(r.out, weights_name) != NULL, "%s", r.out);
    abc_run_free(&r);
}

/* The ResNet-18 cfgs, their [net] batch shrunk: 28 px with 10 classes, and
 * ImageNet's 224 px (random crops of 256 px images) with 1000. */
static const struct {
    const char *name;
    int images, size, classes, iters;
    const char *kv[5];
} resnets[] = {
    {"abc-resnet18", 8, 28, 10, 3, {"batch=4", "max_batches=3", "burn_in=0", NULL}},
    {"hada-resnet18", 8, 28, 10, 3, {"batch=4", "max_batches=3", "burn_in=0", NULL}},
    {"abc-resnet18-imagenet", 4, 256, 1000, 2, {"batch=2", "subdivisions=1", "max_batches=2", "burn_in=0", NULL}},
};

START_TEST(resnet18_cfgs_train)
{
    const char *dir = abc_test_tmpdir();
    char *data = image_set(dir, resnets[_i].images, resnets[_i].size, resnets[_i].size, resnets[_i].classes);
    char src[512], name[512], final[512];
    snprintf(src, sizeof src, CFG_DIR "/%s.cfg", resnets[_i].name);
    snprintf(name, sizeof name, "%s.cfg", resnets[_i].name);
    snprintf(final, sizeof final, "%s_final.weights", resnets[_i].name);
    char *cfg = cfg_with_net(src, dir, name, resnets[_i].kv);
    train_briefly(data, cfg, resnets[_i].iters, final);
    free(cfg);
    free(data);
}
END_TEST

/* A float model saved from cfg/fmnist-float.cfg loads into every binary row as its shadow weights. */
START_TEST(float_family_model_starts_every_binary_row)
{
    const char *dir = abc_test_tmpdir();
    network *f = load_network(CFG_DIR "/fmnist-float.cfg", NULL, 0);
    char w[4096];
    snprintf(w, sizeof w, "%s/float.weights", dir);
    save_weights(f, w);
    free_network(f);
    /* the AQT rows quantize every conv and connected layer: 7 */
    const char *rows[] = {"xnor", "bwn", "abc11", "abc33", "abc55", "xnor-bireal", "int8", "int4"};
    for (int i = 0; i < 8; ++i) {
        char args[8192], want[64];
        snprintf(args, sizeof args, "abc check %s/fmnist-%s.cfg %s", CFG_DIR, rows[i], w);
        snprintf(want, sizeof want, "the shadow weights of the %d binary layers", i < 6 ? 5 : 7);
        abc_run_result r = abc_test_run_darknet(args);
        ck_assert_msg(r.status == 0 && strstr(r.out, "a float model of this topology") && strstr(r.out, want), "%s: %s",
                      rows[i], r.out);
        abc_run_free(&r);
    }
}
END_TEST

/* Two-step training (docs/methods.md 7): a BWN model's shadow weights, exported as a float model, start the XNOR
 * row, and they are the BWN model's weights. */
START_TEST(bwn_model_starts_xnor_through_export)
{
    const char *dir = abc_test_tmpdir();
    network *b = load_network(CFG_DIR "/fmnist-bwn.cfg", NULL, 0);
    char w[4096], out[4096];
    snprintf(w, sizeof w, "%s/bwn.weights", dir);
    snprintf(out, sizeof out, "%s/bwn-float", dir);
    save_weights(b, w);
    abc_run_result r = abc_test_darknetf("weights export %s/fmnist-bwn.cfg %s -shadow -out %s", CFG_DIR, w, out);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    r = abc_test_darknetf("abc check %s/fmnist-xnor.cfg %s.weights", CFG_DIR, out);
    ck_assert_msg(r.status == 0 && strstr(r.out, "a float model of this topology") &&
                  strstr(r.out, "the shadow weights of the 5 binary layers"), "%s", r.out);
    abc_run_free(&r);
    char ow[4200];
    snprintf(ow, sizeof ow, "%s.weights", out);
    network *x = load_network(CFG_DIR "/fmnist-xnor.cfg", ow, 0);
    for (int i = 0; i < b->n; ++i)
        if (b->layers[i].weights && b->layers[i].nweights)
            ck_assert_msg(!memcmp(b->layers[i].weights, x->layers[i].weights, sizeof(float) * (size_t)b->layers[i].nweights),
                          "layer %d: the XNOR model does not start from the BWN model's shadow weights", i);
    free_network(b), free_network(x);
}
END_TEST

/* The float yolov3-tiny-fmnist model loads into each binary twin: as the ABC layers' shadow weights, and as is
 * into the HadaNet twin (whose records are the float layers'). */
START_TEST(float_yolo_starts_every_binary_twin)
{
    const char *dir = abc_test_tmpdir();
    network *f = load_network(CFG_DIR "/yolov3-tiny-fmnist.cfg", NULL, 0);
    char w[4096];
    snprintf(w, sizeof w, "%s/yolo-float.weights", dir);
    save_weights(f, w);
    free_network(f);
    const char *twins[] = {"xnor", "abc33", "hada16-2"};
    for (int i = 0; i < 3; ++i) {
        char args[8192];
        snprintf(args, sizeof args, "abc check %s/yolov3-tiny-fmnist-%s.cfg %s", CFG_DIR, twins[i], w);
        abc_run_result r = abc_test_run_darknet(args);
        int abc = strncmp(twins[i], "hada", 4) != 0;
        ck_assert_msg(r.status == 0 && strstr(r.out, "model parameters:") &&
                          (!abc || strstr(r.out, "the shadow weights of the 10 binary layers")),
                      "%s: %s", twins[i], r.out);
        abc_run_free(&r);
    }
}
END_TEST

/* HadaNet ResNet-18's parameters, packed as the summary counts them, against the float ResNet-18 of the same
 * topology as its weights file holds them: at least the paper's 7.43x smaller. */
START_TEST(hada_resnet18_is_743x_smaller_than_float)
{
    const char *dir = abc_test_tmpdir();
    network *f = load_network(CFG_DIR "/resnet18-fmnist.cfg", NULL, 0);
    char w[4096];
    snprintf(w, sizeof w, "%s/resnet18.weights", dir);
    save_weights(f, w);
    free_network(f);
    FILE *fp = fopen(w, "rb");
    ck_assert(fp != NULL);
    fseek(fp, 0, SEEK_END);
    double float_kib = (double)(ftell(fp) - 20) / 1024; /* minus the header: major, minor, revision, seen */
    fclose(fp);
    abc_run_result r = abc_test_run_darknet("abc check " CFG_DIR "/hada-resnet18.cfg");
    const char *p = strstr(r.out, "model parameters: ");
    ck_assert_msg(r.status == 0 && p, "%s", r.out);
    double packed_kib = 0, summary_float_kib = 0;
    ck_assert_msg(sscanf(p, "model parameters: %lf KiB with packed binary layers, %lf KiB as a float model",
                         &packed_kib, &summary_float_kib) == 2, "%s", p);
    ck_assert_msg(fabs(summary_float_kib - float_kib) < 0.1, "summary's float size %.1f KiB, the float model's file %.1f KiB",
                  summary_float_kib, float_kib);
    ck_assert_msg(float_kib / packed_kib >= 7.43, "%.1f KiB packed vs %.1f KiB float: %.2fx", packed_kib, float_kib,
                  float_kib / packed_kib);
    abc_run_free(&r);
}
END_TEST

static Suite *suite_model_cfgs(void)
{
    Suite *s = suite_create("model_cfgs");
    TCase *tc = tcase_create("cfgs");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_shipped_cfg_loads);
    tcase_add_test(tc, hada_resnet18_is_743x_smaller_than_float);
    tcase_add_loop_test(tc, resnet18_cfgs_train, 0, (int)(sizeof resnets / sizeof resnets[0]));
    tcase_add_test(tc, float_family_model_starts_every_binary_row);
    tcase_add_test(tc, bwn_model_starts_xnor_through_export);
    tcase_add_test(tc, float_yolo_starts_every_binary_twin);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_model_cfgs)
