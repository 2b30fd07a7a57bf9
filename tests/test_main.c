/* Runs every registered Check suite. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "test_util.h"

#define MAX_SUITES 64
static Suite *(*suites[MAX_SUITES])(void);
static const char *suite_names[MAX_SUITES];
static int n_suites;

void abc_test_register(Suite *(*make)(void), const char *name)
{
    if (n_suites == MAX_SUITES) return;
    suite_names[n_suites] = strncmp(name, "suite_", 6) ? name : name + 6;
    suites[n_suites++] = make;
}

static char tmpdir[4096];
static pid_t tmpdir_owner;

static void remove_tmpdir(void)
{
    /* a child forked by a test inherits the handler: only the creator removes */
    if (!tmpdir[0] || getpid() != tmpdir_owner || getenv("ABC_KEEP_TMP")) return;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

const char *abc_test_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/abc-tests-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) { perror("mkdtemp"); exit(2); }
        tmpdir_owner = getpid();
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

char *abc_test_write(const char *dir, const char *name, const char *text)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    snprintf(path, n, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    ck_assert_msg(fp != NULL, "cannot write %s", path);
    fputs(text, fp);
    fclose(fp);
    return path;
}

char *abc_test_slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    char *t = malloc((size_t)n + 1);
    ck_assert(fread(t, 1, (size_t)n, fp) == (size_t)n);
    t[n] = 0;
    fclose(fp);
    return t;
}

const void *abc_test_use_kernel(abc_kernel_family *f, int i)
{
    const abc_kernel_desc *d = abc_kernel_at(f, i);
    if (!abc_kernel_usable(d)) {
        fprintf(stderr, "%s kernel %s skipped: this CPU cannot run it\n", f->what, d->name);
        return NULL;
    }
    abc_kernel_set(f, d);
    return d;
}

const char *abc_test_darknet_path(void)
{
    const char *p = getenv("ABC_DARKNET");
    return p && *p ? p : "../darknet";
}

abc_run_result abc_test_run(const char *cmdline)
{
    abc_run_result r = {-1, 0, NULL};
    char *full;
    if (asprintf(&full, "%s 2>&1 </dev/null", cmdline) < 0) return r;
    FILE *p = popen(full, "r");
    free(full);
    if (!p) return r;
    size_t cap = 4096, len = 0;
    r.out = malloc(cap);
    size_t got;
    while ((got = fread(r.out + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 2) r.out = realloc(r.out, cap *= 2);
    }
    r.out[len] = 0;
    int st = pclose(p);
    /* sh reports a child killed by a signal as 128+N */
    if (WIFEXITED(st)) {
        r.status = WEXITSTATUS(st);
        if (r.status > 128 && r.status < 128 + 32) r.signal = r.status - 128;
    } else if (WIFSIGNALED(st)) {
        r.signal = WTERMSIG(st);
    }
    return r;
}

abc_run_result abc_test_run_darknet(const char *args)
{
    char *cmd;
    if (asprintf(&cmd, "%s %s", abc_test_darknet_path(), args) < 0) {
        abc_run_result r = {-1, 0, NULL};
        return r;
    }
    abc_run_result r = abc_test_run(cmd);
    free(cmd);
    return r;
}

char *abc_test_pathf(const char *dir, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *name, *p;
    if (vasprintf(&name, fmt, ap) < 0) abort();
    va_end(ap);
    if (asprintf(&p, "%s/%s", dir, name) < 0) abort();
    free(name);
    return p;
}

abc_run_result abc_test_runf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd;
    if (vasprintf(&cmd, fmt, ap) < 0) abort();
    va_end(ap);
    abc_run_result r = abc_test_run(cmd);
    free(cmd);
    return r;
}

abc_run_result abc_test_darknetf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *args;
    if (vasprintf(&args, fmt, ap) < 0) abort();
    va_end(ap);
    abc_run_result r = abc_test_run_darknet(args);
    free(args);
    return r;
}

pid_t abc_test_start_darknet(const char *log, const char *const *words)
{
    pid_t pid = fork();
    if (pid < 0) abort();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        char *argv[16] = {"darknet"};
        for (int i = 0; words[i] && i < 14; ++i) argv[i + 1] = (char *)words[i];
        execv(abc_test_darknet_path(), argv);
        _exit(127);
    }
    return pid;
}

void abc_test_kill_after_checkpoint(const char *log, const char *const *words, const char *ckpt)
{
    pid_t pid = abc_test_start_darknet(log, words);
    for (int i = 0; i < 3000 && access(ckpt, F_OK) != 0; ++i) usleep(20000);
    unsigned seed = (unsigned)getpid();
    usleep((useconds_t)(rand_r(&seed) % 300000));
    kill(pid, SIGKILL);
    int st;
    ck_assert(waitpid(pid, &st, 0) == pid);
    ck_assert_msg(WIFSIGNALED(st) && access(ckpt, F_OK) == 0, "not killed after its checkpoint %s:\n%s", ckpt,
                  abc_test_slurp(log));
}

