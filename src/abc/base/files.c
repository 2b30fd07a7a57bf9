/* Files: atomic writes (a temporary file renamed over the target, removed if
 * a signal ends the process first), existence, mkdir -p. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Temp files of atomic writes in progress, removed if a signal or an exit (abc_die) ends us first. */
#define ABC_MAX_PENDING 64
static char *volatile pending_tmp[ABC_MAX_PENDING];
static pid_t pending_owner; /* a forked child's exit must not remove the writer's files */

static void remove_pending(void)
{
    if (getpid() != pending_owner) return;
    for (int i = 0; i < ABC_MAX_PENDING; ++i)
        if (pending_tmp[i]) unlink(pending_tmp[i]);
}

static void remove_pending_and_reraise(int sig)
{
    remove_pending();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void track_pending(char *tmp, int add)
{
    static int handlers_installed;
    if (!handlers_installed) {
        handlers_installed = 1;
        pending_owner = getpid();
        atexit(remove_pending);
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
    if (add) abc_die("more than %d files being written at once", ABC_MAX_PENDING);
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

FILE *abc_open_text(const char *path, const char *what)
{
    FILE *fp = fopen(path, "r");
    if (!fp) abc_die("cannot open %s '%s': %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        abc_die("%s '%s' is a directory", what, path);
    }
    return fp;
}

static void text_in_free(void *arg)
{
    abc_text_in *t = arg;
    fclose(t->fp);
    free(t->line);
    if (t->free_owned) t->free_owned(t->owned);
}

void abc_text_open(abc_text_in *t, const char *path, const char *what, void (*free_owned)(void *), void *owned)
{
    abc_text_in o = {abc_open_text(path, what), path, what, NULL, 0, 0, free_owned, owned};
    *t = o;
    abc_cleanup_push(text_in_free, t);
}

long abc_text_next(abc_text_in *t, size_t max)
{
    long n = abc_read_line(t->fp, &t->line, &t->cap, max);
    if (n == -1 && ferror(t->fp)) abc_die("cannot read %s '%s': %s", t->what, t->path, strerror(errno));
    if (n != -1) ++t->lineno;
    return n;
}

void abc_text_close(abc_text_in *t)
{
    abc_cleanup_pop(t);
    fclose(t->fp);
    free(t->line);
    t->fp = NULL;
    t->line = NULL;
}

void abc_free_indirect(void *owned)
{
    free(*(void **)owned);
    *(void **)owned = NULL;
}

long abc_read_line(FILE *fp, char **buf, size_t *cap, size_t max)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(fp)) != EOF) {
        if (n >= max && c != '\n') return ABC_LINE_TOO_LONG;
        if (n + 2 > *cap) {
            size_t want = *cap ? 2 * *cap : 256;
            char *b = realloc(*buf, want);
            if (!b) abc_die("out of memory reading a line");
            *buf = b;
            *cap = want;
        }
        (*buf)[n++] = (char)c;
        if (c == '\n') break;
    }
    if (n == 0 && c == EOF) return -1;
    (*buf)[n] = 0;
    return (long)n;
}

int abc_lock_file(const char *path, long *holder)
{
    *holder = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char buf[32] = {0};
        if (pread(fd, buf, sizeof buf - 1, 0) > 0) *holder = strtol(buf, NULL, 10);
        close(fd);
        errno = e;
        return -1;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int abc_dir_writable(const char *dir)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/.write-check.%ld", dir, (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    close(fd);
    return unlink(path);
}
