/* weights pack: a packed file gives the unpacked model's outputs bit for bit (every binary family, float and
 * connected layers, odd shapes and borders, 1 and 2 threads, after a resize), its size is the model summary's
 * packed size plus the headers, it loads in every command that takes weights and is refused for training, and
 * a damaged or foreign packed file is one error line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abc/base/threads.h"
#include "abc/forward.h"
#include "abc/packfile.h"
#include "test_util.h"

/* Every family on odd channel counts, strides 1 and 2, paddings 0 and 1, then connected layers. */
static const char classifier_cfg[] =
    "[net]\nbatch=1\nwidth=13\nheight=11\nchannels=3\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=10\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[abc_convolutional]\nbatch_normalize=1\nfilters=20\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "weight_bases=3\nactivation_bases=3\n\n"
    "[abc_convolutional]\nbatch_normalize=1\nfilters=33\nsize=3\nstride=2\npad=1\nactivation=relu\n"
    "weight_bases=1\nactivation_bases=1\nscale=channel\n\n"
    "[abc_convolutional]\nfilters=17\nsize=1\nstride=1\npad=0\nactivation=leaky\nweight_bases=2\nactivation_bases=0\n\n"
    "[hada_convolutional]\nbatch_normalize=1\nfilters=24\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "weight_segment=16\nactivation_segment=2\n\n"
    "[hada_convolutional]\nbatch_normalize=1\nfilters=9\nsize=3\nstride=1\npad=0\nactivation=leaky\n"
    "weight_segment=8\nactivation_segment=1\n\n"
    "[abc_connected]\nbatch_normalize=1\noutput=40\nactivation=leaky\nweight_bases=2\nactivation_bases=2\n\n"
    "[quant_convolutional]\nbatch_normalize=1\nfilters=11\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "weight_bits=4\nactivation_bits=8\n\n"
    "[hada_connected]\noutput=30\nactivation=leaky\nweight_segment=4\nactivation_segment=4\n\n"
    "[quant_connected]\noutput=13\nactivation=leaky\nweight_bits=3\nactivation_bits=5\n\n"
    "[connected]\noutput=7\nactivation=linear\n\n[softmax]\n";

/* Convolutions only, so that it resizes. */
static const char conv_cfg[] =
    "[net]\nbatch=1\nwidth=20\nheight=16\nchannels=3\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[abc_convolutional]\nbatch_normalize=1\nfilters=70\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "weight_bases=1\nactivation_bases=1\nscale=channel\n\n"
    "[hada_convolutional]\nbatch_normalize=1\nfilters=12\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "weight_segment=16\nactivation_segment=2\n\n"
    "[abc_convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "weight_bases=3\nactivation_bases=3\n\n"
    "[quant_convolutional]\nbatch_normalize=1\nfilters=6\nsize=3\nstride=2\npad=1\nactivation=leaky\n\n"
    "[convolutional]\nfilters=5\nsize=1\nstride=1\npad=0\nactivation=linear\n";

/* A model with random weights and batch norm statistics: dir/name.cfg and dir/name.weights. */
static network *make_model(const char *dir, const char *name, const char *text, char **cfg, char **weights)
{
    char file[300];
    snprintf(file, sizeof file, "%s.cfg", name);
    *cfg = abc_test_write(dir, file, text);
    *weights = abc_test_pathf(dir, "%s.weights", name);
    srand(11);
    network *net = load_network(*cfg, NULL, 0);
    unsigned seed = 5;
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        int n = l->type == CONNECTED ? l->outputs : l->n;
        if (l->biases)
            for (int f = 0; f < n; ++f) l->biases[f] = abc_test_urand(&seed, -0.3f, 0.3f);
        if (l->batch_normalize)
            for (int f = 0; f < n; ++f) {
                l->scales[f] = abc_test_urand(&seed, 0.5f, 1.5f);
                l->rolling_mean[f] = abc_test_urand(&seed, -0.2f, 0.2f);
                l->rolling_variance[f] = abc_test_urand(&seed, 0.2f, 2.f);
            }
    }
    *net->seen = 4242;
    save_weights(net, *weights);
    free_network(net);
    net = load_network(*cfg, *weights, 0);
    /* one forward: the quant layers calibrate their input bounds (a float model's weights have none), so that
     * the model packed from here has them */
    float x[4096] = {0};
    for (int i = 0; i < net->inputs && i < 4096; ++i) x[i] = (float)(i % 13) / 13.f - 0.3f;
    net->train = 0;
    abc_network_predict(net, x);
    return net;
}

