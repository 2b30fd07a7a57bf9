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

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) ++s;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

abc_strs abc_read_lines(const char *path, const char *what)
{
    abc_strs s = {NULL, 0};
    char w[64];
    snprintf(w, sizeof w, "%s file", what);
    FILE *fp = abc_open_text(path, w);
    int cap = 0, lineno = 0;
    char *line = NULL;
    size_t len = 0;
    long got;
    while ((got = abc_read_line(fp, &line, &len, ABC_LIST_LINE_MAX)) >= 0 || got == ABC_LINE_TOO_LONG) {
        ++lineno;
        if (got == ABC_LINE_TOO_LONG)
            abc_die("%s file '%s' line %d: longer than %d bytes (not a list of paths?)", what, path, lineno,
                    ABC_LIST_LINE_MAX);
        if (memchr(line, 0, (size_t)got)) abc_die("%s file '%s' line %d: NUL byte (binary file?)", what, path, lineno);
        char *t = trim(line);
        if (!*t) continue;
        if (s.n == cap) {
            cap = cap ? 2 * cap : 256;
            s.v = realloc(s.v, (size_t)cap * sizeof *s.v);
            if (!s.v) abc_die("out of memory reading '%s'", path);
        }
        s.v[s.n++] = abc_xstrdup(t);
    }
    free(line);
    fclose(fp);
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

abc_data_cfg abc_data_cfg_read(const char *path)
{
    abc_data_cfg d = {0};
    d.path = abc_xstrdup(path);
    d.classes = -1;
    d.top = 1;
    FILE *fp = abc_open_text(path, "data file");
    char *line = NULL;
    size_t len = 0;
    int lineno = 0;
    long got;
    unsigned seen_keys = 0;
    while ((got = abc_read_line(fp, &line, &len, ABC_LIST_LINE_MAX)) >= 0 || got == ABC_LINE_TOO_LONG) {
        ++lineno;
        if (got == ABC_LINE_TOO_LONG)
            abc_die("%s:%d: a line longer than %d bytes (not a .data file?)", path, lineno, ABC_LIST_LINE_MAX);
        if (memchr(line, 0, (size_t)got)) abc_die("%s:%d: NUL byte (not a .data file?)", path, lineno);
        char *t = trim(line);
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
    free(line);
    fclose(fp);
    if (d.classes < 0) abc_die("data file '%s': missing key 'classes'", path);
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
    for (int i = 0; i < s.n; ++i) {
        struct stat st;
        errno = 0;
        if (stat(s.v[i], &st) != 0 || !S_ISREG(st.st_mode))
            abc_die("image list '%s', image %d: cannot open '%s': %s", file, i + 1, s.v[i],
                    errno ? strerror(errno) : "not a file");
        /* libdarknet trains or evaluates on a black 10x10 image when it cannot read one */
        abc_check_image_file(s.v[i]);
    }
    return s;
}

void abc_check_image_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) abc_die("cannot open image '%s': %s", path, strerror(errno));
    unsigned char m[12] = {0};
    size_t got = fread(m, 1, sizeof m, fp);
    fclose(fp);
    int ok = got >= 4 && ((m[0] == 0x89 && m[1] == 'P' && m[2] == 'N' && m[3] == 'G') ||
                          (m[0] == 0xFF && m[1] == 0xD8) || (m[0] == 'B' && m[1] == 'M') ||
                          !memcmp(m, "GIF8", 4) || (m[0] == 'P' && m[1] >= '1' && m[1] <= '6') ||
                          !memcmp(m, "II*", 4) || !memcmp(m, "MM\0*", 4) ||
                          (got >= 12 && !memcmp(m, "RIFF", 4) && !memcmp(m + 8, "WEBP", 4)));
    if (!ok) abc_die("'%s' is not an image (PNG, JPEG, BMP, GIF, PNM, TIFF or WebP expected)", path);
}

