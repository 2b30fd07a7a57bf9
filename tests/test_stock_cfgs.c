/* Parse parity on Debian's own cfgs (dpkg -L darknet): our parser and
 * libdarknet's own parse_network_cfg (RTLD_NEXT) build the same networks:
 * layer count, each layer's type, input and output sizes, parameter count.
 * Each parse runs in a child process on a batch=1 copy of the cfg, smaller in
 * width and channels (see small_copy; ABC_TEST_ALL_CFGS=1 keeps the sizes),
 * so a cfg the stock parser aborts on is skipped with a message, and time and
 * memory stay low. A few small cfgs also run forward on the same input and
 * weights (our float path against libdarknet's own layers). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "forward.h"
#include "packfile.h"
#include "hooks.h"
#include "test_stock.h"
#include "test_util.h"

typedef struct {
    int type, batch, w, h, c, out_w, out_h, out_c, inputs, outputs;
    long long params;
} layer_sum;

typedef struct {
    int n, batch, w, h, c, inputs, outputs;
} net_sum;

/* Copy of a stock cfg with batch=1 and subdivisions=1 in [net]. With small:
 * - a [net] of 128 pixels or more (a multiple of 32) shrinks about 4 times
 *   (still a multiple of 32), [crop] sizes with it;
 * - [convolutional]/[local] filters (and groups) shrink 4 times where they
 *   divide, except right before a [yolo]/[region]/[detection] layer, and so
 *   do hidden [connected] outputs (those before a [dropout]).
 * The layer structure stays; libdarknet's random initialisation of tens of
 * millions of weights (the cost of parsing the big cfgs) shrinks ~16 times. */
static char *small_copy(const char *src, int small)
{
    FILE *in = fopen(src, "r");
    ck_assert_msg(in != NULL, "cannot read %s", src);
    const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
    char *dst;
    ck_assert(asprintf(&dst, "%s/%s", abc_test_tmpdir(), base) > 0);
    char **lines = NULL;
    int n = 0, w = 0, h = 0, section = 0;
    char line[4096];
    while (fgets(line, sizeof line, in)) {
        lines = realloc(lines, (size_t)(n + 1) * sizeof *lines);
        lines[n++] = strdup(line);
        const char *p = line + strspn(line, " \t");
        if (*p == '[') ++section;
        if (section == 1 && !strncmp(p, "width", 5)) sscanf(strchr(p, '=') ? strchr(p, '=') + 1 : "", "%d", &w);
        if (section == 1 && !strncmp(p, "height", 6)) sscanf(strchr(p, '=') ? strchr(p, '=') + 1 : "", "%d", &h);
    }
    fclose(in);
    int nw = w, nh = h;
    if (small && w >= 128 && h >= 128 && w % 32 == 0 && h % 32 == 0) {
        nw = 32 * ((w / 32 + 2) / 4 > 0 ? (w / 32 + 2) / 4 : 1);
        nh = 32 * ((h / 32 + 2) / 4 > 0 ? (h / 32 + 2) / 4 : 1);
    }
    FILE *out = fopen(dst, "w");
    ck_assert_msg(out != NULL, "cannot write %s", dst);
    section = 0;
    int thin = 0, thin_output = 0; /* the current section's filters (and groups) or output shrink */
    for (int i = 0; i < n; ++i) {
        const char *p = lines[i] + strspn(lines[i], " \t");
        if (*p == '[') {
            ++section;
            int filters = 0, groups = 1, j = i + 1;
            for (; j < n && lines[j][strspn(lines[j], " \t")] != '['; ++j) {
                const char *q = lines[j] + strspn(lines[j], " \t");
                const char *e = strchr(q, '=');
                if (!e) continue;
                if (!strncmp(q, "filters", 7)) filters = atoi(e + 1);
                if (!strncmp(q, "groups", 6)) groups = atoi(e + 1);
            }
            const char *next = j < n ? lines[j] + strspn(lines[j], " \t") : "";
            thin = small && (!strncmp(p, "[convolutional]", 15) || !strncmp(p, "[local]", 7)) && filters % 4 == 0 &&
                   filters >= 8 && (groups == 1 || groups % 4 == 0) && strncmp(next, "[yolo]", 6) &&
                   strncmp(next, "[region]", 8) && strncmp(next, "[detection]", 11);
            /* hidden fully connected layers (alexnet, vgg): before a [dropout] */
            thin_output = small && !strncmp(p, "[connected]", 11) && !strncmp(next, "[dropout]", 9);
        }
        size_t k = strcspn(p, " \t=");
        const char *eq = strchr(p, '=');
        int v = eq ? atoi(eq + 1) : 0;
#define KEY(s) (k == strlen(s) && !strncmp(p, s, k))
        if (section == 1 && (KEY("batch") || KEY("subdivisions"))) fprintf(out, "%.*s=1\n", (int)k, p);
        else if (section == 1 && KEY("width")) fprintf(out, "width=%d\n", nw);
        else if (section == 1 && KEY("height")) fprintf(out, "height=%d\n", nh);
        else if (KEY("crop_width") && nw != w) fprintf(out, "crop_width=%d\n", v * nw / w);
        else if (KEY("crop_height") && nh != h) fprintf(out, "crop_height=%d\n", v * nh / h);
        else if (thin && KEY("filters")) fprintf(out, "filters=%d\n", v / 4);
        else if (thin && KEY("groups") && v > 1) fprintf(out, "groups=%d\n", v / 4);
        else if (thin_output && KEY("output") && v % 4 == 0 && v >= 8) fprintf(out, "output=%d\n", v / 4);
        else fputs(lines[i], out);
#undef KEY
        free(lines[i]);
    }
    free(lines);
    ck_assert_int_eq(fclose(out), 0);
    return dst;
}

