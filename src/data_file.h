/* darknet's .data files (classes, train, valid, labels or names, backup,
 * top) and the text lists they name. */
#ifndef ABC_DATA_FILE_H
#define ABC_DATA_FILE_H

/* The longest line of a .data file, an image list or a stdin list: a path (PATH_MAX) */
#define ABC_LIST_LINE_MAX 4096

typedef struct {
    char *path;     /* the .data file */
    int classes;
    char *train;    /* list files (NULL if missing) */
    char *valid;
    char *labels;   /* labels= (classifier) or names= (detector) */
    char *backup;   /* directory, default "backup" */
    int top;        /* top-k reported by valid/predict, default 1 (.data `top=`) */
} abc_data_cfg;

typedef struct {
    char **v;
    int n;
} abc_strs;

/* Reads a darknet .data file (key=value lines, # comments). Dies on a
 * missing file, a malformed line or a bad classes/top value; keys a
 * command needs are checked by the command. */
abc_data_cfg abc_data_cfg_read(const char *path);
void abc_data_cfg_free(abc_data_cfg *d);

/* Non-empty lines of a text file, trimmed. what: "labels", "list" (messages). */
abc_strs abc_read_lines(const char *path, const char *what);

/* Calls each(ctx, path) for every non-blank line of stdin (blanks trimmed);
 * a line longer than ABC_LIST_LINE_MAX or holding a NUL byte ends the
 * program with one error line naming its number (quoting none of it). */
void abc_each_stdin_path(void (*each)(void *ctx, const char *path), void *ctx);
void abc_strs_free(abc_strs *s);

/* The image list under key ("train" or "valid") of d: non-empty lines, each a regular file holding an image
 * that decodes whole (image_check.h). limit > 0: only its first limit images are kept and checked; *listed
 * (if not NULL) gets the list's length. Bad images are listed on stderr, then one error line names the list,
 * their number and the first; unless abc_skip_bad_images(1) was called: then they are left out, with a
 * warning. */
abc_strs abc_image_list_load(const abc_data_cfg *d, const char *key, int limit, int *listed);
void abc_skip_bad_images(int skip);

/* Dies with one line naming the file unless it holds an image that decodes whole (image_check.h). */
void abc_check_image_file(const char *path);

#endif
