#include "dataset_dir.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abc/base/files.h"
#include "abc/base/util.h"

#define STAMP ".complete"

char *abc_dataset_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) abc_die("out of memory");
    va_end(ap);
    return s;
}

char *abc_dataset_abs(const char *out)
{
    char *copy = abc_xstrdup(out);
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/') copy[--n] = 0;
    char *slash = strrchr(copy, '/');
    const char *parent = slash ? (slash == copy ? "/" : copy) : ".";
    const char *base = slash ? slash + 1 : copy;
    if (slash && slash != copy) *slash = 0;
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) abc_die("-out '%s': name a directory to create", out);
    if (abc_mkdirs(parent)) abc_die("cannot create directory '%s': %s", parent, strerror(errno));
    char real[PATH_MAX];
    if (!realpath(parent, real)) abc_die("cannot resolve '%s': %s", parent, strerror(errno));
    char *abs = abc_dataset_printf("%s/%s", strcmp(real, "/") ? real : "", base);
    free(copy);
    return abs;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void abc_dataset_remove_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Leftovers of runs that were killed: <abs>.tmp.<pid> and <abs>.old.<pid> of dead pids. */
static void remove_stale_temps(const char *abs)
{
    char *dir = abc_xstrdup(abs);
    char *slash = strrchr(dir, '/');
    *slash = 0;
    const char *base = slash + 1;
    size_t bl = strlen(base);
    DIR *d = opendir(*dir ? dir : "/");
    if (!d) {
        free(dir);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, base, bl) || (strncmp(e->d_name + bl, ".tmp.", 5) && strncmp(e->d_name + bl, ".old.", 5)))
            continue;
        long pid = strtol(e->d_name + bl + 5, NULL, 10);
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH)) continue;
        char *p = abc_dataset_printf("%s/%s", dir, e->d_name);
        abc_dataset_remove_tree(p);
        free(p);
    }
    closedir(d);
    free(dir);
}

void abc_dataset_write_text(const char *path, const char *text)
{
    abc_atomic_file f;
    if (abc_atomic_open(&f, path)) abc_die("cannot write '%s': %s", path, strerror(errno));
    fputs(text, f.fp);
    if (abc_atomic_commit(&f)) abc_die("writing '%s' failed (disk full?)", path);
}

char *abc_dataset_read_small(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    char *buf = abc_xcalloc(4096, 1);
    size_t n = fread(buf, 1, 4095, fp);
    buf[n] = 0;
    fclose(fp);
    return buf;
}

void abc_dataset_write_repo_file(const char *path, const char *text)
{
    char *have = abc_dataset_read_small(path);
    if (!have || strcmp(have, text)) {
        char *dir = abc_xstrdup(path), *slash = strrchr(dir, '/');
        if (slash) {
            *slash = 0;
            if (abc_mkdirs(dir)) abc_die("cannot create directory '%s': %s", dir, strerror(errno));
        }
        free(dir);
        abc_dataset_write_text(path, text);
        fprintf(stderr, "wrote %s\n", path);
    }
    free(have);
}

/* The stamp's text: the parameters and where the set was built. */
static char *stamp_text(const char *params, const char *abs) { return abc_dataset_printf("%s dir=%s\n", params, abs); }

int abc_dataset_complete(const char *dir, const char *params)
{
    char real[PATH_MAX];
    if (!realpath(dir, real)) return 0;
    char *path = abc_dataset_printf("%s/" STAMP, real), *have = abc_dataset_read_small(path);
    int ok = 0;
    if (have && params) {
        char *want = stamp_text(params, real);
        ok = !strcmp(have, want);
        free(want);
    } else if (have) { /* any parameters: made at this location */
        char *tail = abc_dataset_printf(" dir=%s\n", real);
        size_t lh = strlen(have), lt = strlen(tail);
        ok = lh >= lt && !strcmp(have + lh - lt, tail);
        free(tail);
    }
    free(have);
    free(path);
    return ok;
}

int abc_dataset_begin(abc_dataset_dir *d, const char *out, const char *params)
{
    memset(d, 0, sizeof *d);
    d->abs = abc_dataset_abs(out);
    remove_stale_temps(d->abs);
    d->stamp = stamp_text(params, d->abs);
    char *stamp_path = abc_dataset_printf("%s/" STAMP, d->abs), *have = abc_dataset_read_small(stamp_path);
    free(stamp_path);
    struct stat st;
    if (have && !strcmp(have, d->stamp)) {
        free(have);
        return 1;
    }
    if (!have && stat(d->abs, &st) == 0)
        abc_die("'%s' exists but is not a data set made by this command: remove it or choose another -out", d->abs);
    d->had_other = have != NULL;
    free(have);
    d->tmp = abc_dataset_printf("%s.tmp.%ld", d->abs, (long)getpid());
    if (abc_mkdirs(d->tmp)) abc_die("cannot create directory '%s': %s", d->tmp, strerror(errno));
    return 0;
}

void abc_dataset_commit(abc_dataset_dir *d)
{
    char *p = abc_dataset_printf("%s/" STAMP, d->tmp);
    abc_dataset_write_text(p, d->stamp);
    free(p);
    char *old = NULL;
    if (d->had_other) { /* a different earlier build is swapped out, then removed */
        old = abc_dataset_printf("%s.old.%ld", d->abs, (long)getpid());
        if (rename(d->abs, old)) abc_die("cannot move '%s' aside: %s", d->abs, strerror(errno));
    }
    if (rename(d->tmp, d->abs)) abc_die("cannot rename '%s' to '%s': %s", d->tmp, d->abs, strerror(errno));
    if (old) abc_dataset_remove_tree(old);
    free(old);
}

void abc_dataset_free(abc_dataset_dir *d)
{
    free(d->abs);
    free(d->tmp);
    free(d->stamp);
    memset(d, 0, sizeof *d);
}