static long long param_count(const layer *l)
{
    abc_test_param p[64];
    int k = abc_test_layer_params(l, p, 64);
    long long n = 0;
    for (int j = 0; j < k; ++j) n += (long long)p[j].n;
    return n;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

typedef struct {
    int ok;          /* child exited 0 and sent a summary */
    char msg[512];   /* else: how it ended, and its last output line */
    net_sum net;
    layer_sum *layers;
} parse_result;

typedef struct {
    pid_t pid;
    int fd;
    char *log;
} child;

/* Starts parsing cfg in a child (ours or libdarknet's own parser), which
 * sends a summary through a pipe; its output goes to a log file. */
static child start_parse(const char *cfg, int stock)
{
    child c;
    ck_assert(asprintf(&c.log, "%s/%s.log", abc_test_tmpdir(), stock ? "stock" : "ours") > 0);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    c.pid = fork();
    ck_assert_int_ge(c.pid, 0);
    if (c.pid == 0) {
        close(fds[0]);
        FILE *lf = freopen(c.log, "w", stderr);
        if (!lf || dup2(fileno(stderr), 1) < 0) _exit(3);
        network *net = stock ? abc_test_stock_parse(cfg) : parse_network_cfg((char *)cfg);
        net_sum ns = {net->n, net->batch, net->w, net->h, net->c, net->inputs, net->outputs};
        if (write_all(fds[1], &ns, sizeof ns)) _exit(4);
        for (int i = 0; i < net->n; ++i) {
            const layer *l = &net->layers[i];
            layer_sum s = {(int)l->type, l->batch, l->w, l->h, l->c, l->out_w, l->out_h, l->out_c, l->inputs,
                           l->outputs, param_count(l)};
            if (write_all(fds[1], &s, sizeof s)) _exit(4);
        }
        _exit(0); /* no free: the process ends */
    }
    close(fds[1]);
    c.fd = fds[0];
    return c;
}

static parse_result finish_parse(child c)
{
    parse_result r = {0};
    size_t cap = sizeof(net_sum) + 64 * sizeof(layer_sum), len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len == cap) buf = realloc(buf, cap *= 2);
        ssize_t got = read(c.fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        len += (size_t)got;
    }
    close(c.fd);
    int st;
    while (waitpid(c.pid, &st, 0) < 0 && errno == EINTR) {}

    /* last non-empty line of the child's output, for messages */
    char last[256] = "";
    FILE *lf = fopen(c.log, "r");
    if (lf) {
        char line[4096];
        while (fgets(line, sizeof line, lf)) {
            line[strcspn(line, "\n")] = 0;
            char *t = strrchr(line, '\r') ? strrchr(line, '\r') + 1 : line;
            if (*t) snprintf(last, sizeof last, "%.200s", t);
        }
        fclose(lf);
    }
    unlink(c.log);
    free(c.log);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && len >= sizeof(net_sum)) {
        memcpy(&r.net, buf, sizeof r.net);
        if (len == sizeof(net_sum) + (size_t)r.net.n * sizeof(layer_sum)) {
            r.ok = 1;
            r.layers = malloc((size_t)r.net.n * sizeof(layer_sum) + 1);
            memcpy(r.layers, buf + sizeof(net_sum), (size_t)r.net.n * sizeof(layer_sum));
        }
    }
    if (!r.ok) {
        if (WIFSIGNALED(st)) snprintf(r.msg, sizeof r.msg, "killed by signal %d; last output: %s", WTERMSIG(st), last);
        else snprintf(r.msg, sizeof r.msg, "exit status %d; last output: %s", WEXITSTATUS(st), last);
    }
    free(buf);
    return r;
}