static float *input_for(const network *net, unsigned seed)
{
    float *x = malloc((size_t)net->inputs * sizeof *x);
    for (int i = 0; i < net->inputs; ++i) x[i] = abc_test_urand(&seed, -0.5f, 1.5f);
    return x;
}

/* Runs both networks on the same input with t threads; fails unless the outputs are the same bits. */
static void same_outputs(network *a, network *b, int t, const char *what)
{
    abc_set_threads(t);
    a->train = b->train = 0;
    float *x = input_for(a, 77u + (unsigned)t);
    int n = a->outputs;
    float *ya = malloc((size_t)n * sizeof *ya);
    memcpy(ya, abc_network_predict(a, x), (size_t)n * sizeof *ya);
    float *yb = abc_network_predict(b, x);
    int differ = 0;
    for (int i = 0; i < n; ++i) differ += memcmp(&ya[i], &yb[i], sizeof *ya) != 0;
    ck_assert_msg(!differ, "%s, %d threads: %d of %d outputs differ (first %g vs %g)", what, t, differ, n, ya[0], yb[0]);
    free(ya);
    free(x);
    abc_set_threads(0);
}

START_TEST(packed_outputs_are_the_unpacked_bits)
{
    const char *dir = abc_test_tmpdir();
    char *cfg, *w;
    network *net = make_model(dir, "cls", classifier_cfg, &cfg, &w);
    char *packed = abc_test_pathf(dir, "cls.abcw");
    abc_packfile_save(net, packed, 0);
    network *back = load_network(cfg, packed, 0);
    ck_assert_int_eq((int)*back->seen, 4242);
    for (int t = 1; t <= 2; ++t) same_outputs(net, back, t, "classifier");
    /* a packed file packs again to the same bytes */
    char *again = abc_test_pathf(dir, "cls2.abcw");
    abc_packfile_save(back, again, 0);
    char *a = abc_test_slurp(packed), *b = abc_test_slurp(again);
    struct stat sa, sb;
    ck_assert(!stat(packed, &sa) && !stat(again, &sb));
    ck_assert_int_eq((int)sa.st_size, (int)sb.st_size);
    ck_assert_msg(!memcmp(a, b, (size_t)sa.st_size), "re-packing a packed model changed its bytes");
    free(a), free(b), free(again);
    free_network(back);
    free_network(net);

    net = make_model(dir, "conv", conv_cfg, &cfg, &w);
    char *cpacked = abc_test_pathf(dir, "conv.abcw");
    abc_packfile_save(net, cpacked, 0);
    back = load_network(cfg, cpacked, 0);
    same_outputs(net, back, 1, "convolutions");
    /* other input sizes: the padded-tap corrections are rebuilt from the bits, with no shadow weights */
    int sizes[][2] = {{28, 12}, {9, 13}};
    for (int k = 0; k < 2; ++k) {
        ck_assert_int_eq(resize_network(net, sizes[k][0], sizes[k][1]), 0);
        ck_assert_int_eq(resize_network(back, sizes[k][0], sizes[k][1]), 0);
        for (int t = 1; t <= 2; ++t) same_outputs(net, back, t, "convolutions after a resize");
    }
    free_network(back);
    free_network(net);
    free(cfg), free(w), free(packed), free(cpacked);
}
END_TEST

static long long size_of(const char *path)
{
    struct stat sb;
    return stat(path, &sb) ? -1 : (long long)sb.st_size;
}

/* The number after the last key in a JSON text (the totals come after the layers). */
static double json_number(const char *text, const char *key)
{
    const char *p = NULL;
    for (const char *q = strstr(text, key); q; q = strstr(q + 1, key)) p = q;
    ck_assert_msg(p, "no %s in %s", key, text);
    return atof(p + strlen(key));
}

