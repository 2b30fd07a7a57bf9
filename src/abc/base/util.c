#include "util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int stderr_midline;

void abc_stderr_midline(int on) { stderr_midline = on; }

/* A message must start its own line even when a layer summary is half printed. */
static void start_line(void)
{
    fflush(stdout);
    if (stderr_midline) fputc('\n', stderr);
    stderr_midline = 0;
}

enum { CLEANUPS_MAX = 64 };
static _Thread_local struct {
    abc_cleanup_fn fn;
    void *arg;
} cleanups[CLEANUPS_MAX];
static _Thread_local int n_cleanups;
static void (*die_handler)(const char *message);

void abc_cleanup_push(abc_cleanup_fn fn, void *arg)
{
    if (n_cleanups == CLEANUPS_MAX) abc_die("internal error: more than %d cleanups pushed", CLEANUPS_MAX);
    cleanups[n_cleanups].fn = fn;
    cleanups[n_cleanups++].arg = arg;
}

void abc_cleanup_pop(void *arg)
{
    if (!n_cleanups || cleanups[n_cleanups - 1].arg != arg) {
        n_cleanups = 0;
        abc_die("internal error: a cleanup popped out of order");
    }
    --n_cleanups;
}

void abc_cleanup_fclose(void *fp) { fclose(fp); }

void abc_die_set_handler(void (*handler)(const char *message))
{
    die_handler = handler;
    n_cleanups = 0;
}

void abc_die(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    start_line();
    fprintf(stderr, "darknet: error: %s\n", msg);
    if (die_handler) {
        while (n_cleanups > 0) {
            --n_cleanups;
            cleanups[n_cleanups].fn(cleanups[n_cleanups].arg);
        }
        die_handler(msg);
    }
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

double abc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int abc_err(char *err, size_t errn, const char *fmt, ...)
{
    if (err && errn) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errn, fmt, ap);
        va_end(ap);
    }
    return -1;
}
