/* Bad cfgs and weights through the real ./darknet: each must fail cleanly
 * (non-zero exit, no signal) with exactly one "darknet: error:" line that
 * names the file and, for cfgs, the line and key or section. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cfg.h"
#include "registry.h"
#include "test_util.h"

typedef struct {
    const char *file;   /* under bad/cfg/ */
    const char *expect[3];  /* substrings of the error line */
} bad_case;

static const bad_case cfg_cases[] = {
    {"unknown_section", {":6:", "[convolutinal]", "unknown section"}},
    {"filters_zero", {":7:", "filters", "layer 0"}},
    {"size_zero", {":8:", "size"}},
    {"stride_negative", {":9:", "stride", "-1"}},
    {"stride_not_number", {":9:", "stride", "'abc'"}},
    {"pad_two", {":9:", "pad"}},
    {"groups_not_dividing", {":9:", "groups", "channels"}},
    {"missing_net", {":1:", "[net]"}},
    {"net_not_first", {":1:", "[net]"}},
    {"net_twice", {":11:", "[net]", "only once"}},
    {"no_layers", {"no layers"}},
    {"batch_zero", {":2:", "batch"}},
    {"subdivisions_gt_batch", {":3:", "subdivisions"}},
    {"width_zero_no_inputs", {":1:", "[net]", "width"}},
    {"unknown_activation", {":9:", "activation", "reluu"}},
    {"unknown_policy", {":6:", "policy", "stepz"}},
    {"steps_scales_mismatch", {":8:", "scales", "steps"}},
    {"key_without_value", {":7:", "filters", "no value"}},
    {"line_without_equals", {":7:", "key=value"}},
    {"key_before_section", {":1:", "batch", "before the first"}},
    {"duplicate_key", {":9:", "filters", "line 7"}},
    {"unclosed_header", {":6:", "[convolutional"}},
    {"binary_garbage", {":1:"}},
    {"empty", {"no sections"}},
    {"comments_only", {"no sections"}},
    {"connected_output_zero", {":7:", "output", "[connected]"}},
    {"maxpool_too_big", {":7:", "size", "[maxpool]"}},
    {"conv_size_bigger_than_input", {":8:", "size", "16x16"}},
    {"route_future", {":12:", "layers", "layer 3"}},
    {"route_minus_100", {":12:", "layers", "-100"}},
    {"route_mismatched_sizes", {":15:", "layers", "differ"}},
    {"shortcut_out_of_range", {":12:", "from", "-5"}},
    {"shortcut_missing_from", {":11:", "[shortcut]", "'from'"}},
    {"yolo_mask_out_of_range", {":11:", "mask", "5"}},
    {"yolo_anchors_count", {":12:", "anchors", "num=3"}},
    {"yolo_inputs_mismatch", {":10:", "[yolo]", "filters"}},
    {"region_mismatch", {":10:", "[region]", "inputs"}},
    {"wquant_unknown", {":11:", "weight_quantizer", "'mirror'"}},
    {"wquant_beta_alone", {":11:", "beta", "schedule"}},
    {"wquant_darknet", {":13:", "weight_quantizer", "binarize=darknet"}},
    {"wquant_bases", {":11:", "weight_quantizer", "weight_bases=1"}},
    {"wquant_growth", {":12:", "beta_growth", "0.5"}},
    {"quant_bits", {":9:", "weight_bits", "9"}},
    {"quant_start", {":9:", "quant_start", "-1"}},
    {"distill_range", {":6:", "distill", "2"}},
    {"precision_value", {":6:", "precision", "fp16"}},
    {"reorg_channels", {":11:", "[reorg]", "6 channels"}},
    {"quant_abits", {":8:", "activation_bits", "[quant_connected]"}},
    {"softmax_groups", {":9:", "groups", "[softmax]"}},
    {"dropout_probability", {":12:", "probability", "1.5"}},
    {"dropout_first", {":6:", "[dropout]", "first layer"}},
    {"only_cost", {"only_cost.cfg", "[cost]", "computes an output"}},
    {"deconv_padding", {":11:", "[deconvolutional]", "output of -1x-1"}},
    {"deconv_huge_output", {":7:", "[deconvolutional]", "too large"}},
    {"cost_type_unknown", {":10:", "type", "sse2"}},
    {"crop_bigger", {":7:", "crop_height", "32"}},
    {"reorg_stride", {":12:", "stride", "[reorg]"}},
    {"upsample_stride_zero", {":12:", "stride", "[upsample]"}},
    {"huge_filters", {":7:", "filters", "too large"}},
    {"filters_overflow", {":7:", "filters", "integer"}},
    {"nul_bytes", {":7:", "NUL"}},
    {"learning_rate_not_number", {":6:", "learning_rate", "fast"}},
    {"momentum_out_of_range", {":6:", "momentum"}},
    {"missing_key_name", {":7:", "missing key"}},
    {"empty_section_name", {":6:", "[]"}},
    {"connected_no_input", {":1:", "[net]", "input"}},
    {"anchors_bad_item", {":12:", "anchors", "'x'"}},
    {"route_empty_item", {":17:", "layers", "empty item"}},
    {"batch_normalize_two", {":9:", "batch_normalize"}},
    {"nonexistent", {"cannot open cfg"}},
};
#define N_CFG_CASES ((int)(sizeof cfg_cases / sizeof cfg_cases[0]))

