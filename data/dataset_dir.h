/* A generated data set's directory, written all or nothing: the set is
 * built in "<dir>.tmp.<pid>" and renamed into place, with a stamp file that
 * records what was built (its parameters and absolute location; the lists
 * inside hold absolute paths), so that the same request finds it complete and
 * leaves it alone, another request rebuilds it, and a tree copied elsewhere is
 * rebuilt. Leftovers of killed runs are removed. */
#ifndef ABC_DATASET_DIR_H
#define ABC_DATASET_DIR_H

typedef struct {
    char *abs;   /* the directory, absolute */
    char *tmp;   /* where the set is being built */
    char *stamp; /* what the stamp says when complete */
    int had_other; /* abs holds an earlier build with another stamp (swapped out on commit) */
} abc_dataset_dir;

/* For out (parent created if needed) and this set's parameters (one line, e.g. "train=6000 seed=1"):
 * returns 1 if out already holds exactly this set (nothing to do), else 0 with d->tmp created and empty.
 * Dies if out exists but was not made by a data command, or cannot be created. */
int abc_dataset_begin(abc_dataset_dir *d, const char *out, const char *params);
/* Writes the stamp into d->tmp and moves it into place (an earlier build is swapped out and removed). */
void abc_dataset_commit(abc_dataset_dir *d);
void abc_dataset_free(abc_dataset_dir *d);

/* 1 if dir holds a complete set with these parameters, built at this location. */
int abc_dataset_complete(const char *dir, const char *params);

/* The absolute form of out (its parent created and resolved); malloc'd. */
char *abc_dataset_abs(const char *out);
/* A text file written atomically; dies with one line on failure. */
void abc_dataset_write_text(const char *path, const char *text);
/* The first 4 KiB of a file as a string, or NULL. */
char *abc_dataset_read_small(const char *path);
/* Writes a repository .data file (paths relative to the repository root) unless it already says that. */
void abc_dataset_write_repo_file(const char *path, const char *text);
/* A malloc'd printf. */
char *abc_dataset_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* rm -r. */
void abc_dataset_remove_tree(const char *path);

#endif
