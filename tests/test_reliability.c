/* What a user feeds ./darknet that it must refuse in one line (or survive):
 * unbounded inputs (/dev/zero, a directory, a 2 MB stdin line), NUL bytes and
 * repeated keys in .data files, empty arguments, schedule numbers that are no
 * numbers, a checkpoint's absurd `seen`; and the checkpoints' guards: one
 * training per cfg and backup directory, an unwritable backup directory found
 * before the first iteration, a failed save reported, retried, and the run
 * going on. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "base/util.h"
#include "test_util.h"

static char dir[4096]; /* a tiny data set, cfgs and backups; shared by the tests (forked after the fixture) */

static const char tiny_net[] =
    "[net]\nbatch=8\nsubdivisions=1\nwidth=28\nheight=28\nchannels=3\nmin_crop=28\nmax_crop=28\n"
    "learning_rate=0.05\nmomentum=0.9\ndecay=0.0005\npolicy=%s\npower=%s\nmax_batches=%d\n\n"
    "[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[connected]\noutput=10\nactivation=linear\n\n[softmax]\n";

static char *cfg_with(const char *name, const char *policy, const char *power, int max_batches)
{
    char *text;
    ck_assert(asprintf(&text, tiny_net, policy, power, max_batches) > 0);
    char *p = abc_test_write(dir, name, text);
    free(text);
    return p;
}

static char *data_with(const char *name, const char *extra, const char *train, const char *valid)
{
    char *text;
    ck_assert(asprintf(&text, "classes=10\n%strain=%s\nvalid=%s\nlabels=%s/fm/labels.txt\nbackup=%s/backup/\n", extra,
                       train, valid, dir, dir) > 0);
    char *p = abc_test_write(dir, name, text);
    free(text);
    return p;
}

#define path_in(...) abc_test_pathf(dir, __VA_ARGS__)

static void rm_dir(void)
{
    static pid_t owner;
    if (!owner) { owner = getpid(); return; } /* the first call, from the fixture, records the owner */
    if (getpid() != owner || !dir[0] || getenv("ABC_KEEP_TMP")) return;
    abc_run_result r = abc_test_runf("rm -rf '%s'", dir);
    abc_run_free(&r);
}

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/abc-rel-XXXXXX", base && *base ? base : "/tmp");
    ck_assert(mkdtemp(dir) != NULL);
    rm_dir();
    atexit(rm_dir);
    abc_run_result r = abc_test_darknetf("data fashion-mnist -out %s/fm -limit 40", dir);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    char *tl = path_in("fm/train.list"), *vl = path_in("fm/test.list");
    free(data_with("t.data", "", tl, vl));
    free(cfg_with("t.cfg", "poly", "1", 4));
    r = abc_test_darknetf("classifier train %s/t.data %s/t.cfg", dir, dir);
    ck_assert_msg(r.status == 0, "the fixture's training failed:\n%s", r.out);
    abc_run_free(&r);
    free(tl);
    free(vl);
}

/* ---- inputs refused in one line ---- */

typedef struct {
    const char *name;
    const char *prep; /* a shell command run in dir first, or NULL */
    const char *cmd;  /* the command line in dir; %s: the darknet binary */
    const char *expect[3];
} refusal;