/* Compares two summaries; returns NULL or a malloc'd description. */
static char *compare(const parse_result *a, const parse_result *b)
{
    char *why = NULL;
    const net_sum *x = &a->net, *y = &b->net;
    if (memcmp(x, y, sizeof *x)) {
        if (asprintf(&why, "network: n %d/%d batch %d/%d input %dx%dx%d/%dx%dx%d inputs %d/%d outputs %d/%d", x->n,
                     y->n, x->batch, y->batch, x->w, x->h, x->c, y->w, y->h, y->c, x->inputs, y->inputs, x->outputs,
                     y->outputs) < 0)
            why = NULL;
        return why;
    }
    for (int i = 0; i < x->n; ++i) {
        const layer_sum *p = &a->layers[i], *q = &b->layers[i];
        if (!memcmp(p, q, sizeof *p)) continue;
        if (asprintf(&why,
                     "layer %d: ours type %d %dx%dx%d -> %dx%dx%d (in %d out %d, %lld params), stock type %d "
                     "%dx%dx%d -> %dx%dx%d (in %d out %d, %lld params)",
                     i, p->type, p->w, p->h, p->c, p->out_w, p->out_h, p->out_c, p->inputs, p->outputs, p->params,
                     q->type, q->w, q->h, q->c, q->out_w, q->out_h, q->out_c, q->inputs, q->outputs, q->params) < 0)
            why = NULL;
        return why;
    }
    return NULL;
}

START_TEST(debian_cfgs_parse_like_stock)
{
    FILE *p = popen("dpkg -L darknet 2>/dev/null | grep '\\.cfg$' | sort", "r");
    ck_assert_ptr_nonnull(p);
    char line[4096];
    int compared = 0, skipped = 0, failed = 0;
    /* ABC_TEST_ALL_CFGS=1: the cfgs at full size (batch=1), minutes instead of seconds */
    const char *env = getenv("ABC_TEST_ALL_CFGS");
    int all = env && *env && strcmp(env, "0");
    char report[8192] = "";
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        char *cfg = small_copy(line, !all);
        /* both at once: 2 cores */
        double t0 = abc_now();
        child cs = start_parse(cfg, 1), co = start_parse(cfg, 0);
        parse_result ours = finish_parse(co), st = finish_parse(cs);
        if (getenv("ABC_TEST_VERBOSE")) fprintf(stderr, "stock_cfgs: %s %.2f s\n", line, abc_now() - t0);
        if (!st.ok) {
            fprintf(stderr, "stock_cfgs: skipping %s: the stock parser cannot handle it (%s)\n", line, st.msg);
            ++skipped;
            free(ours.layers);
            free(cfg);
            continue;
        }
        char *why = ours.ok ? compare(&ours, &st) : NULL;
        if (!ours.ok || why) {
            ++failed;
            size_t used = strlen(report);
            snprintf(report + used, sizeof report - used, "\n  %s: %s", line, ours.ok ? why : ours.msg);
        } else {
            ++compared;
        }
        free(why);
        free(st.layers);
        free(ours.layers);
        unlink(cfg);
        free(cfg);
    }
    pclose(p);
    fprintf(stderr, "stock_cfgs: %d Debian cfgs parse alike, %d skipped, %d differ\n", compared, skipped, failed);
    if (failed) fprintf(stderr, "stock_cfgs: differences:%s\n", report);
    ck_assert_msg(failed == 0, "%d cfg(s) parse differently from libdarknet's parser:%s", failed, report);
    ck_assert_msg(compared >= 30, "only %d Debian cfgs compared (is the darknet package installed?)", compared);
}
END_TEST

