/* ./darknet data fashion-mnist: the converted files are what darknet's
 * classifier needs. Lists and labels, the substring rule darknet labels by
 * (strstr of each label in the whole path), PNG pixels equal to the IDX
 * bytes / 255 (read here with zlib), the .data keys, one-line errors. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "darknet.h"
#include "test_util.h"

#define IDX_DIR "/usr/share/datasets/fashion-mnist/"
#define LIMIT 50

/* Fashion-MNIST's class names, by class index. */
static const char *const official[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* First n items of a gzipped IDX file (magic 0x801 or 0x803). */
static unsigned char *read_idx(const char *path, uint32_t magic, int n, int *item_size)
{
    gzFile gz = gzopen(path, "rb");
    ck_assert_msg(gz != NULL, "cannot open %s", path);
    unsigned char hdr[16];
    int hlen = magic == 0x803 ? 16 : 8;
    ck_assert_int_eq(gzread(gz, hdr, (unsigned)hlen), hlen);
    ck_assert_uint_eq(be32(hdr), magic);
    ck_assert_uint_ge(be32(hdr + 4), (uint32_t)n);
    *item_size = magic == 0x803 ? (int)(be32(hdr + 8) * be32(hdr + 12)) : 1;
    size_t bytes = (size_t)n * (size_t)*item_size;
    unsigned char *d = malloc(bytes);
    ck_assert_int_eq(gzread(gz, d, (unsigned)bytes), (int)bytes);
    gzclose(gz);
    return d;
}

/* lines of a text file (at most max), malloc'd; returns the count */
static int read_lines(const char *path, char **out, int max)
{
    FILE *fp = fopen(path, "r");
    ck_assert_msg(fp != NULL, "cannot read %s", path);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = 0;
        ck_assert_int_lt(n, max);
        out[n++] = strdup(line);
    }
    fclose(fp);
    return n;
}

static void free_lines(char **l, int n)
{
    for (int i = 0; i < n; ++i) free(l[i]);
}

/* One conversion for the tests of this file, made in the (unchecked) fixture,
 * in a directory of its own: abc_test_tmpdir() belongs to each forked test. */
static char root[4096];
static pid_t root_owner;
static char *converted;

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

static void convert_once(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/abc-data-XXXXXX", base && *base ? base : "/tmp");
    ck_assert(mkdtemp(root) != NULL);
    root_owner = getpid();
    atexit(rm_root);
    ck_assert(asprintf(&converted, "%s/fm", root) > 0);
    char *args;
    ck_assert(asprintf(&args, "data fashion-mnist -out %s -limit %d", converted, LIMIT) > 0);
    abc_run_result r = abc_test_run_darknet(args);
    ck_assert_msg(r.status == 0 && r.signal == 0, "conversion failed:\n%s", r.out);
    abc_run_free(&r);
    free(args);
}

static void remove_conversion(void)
{
    rm_root();
    free(converted);
    converted = NULL;
}

