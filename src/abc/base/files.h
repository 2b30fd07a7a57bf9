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
/* mkdir -p; returns 0 on success */
int abc_mkdirs(const char *path);

#endif