int abc_test_wait_for_line(const char *log, const char *prefix, pid_t pid, int seconds)
{
    /* the sanitizer build runs several times slower: make test-san scales Check's timeouts, and this one too */
    const char *mult = getenv("CK_TIMEOUT_MULTIPLIER");
    if (mult && atoi(mult) > 1) seconds *= atoi(mult);
    for (int i = 0; i < 20 * seconds; ++i) {
        usleep(50000);
        FILE *fp = fopen(log, "r");
        if (!fp) continue;
        char line[512];
        int found = 0;
        while (!found && fgets(line, sizeof line, fp)) found = !strncmp(line, prefix, strlen(prefix));
        fclose(fp);
        if (found) return 1;
        if (waitpid(pid, NULL, WNOHANG) == pid) return 0;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}

void abc_run_free(abc_run_result *r)
{
    free(r->out);
    r->out = NULL;
}

int abc_test_count_lines(const char *s)
{
    int n = 0, in_line = 0;
    for (; *s; ++s) {
        if (*s == '\n') { n += in_line; in_line = 0; }
        else if (*s != '\r' && *s != ' ') in_line = 1;
    }
    return n + in_line;
}

/* With ABC_TEST_LOG set (make test sets it), everything the suites and the
 * programs they run print goes to that file, and the terminal gets one line
 * per suite, the failures in full, and a summary. Without it, Check's own
 * output as usual. */
static int report_fd = -1;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    for (ssize_t done = 0, w; done < n; done += w)
        if ((w = write(report_fd, buf + done, (size_t)(n - done))) <= 0) return;
}

static int run_quiet(const char *log)
{
    fflush(stdout);
    fflush(stderr);
    report_fd = dup(1);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (report_fd < 0 || fd < 0) { perror(log); return 2; }
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int checks = 0, failures = 0;
    /* the failures again after the summary: CI shows only the end of what ran */
    char failed_list[4096] = "";
    size_t listed = 0;
    double t0 = abc_now();
    for (int i = 0; i < n_suites; ++i) {
        SRunner *sr = srunner_create(suites[i]());
        double ts = abc_now();
        srunner_run_all(sr, CK_VERBOSE);
        int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
        if (run > 0) {
            TestResult **tr = srunner_failures(sr);
            report("  %-16s %4d checks  %s %6.1f s\n", suite_names[i], run, failed ? "FAILED" : "ok    ",
                   abc_now() - ts);
            for (int f = 0; f < failed; ++f) {
                report("    %s:%d: %s: %s\n", tr_lfile(tr[f]), tr_lno(tr[f]), tr_tcname(tr[f]), tr_msg(tr[f]));
                if (listed < sizeof failed_list - 1) {
                    int n = snprintf(failed_list + listed, sizeof failed_list - listed, "  failed: %s: %s:%d: %.300s\n",
                                     suite_names[i], tr_lfile(tr[f]), tr_lno(tr[f]), tr_msg(tr[f]));
                    if (n > 0) listed += (size_t)n;
                    if (listed >= sizeof failed_list) listed = sizeof failed_list - 1;
                }
            }
            free(tr);
        }
        checks += run;
        failures += failed;
        srunner_free(sr);
    }
    report("%s%d checks, %d failed, in %.0f s; everything the tests printed is in %s\n", failed_list, checks,
           failures, abc_now() - t0, log);
    return failures ? 1 : 0;
}