static char *in_dir(const char *dir, const char *name)
{
    char *p;
    ck_assert(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

START_TEST(lists_and_labels)
{
    const char *dir = converted;
    char *labels_path = in_dir(dir, "labels.txt");
    char *labels[16];
    int nl = read_lines(labels_path, labels, 16);
    ck_assert_int_eq(nl, 10);
    for (int k = 0; k < 10; ++k) {
        /* label k is class k: its letters start the official name's letters */
        char norm[32] = "";
        size_t m = 0;
        for (const char *c = official[k]; *c && m < sizeof norm - 1; ++c)
            if (isalnum((unsigned char)*c)) norm[m++] = (char)tolower((unsigned char)*c);
        norm[m] = 0;
        ck_assert_msg(strlen(labels[k]) > 0, "label %d is empty", k);
        for (size_t c = 0; labels[k][c]; ++c)
            ck_assert_msg(isalnum((unsigned char)labels[k][c]), "label '%s' has a character darknet paths may not", labels[k]);
        char low[64];
        snprintf(low, sizeof low, "%s", labels[k]);
        for (char *c = low; *c; ++c) *c = (char)tolower((unsigned char)*c);
        ck_assert_msg(!strncmp(norm, low, strlen(low)), "label %d '%s' is not class '%s'", k, labels[k], official[k]);
        for (int j = 0; j < 10; ++j)
            ck_assert_msg(j == k || !strstr(labels[j], labels[k]), "label '%s' is inside label '%s'", labels[k], labels[j]);
    }

    const char *sets[2] = {"train", "test"};
    const char *idx_labels[2] = {IDX_DIR "train-labels-idx1-ubyte.gz", IDX_DIR "t10k-labels-idx1-ubyte.gz"};
    for (int s = 0; s < 2; ++s) {
        char name[32];
        snprintf(name, sizeof name, "%s.list", sets[s]);
        char *list_path = in_dir(dir, name);
        char *paths[LIMIT + 8];
        int n = read_lines(list_path, paths, LIMIT + 8);
        ck_assert_int_eq(n, LIMIT);
        int isz;
        unsigned char *lab = read_idx(idx_labels[s], 0x801, LIMIT, &isz);
        for (int i = 0; i < n; ++i) {
            ck_assert_msg(paths[i][0] == '/', "list path '%s' is not absolute", paths[i]);
            ck_assert_msg(!strncmp(paths[i], dir, strlen(dir)), "'%s' is not under %s", paths[i], dir);
            struct stat st;
            ck_assert_msg(stat(paths[i], &st) == 0 && S_ISREG(st.st_mode), "'%s' does not exist", paths[i]);
            /* darknet: truth[k] = strstr(path, label[k]) != NULL, exactly one must hit: the IDX label */
            int hits = 0, which = -1;
            for (int k = 0; k < 10; ++k)
                if (strstr(paths[i], labels[k])) { ++hits; which = k; }
            ck_assert_msg(hits == 1, "%s: %d labels match it (darknet needs exactly one)", paths[i], hits);
            ck_assert_msg(which == lab[i], "%s: darknet would read class %d, the IDX label is %d", paths[i], which, lab[i]);
            /* and it matches at the file's label position only */
            const char *base = strrchr(paths[i], '/') + 1;
            ck_assert_ptr_eq(strstr(paths[i], labels[which]), strstr(base, labels[which]));
        }
        free(lab);
        free_lines(paths, n);
        free(list_path);
    }
    free_lines(labels, nl);
    free(labels_path);
}
END_TEST

START_TEST(pixels_equal_idx_bytes)
{
    const char *dir = converted;
    const char *sets[2] = {"train", "test"};
    const char *idx_images[2] = {IDX_DIR "train-images-idx3-ubyte.gz", IDX_DIR "t10k-images-idx3-ubyte.gz"};
    int checked = 0;
    for (int s = 0; s < 2; ++s) {
        char name[32];
        snprintf(name, sizeof name, "%s.list", sets[s]);
        char *list_path = in_dir(dir, name);
        char *paths[LIMIT + 8];
        int n = read_lines(list_path, paths, LIMIT + 8);
        int isz;
        unsigned char *px = read_idx(idx_images[s], 0x803, LIMIT, &isz);
        ck_assert_int_eq(isz, 28 * 28);
        for (int i = 0; i < n; ++i) {
            image im = load_image_color(paths[i], 0, 0); /* what darknet's classifier loads */
            ck_assert_msg(im.w == 28 && im.h == 28 && im.c == 3, "%s: %dx%dx%d", paths[i], im.w, im.h, im.c);
            const unsigned char *want = px + (size_t)i * isz;
            for (int c = 0; c < 3; ++c)
                for (int k = 0; k < 28 * 28; ++k) {
                    float d = im.data[c * 28 * 28 + k] - want[k] / 255.f;
                    ck_assert_msg(d <= 1e-6f && d >= -1e-6f, "%s channel %d pixel %d: %g, IDX byte %d", paths[i], c,
                                  k, im.data[c * 28 * 28 + k], want[k]);
                }
            free_image(im);
            ++checked;
        }
        free(px);
        free_lines(paths, n);
        free(list_path);
    }
    ck_assert_int_eq(checked, 2 * LIMIT);
}
END_TEST

START_TEST(data_file_keys)
{
    const char *dir = converted;
    char *data_path = in_dir(dir, "fashion-mnist.data");
    char *lines[32];
    int n = read_lines(data_path, lines, 32);
    const char *keys[] = {"classes", "train", "valid", "labels", "backup", "top"};
    char *want[6];
    want[0] = strdup("10");
    want[1] = in_dir(dir, "train.list");
    want[2] = in_dir(dir, "test.list");
    want[3] = in_dir(dir, "labels.txt");
    want[4] = strdup("backup/"); /* relative to where darknet runs; the stock trainer needs it to exist */
    want[5] = strdup("2");
    for (int k = 0; k < 6; ++k) {
        int found = 0;
        for (int i = 0; i < n; ++i) {
            size_t kl = strlen(keys[k]);
            if (strncmp(lines[i], keys[k], kl) || lines[i][kl] != '=') continue;
            ++found;
            ck_assert_msg(!strcmp(lines[i] + kl + 1, want[k]), "%s: '%s', expected '%s'", keys[k], lines[i] + kl + 1,
                          want[k]);
        }
        ck_assert_msg(found == 1, "key %s found %d times in %s", keys[k], found, data_path);
        free(want[k]);
    }
    ck_assert_int_eq(n, 6);
    free_lines(lines, n);
    free(data_path);
}
END_TEST

START_TEST(second_run_is_a_no_op)
{
    const char *dir = converted;
    char *args;
    ck_assert(asprintf(&args, "data fashion-mnist -out %s -limit %d", dir, LIMIT) > 0);
    abc_run_result r = abc_test_run_darknet(args);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "nothing to do") != NULL, "%s", r.out);
    abc_run_free(&r);
    free(args);
}
END_TEST

