/* Float parity with the STOCK darknet: a model trained by /usr/bin/darknet
 * gives the same outputs through our hooks (parser, weights I/O, our float
 * layers) as through libdarknet's own parse_network_cfg/load_weights_upto;
 * weights we save load in the stock binary and the stock loader unchanged.
 * One small cfg (conv+BN+leaky, maxpool, connected, softmax) on 300
 * Fashion-MNIST images, trained for 6 iterations by the stock binary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks.h"
#include "test_stock.h"
#include "test_util.h"

#define STOCK_DARKNET "/usr/bin/darknet"
#define N_IMAGES 8

static const char *const label_names[10] = {"Tshirt", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal", "Shirt",  "Sneaker",  "Bag",   "Ankleboot"};

static const char *parity_cfg_text =
    "[net]\nbatch=30\nsubdivisions=1\nheight=28\nwidth=28\nchannels=3\nmax_crop=28\nmin_crop=28\n"
    "learning_rate=0.05\nmomentum=0.9\ndecay=0.0005\npolicy=constant\nmax_batches=6\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[connected]\noutput=32\nactivation=leaky\n\n"
    "[connected]\noutput=10\nactivation=linear\n\n"
    "[softmax]\ngroups=1\n";

/* Shared by the tests of this file; made once in the (unchecked) fixture.
 * Its own directory: abc_test_tmpdir() belongs to each forked test. */
static char root[4096];
static pid_t root_owner;
static char *cfg, *datafile, *stock_weights, *test_list;

static void rm_root(void)
{
    /* forked tests inherit the atexit handler: only the creator removes it */
    if (!root[0] || getpid() != root_owner || getenv("ABC_KEEP_TMP")) return;
    char *cmd;
    if (asprintf(&cmd, "rm -rf '%s'", root) > 0) {
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
        free(cmd);
    }
    root[0] = 0;
}

static char *path_in(const char *name)
{
    char *p;
    ck_assert(asprintf(&p, "%s/%s", root, name) > 0);
    return p;
}

static void setup_trained_model(void)
{
    unsetenv("ABC_FLOAT"); /* compare our default (fast) float path, not the stock fallback */
    const char *base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/abc-parity-XXXXXX", base && *base ? base : "/tmp");
    ck_assert(mkdtemp(root) != NULL);
    root_owner = getpid();
    atexit(rm_root); /* also when a step below fails */

    char *cmd;
    ck_assert(asprintf(&cmd, "data fashion-mnist -out %s/fm -limit 300", root) > 0);
    abc_run_result r = abc_test_run_darknet(cmd);
    ck_assert_msg(r.status == 0, "data conversion failed: %s", r.out);
    abc_run_free(&r);
    free(cmd);

    cfg = abc_test_write(root, "parity.cfg", parity_cfg_text);
    char *backup = path_in("backup");
    ck_assert(mkdir(backup, 0755) == 0); /* the stock trainer silently saves nothing without it */
    char *text;
    ck_assert(asprintf(&text, "classes=10\ntrain=%s/fm/train.list\nvalid=%s/fm/test.list\nlabels=%s/fm/labels.txt\n"
                              "backup=%s\ntop=2\n", root, root, root, backup) > 0);
    datafile = abc_test_write(root, "parity.data", text);
    free(text);

    ck_assert(asprintf(&cmd, "cd %s && %s classifier train %s %s", root, STOCK_DARKNET, datafile, cfg) > 0);
    r = abc_test_run(cmd);
    free(cmd);
    stock_weights = path_in("backup/parity.weights");
    /* The stock trainer reports a failed save with exit status 0: check the file. */
    ck_assert_msg(r.status == 0 && r.signal == 0 && access(stock_weights, R_OK) == 0,
                  "stock training failed (status %d, signal %d):\n%s", r.status, r.signal, r.out);
    ck_assert_msg(strstr(r.out, "6, 0.600:") != NULL, "stock training did not run 6 iterations:\n%s", r.out);
    abc_run_free(&r);
    free(backup);

    test_list = path_in("fm/test.list");
}

static void teardown_trained_model(void)
{
    rm_root();
    free(cfg); free(datafile); free(stock_weights); free(test_list);
}

/* Paths of the first N_IMAGES lines of the test list. */
static char **test_images(void)
{
    FILE *fp = fopen(test_list, "r");
    ck_assert_ptr_nonnull(fp);
    char **p = calloc(N_IMAGES, sizeof *p);
    char line[4096];
    for (int i = 0; i < N_IMAGES; ++i) {
        ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
        line[strcspn(line, "\n")] = 0;
        p[i] = strdup(line);
    }
    fclose(fp);
    return p;
}