static const refusal refusals[] = {
    {"cfg_dev_zero", NULL, "%s abc check /dev/zero", {"/dev/zero:1:", "longer than 65536 bytes"}},
    {"cfg_directory", NULL, "%s abc check fm", {"cfg file 'fm' is a directory"}},
    {"power_nan", "sed 's/^power=1/power=nan/' t.cfg > p.cfg", "%s classifier train t.data p.cfg",
     {"p.cfg:13:", "power", "'nan' is not a number"}},
    {"power_inf", "sed 's/^power=1/power=inf/' t.cfg > p.cfg", "%s classifier train t.data p.cfg",
     {"p.cfg:13:", "power", "'inf'"}},
    {"power_negative", "sed 's/^power=1/power=-1/' t.cfg > p.cfg", "%s classifier train t.data p.cfg",
     {"p.cfg:13:", "power", "out of range"}},
    {"scales_nan", "sed 's/^policy=poly/policy=steps\\nsteps=1,2\\nscales=.1,nan/' t.cfg > p.cfg",
     "%s abc check p.cfg", {"p.cfg:", "scales", "'nan'"}},
    {"data_nul_byte", "printf 'classes=10\\ntr\\0ain=x\\n' > n.data", "%s classifier valid n.data t.cfg backup/t_final.weights",
     {"n.data:2:", "NUL byte"}},
    {"data_repeated_key", "(cat t.data; echo classes=10) > r.data", "%s classifier valid r.data t.cfg backup/t_final.weights",
     {"r.data:6:", "key 'classes' given twice"}},
    {"data_names_and_labels", "(cat t.data; echo names=fm/labels.txt) > r.data",
     "%s classifier valid r.data t.cfg backup/t_final.weights", {"r.data:6:", "key 'names' given twice"}},
    {"train_list_dev_zero", "sed 's#^train=.*#train=/dev/zero#' t.data > z.data", "%s classifier train z.data t.cfg",
     {"/dev/zero", "line 1: longer than 4096 bytes"}},
    {"valid_list_directory", "sed 's#^valid=.*#valid=fm#' t.data > z.data",
     "%s classifier valid z.data t.cfg backup/t_final.weights", {"list file 'fm' is a directory"}},
    {"weights_empty_argument", NULL, "%s classifier valid t.data t.cfg ''", {"classifier valid", "argument 3 is empty"}},
    {"option_empty_value", NULL, "%s data fashion-mnist -out ''", {"-out", "empty value"}},
    {"stdin_two_megabytes", NULL,
     "head -c 2000000 /dev/zero | tr '\\0' a | %s classifier predict t.data t.cfg backup/t_final.weights",
     {"stdin line 1", "longer than 4096 bytes"}},
    {"stdin_nul_byte", NULL, "printf 'fm/a\\0b\\n' | %s classifier predict t.data t.cfg backup/t_final.weights",
     {"stdin line 1", "NUL byte"}},
};
#define N_REFUSALS ((int)(sizeof refusals / sizeof refusals[0]))

/* A first layer of no parameters (maxpool, avgpool, upsample) trains: libdarknet's backward of these adds into
 * net.delta, which is NULL below the first layer (a segfault before the guard). */
START_TEST(first_layer_without_parameters_trains)
{
    static const char *const first[] = {"[maxpool]\nsize=2\nstride=2", "[avgpool]", "[upsample]\nstride=2"};
    for (size_t i = 0; i < sizeof first / sizeof first[0]; ++i) {
        char text[512], name[32];
        snprintf(text, sizeof text,
                 "[net]\nbatch=4\nwidth=16\nheight=16\nchannels=3\nlearning_rate=0.01\nmax_batches=2\n\n%s\n\n"
                 "[connected]\noutput=10\nactivation=linear\n\n[softmax]\n",
                 first[i]);
        snprintf(name, sizeof name, "first%zu.cfg", i);
        char *cfg = abc_test_write(abc_test_tmpdir(), name, text);
        abc_run_result r = abc_test_darknetf("abc trainspeed %s -iters 2 -threads 1", cfg);
        ck_assert_msg(r.status == 0 && r.signal == 0, "%s first: %s", first[i], r.out);
        ck_assert_msg(strstr(r.out, "img/s"), "%s", r.out);
        abc_run_free(&r);
        free(cfg);
    }
}
END_TEST

START_TEST(inputs_refused_in_one_line)
{
    const refusal *c = &refusals[_i];
    if (c->prep) {
        abc_run_result p = abc_test_runf("cd '%s' && %s", dir, c->prep);
        ck_assert_msg(p.status == 0, "%s: preparing failed: %s", c->name, p.out);
        abc_run_free(&p);
    }
    char cmd[2048], *bin = realpath(abc_test_darknet_path(), NULL);
    ck_assert(bin != NULL);
    snprintf(cmd, sizeof cmd, c->cmd, bin);
    free(bin);
    abc_run_result r = abc_test_runf("(cd '%s' && %s)", dir, cmd); /* in a subshell: its pipes feed darknet */
    abc_test_expect_one_error(c->name, &r, NULL, c->expect, 3);
    /* the error quotes nothing of a huge input */
    ck_assert_msg(strlen(r.out) < 4000, "%s: %zu bytes of output", c->name, strlen(r.out));
    abc_run_free(&r);
}
END_TEST

/* ---- a network that does not fit ---- */

/* 400 convs whose outputs and gradients take 2 GB each (each passes the checks of a single layer): refused at
 * the layer that passes RAM + swap, before libdarknet builds it. */