START_TEST(pack_command_size_inspect_and_training_refused)
{
    const char *dir = abc_test_tmpdir();
    char *cfg, *w;
    free_network(make_model(dir, "m", conv_cfg, &cfg, &w));
    char *packed = abc_test_pathf(dir, "m.abcw");
    abc_run_result r = abc_test_runf("( %s weights pack %s %s -out %s -json 2>/dev/null )", abc_test_darknet_path(), cfg, w, packed);
    ck_assert_msg(r.status == 0 && abc_test_json_valid(r.out), "%s", r.out);
    ck_assert_int_eq((long long)json_number(r.out, "\"bytes\": "), size_of(packed));
    ck_assert_msg(strstr(r.out, "\"max_output_diff\": 0"), "%s", r.out);
    abc_run_free(&r);

    /* the file is the summary's packed parameters, a 48-byte header and 16 bytes a layer */
    r = abc_test_runf("( %s weights inspect %s %s -json 2>/dev/null )", abc_test_darknet_path(), cfg, packed);
    ck_assert_msg(r.status == 0 && abc_test_json_valid(r.out), "%s", r.out);
    ck_assert_int_eq((long long)json_number(r.out, "\"file_bytes\": "), size_of(packed));
    ck_assert_int_eq((long long)json_number(r.out, "\"packed_bytes\": ") + 48 + 16 * 7, size_of(packed));
    ck_assert_msg(strstr(r.out, "\"quantized_weights\"") && strstr(r.out, "\"name\": \"alpha\"") &&
                  strstr(r.out, "\"name\": \"magnitudes\""), "%s", r.out);
    abc_run_free(&r);

    /* float16 float layers: smaller, still loads and runs */
    char *half = abc_test_pathf(dir, "m16.abcw");
    r = abc_test_darknetf("weights pack %s %s -out %s -half", cfg, w, half);
    ck_assert_msg(r.status == 0 && strstr(r.out, "as float16"), "%s", r.out);
    ck_assert(size_of(half) < size_of(packed));
    abc_run_free(&r);

    r = abc_test_darknetf("classifier train /nonexistent.data %s %s", cfg, packed);
    ck_assert_msg(r.status != 0 && abc_test_count_lines(r.out) == 1 && strstr(r.out, "packed deployment file"), "%s",
                  r.out);
    abc_run_free(&r);
    r = abc_test_darknetf("detector train %s %s %s", cfg, cfg, packed); /* any existing file as data */
    ck_assert_msg(r.status != 0 && strstr(r.out, "packed deployment file"), "%s", r.out);
    abc_run_free(&r);
    r = abc_test_darknetf("partial %s %s %s/p.weights 2", cfg, packed, dir);
    ck_assert_msg(r.status != 0 && strstr(r.out, "partial takes the .weights"), "%s", r.out);
    abc_run_free(&r);
    free(cfg), free(w), free(packed), free(half);
}
END_TEST

/* Copies src to dst with its size changed by delta bytes (cut or zeros added) and byte `flip` (if >= 0) xored. */
static void damaged_copy(const char *src, const char *dst, long delta, long flip)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    ck_assert(in && out);
    long n = (long)size_of(src);
    for (long i = 0; i < n + delta; ++i) {
        int c = i < n ? fgetc(in) : 0;
        fputc(i == flip ? c ^ 0x10 : c, out);
    }
    fclose(in);
    fclose(out);
}

START_TEST(damaged_or_foreign_packed_files_are_one_line)
{
    const char *dir = abc_test_tmpdir();
    char *cfg, *w;
    network *net = make_model(dir, "d", conv_cfg, &cfg, &w);
    char *packed = abc_test_pathf(dir, "d.abcw"), *bad = abc_test_pathf(dir, "bad.abcw");
    abc_packfile_save(net, packed, 0);
    free_network(net);
    struct {
        long delta, flip;
        const char *says;
    } cases[] = {{-7, -1, "truncated"}, {5, -1, "extra bytes"}, {0, 300, "corrupt"}, {0, 9, "format version"},
                 {0, 20, "another cfg"}, {-(long)size_of(packed) + 20, -1, "no whole header"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
        damaged_copy(packed, bad, cases[k].delta, cases[k].flip);
        abc_run_result r = abc_test_darknetf("weights inspect %s %s", cfg, bad);
        const char *e = strstr(r.out, "darknet: error: ");
        ck_assert_msg(r.status == 1 && e && strstr(e, cases[k].says) && strstr(e, "bad.abcw") && !strstr(e + 1, "darknet: "),
                      "case %zu: exit %d: %s", k, r.status, r.out);
        abc_run_free(&r);
    }
    /* the same topology with one layer's filters changed */
    char *other_text = strdup(conv_cfg), *p = strstr(other_text, "filters=12");
    memcpy(p, "filters=13", 10);
    char *other = abc_test_write(dir, "other.cfg", other_text);
    abc_run_result r = abc_test_darknetf("weights inspect %s %s", other, packed);
    ck_assert_msg(r.status == 1 && strstr(r.out, "packed from another cfg"), "%s", r.out);
    abc_run_free(&r);
    free(other_text), free(other), free(cfg), free(w), free(packed), free(bad);
}
END_TEST

static Suite *suite_weights_pack(void)
{
    Suite *s = suite_create("weights_pack");
    TCase *tc = tcase_create("pack");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, packed_outputs_are_the_unpacked_bits);
    tcase_add_test(tc, pack_command_size_inspect_and_training_refused);
    tcase_add_test(tc, damaged_or_foreign_packed_files_are_one_line);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_weights_pack)