static void free_images(char **p)
{
    for (int i = 0; i < N_IMAGES; ++i) free(p[i]);
    free(p);
}

/* The input the stock predictor feeds: load_image_color + letterbox. */
static image predictor_input(const network *net, const char *path)
{
    image im = load_image_color((char *)path, 0, 0);
    image r = letterbox_image(im, net->w, net->h);
    free_image(im);
    return r;
}

static int layer_outputs(const network *net, int i) { return net->layers[i].outputs * net->layers[i].batch; }

START_TEST(stock_trained_model_same_outputs_through_our_path)
{
    abc_hook_counts c0 = abc_hooks_counts();
    network *ours = parse_network_cfg(cfg); /* the hooks */
    load_weights(ours, stock_weights);      /* libdarknet's, calls our load_weights_upto */
    abc_hook_counts c1 = abc_hooks_counts();
    ck_assert_int_eq(c1.parse, c0.parse + 1);
    ck_assert_int_eq(c1.load, c0.load + 1);

    network *stock = abc_test_stock_parse(cfg);
    abc_test_stock_load(stock, stock_weights, 0, stock->n);
    char why[256];
    ck_assert_msg(abc_test_same_params(ours, stock, why, sizeof why), "loaded parameters differ: %s", why);
    ck_assert(*ours->seen == *stock->seen && *ours->seen == 180);

    set_batch_network(ours, 1);
    set_batch_network(stock, 1);
    char **paths = test_images();
    float first[10];
    double worst = 0;
    int distinct = 0;
    for (int k = 0; k < N_IMAGES; ++k) {
        image in = predictor_input(ours, paths[k]);
        float a[10], b[10];
        memcpy(a, network_predict(ours, in.data), sizeof a);
        memcpy(b, network_predict(stock, in.data), sizeof b);
        /* Every layer, not only the softmax, relative to the magnitude. */
        for (int i = 0; i < ours->n; ++i) {
            ck_assert_int_eq(layer_outputs(ours, i), layer_outputs(stock, i));
            double d = abc_test_max_rel_diff(ours->layers[i].output, stock->layers[i].output, layer_outputs(ours, i));
            ck_assert_msg(d <= 1e-4, "image %d layer %d: relative difference %g", k, i, d);
        }
        double d = abc_test_max_abs_diff(a, b, 10);
        ck_assert_msg(d <= 1e-4, "image %d: max |ours - stock| = %g", k, d);
        if (d > worst) worst = d;
        float sum = 0;
        for (int j = 0; j < 10; ++j) sum += a[j];
        ck_assert_msg(fabsf(sum - 1) < 1e-4f, "softmax sums to %g", sum);
        if (k == 0) memcpy(first, a, sizeof a);
        else if (abc_test_max_abs_diff(first, a, 10) > 1e-3) ++distinct;
        free_image(in);
    }
    ck_assert_msg(distinct > 0, "all images give the same output: the comparison would prove nothing");
    fprintf(stderr, "parity: %d images, max |ours - stock| = %g\n", N_IMAGES, worst);
    free_images(paths);
    free_network(ours);
    free_network(stock);
}
END_TEST

/* A program of its own on libdarknet.so, without any hook: darknet's own
 * parser, loader, layers and gemm, as in /usr/bin/darknet, but printing every
 * output with 9 digits. Built by the test with the C compiler (${CC:-cc}). */
static const char *hook_free_src =
    "#include <stdio.h>\n"
    "#include \"darknet.h\"\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    network *net = load_network(argv[1], argv[2], 0);\n"
    "    set_batch_network(net, 1);\n"
    "    for (int i = 3; i < argc; ++i) {\n"
    "        image im = load_image_color(argv[i], 0, 0);\n"
    "        image r = letterbox_image(im, net->w, net->h);\n"
    "        float *p = network_predict(net, r.data);\n"
    "        for (int j = 0; j < net->outputs; ++j) printf(\"%.9g%c\", p[j], j + 1 < net->outputs ? ' ' : '\\n');\n"
    "        free_image(r);\n"
    "        free_image(im);\n"
    "    }\n"
    "    free_network(net);\n"
    "    return 0;\n"
    "}\n";