/* Debian's yolo9000.cfg repeats "batch=1" in [net]; yolov3-openimages.cfg has
 * batch=1 then batch=64 (darknet silently takes the first). */
START_TEST(repeated_key_same_value_accepted_different_refused)
{
    const char *dir = abc_test_tmpdir();
    char *same = abc_test_write(dir, "same.cfg",
                                "[net]\n# Testing\nbatch=1\nsubdivisions=1\n# Training\nbatch=1\nwidth=8\nheight=8\n"
                                "channels=3\n[convolutional]\nfilters=2\nsize=3\nactivation=linear\n");
    char *diff = abc_test_write(dir, "diff.cfg",
                                "[net]\n# Testing\n batch=1\n subdivisions=1\n# Training\nbatch=64\nwidth=8\n"
                                "height=8\nchannels=3\n[convolutional]\nfilters=2\nsize=3\nactivation=linear\n");
    char *args;
    ck_assert(asprintf(&args, "abc check %s", same) > 0);
    abc_run_result r = abc_test_run_darknet(args);
    ck_assert_msg(r.status == 0, "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "warning: "));
    ck_assert_ptr_nonnull(strstr(r.out, ":6: [net]: key 'batch' given twice"));
    abc_run_free(&r);
    free(args);
    ck_assert(asprintf(&args, "abc check %s", diff) > 0);
    r = abc_test_run_darknet(args);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.out, "darknet: error: "));
    ck_assert_ptr_nonnull(strstr(r.out, ":6: [net]: key 'batch' given twice with different values"));
    abc_run_free(&r);
    free(args); free(same); free(diff);
}
END_TEST

/* ---- forward on a few small ones ---- */

static const char *const forward_cfgs[] = {"cifar.test.cfg", "go.test.cfg", "yolov3-tiny.cfg", "rnn.cfg",
                                           "gru.cfg", "yolov1-tiny.cfg"};
#define N_FORWARD (int)(sizeof forward_cfgs / sizeof forward_cfgs[0])
#define STOCK_CFG_DIR "/usr/share/darknet/cfg/"