START_TEST(bad_cfg_fails_cleanly)
{
    const bad_case *c = &cfg_cases[_i];
    char path[256], args[512];
    snprintf(path, sizeof path, "bad/cfg/%s.cfg", c->file);
    if (strcmp(c->file, "nonexistent") != 0)
        ck_assert_msg(access(path, R_OK) == 0, "missing test data %s (run from tests/)", path);
    snprintf(args, sizeof args, "abc check %s", path);
    abc_run_result r = abc_test_run_darknet(args);
    abc_test_expect_one_error(c->file, &r, path, c->expect, 3);
    abc_run_free(&r);
}
END_TEST

START_TEST(good_cfg_passes_check)
{
    /* The control: the command itself works on a correct cfg. */
    char *cfg = abc_test_write(abc_test_tmpdir(), "good_check.cfg",
                               "[net]\nbatch=1\nwidth=16\nheight=16\nchannels=3\n"
                               "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
                               "[connected]\noutput=5\nactivation=linear\n[softmax]\n");
    char args[512];
    snprintf(args, sizeof args, "abc check %s", cfg);
    abc_run_result r = abc_test_run_darknet(args);
    ck_assert_msg(r.status == 0, "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "layers: 3"));
    ck_assert_ptr_nonnull(strstr(r.out, "outputs: 5"));
    ck_assert_ptr_nonnull(strstr(r.out, "weights: 5237"));
    ck_assert_ptr_null(strstr(r.out, "darknet: error:"));
    abc_run_free(&r);
    free(cfg);
}
END_TEST

/* ---- weights ---- */

/* conv 3->4 3x3 (112 floats) + connected 1024->5 (5125 floats) */
#define GOOD_FLOATS 5237
static const char *good_cfg_text = "[net]\nbatch=1\nwidth=16\nheight=16\nchannels=3\n"
                                   "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
                                   "[connected]\noutput=5\nactivation=linear\n";

/* Header (major, minor, revision, seen as 8 bytes if new) then nfloats floats, then extra bytes. */
static char *write_weights(const char *name, int major, int minor, int rev, int nfloats, int extra_bytes)
{
    char *path;
    ck_assert(asprintf(&path, "%s/%s", abc_test_tmpdir(), name) > 0);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    int hdr[3] = {major, minor, rev};
    fwrite(hdr, sizeof hdr, 1, fp);
    if ((long long)major * 10 + minor >= 2 && major < 1000 && minor < 1000) { /* darknet's rule, without overflow */
        uint64_t seen = 64;
        fwrite(&seen, 8, 1, fp);
    } else {
        int32_t seen = 64;
        fwrite(&seen, 4, 1, fp);
    }
    for (int i = 0; i < nfloats; ++i) {
        float x = 0.001f * (float)(i % 97);
        fwrite(&x, 4, 1, fp);
    }
    for (int i = 0; i < extra_bytes; ++i) fputc(0x5a, fp);
    fclose(fp);
    return path;
}

static char *good_cfg(void)
{
    return abc_test_write(abc_test_tmpdir(), "good_w.cfg", good_cfg_text);
}

static abc_run_result check_with(const char *cfg, const char *weights)
{
    char args[2048];
    snprintf(args, sizeof args, "abc check %s %s", cfg, weights);
    return abc_test_run_darknet(args);
}

START_TEST(good_weights_load)
{
    char *cfg = good_cfg(), *w = write_weights("good.weights", 0, 2, 0, GOOD_FLOATS, 0);
    abc_run_result r = check_with(cfg, w);
    ck_assert_msg(r.status == 0 && r.signal == 0, "%s", r.out);
    ck_assert_ptr_null(strstr(r.out, "darknet: error:"));
    abc_run_free(&r);
    free(cfg);
    free(w);
}
END_TEST

typedef struct {
    const char *name;
    int major, minor, rev, nfloats, extra; /* nfloats < 0: RAW(n), n raw bytes, no header */
    const char *expect[2];
} weights_case;
#define RAW(n) (-1 - (n))

static const weights_case w_cases[] = {
    {"trunc_mid_conv.weights", 0, 2, 0, 50, 0, {"truncated", "layer 0"}},
    {"trunc_mid_connected.weights", 0, 2, 0, 112 + 10, 0, {"truncated", "layer 1"}},
    {"trunc_one_float.weights", 0, 2, 0, GOOD_FLOATS - 1, 0, {"truncated", "layer 1"}},
    {"oversized.weights", 0, 2, 0, GOOD_FLOATS, 4, {"does not fit", "5238 floats"}},
    {"oversized_float.weights", 0, 2, 0, GOOD_FLOATS + 1, 0, {"does not fit", "the cfg needs 5237 floats"}},
    {"wrong_cfg.weights", 0, 2, 0, 8 + 8 * 27 + 8 + 8 * 1024 * 5 /* filters=8 */, 0, {"another network", NULL}},
    {"header_only.weights", 0, 2, 0, 0, 0, {"no weights", NULL}},
    {"short_header.weights", 0, 0, 0, RAW(6), 0, {"too short", NULL}},
    {"short_seen.weights", 0, 0, 0, RAW(14), 0, {"too short", "0.2.0"}},
    {"negative_header.weights", -1, -5, 0, GOOD_FLOATS, 0, {"header", NULL}},
    {"old_header_sized_new.weights", 0, 1, 0, GOOD_FLOATS, 4, {"does not fit", "16-byte header"}},
    {"empty.weights", 0, 0, 0, RAW(0), 0, {"not a weights file", "empty"}},
    {"five_bytes.weights", 0, 0, 0, RAW(5), 0, {"not a weights file", "too short: 5 bytes"}},
    {"major_million.weights", 1000000, 2, 0, GOOD_FLOATS, 0, {"not a weights file", "version 1000000.2.0"}},
    {"major_int_max.weights", INT32_MAX, 2, 0, GOOD_FLOATS, 0, {"not a weights file", "2147483647.2.0"}},
    {"minor_int_max.weights", 0, INT32_MAX, 0, GOOD_FLOATS, 0, {"not a weights file", "0.2147483647.0"}},
    {"revision_negative.weights", 0, 2, -7, GOOD_FLOATS, 0, {"not a weights file", "0.2.-7"}},
    {"odd_bytes_short.weights", 0, 2, 0, GOOD_FLOATS - 100, 2, {"truncated or corrupt", "not a whole number"}},
    {"odd_bytes_long.weights", 0, 2, 0, GOOD_FLOATS, 3, {"truncated or corrupt", "20951 bytes"}},
};
#define N_W_CASES ((int)(sizeof w_cases / sizeof w_cases[0]))

START_TEST(bad_weights_fail_cleanly)
{
    const weights_case *c = &w_cases[_i];
    char *cfg = good_cfg(), *w;
    if (c->nfloats < 0) {
        ck_assert(asprintf(&w, "%s/%s", abc_test_tmpdir(), c->name) > 0);
        FILE *fp = fopen(w, "wb");
        for (int i = 0; i < -1 - c->nfloats; ++i) fputc(i == 4 ? 2 : 0, fp);
        fclose(fp);
    } else {
        w = write_weights(c->name, c->major, c->minor, c->rev, c->nfloats, c->extra);
    }
    abc_run_result r = check_with(cfg, w);
    abc_test_expect_one_error(c->name, &r, w, c->expect, 2);
    ck_assert_msg(r.status == 1, "%s: exit status %d", c->name, r.status);
    abc_run_free(&r);
    free(cfg);
    free(w);
}
END_TEST

/* Files that are not weights at all, given where the weights go. */
static const bad_case not_weights_cases[] = {
    {"fashion-mnist.data", {"is text", "a darknet .data file", "'classes=10' on line 1"}},
    {"fmnist-small.cfg", {"is text", "a darknet cfg", "'[net]' on line 6"}},
    {"labels.txt", {"is text", "'T-shirt/top' on line 1"}},
    {"image.png", {"a PNG image"}},
    {"image.jpg", {"a JPEG image"}},
    {"image.bmp", {"a BMP image"}},
    {"image.gif", {"a GIF image"}},
};
#define N_NOT_WEIGHTS ((int)(sizeof not_weights_cases / sizeof not_weights_cases[0]))

START_TEST(not_weights_named_for_what_they_are)
{
    const bad_case *c = &not_weights_cases[_i];
    char *cfg = good_cfg(), path[256];
    snprintf(path, sizeof path, "bad/weights/%s", c->file);
    ck_assert_msg(access(path, R_OK) == 0, "missing test data %s (run from tests/)", path);
    abc_run_result r = check_with(cfg, path);
    abc_test_expect_one_error(c->file, &r, path, c->expect, 3);
    const char *common[] = {"is not a weights file", "expected a darknet .weights file", "wrong order"};
    abc_test_expect_one_error(c->file, &r, path, common, 3);
    ck_assert_msg(r.status == 1, "%s: exit status %d", c->file, r.status);
    abc_run_free(&r);
    free(cfg);
}
END_TEST

START_TEST(directory_as_weights_fails_cleanly)
{
    char *cfg = good_cfg();
    abc_run_result r = check_with(cfg, abc_test_tmpdir());
    const char *expect[] = {"is a directory"};
    abc_test_expect_one_error("directory", &r, abc_test_tmpdir(), expect, 1);
    abc_run_free(&r);
    free(cfg);
}
END_TEST

/* Weights saved from a network of another topology, bigger and smaller than good_cfg's (5237 floats). */
static const struct {
    const char *cfg, *expect[3];
} other_nets[] = {
    /* conv 3->8 (224 floats) + connected 2048->5 (10245) */
    {"[net]\nbatch=1\nwidth=16\nheight=16\nchannels=3\n[convolutional]\nfilters=8\nsize=3\npad=1\n"
     "activation=leaky\n[connected]\noutput=5\nactivation=linear\n",
     {"does not fit the cfg", "it holds 10469 floats after its 20-byte header", "another network"}},
    /* conv 3->2 (56) + connected 512->5 (2565): ends inside good_cfg's connected layer */
    {"[net]\nbatch=1\nwidth=16\nheight=16\nchannels=3\n[convolutional]\nfilters=2\nsize=3\npad=1\n"
     "activation=leaky\n[connected]\noutput=5\nactivation=linear\n",
     {"ends inside layer 1 (connected): truncated, or the weights of another network",
      "it holds 2621 floats after its 20-byte header, layer 0 takes 112 and layer 1 needs 5125 more",
      "the cfg needs 5237 floats for layers 0..1"}},
};

START_TEST(other_networks_weights_named_so)
{
    char *other = abc_test_write(abc_test_tmpdir(), "other.cfg", other_nets[_i].cfg), *w;
    ck_assert(asprintf(&w, "%s/other%d.weights", abc_test_tmpdir(), _i) > 0);
    network *net = parse_network_cfg(other);
    save_weights(net, w);
    free_network(net);
    char *cfg = good_cfg();
    abc_run_result r = check_with(cfg, w);
    abc_test_expect_one_error(w, &r, w, other_nets[_i].expect, 3);
    ck_assert_msg(r.status == 1, "exit status %d", r.status);
    abc_run_free(&r);
    free(cfg);
    free(other);
    free(w);
}
END_TEST

START_TEST(prefix_weights_load_with_a_warning)
{
    /* the control for the size rules: a file ending on a layer boundary is a pretrained prefix */
    char *cfg = good_cfg(), *w = write_weights("prefix.weights", 0, 2, 0, 112, 0);
    abc_run_result r = check_with(cfg, w);
    ck_assert_msg(r.status == 0 && r.signal == 0, "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "holds layers 0..0 only"));
    ck_assert_ptr_null(strstr(r.out, "darknet: error:"));
    abc_run_free(&r);
    free(cfg);
    free(w);
}
END_TEST

START_TEST(nonexistent_weights_fail_cleanly)
{
    char *cfg = good_cfg();
    const char *w = "no/such/dir/x.weights";
    abc_run_result r = check_with(cfg, w);
    const char *expect[] = {"cannot open"};
    abc_test_expect_one_error("nonexistent weights", &r, w, expect, 1);
    abc_run_free(&r);
    free(cfg);
}
END_TEST

/* ---- in-process failures (abc_die exits): run in a child, capture output ---- */

typedef void (*child_fn)(const char *arg);

static abc_run_result run_in_child(child_fn fn, const char *arg)
{
    abc_run_result r = {-1, 0, NULL};
    char *log;
    ck_assert(asprintf(&log, "%s/child.%d.log", abc_test_tmpdir(), (int)getpid()) > 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        setenv("ABC_KEEP_TMP", "1", 1); /* our exit must not remove the test's tmpdir */
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        fn(arg);
        fflush(NULL);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st)) r.status = WEXITSTATUS(st);
    else if (WIFSIGNALED(st)) r.signal = WTERMSIG(st);
    FILE *fp = fopen(log, "rb");
    ck_assert_ptr_nonnull(fp);
    r.out = calloc(1, 1 << 16);
    size_t n = fread(r.out, 1, (1 << 16) - 1, fp);
    r.out[n] = 0;
    fclose(fp);
    unlink(log);
    free(log);
    return r;
}

/* A test-only plugin layer: [abc_testpass] copies its input (keys: gain). */
static const char *const testpass_keys[] = {"gain", NULL};

static layer testpass_parse(const abc_section *s, size_params p)
{
    layer l = {0};
    (void)abc_sec_float(s, "gain", 1, 0, 10);
    l.batch = p.batch;
    l.w = l.out_w = p.w;
    l.h = l.out_h = p.h;
    l.c = l.out_c = p.c;
    l.inputs = l.outputs = p.inputs;
    l.output = calloc((size_t)l.outputs * l.batch, sizeof(float));
    fprintf(stderr, "abc_testpass\n");
    return l;
}
static size_t testpass_floats(const layer *l) { (void)l; return 0; }
static int testpass_io(layer *l, FILE *fp) { (void)l; (void)fp; return 0; }
static int testpass_save(const layer *l, FILE *fp) { (void)l; (void)fp; return 0; }

static const abc_layer_type testpass_type = {"abc_testpass", testpass_keys, testpass_parse, testpass_floats,
                                             testpass_io, testpass_save, NULL, NULL, NULL, NULL, NULL, NULL,
                                             NULL, NULL, NULL, NULL, NULL, NULL, NULL};

static void register_testpass(void)
{
    if (!abc_registry_find("abc_testpass")) abc_registry_add(&testpass_type);
}

static void child_load_cfg(const char *cfg)
{
    register_testpass();
    network *net = load_network((char *)cfg, NULL, 0);
    printf("loaded %d layers\n", net->n);
    free_network(net);
}

START_TEST(plugin_good_key_parses)
{
    char *cfg = abc_test_write(abc_test_tmpdir(), "plugin_ok.cfg",
                               "[net]\nbatch=1\nwidth=4\nheight=4\nchannels=2\n[abc_testpass]\ngain=2\n");
    abc_run_result r = run_in_child(child_load_cfg, cfg);
    ck_assert_msg(r.status == 0 && strstr(r.out, "loaded 1 layers"), "%s", r.out);
    abc_run_free(&r);
    free(cfg);
}
END_TEST

/* A plugin section's last line (line 7) holds the key under test. */
static const struct { const char *line, *key; } plugin_bad[] = {
    {"gian=2", "gian"},  /* misspelled key */
    {"gain=11", "gain"}, /* out of range */
};

START_TEST(plugin_bad_key_or_value_fails)
{
    char text[256];
    snprintf(text, sizeof text, "[net]\nbatch=1\nwidth=4\nheight=4\nchannels=2\n[abc_testpass]\n%s\n",
             plugin_bad[_i].line);
    char *cfg = abc_test_write(abc_test_tmpdir(), "plugin_bad.cfg", text);
    abc_run_result r = run_in_child(child_load_cfg, cfg);
    const char *expect[] = {":7:", plugin_bad[_i].key, "[abc_testpass]"};
    abc_test_expect_one_error(plugin_bad[_i].line, &r, cfg, expect, 3);
    abc_run_free(&r);
    free(cfg);
}
END_TEST

/* ---- atomic weights writes ---- */

static network *small_net(void)
{
    char *cfg = good_cfg();
    network *net = load_network(cfg, NULL, 0);
    free(cfg);
    return net;
}

static void child_save(const char *path)
{
    network *net = small_net();
    save_weights(net, (char *)path);
    printf("saved\n");
    free_network(net);
}

static char *slurp(const char *path, long *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    *len = ftell(fp);
    rewind(fp);
    char *b = malloc((size_t)*len + 1);
    ck_assert(fread(b, 1, (size_t)*len, fp) == (size_t)*len);
    fclose(fp);
    return b;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Number of entries of dir whose name contains ".tmp." */
static int temp_files_in(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

START_TEST(save_to_missing_dir_fails_cleanly)
{
    char *path;
    ck_assert(asprintf(&path, "%s/no-such-dir/x.weights", abc_test_tmpdir()) > 0);
    abc_run_result r = run_in_child(child_save, path);
    const char *expect[] = {"cannot write"};
    abc_test_expect_one_error("save to missing dir", &r, path, expect, 1);
    ck_assert(access(path, F_OK) != 0);
    abc_run_free(&r);
    free(path);
}
END_TEST

START_TEST(save_to_readonly_dir_keeps_old_file)
{
    char *dir, *path;
    ck_assert(asprintf(&dir, "%s/ro", abc_test_tmpdir()) > 0);
    ck_assert(asprintf(&path, "%s/old.weights", dir) > 0);
    mkdir(dir, 0755);
    FILE *fp = fopen(path, "wb");
    fputs("old contents", fp);
    fclose(fp);
    chmod(dir, 0555);
    int writable = access(dir, W_OK) == 0; /* root ignores the mode */
    abc_run_result r = run_in_child(child_save, path);
    chmod(dir, 0755);
    if (writable) {
        /* cannot make the dir read-only (root): the save must then succeed */
        ck_assert_msg(r.status == 0 && strstr(r.out, "saved"), "%s", r.out);
    } else {
        const char *expect[] = {"cannot write"};
        abc_test_expect_one_error("save to read-only dir", &r, path, expect, 1);
        long len;
        char *b = slurp(path, &len);
        ck_assert(len == 12 && !memcmp(b, "old contents", 12));
        free(b);
    }
    ck_assert_int_eq(temp_files_in(dir), 0);
    abc_run_free(&r);
    free(path);
    free(dir);
}
END_TEST

START_TEST(save_over_directory_fails_and_leaves_no_temp)
{
    /* rename() onto a non-empty directory fails even for root: the commit
     * step must fail cleanly, remove its temp file and leave the dir alone. */
    char *dir, *target, *inner;
    ck_assert(asprintf(&dir, "%s/ren", abc_test_tmpdir()) > 0);
    ck_assert(asprintf(&target, "%s/x.weights", dir) > 0);
    ck_assert(asprintf(&inner, "%s/keep", target) > 0);
    mkdir(dir, 0755);
    mkdir(target, 0755);
    free(abc_test_write(target, "keep", "keep"));
    abc_run_result r = run_in_child(child_save, target);
    const char *expect[] = {"unchanged"};
    abc_test_expect_one_error("save over a directory", &r, target, expect, 1);
    ck_assert_int_eq(temp_files_in(dir), 0);
    ck_assert(access(inner, F_OK) == 0);
    abc_run_free(&r);
    free(inner);
    free(target);
    free(dir);
}
END_TEST

START_TEST(save_replaces_old_file_atomically)
{
    char *dir, *path;
    ck_assert(asprintf(&dir, "%s/ok", abc_test_tmpdir()) > 0);
    ck_assert(asprintf(&path, "%s/x.weights", dir) > 0);
    mkdir(dir, 0755);
    free(abc_test_write(dir, "x.weights", "old"));
    abc_run_result r = run_in_child(child_save, path);
    ck_assert_msg(r.status == 0, "%s", r.out);
    ck_assert_int_eq((int)file_size(path), 20 + 4 * GOOD_FLOATS);
    ck_assert_int_eq(temp_files_in(dir), 0);
    abc_run_free(&r);
    free(path);
    free(dir);
}
END_TEST

static Suite *suite_bad_inputs(void)
{
    Suite *s = suite_create("bad_inputs");
    TCase *tc = tcase_create("cfg");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, good_cfg_passes_check);
    tcase_add_loop_test(tc, bad_cfg_fails_cleanly, 0, N_CFG_CASES);
    suite_add_tcase(s, tc);
    tc = tcase_create("weights");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, good_weights_load);
    tcase_add_loop_test(tc, bad_weights_fail_cleanly, 0, N_W_CASES);
    tcase_add_loop_test(tc, not_weights_named_for_what_they_are, 0, N_NOT_WEIGHTS);
    tcase_add_test(tc, directory_as_weights_fails_cleanly);
    tcase_add_loop_test(tc, other_networks_weights_named_so, 0, (int)(sizeof other_nets / sizeof other_nets[0]));
    tcase_add_test(tc, prefix_weights_load_with_a_warning);
    tcase_add_test(tc, nonexistent_weights_fail_cleanly);
    suite_add_tcase(s, tc);
    tc = tcase_create("in_process");
    tcase_add_test(tc, plugin_good_key_parses);
    tcase_add_loop_test(tc, plugin_bad_key_or_value_fails, 0, (int)(sizeof plugin_bad / sizeof plugin_bad[0]));
    tcase_add_test(tc, save_to_missing_dir_fails_cleanly);
    tcase_add_test(tc, save_to_readonly_dir_keeps_old_file);
    tcase_add_test(tc, save_over_directory_fails_and_leaves_no_temp);
    tcase_add_test(tc, save_replaces_old_file_atomically);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_bad_inputs)