START_TEST(same_outputs_as_a_hook_free_libdarknet)
{
    /* The stock functions of the test above still call our gemm (libdarknet's
     * layers reach gemm through the PLT); this reference does not. */
    char *src = abc_test_write(root, "hook_free.c", hook_free_src), *exe = path_in("hook_free");
    const char *cc = getenv("CC");
    char *cmd;
    ck_assert(asprintf(&cmd, "%s -std=c11 -O2 -isystem /usr/lib/darknet/include %s -o %s -L/usr/lib/darknet "
                             "-Wl,-rpath,/usr/lib/darknet -ldarknet -lm",
                       cc && *cc ? cc : "cc", src, exe) > 0);
    abc_run_result r = abc_test_run(cmd);
    free(cmd);
    if (r.status != 0) {
        fprintf(stderr, "parity: skipping the hook-free comparison: cannot build it:\n%s\n", r.out);
        abc_run_free(&r);
        free(src); free(exe);
        return;
    }
    abc_run_free(&r);

    char **paths = test_images();
    size_t cap = 0;
    char *args = NULL;
    FILE *mem = open_memstream(&args, &cap);
    fprintf(mem, "(%s %s %s", exe, cfg, stock_weights);
    for (int k = 0; k < N_IMAGES; ++k) fprintf(mem, " %s", paths[k]);
    fprintf(mem, " 2>/dev/null)");
    fclose(mem);
    r = abc_test_run(args);
    free(args);
    ck_assert_msg(r.status == 0, "hook-free reference failed:\n%s", r.out);

    network *ours = load_network(cfg, stock_weights, 0);
    set_batch_network(ours, 1);
    double worst = 0;
    const char *s = r.out;
    for (int k = 0; k < N_IMAGES; ++k) {
        image in = predictor_input(ours, paths[k]);
        float a[10], b[10];
        memcpy(a, network_predict(ours, in.data), sizeof a);
        for (int j = 0; j < 10; ++j) {
            char *end;
            b[j] = strtof(s, &end);
            ck_assert_msg(end != s, "cannot read output %d of image %d in:\n%s", j, k, r.out);
            s = end;
        }
        double d = abc_test_max_abs_diff(a, b, 10);
        ck_assert_msg(d <= 1e-4, "image %d: max |ours - hook-free libdarknet| = %g", k, d);
        if (d > worst) worst = d;
        free_image(in);
    }
    fprintf(stderr, "parity: %d images, max |ours - hook-free libdarknet| = %g\n", N_IMAGES, worst);
    abc_run_free(&r);
    free_images(paths);
    free_network(ours);
    free(src); free(exe);
}
END_TEST

START_TEST(stock_weights_resaved_by_us_are_byte_identical)
{
    network *ours = load_network(cfg, stock_weights, 0);
    char *resaved = path_in("resaved.weights");
    abc_hook_counts c0 = abc_hooks_counts();
    save_weights(ours, resaved); /* libdarknet's, calls our save_weights_upto */
    ck_assert_int_eq(abc_hooks_counts().save, c0.save + 1);
    size_t na, nb;
    unsigned char *a = abc_test_read_file(stock_weights, &na), *b = abc_test_read_file(resaved, &nb);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(na, nb);
    ck_assert_uint_eq(na, 20 + 4 * (8 * 4 + 8 * 27 + 16 * 4 + 16 * 72 + 32 + 32 * 784 + 10 + 10 * 32));
    /* header 0.2.0 and the 8-byte seen (180 images) included */
    ck_assert_int_eq(((int *)a)[1], 2);
    ck_assert(memcmp(a, b, na) == 0);
    free(a); free(b);
    unlink(resaved);
    free(resaved);
    free_network(ours);
}
END_TEST

/* Percentages printed by the stock predictor ("%5.2f%%: <label>"), in order:
 * fills pct[image][label]; returns the number of lines read. */
static int parse_predictions(const char *out, float pct[][10], int max_images)
{
    int lines = 0;
    for (const char *s = out; *s;) {
        const char *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(len < 511 ? len : 511), s);
        char *p = line;
        const char *prompt = "Enter Image Path: ";
        while (!strncmp(p, prompt, strlen(prompt))) p += strlen(prompt);
        float v;
        char name[64];
        if (sscanf(p, "%f%%: %63s", &v, name) == 2) {
            int img = lines / 10;
            ck_assert_int_lt(img, max_images);
            int j = 0;
            while (j < 10 && strcmp(label_names[j], name)) ++j;
            ck_assert_msg(j < 10, "unknown label '%s' in '%s'", name, line);
            pct[img][j] = v;
            ++lines;
        }
        s = e ? e + 1 : s + len;
    }
    return lines;
}