START_TEST(small_debian_cfgs_forward_like_stock)
{
    unsetenv("ABC_FLOAT"); /* our default float path against the stock functions */
    char *src;
    ck_assert(asprintf(&src, STOCK_CFG_DIR "%s", forward_cfgs[_i]) > 0);
    /* the detectors (416 and 448 pixels) smaller; the others as Debian ships them */
    char *cfg = small_copy(src, strstr(forward_cfgs[_i], "yolo") != NULL), *w;
    ck_assert(asprintf(&w, "%s/fwd.weights", abc_test_tmpdir()) > 0);
    network *ours = parse_network_cfg(cfg);
    abc_test_fill_params(ours, 7 + (unsigned)_i);
    save_weights(ours, w); /* ours -> file -> libdarknet's own loader */
    network *stock = abc_test_stock_parse(cfg);
    abc_test_stock_load(stock, w, 0, stock->n);
    char why[256];
    ck_assert_msg(abc_test_same_params(ours, stock, why, sizeof why), "%s: %s", src, why);

    float *in = malloc(sizeof(float) * ours->inputs);
    for (int i = 0; i < ours->inputs; ++i) in[i] = (float)((i * 7919) % 1000) / 1000.f;
    float *a = malloc(sizeof(float) * ours->outputs);
    memcpy(a, network_predict(ours, in), sizeof(float) * ours->outputs);
    float *b = network_predict(stock, in);
    for (int i = 0; i < ours->n; ++i) {
        const layer *x = &ours->layers[i], *y = &stock->layers[i];
        double d = abc_test_max_rel_diff(x->output, y->output, (size_t)x->outputs * x->batch);
        ck_assert_msg(d <= 1e-4, "%s layer %d: relative difference %g", src, i, d);
    }
    double d = abc_test_max_abs_diff(a, b, (size_t)ours->outputs);
    double mag = 0;
    for (int i = 0; i < ours->outputs; ++i) mag = b[i] > mag ? b[i] : (-b[i] > mag ? -b[i] : mag);
    ck_assert_msg(mag > 0, "%s: all-zero output proves nothing", src);
    ck_assert_msg(d <= 1e-4 * (mag > 1 ? mag : 1), "%s: max |ours - stock| = %g (outputs up to %g)", src, d, mag);
    fprintf(stderr, "stock_cfgs: %s forward: max |ours - stock| = %g (outputs up to %g)\n", forward_cfgs[_i], d, mag);
    free(in); free(a);
    free_network(ours);
    free_network(stock);
    unlink(w);
    free(w); free(cfg); free(src);
}
END_TEST

/* ---- every Debian cfg converts to a binary model that loads, runs and packs ---- */

enum { CONV_OK = 0, CONV_FAIL = 1, CONV_NO_STOCK = 77, CONV_NOTHING = 78 };

/* In a child: libdarknet's own random weights for cfg, written by its own writer; weights convert -to abc33; the
 * converted model's forward (finite outputs), packed and reloaded (the same outputs, bit for bit). */
static int convert_one(const char *cfg, const char *dir, int k)
{
    char w[4200], out[4200], ocfg[4300], ow[4300], pk[4300];
    snprintf(w, sizeof w, "%s/conv%d.weights", dir, k);
    snprintf(out, sizeof out, "%s/conv%d-abc33", dir, k);
    snprintf(ocfg, sizeof ocfg, "%s.cfg", out);
    snprintf(ow, sizeof ow, "%s.weights", out);
    snprintf(pk, sizeof pk, "%s.abcw", out);
    pid_t pid = fork();
    if (pid == 0) { /* the stock parser may abort on some cfgs: in its own process */
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        network *st = abc_test_stock_parse(cfg);
        abc_test_stock_save(st, w, st->n);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) return CONV_NO_STOCK;
    abc_run_result r = abc_test_darknetf("weights convert %s %s -to abc33 -out %s", cfg, w, out);
    int nothing = r.status != 0 && strstr(r.out, "nothing to convert");
    if (r.status && !nothing) fprintf(stderr, "stock_cfgs: convert %s failed:\n%s\n", cfg, r.out);
    abc_run_free(&r);
    if (nothing) return CONV_NOTHING;
    if (access(ow, F_OK)) return CONV_FAIL;
    /* the float model first: some of Debian's heads turn random weights into inf or NaN by themselves */
    network *flt = load_network((char *)cfg, w, 0);
    set_batch_network(flt, 1);
    flt->train = 0;
    float *fin = malloc(sizeof(float) * flt->inputs);
    for (int i = 0; i < flt->inputs; ++i) fin[i] = (float)((i * 7919) % 1000) / 1000.f;
    float *fo = abc_network_predict(flt, fin);
    int fbad = 0;
    for (int i = 0; i < flt->outputs; ++i) fbad += !isfinite(fo[i]);
    free(fin);
    free_network(flt);
    network *net = load_network(ocfg, ow, 0);
    set_batch_network(net, 1);
    net->train = 0;
    float *in = malloc(sizeof(float) * net->inputs), *a = malloc(sizeof(float) * net->outputs);
    for (int i = 0; i < net->inputs; ++i) in[i] = (float)((i * 7919) % 1000) / 1000.f;
    memcpy(a, abc_network_predict(net, in), sizeof(float) * net->outputs);
    int bad = 0;
    for (int i = 0; i < net->outputs; ++i) bad += !isfinite(a[i]);
    abc_packfile_save(net, pk, 0);
    network *back = load_network(ocfg, pk, 0);
    set_batch_network(back, 1);
    back->train = 0;
    float *b = abc_network_predict(back, in);
    int differ = 0;
    for (int i = 0; i < net->outputs; ++i) differ += memcmp(&a[i], &b[i], sizeof *a) != 0;
    if (bad > fbad || differ)
        fprintf(stderr, "stock_cfgs: %s converted: %d outputs not finite (the float model: %d), %d differ once "
                "packed\n", cfg, bad, fbad, differ);
    else if (bad)
        fprintf(stderr, "stock_cfgs: %s: %d outputs not finite, as in the float model with these random weights\n",
                cfg, bad);
    free(in), free(a);
    free_network(back), free_network(net);
    unlink(w), unlink(ocfg), unlink(ow), unlink(pk);
    return bad > fbad || differ ? CONV_FAIL : CONV_OK;
}