int main(void)
{
    const char *worker = getenv("ABC_TEST_DIST_WORKER"); /* a rank of test_dist.c's 2-rank runs */
    if (worker) return abc_test_dist_worker(worker);
    if (n_suites == 0) { fprintf(stderr, "no test suites registered\n"); return 1; }
    const char *log = getenv("ABC_TEST_LOG");
    if (log && *log) return run_quiet(log);
    SRunner *sr = srunner_create(suites[0]());
    for (int i = 1; i < n_suites; ++i) srunner_add_suite(sr, suites[i]());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

/* The single "darknet: error:" line of out (malloc'd), or NULL if not one. */
static char *single_error_line(const char *out, int *count)
{
    *count = 0;
    char *found = NULL;
    for (const char *p = out; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (!strncmp(p, "darknet: error:", 15)) {
            ++*count;
            free(found);
            found = strndup(p, n);
        }
        p = nl ? nl + 1 : NULL;
    }
    if (*count != 1) { free(found); return NULL; }
    return found;
}

/* Asserts a clean failure naming path and every expected substring. */
void abc_test_expect_one_error(const char *what, const abc_run_result *r, const char *path, const char *const *expect,
                               int n_expect)
{
    ck_assert_msg(r->out != NULL, "%s: could not run", what);
    ck_assert_msg(r->signal == 0, "%s: killed by signal %d:\n%s", what, r->signal, r->out);
    ck_assert_msg(r->status != 0, "%s: exit status 0:\n%s", what, r->out);
    int count;
    char *line = single_error_line(r->out, &count);
    ck_assert_msg(line != NULL, "%s: %d 'darknet: error:' lines (want 1):\n%s", what, count, r->out);
    ck_assert_msg(!path || strstr(line, path), "%s: error does not name %s: %s", what, path, line);
    for (int i = 0; i < n_expect && expect[i]; ++i)
        ck_assert_msg(strstr(line, expect[i]) != NULL, "%s: error lacks '%s': %s", what, expect[i], line);
    free(line);
}

abc_run_result abc_test_check_cfg(const char *name, const char *text, char **path)
{
    *path = abc_test_write(abc_test_tmpdir(), name, text);
    char args[4096];
    snprintf(args, sizeof args, "abc check %s", *path);
    return abc_test_run_darknet(args);
}

/* x rounded to bf16 as VCVTNEPS2BF16 does: nearest even, denormals to zero, NaN kept quiet. */
float abc_test_bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0) u &= 0x80000000u;
    else if ((u & 0x7fffffffu) > 0x7f800000u) u |= 0x00400000u;
    else u += 0x7fffu + ((u >> 16) & 1);
    u &= 0xffff0000u;
    memcpy(&x, &u, 4);
    return x;
}

void abc_test_direct_conv(const layer *l, const float *a, const float *w, float *out)
{
    for (int b = 0; b < l->batch; ++b)
        for (int f = 0; f < l->n; ++f)
            for (int oy = 0; oy < l->out_h; ++oy)
                for (int ox = 0; ox < l->out_w; ++ox) {
                    double s = 0;
                    for (int c = 0; c < l->c; ++c)
                        for (int ky = 0; ky < l->size; ++ky)
                            for (int kx = 0; kx < l->size; ++kx) {
                                int iy = oy * l->stride - l->pad + ky, ix = ox * l->stride - l->pad + kx;
                                if (iy < 0 || ix < 0 || iy >= l->h || ix >= l->w) continue;
                                s += w[((f * l->c + c) * l->size + ky) * l->size + kx] *
                                     a[(size_t)b * l->inputs + (c * l->h + iy) * l->w + ix];
                            }
                    out[(size_t)b * l->outputs + (f * l->out_h + oy) * l->out_w + ox] = (float)s + l->biases[f];
                }
}

double abc_test_loss(const layer *l, network net, const float *g)
{
    l->forward(*l, net);
    double s = 0;
    for (int i = 0; i < l->batch * l->outputs; ++i) s += (double)g[i] * l->output[i];
    return s;
}

double abc_test_fd(const layer *l, network net, const float *g, float *p, float eps)
{
    float keep = *p;
    *p = keep + eps;
    double a = abc_test_loss(l, net, g);
    *p = keep - eps;
    double b = abc_test_loss(l, net, g);
    *p = keep;
    return (a - b) / (2 * eps);
}

float abc_test_urand(unsigned *seed, float lo, float hi) { return lo + (hi - lo) * (float)rand_r(seed) / (float)RAND_MAX; }

void abc_test_fill_conv_params(layer *l, unsigned *seed)
{
    for (int i = 0; i < l->nweights; ++i) l->weights[i] = abc_test_urand(seed, -0.5f, 0.5f);
    for (int i = 0; i < l->n; ++i) l->biases[i] = abc_test_urand(seed, -0.5f, 0.5f);
    if (l->batch_normalize)
        for (int i = 0; i < l->n; ++i) {
            l->scales[i] = abc_test_urand(seed, 0.5f, 1.5f);
            l->rolling_mean[i] = abc_test_urand(seed, -0.5f, 0.5f);
            l->rolling_variance[i] = abc_test_urand(seed, 0.5f, 2.f);
        }
}

network abc_test_layer_net(const layer *l, int batch, unsigned *seed)
{
    network net;
    memset(&net, 0, sizeof net);
    net.batch = batch;
    net.train = 1;
    net.input = calloc((size_t)batch * l->inputs, sizeof(float));
    net.delta = calloc((size_t)batch * l->inputs, sizeof(float));
    net.workspace = calloc(l->workspace_size / sizeof(float) + 1, sizeof(float));
    for (int i = 0; i < batch * l->inputs; ++i) net.input[i] = abc_test_urand(seed, -2.f, 2.f);
    return net;
}

void abc_test_layer_net_free(network *net)
{
    free(net->input);
    free(net->delta);
    free(net->workspace);
}