START_TEST(weights_we_save_work_in_the_stock_binary)
{
    /* Train further in-process through our path, so the saved weights are ours. */
    network *ours = load_network(cfg, stock_weights, 0);
    char **paths = test_images();
    char *train_list;
    ck_assert(asprintf(&train_list, "%s/fm/train.list", root) > 0);
    FILE *fp = fopen(train_list, "r");
    ck_assert_ptr_nonnull(fp);
    data d = {0};
    d.X = make_matrix(2 * ours->batch, ours->inputs);
    d.y = make_matrix(2 * ours->batch, 10);
    char line[4096];
    for (int i = 0; i < d.X.rows; ++i) {
        ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
        line[strcspn(line, "\n")] = 0;
        image im = load_image_color(line, 0, 0);
        ck_assert_int_eq(im.w * im.h * im.c, ours->inputs);
        memcpy(d.X.vals[i], im.data, sizeof(float) * ours->inputs);
        free_image(im);
        for (int j = 0; j < 10; ++j)
            if (strstr(line, label_names[j])) d.y.vals[i][j] = 1;
    }
    fclose(fp);
    free(train_list);
    float before = ours->layers[0].weights[0];
    train_network(ours, d);
    free_data(d);
    ck_assert(ours->layers[0].weights[0] != before);
    ck_assert_uint_eq(*ours->seen, 180 + 60);
    char *mine = path_in("ours.weights");
    save_weights(ours, mine);

    /* The stock loader reads back exactly our parameters. */
    network *stock = abc_test_stock_parse(cfg);
    abc_test_stock_load(stock, mine, 0, stock->n);
    char why[256];
    ck_assert_msg(abc_test_same_params(ours, stock, why, sizeof why), "stock loader differs: %s", why);
    ck_assert_uint_eq(*stock->seen, 240);
    free_network(stock);

    /* Our outputs, then the stock binary's printout on the same files. */
    set_batch_network(ours, 1);
    float want[N_IMAGES][10];
    char *list = path_in("predict.txt");
    fp = fopen(list, "w");
    for (int k = 0; k < N_IMAGES; ++k) {
        image in = predictor_input(ours, paths[k]);
        memcpy(want[k], network_predict(ours, in.data), sizeof want[k]);
        free_image(in);
        fprintf(fp, "%s\n", paths[k]);
    }
    fclose(fp);
    char *cmd;
    ck_assert(asprintf(&cmd, "(%s classifier predict %s %s %s -t 10 <%s 2>/dev/null)", STOCK_DARKNET, datafile, cfg,
                       mine, list) > 0);
    abc_run_result r = abc_test_run(cmd);
    free(cmd);
    float got[N_IMAGES][10];
    for (int k = 0; k < N_IMAGES; ++k)
        for (int j = 0; j < 10; ++j) got[k][j] = -1;
    int lines = parse_predictions(r.out, got, N_IMAGES);
    ck_assert_msg(lines == 10 * N_IMAGES, "stock predictor printed %d result lines:\n%s", lines, r.out);
    double worst = 0;
    for (int k = 0; k < N_IMAGES; ++k)
        for (int j = 0; j < 10; ++j) {
            /* printed with 2 decimals: half a unit of rounding, plus float noise */
            double dd = fabs(got[k][j] - 100.0 * want[k][j]);
            ck_assert_msg(dd <= 0.005 + 1e-3, "image %d %s: stock prints %.2f%%, ours %.4f%%", k, label_names[j],
                          got[k][j], 100.0 * want[k][j]);
            if (dd > worst) worst = dd;
        }
    fprintf(stderr, "parity: stock predictor on our weights: max |printed - ours| = %.4f percentage points\n", worst);
    abc_run_free(&r);
    unlink(mine);
    free(mine);
    free(list);
    free_images(paths);
    free_network(ours);
}
END_TEST

static Suite *suite_parity(void)
{
    Suite *s = suite_create("parity");
    TCase *tc = tcase_create("stock");
    tcase_add_unchecked_fixture(tc, setup_trained_model, teardown_trained_model);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stock_trained_model_same_outputs_through_our_path);
    tcase_add_test(tc, same_outputs_as_a_hook_free_libdarknet);
    tcase_add_test(tc, stock_weights_resaved_by_us_are_byte_identical);
    tcase_add_test(tc, weights_we_save_work_in_the_stock_binary);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_parity)
