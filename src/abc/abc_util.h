/* Small helpers shared by the whole project: fatal errors, checked
 * allocation, atomic file writes, thread count. */
#ifndef ABC_UTIL_H
#define ABC_UTIL_H

#include <stddef.h>
#include <stdio.h>

/* Print "darknet: error: <message>" on one line and exit with status 1. */
void abc_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void abc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Set while stderr holds a partial line (a layer summary); errors then begin a new line. */
void abc_stderr_midline(int on);

void *abc_xcalloc(size_t n, size_t size);
void *abc_xmalloc(size_t size);
char *abc_xstrdup(const char *s);

/* Atomic output: write to "<path>.tmp.<pid>", then rename over <path>. */
typedef struct {
    FILE *fp;
    char *path;
    char *tmp;
} abc_atomic_file;
int abc_atomic_open(abc_atomic_file *f, const char *path);
/* Flushes, fsyncs and renames; returns 0 on success. On failure the temp
 * file is removed and the old <path> is left untouched. */
int abc_atomic_commit(abc_atomic_file *f);
void abc_atomic_abort(abc_atomic_file *f);

int abc_file_exists(const char *path);
long long abc_file_size(const char *path);
/* mkdir -p; returns 0 on success */
int abc_mkdirs(const char *path);

/* Threads used by every parallel part of the project (our pool, OpenBLAS). */
void abc_set_threads(int n);
int abc_get_threads(void);
int abc_cpu_count(void);

double abc_now(void);

#endif
