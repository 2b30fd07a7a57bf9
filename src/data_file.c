/* darknet's .data files and the text lists they name, read with the checks
 * libdarknet does not make (it exits, or crashes, on bad ones). */
#include "data_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "abc/base/files.h"
#include "abc/base/util.h"
#include "abc/kernels/pool.h"
#include "image_check.h"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) ++s;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

static void strs_free_owned(void *owned) { abc_strs_free(owned); }

abc_strs abc_read_lines(const char *path, const char *what)
{
    abc_strs s = {NULL, 0};
    char w[64];
    snprintf(w, sizeof w, "%s file", what);
    abc_text_in in;
    abc_text_open(&in, path, w, strs_free_owned, &s);
    int cap = 0;
    long got;
    while ((got = abc_text_next(&in, ABC_LIST_LINE_MAX)) != -1) {
        if (got == ABC_LINE_TOO_LONG)
            abc_die("%s file '%s' line %d: longer than %d bytes (not a list of paths?)", what, path, in.lineno,
                    ABC_LIST_LINE_MAX);
        if (memchr(in.line, 0, (size_t)got))
            abc_die("%s file '%s' line %d: NUL byte (binary file?)", what, path, in.lineno);
        char *t = trim(in.line);
        if (!*t) continue;
        if (s.n == cap) {
            cap = cap ? 2 * cap : 256;
            char **v = realloc(s.v, (size_t)cap * sizeof *s.v);
            if (!v) abc_die("out of memory reading '%s'", path);
            s.v = v;
        }
        s.v[s.n++] = abc_xstrdup(t);
    }
    abc_text_close(&in);
    return s;
}

void abc_each_stdin_path(void (*each)(void *ctx, const char *path), void *ctx)
{
    char *line = NULL;
    size_t cap = 0;
    long got;
    for (int lineno = 1; (got = abc_read_line(stdin, &line, &cap, ABC_LIST_LINE_MAX)) != -1; ++lineno) {
        if (got == ABC_LINE_TOO_LONG)
            abc_die("stdin line %d: longer than %d bytes (expected one image path a line)", lineno, ABC_LIST_LINE_MAX);
        if (memchr(line, 0, (size_t)got)) abc_die("stdin line %d: NUL byte (expected one image path a line)", lineno);
        char *t = trim(line);
        if (*t) each(ctx, t);
    }
    free(line);
}

void abc_strs_free(abc_strs *s)
{
    for (int i = 0; i < s->n; ++i) free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int parse_int(const char *v, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < min || x > max) return -1;
    *out = (int)x;
    return 0;
}

/* The keys read here, one bit each (labels= and names= are one key); 0 for others. */
static unsigned key_bit(const char *k)
{
    static const char *const keys[] = {"classes", "top", "train", "valid", "labels", "backup"};
    if (!strcmp(k, "names")) k = "labels";
    for (unsigned i = 0; i < sizeof keys / sizeof *keys; ++i)
        if (!strcmp(k, keys[i])) return 1u << i;
    return 0;
}

static void data_cfg_free_owned(void *owned) { abc_data_cfg_free(owned); }

abc_data_cfg abc_data_cfg_read(const char *path)
{
    abc_data_cfg d = {0};
    abc_text_in in;
    abc_text_open(&in, path, "data file", data_cfg_free_owned, &d);
    d.path = abc_xstrdup(path);
    d.classes = -1;
    d.top = 1;
    long got;
    unsigned seen_keys = 0;
    while ((got = abc_text_next(&in, ABC_LIST_LINE_MAX)) != -1) {
        int lineno = in.lineno;
        if (got == ABC_LINE_TOO_LONG)
            abc_die("%s:%d: a line longer than %d bytes (not a .data file?)", path, lineno, ABC_LIST_LINE_MAX);
        if (memchr(in.line, 0, (size_t)got)) abc_die("%s:%d: NUL byte (not a .data file?)", path, lineno);
        char *t = trim(in.line);
        if (!*t || *t == '#' || *t == ';') continue;
        char *eq = strchr(t, '=');
        if (!eq) abc_die("%s:%d: expected key=value, got '%.60s'", path, lineno, t);
        *eq = 0;
        char *k = trim(t), *v = trim(eq + 1);
        if (!*v) abc_die("%s:%d: key '%s' has no value", path, lineno, k);
        unsigned bit = key_bit(k);
        if (bit & seen_keys) abc_die("%s:%d: key '%s' given twice", path, lineno, k);
        seen_keys |= bit;
        if (!strcmp(k, "classes")) {
            if (parse_int(v, 1, 1 << 20, &d.classes)) abc_die("%s:%d: classes: '%s' is not a positive number", path, lineno, v);
        } else if (!strcmp(k, "top")) {
            if (parse_int(v, 1, 1 << 20, &d.top)) abc_die("%s:%d: top: '%s' is not a positive number", path, lineno, v);
        } else if (!strcmp(k, "train")) {
            free(d.train), d.train = abc_xstrdup(v);
        } else if (!strcmp(k, "valid")) {
            free(d.valid), d.valid = abc_xstrdup(v);
        } else if (!strcmp(k, "labels") || !strcmp(k, "names")) {
            free(d.labels), d.labels = abc_xstrdup(v);
        } else if (!strcmp(k, "backup")) {
            free(d.backup), d.backup = abc_xstrdup(v);
        } /* other darknet keys (eval, tree, results...) are not used here */
    }
    if (d.classes < 0) abc_die("data file '%s': missing key 'classes'", path);
    abc_text_close(&in);
    if (!d.backup) d.backup = abc_xstrdup("backup");
    if (d.top > d.classes) d.top = d.classes;
    return d;
}