typedef struct {
    const char *args;   /* after "data", %s = a fresh dir */
    const char *expect; /* substring of the error line */
} bad_option;

static const bad_option bad_options[] = {
    {"", "usage"},
    {"mnist", "usage"},
    {"fashion-mnist -limit 0", "-limit"},
    {"fashion-mnist -limit -3", "-limit"},
    {"fashion-mnist -limit abc", "'abc'"},
    {"fashion-mnist -limit 10x", "'10x'"},
    {"fashion-mnist -limit", "-limit"},
    {"fashion-mnist -out", "-out"},
    {"fashion-mnist -bogus", "-bogus"},
    {"fashion-mnist -out %s/Bag -limit 5", "Bag"},
    {"fashion-mnist -out %s/x/Sandals -limit 5", "Sandal"},
    {"fashion-mnist -out %s/file/sub -limit 5", "file"},
    {"fashion-mnist -out %s/notours -limit 5", "notours"},
};
#define N_BAD (int)(sizeof bad_options / sizeof bad_options[0])

START_TEST(bad_options_give_one_line)
{
    const char *dir = abc_test_tmpdir();
    free(abc_test_write(dir, "file", "a file, not a directory\n"));
    char *notours;
    ck_assert(asprintf(&notours, "%s/notours", dir) > 0);
    mkdir(notours, 0755);
    free(abc_test_write(notours, "keep.txt", "user data\n"));
    char args[512], full[600];
    snprintf(args, sizeof args, bad_options[_i].args, dir);
    snprintf(full, sizeof full, "data %s", args);
    abc_run_result r = abc_test_run_darknet(full);
    ck_assert_msg(r.status == 1 && r.signal == 0, "'%s': status %d signal %d:\n%s", full, r.status, r.signal, r.out);
    ck_assert_msg(abc_test_count_lines(r.out) == 1 && !strncmp(r.out, "darknet: error: ", 16),
                  "'%s' should print one error line:\n%s", full, r.out);
    ck_assert_msg(strstr(r.out, bad_options[_i].expect) != NULL, "'%s': no '%s' in: %s", full, bad_options[_i].expect,
                  r.out);
    /* nothing removed, nothing half written */
    char *keep = in_dir(notours, "keep.txt");
    struct stat st;
    ck_assert(stat(keep, &st) == 0);
    char *bag = in_dir(dir, "Bag");
    ck_assert(stat(bag, &st) != 0);
    free(keep); free(bag); free(notours);
    abc_run_free(&r);
}
END_TEST

static Suite *suite_data(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("fashion_mnist");
    tcase_add_unchecked_fixture(tc, convert_once, remove_conversion);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, lists_and_labels);
    tcase_add_test(tc, pixels_equal_idx_bytes);
    tcase_add_test(tc, data_file_keys);
    tcase_add_test(tc, second_run_is_a_no_op);
    suite_add_tcase(s, tc);
    tc = tcase_create("options");
    tcase_add_loop_test(tc, bad_options_give_one_line, 0, N_BAD);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_data)
