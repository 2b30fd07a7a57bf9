#include "abc_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int stderr_midline;

void abc_stderr_midline(int on) { stderr_midline = on; }

/* A message must start its own line even when a layer summary is half printed. */
static void start_line(void)
{
    fflush(stdout);
    if (stderr_midline) fputc('\n', stderr);
    stderr_midline = 0;
}

void abc_die(const char *fmt, ...)
{
    va_list ap;
    start_line();
    fputs("darknet: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void abc_warn(const char *fmt, ...)
{
    va_list ap;
    start_line();
    fputs("darknet: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void *abc_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) abc_die("out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *abc_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) abc_die("out of memory allocating %zu bytes", size);
    return p;
}

char *abc_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = abc_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

/* Temp files of atomic writes in progress, removed if a signal ends us. */
#define ABC_MAX_PENDING 8
static char *volatile pending_tmp[ABC_MAX_PENDING];

static void remove_pending_and_reraise(int sig)
{
    for (int i = 0; i < ABC_MAX_PENDING; ++i)
        if (pending_tmp[i]) unlink(pending_tmp[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void track_pending(char *tmp, int add)
{
    static int handlers_installed;
    if (!handlers_installed) {
        handlers_installed = 1;
        int sigs[] = {SIGINT, SIGTERM, SIGHUP};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; ++i) {
            struct sigaction old;
            sigaction(sigs[i], NULL, &old);
            if (old.sa_handler == SIG_DFL) signal(sigs[i], remove_pending_and_reraise);
        }
    }
    for (int i = 0; i < ABC_MAX_PENDING; ++i) {
        if (add && !pending_tmp[i]) { pending_tmp[i] = tmp; return; }
        if (!add && pending_tmp[i] == tmp) { pending_tmp[i] = NULL; return; }
    }
}

int abc_atomic_open(abc_atomic_file *f, const char *path)
{
    size_t n = strlen(path) + 32;
    f->path = abc_xstrdup(path);
    f->tmp = abc_xmalloc(n);
    snprintf(f->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    f->fp = fopen(f->tmp, "wb");
    if (!f->fp) {
        free(f->path);
        free(f->tmp);
        f->path = f->tmp = NULL;
        return -1;
    }
    track_pending(f->tmp, 1);
    return 0;
}

static void atomic_free(abc_atomic_file *f)
{
    track_pending(f->tmp, 0);
    free(f->path);
    free(f->tmp);
    f->path = f->tmp = NULL;
    f->fp = NULL;
}

void abc_atomic_abort(abc_atomic_file *f)
{
    if (!f->tmp) return;
    if (f->fp) fclose(f->fp);
    unlink(f->tmp);
    atomic_free(f);
}

int abc_atomic_commit(abc_atomic_file *f)
{
    int bad = ferror(f->fp) != 0;
    bad |= fflush(f->fp) != 0;
    bad |= fsync(fileno(f->fp)) != 0;
    bad |= fclose(f->fp) != 0;
    f->fp = NULL;
    if (!bad) bad = rename(f->tmp, f->path) != 0;
    if (bad) unlink(f->tmp);
    atomic_free(f);
    return bad ? -1 : 0;
}

int abc_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

long long abc_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    return (long long)st.st_size;
}

int abc_mkdirs(const char *path)
{
    char *p = abc_xstrdup(path);
    for (char *s = p + 1; *s; ++s) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) { free(p); return -1; }
        *s = '/';
    }
    int r = (mkdir(p, 0755) != 0 && errno != EEXIST) ? -1 : 0;
    struct stat st;
    if (r == 0 && (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))) { /* EEXIST: a file of that name */
        errno = ENOTDIR;
        r = -1;
    }
    free(p);
    return r;
}

static int abc_threads;

int abc_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void openblas_set_num_threads(int num_threads);

void abc_set_threads(int n)
{
    if (n <= 0) n = abc_cpu_count();
    abc_threads = n;
}

int abc_get_threads(void)
{
    if (abc_threads <= 0) {
        const char *env = getenv("ABC_THREADS");
        abc_set_threads(env ? atoi(env) : 0);
    }
    return abc_threads;
}

double abc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