void abc_data_cfg_free(abc_data_cfg *d)
{
    free(d->path);
    free(d->train);
    free(d->valid);
    free(d->labels);
    free(d->backup);
    memset(d, 0, sizeof *d);
}

static int skip_bad;

void abc_skip_bad_images(int skip) { skip_bad = skip; }

/* Why the list entry is no image to train or evaluate on, or NULL. */
static const char *entry_problem(const char *path, char *why, size_t n)
{
    struct stat st;
    errno = 0;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, n, "is missing or unreadable (cannot open: %s)", errno ? strerror(errno) : "not a file");
        return why;
    }
    /* libdarknet trains or evaluates on a black image when it cannot read one */
    return abc_image_problem(path, why, n);
}

#define BAD_LISTED 20
#define CHECK_CHUNK 64

typedef struct {
    char **paths;
    char **why; /* per entry: NULL, or why it cannot be used (malloc'd) */
    int n;
} check_job;

static void check_task(void *ctx, int task, int thread)
{
    (void)thread;
    check_job *j = ctx;
    char why[512];
    for (int i = task * CHECK_CHUNK; i < j->n && i < (task + 1) * CHECK_CHUNK; ++i)
        if (entry_problem(j->paths[i], why, sizeof why)) j->why[i] = abc_xstrdup(why);
}

abc_strs abc_image_list_load(const abc_data_cfg *d, const char *key, int limit, int *listed)
{
    const char *file = !strcmp(key, "train") ? d->train : d->valid;
    if (!file) abc_die("data file '%s': missing key '%s'", d->path, key);
    abc_strs s = abc_read_lines(file, "image list");
    if (s.n == 0) abc_die("image list '%s' (%s= in '%s') is empty", file, key, d->path);
    if (listed) *listed = s.n;
    if (limit > 0 && limit < s.n) {
        for (int i = limit; i < s.n; ++i) free(s.v[i]);
        s.n = limit;
    }
    /* every image decoded (thousands for a data set): on the pool's threads */
    check_job j = {s.v, abc_xcalloc((size_t)s.n, sizeof(char *)), s.n};
    abc_pool_run((s.n + CHECK_CHUNK - 1) / CHECK_CHUNK, check_task, &j);
    int bad = 0, kept = 0, first = -1;
    char first_why[4700] = "";
    for (int i = 0; i < s.n; ++i) {
        if (!j.why[i]) {
            s.v[kept++] = s.v[i];
            continue;
        }
        if (bad < BAD_LISTED) fprintf(stderr, "bad image: %s, image %d: '%s' %s\n", file, i + 1, s.v[i], j.why[i]);
        if (first < 0) first = i, snprintf(first_why, sizeof first_why, "'%s' %s", s.v[i], j.why[i]);
        free(s.v[i]);
        free(j.why[i]);
        ++bad;
    }
    free(j.why);
    if (bad && !skip_bad)
        abc_die("image list '%s': %d of %d images cannot be used (image %d, %s)%s", file, bad, s.n, first + 1,
                first_why, !strcmp(key, "train") ? "; fix or remove them, or give -skip_bad_images" : "");
    if (bad) {
        fprintf(stderr, "darknet: warning: image list '%s': %d of %d images left out (-skip_bad_images)\n", file,
                bad, s.n);
        s.n = kept;
        if (s.n == 0) abc_die("image list '%s': no usable image left", file);
        if (listed) *listed -= bad;
    }
    return s;
}

void abc_check_image_file(const char *path)
{
    char why[512];
    if (abc_image_problem(path, why, sizeof why)) abc_die("'%s' %s", path, why);
}
