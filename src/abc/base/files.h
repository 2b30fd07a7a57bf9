/* Files: atomic output, existence, mkdir -p. */
#ifndef ABC_FILES_H
#define ABC_FILES_H

#include <stdio.h>

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

/* Opens a text input (cfg, .data, list, labels) for reading; dies with one
 * line naming `what` and the path if it cannot be opened or is a directory. */
FILE *abc_open_text(const char *path, const char *what);

/* getline with a bound: the next line (newline kept) into *buf; returns its
 * length, -1 at the end of the file, or ABC_LINE_TOO_LONG once a line passes
 * max bytes (what was read of it is dropped). A file without newlines, such
 * as /dev/zero, is thus never read whole into memory. */
#define ABC_LINE_TOO_LONG (-2)
long abc_read_line(FILE *fp, char **buf, size_t *cap, size_t max);

/* A text input (cfg, .data, list, labels) read line by line with a bound, and what its reader builds from it:
 * should the reader die midway under a die handler (util.h), the file, the line and the built object are freed
 * (free_owned(owned); owned is the address of the reader's variable, so that it may be realloc'd). */
typedef struct {
    FILE *fp;
    const char *path, *what;
    char *line;
    size_t cap;
    int lineno;
    void (*free_owned)(void *owned);
    void *owned;
} abc_text_in;
void abc_text_open(abc_text_in *t, const char *path, const char *what, void (*free_owned)(void *), void *owned);
/* The next line into t->line (t->lineno counts them): its length, -1 at the end, or ABC_LINE_TOO_LONG. A read
 * error dies naming the file. */
long abc_text_next(abc_text_in *t, size_t max);
/* Closes the file; the built object is the caller's again. */
void abc_text_close(abc_text_in *t);
/* A free_owned for a malloc'd array: owned is the address of its pointer. */
void abc_free_indirect(void *owned);
/* mkdir -p; returns 0 on success */
int abc_mkdirs(const char *path);

/* An exclusive lock held while the process lives: opens (creating) path and
 * flocks it without waiting, then writes our pid into it. Returns the file
 * descriptor (close it to release), or -1 with errno set; EWOULDBLOCK: held by
 * another process, whose pid is then in *holder (0 if unknown). */
int abc_lock_file(const char *path, long *holder);

/* 0 if a file can be created and removed in dir; -1 with errno otherwise. */
int abc_dir_writable(const char *dir);

#endif