START_TEST(debian_cfgs_convert_run_and_pack)
{
    FILE *p = popen("dpkg -L darknet 2>/dev/null | grep '\\.cfg$' | sort", "r");
    ck_assert_ptr_nonnull(p);
    char line[4096];
    int n[79] = {0}, k = 0;
    char failed[8192] = "";
    /* under the sanitizers (several times slower) every fourth cfg, still every kind of layer */
#if defined(__SANITIZE_ADDRESS__)
    const int step = 4;
#else
    const int step = 1;
#endif
    for (int seen = 0; fgets(line, sizeof line, p); ++seen) {
        if (seen % step) continue;
        line[strcspn(line, "\n")] = 0;
        char *cfg = small_copy(line, 1);
        pid_t pid = fork(); /* each model in its own process: one crash names its cfg */
        if (pid == 0) _exit(convert_one(cfg, abc_test_tmpdir(), k));
        int status, rc = CONV_FAIL;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status)) rc = WEXITSTATUS(status);
        rc = rc == CONV_OK || rc == CONV_NO_STOCK || rc == CONV_NOTHING ? rc : CONV_FAIL;
        ++n[rc];
        if (rc == CONV_FAIL) {
            size_t used = strlen(failed);
            snprintf(failed + used, sizeof failed - used, " %.200s", line);
        }
        unlink(cfg);
        free(cfg);
        ++k;
    }
    pclose(p);
    fprintf(stderr, "stock_cfgs: %d Debian cfgs converted to abc33, ran and packed; %d with nothing to convert, %d the "
            "stock parser cannot build\n", n[CONV_OK], n[CONV_NOTHING], n[CONV_NO_STOCK]);
    ck_assert_msg(n[CONV_FAIL] == 0, "%d cfg(s) failed:%s", n[CONV_FAIL], failed);
    ck_assert_msg(n[CONV_OK] >= 25 / step, "only %d Debian cfgs converted", n[CONV_OK]);
}
END_TEST

static Suite *suite_stock_cfgs(void)
{
    Suite *s = suite_create("stock_cfgs");
    TCase *tc = tcase_create("debian");
    const char *all = getenv("ABC_TEST_ALL_CFGS");
    tcase_set_timeout(tc, all && *all && strcmp(all, "0") ? 1800 : 300);
    tcase_add_test(tc, debian_cfgs_parse_like_stock);
    tcase_add_test(tc, repeated_key_same_value_accepted_different_refused);
    tcase_add_test(tc, debian_cfgs_convert_run_and_pack);
    tcase_add_loop_test(tc, small_debian_cfgs_forward_like_stock, 0, N_FORWARD);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_stock_cfgs)