START_TEST(network_over_memory_refused)
{
    char *text = abc_xstrdup("[net]\nbatch=64\nwidth=512\nheight=512\nchannels=3\n");
    for (int i = 0; i < 400; ++i) {
        char *more;
        ck_assert(asprintf(&more, "%s[convolutional]\nfilters=16\nsize=3\npad=1\nactivation=leaky\n", text) > 0);
        free(text);
        text = more;
    }
    char *cfg = abc_test_write(dir, "huge_net.cfg", text);
    abc_run_result r = abc_test_darknetf("abc check %s", cfg);
    const char *expect[] = {"huge_net.cfg:", "[convolutional]", "GB this process may use (RAM + swap"};
    abc_test_expect_one_error("400 convs", &r, NULL, expect, 3);
    abc_run_free(&r);
    free(cfg);
    free(text);
}
END_TEST

/* Under a 3 GB address-space limit, a conv whose outputs and gradients take 4.3 GB is refused by name before
 * libdarknet's constructor (which would crash on the failed allocation). Not under AddressSanitizer, whose
 * shadow memory needs more address space than the limit. */
START_TEST(network_over_the_memory_limit_refused)
{
#ifdef __SANITIZE_ADDRESS__
    return;
#endif
    char *cfg = abc_test_write(dir, "big.cfg",
                               "[net]\nbatch=8\nwidth=1024\nheight=1024\nchannels=3\n\n"
                               "[convolutional]\nfilters=64\nsize=3\nstride=1\npad=1\nactivation=leaky\n");
    char *bin = realpath(abc_test_darknet_path(), NULL);
    abc_run_result r = abc_test_runf("ulimit -v 3000000 && %s abc check %s", bin, cfg);
    const char *expect[] = {"big.cfg:7:", "[convolutional]", "more than the 3.07 GB this process may use"};
    abc_test_expect_one_error("3 GB limit", &r, NULL, expect, 3);
    abc_run_free(&r);
    free(bin);
    free(cfg);
}
END_TEST

/* ---- images that do not decode ---- */

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A PNG whose header (with a valid CRC) says w x h pixels, followed by one small IDAT and IEND. */
static char *png_claiming(const char *name, uint32_t w, uint32_t h)
{
    unsigned char f[8 + 25 + 12 + 12 + 12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char *c = f + 8;
    put32(c, 13);
    memcpy(c + 4, "IHDR", 4);
    put32(c + 8, w);
    put32(c + 12, h);
    c[16] = 8, c[17] = 2; /* 8-bit RGB */
    put32(c + 21, (uint32_t)crc32(0, c + 4, 17));
    c += 25;
    static const unsigned char z[] = {0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01}; /* one zero byte */
    put32(c, 9);
    memcpy(c + 4, "IDAT", 4);
    memcpy(c + 8, z, 9);
    put32(c + 17, (uint32_t)crc32(0, c + 4, 13));
    c += 21;
    put32(c, 0);
    memcpy(c + 4, "IEND", 4);
    put32(c + 8, (uint32_t)crc32(0, c + 4, 4));
    c += 12;
    char *path = path_in("%s", name);
    FILE *fp = fopen(path, "wb");
    ck_assert(fp && fwrite(f, 1, (size_t)(c - f), fp) == (size_t)(c - f) && fclose(fp) == 0);
    return path;
}

static const struct {
    const char *name;
    uint32_t w, h;
    const char *expect;
} claimed[] = {
    {"huge.png", 60000, 60000, "has 60000x60000 pixels, more than this program reads"},
    {"wide.png", 20000, 1, "20000x1 pixels"},
    {"empty.png", 0, 0, "a broken PNG"},
};

START_TEST(undecodable_images_refused)
{
    /* predict: one image */
    char *p = png_claiming(claimed[_i].name, claimed[_i].w, claimed[_i].h);
    abc_run_result r = abc_test_darknetf("classifier predict %s/t.data %s/t.cfg %s/backup/t_final.weights %s", dir,
                                         dir, dir, p);
    const char *expect[] = {claimed[_i].expect};
    abc_test_expect_one_error(claimed[_i].name, &r, p, expect, 1);
    ck_assert_msg(!strstr(r.out, "Predicted"), "%s", r.out);
    abc_run_free(&r);
    free(p);
}
END_TEST

/* A training list with a truncated PNG, a truncated JPEG and an image that is not there: all three listed, one
 * error line, nothing trained; with -skip_bad_images training goes on without them. */
START_TEST(bad_images_in_a_list_listed_then_skipped)
{
    abc_run_result r = abc_test_runf(
        "cd '%s' && head -c 300 \"$(head -n 1 fm/train.list)\" > cut.png && "
        "printf '\\377\\330\\377\\340\\000\\020JFIF\\000' > cut.jpg && "
        "(cat fm/train.list; echo \"$PWD/cut.png\"; echo \"$PWD/cut.jpg\"; echo \"$PWD/gone.png\") > bad.list && "
        "sed \"s#^train=.*#train=$PWD/bad.list#\" t.data > bad.data", dir);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    char *data = path_in("bad.data");
    r = abc_test_darknetf("classifier train %s %s/t.cfg -clear", data, dir);
    const char *expect[] = {"3 of 43 images cannot be used", "cut.png", "-skip_bad_images"};
    abc_test_expect_one_error("bad list", &r, "bad.list", expect, 3);
    ck_assert_msg(strstr(r.out, "bad image: ") && strstr(r.out, "cut.jpg' is a broken JPEG") &&
                  strstr(r.out, "gone.png' is missing or unreadable") && strstr(r.out, "cut.png' is a broken PNG") &&
                  !strstr(r.out, "epoch "), "%s", r.out);
    abc_run_free(&r);
    r = abc_test_darknetf("classifier train %s %s/t.cfg -clear -skip_bad_images", data, dir);
    ck_assert_msg(r.status == 0 && strstr(r.out, "3 of 43 images left out") && strstr(r.out, "Trained 4 iterations"),
                  "%s", r.out);
    abc_run_free(&r);
    free(data);
}
END_TEST

/* ---- a checkpoint whose seen no run writes ---- */

/* A copy of the fixture's final weights with seen replaced. */
static char *weights_with_seen(const char *name, uint64_t seen)
{
    char *src = path_in("backup/t_final.weights"), *dst = path_in("%s", name);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    ck_assert(in && out);
    char hdr[20];
    ck_assert(fread(hdr, 1, 20, in) == 20);
    memcpy(hdr + 12, &seen, 8);
    fwrite(hdr, 1, 20, out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    fclose(in);
    ck_assert(fclose(out) == 0);
    free(src);
    return dst;
}

static const uint64_t absurd_seen[] = {1ull << 40, 1ull << 63, UINT64_MAX};

START_TEST(absurd_seen_refused_and_clear_trains)
{
    char name[64];
    snprintf(name, sizeof name, "seen%d.weights", _i);
    char *w = weights_with_seen(name, absurd_seen[_i]);
    char *cfg = cfg_with("seen.cfg", "poly", "1", 6);
    abc_run_result r = abc_test_darknetf("classifier train %s/t.data %s %s", dir, cfg, w);
    char want[64];
    snprintf(want, sizeof want, "seen=%llu images", (unsigned long long)absurd_seen[_i]);
    const char *expect[] = {want, "give -clear"};
    abc_test_expect_one_error(name, &r, w, expect, 2);
    ck_assert_msg(!strstr(r.out, "epoch "), "trained before refusing:\n%s", r.out);
    abc_run_free(&r);
    /* -clear starts these weights at iteration 0: 6 iterations */
    r = abc_test_darknetf("classifier train %s/t.data %s %s -clear", dir, cfg, w);
    ck_assert_msg(r.status == 0 && strstr(r.out, "Trained 6 iterations"), "%s", r.out);
    abc_run_free(&r);
    free(cfg);
    free(w);
}
END_TEST

/* ---- checkpoints ---- */

static pid_t start_training(const char *log, const char *cfg, const char *data)
{
    const char *words[] = {"classifier", "train", data, cfg, NULL};
    pid_t pid = abc_test_start_darknet(log, words);
    ck_assert_msg(abc_test_wait_for_line(log, "epoch ", pid, 60), "training did not start:\n%s", abc_test_slurp(log));
    return pid;
}

static int stop(pid_t pid)
{
    kill(pid, SIGINT);
    int st;
    ck_assert(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(second_training_of_a_cfg_refused)
{
    char *cfg = cfg_with("lock.cfg", "poly", "1", 1000000), *other = cfg_with("lock2.cfg", "poly", "1", 3);
    char *data = path_in("t.data"), *log = path_in("lock.log");
    pid_t pid = start_training(log, cfg, data);
    abc_run_result r = abc_test_darknetf("classifier train %s %s", data, cfg);
    char want[64];
    snprintf(want, sizeof want, "another training (pid %ld)", (long)pid);
    const char *expect[] = {want, "lock.cfg", "backup= directory"};
    abc_test_expect_one_error("second run", &r, NULL, expect, 3);
    ck_assert_msg(!strstr(r.out, "epoch "), "%s", r.out);
    abc_run_free(&r);
    /* another cfg trains into the same directory meanwhile */
    r = abc_test_darknetf("classifier train %s %s", data, other);
    ck_assert_msg(r.status == 0 && strstr(r.out, "Trained 3 iterations"), "%s", r.out);
    abc_run_free(&r);
    ck_assert_int_eq(stop(pid), 130);
    /* the lock goes with its process */
    r = abc_test_darknetf("classifier train %s %s -clear", data, other);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    free(cfg);
    free(other);
    free(data);
    free(log);
}
END_TEST

START_TEST(unwritable_backup_refused_before_training)
{
    char *tl = path_in("fm/train.list"), *vl = path_in("fm/test.list");
    char *data = abc_test_pathf(dir, "ro.data");
    char *text;
    /* /proc: a directory nobody, root included, can create files in */
    ck_assert(asprintf(&text, "classes=10\ntrain=%s\nvalid=%s\nlabels=%s/fm/labels.txt\nbackup=/proc/\n", tl, vl,
                       dir) > 0);
    free(abc_test_write(dir, "ro.data", text));
    abc_run_result r = abc_test_darknetf("classifier train %s %s/t.cfg", data, dir);
    const char *expect[] = {"backup directory '/proc' is not writable"};
    abc_test_expect_one_error("read-only backup", &r, NULL, expect, 1);
    ck_assert_msg(!strstr(r.out, "epoch "), "%s", r.out);
    abc_run_free(&r);
    free(text);
    free(data);
    free(tl);
    free(vl);
}
END_TEST

/* Saves fail while the files written are limited to 16 KB (the tiny model's weights take more), are reported,
 * and succeed once the limit is lifted: the run goes on throughout and ends with its checkpoint. */
START_TEST(failed_checkpoint_reported_and_retried)
{
    char *cfg = cfg_with("fsize.cfg", "poly", "1", 1000000), *data = path_in("t.data"), *log = path_in("fsize.log");
    struct rlimit old, lim;
    ck_assert(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = 16 << 10;
    ck_assert(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN); /* the child inherits both: writes fail with EFBIG */
    const char *words[] = {"classifier", "train", data, cfg, NULL};
    pid_t pid = abc_test_start_darknet(log, words);
    signal(SIGXFSZ, was);
    ck_assert(setrlimit(RLIMIT_FSIZE, &old) == 0);
    ck_assert_msg(abc_test_wait_for_line(log, "darknet: warning: writing weights file", pid, 150),
                  "no failed save reported:\n%s", abc_test_slurp(log));
    char *text = abc_test_slurp(log);
    ck_assert_msg(strstr(text, "fsize.backup") && strstr(text, "the previous file is unchanged") &&
                  strstr(text, "tries again"), "%s", text);
    free(text);
    char *ck = path_in("backup/fsize.backup");
    ck_assert_msg(access(ck, F_OK) != 0, "a checkpoint was written past the limit");
    struct rlimit up = old;
    ck_assert(prlimit(pid, RLIMIT_FSIZE, &up, NULL) == 0);
    /* the retry, 10 s later, succeeds */
    for (int i = 0; i < 600 && access(ck, F_OK) != 0; ++i) usleep(100000);
    ck_assert_msg(access(ck, F_OK) == 0, "no checkpoint after the limit was lifted:\n%s", abc_test_slurp(log));
    ck_assert_int_eq(stop(pid), 130);
    text = abc_test_slurp(log);
    ck_assert_msg(strstr(text, "checkpoint saved") && !strstr(text, "darknet: error"), "%s", text);
    free(text);
    abc_run_result r = abc_test_darknetf("classifier valid %s %s %s", data, cfg, ck);
    ck_assert_msg(r.status == 0, "the checkpoint does not load:\n%s", r.out);
    abc_run_free(&r);
    free(ck);
    free(cfg);
    free(data);
    free(log);
}
END_TEST

/* ---- deterministic training and exact resume ---- */

static const char resume_net[] =
    "[net]\nbatch=8\nsubdivisions=1\nwidth=28\nheight=28\nchannels=3\nmin_crop=28\nmax_crop=28\n"
    "learning_rate=0.05\nburn_in=5\nmomentum=0.9\ndecay=0.0005\npolicy=poly\npower=1\nmax_batches=300\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n[batchnorm]\n\n"
    "[%s]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n%s\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[connected]\nbatch_normalize=1\noutput=16\nactivation=leaky\n\n"
    "[connected]\noutput=10\nactivation=linear\n\n[softmax]\n";

static const struct {
    const char *name, *section, *keys;
} resume_cfgs[] = {
    {"float", "convolutional", ""},
    {"abc", "abc_convolutional", "weight_bases=3\nactivation_bases=3\n"},
    {"hada", "hada_convolutional", ""},
};

static int same_bytes(const char *a, const char *b)
{
    abc_run_result r = abc_test_runf("cmp '%s' '%s'", a, b);
    int same = r.status == 0;
    abc_run_free(&r);
    return same;
}

/* Runs with -seed 7 -threads 2 give the same weights; a run killed with -9 at a random moment and resumed from
 * its last checkpoint (-checkpoint 4) ends with the same bytes as the uninterrupted one. */
START_TEST(killed_and_resumed_run_is_exact)
{
    char name[64], *text;
    snprintf(name, sizeof name, "resume_%s.cfg", resume_cfgs[_i].name);
    ck_assert(asprintf(&text, resume_net, resume_cfgs[_i].section, resume_cfgs[_i].keys) > 0);
    char *cfg = abc_test_write(dir, name, text), *data = path_in("t.data");
    char *fin = path_in("backup/resume_%s_final.weights", resume_cfgs[_i].name);
    char *ck = path_in("backup/resume_%s.backup", resume_cfgs[_i].name);
    char *a = path_in("resume_%s_a.weights", resume_cfgs[_i].name), *log = path_in("resume_%s.log", resume_cfgs[_i].name);
    abc_run_result r = abc_test_darknetf("classifier train %s %s -seed 7 -threads 2", data, cfg);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    ck_assert(rename(fin, a) == 0);
    r = abc_test_darknetf("classifier train %s %s -seed 7 -threads 2 -clear", data, cfg);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    ck_assert_msg(same_bytes(a, fin), "%s: two runs with -seed 7 differ", resume_cfgs[_i].name);
    unlink(fin);
    unlink(ck);
    const char *words[] = {"classifier", "train", data, cfg, "-seed", "7", "-threads", "2", "-checkpoint", "4", NULL};
    abc_test_kill_after_checkpoint(log, words, ck);
    r = abc_test_darknetf("classifier train %s %s %s -seed 7 -threads 2 -checkpoint 4", data, cfg, ck);
    ck_assert_msg(r.status == 0 && strstr(r.out, "resumed with the checkpoint's training state"), "%s", r.out);
    fprintf(stderr, "%s: resumed at %s", resume_cfgs[_i].name, strstr(r.out, "Trained "));
    abc_run_free(&r);
    ck_assert_msg(same_bytes(a, fin), "%s: the resumed run ends with other weights than the uninterrupted one",
                  resume_cfgs[_i].name);
    free(text);
    free(cfg);
    free(data);
    free(fin);
    free(ck);
    free(a);
    free(log);
}
END_TEST

static Suite *suite_reliability(void)
{
    Suite *s = suite_create("reliability");
    TCase *tc = tcase_create("inputs");
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, first_layer_without_parameters_trains);
    tcase_add_loop_test(tc, inputs_refused_in_one_line, 0, N_REFUSALS);
    tcase_add_loop_test(tc, absurd_seen_refused_and_clear_trains, 0, 3);
    tcase_add_loop_test(tc, undecodable_images_refused, 0, (int)(sizeof claimed / sizeof claimed[0]));
    tcase_add_test(tc, bad_images_in_a_list_listed_then_skipped);
    tcase_add_test(tc, network_over_the_memory_limit_refused);
    tcase_add_test(tc, network_over_memory_refused);
    tcase_add_test(tc, second_training_of_a_cfg_refused);
    tcase_add_test(tc, unwritable_backup_refused_before_training);
    tcase_add_test(tc, failed_checkpoint_reported_and_retried);
    tcase_add_loop_test(tc, killed_and_resumed_run_is_exact, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_reliability)
