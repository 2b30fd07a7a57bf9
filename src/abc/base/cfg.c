#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "util.h"

/* darknet strips every blank of a line, inside it too ("size = 3" -> "size=3") */
static void strip_blanks(char *s)
{
    char *d = s;
    for (; *s; ++s)
        if (!isspace((unsigned char)*s)) *d++ = *s;
    *d = 0;
}

static abc_section *new_section(abc_cfg *cfg, char *type, int line)
{
    cfg->sec = realloc(cfg->sec, (size_t)(cfg->n + 1) * sizeof *cfg->sec);
    if (!cfg->sec) abc_die("out of memory reading %s", cfg->path);
    abc_section *s = &cfg->sec[cfg->n];
    memset(s, 0, sizeof *s);
    s->path = cfg->path;
    s->type = type;
    s->line = line;
    s->index = cfg->n - 1;
    s->options = make_list();
    cfg->n++;
    return s;
}

static void add_key(abc_section *s, char *key, char *val, int line)
{
    for (int i = 0; i < s->n; ++i) {
        if (strcmp(s->kv[i]->key, key)) continue;
        /* Debian's own yolo9000.cfg repeats "batch=1": the same value twice is harmless
         * (darknet uses the first); two different values are a mistake darknet hides. */
        if (strcmp(s->kv[i]->val, val)) {
            char msg[4096];
            snprintf(msg, sizeof msg, "%s:%d: %s: key '%s' given twice with different values ('%s' at line %d, "
                     "'%s' here; darknet would silently use the first)", s->path, line, s->type, key,
                     s->kv[i]->val, s->lines[i], val);
            free(key);
            abc_die("%s", msg);
        }
        abc_warn("%s:%d: %s: key '%s' given twice (first at line %d, same value)", s->path, line, s->type, key,
                 s->lines[i]);
        free(key); /* val shares its allocation */
        return;
    }
    kvp *p = abc_xcalloc(1, sizeof *p);
    p->key = key;
    p->val = val;
    list_insert(s->options, p);
    s->kv = realloc(s->kv, (size_t)(s->n + 1) * sizeof *s->kv);
    s->lines = realloc(s->lines, (size_t)(s->n + 1) * sizeof *s->lines);
    if (!s->kv || !s->lines) abc_die("out of memory reading %s", s->path);
    s->kv[s->n] = p;
    s->lines[s->n] = line;
    s->n++;
}

static void cfg_free_indirect(void *owned) { abc_cfg_free(*(abc_cfg **)owned); }

abc_cfg *abc_cfg_read(const char *path)
{
    abc_cfg *cfg = NULL;
    abc_text_in in;
    abc_text_open(&in, path, "cfg file", cfg_free_indirect, &cfg);
    cfg = abc_xcalloc(1, sizeof *cfg);
    cfg->path = abc_xstrdup(path);
    long len;
    abc_section *cur = NULL;
    while ((len = abc_text_next(&in, ABC_CFG_LINE_MAX)) != -1) {
        char *buf = in.line;
        int line = in.lineno;
        if (len == ABC_LINE_TOO_LONG)
            abc_die("%s:%d: a line longer than %d bytes (not a cfg file?)", path, line, ABC_CFG_LINE_MAX);
        if (memchr(buf, 0, (size_t)len))
            abc_die("%s:%d: not a text cfg file (NUL byte)", path, line);
        strip_blanks(buf);
        if (!buf[0] || buf[0] == '#' || buf[0] == ';') continue;
        if (buf[0] == '[') {
            size_t n = strlen(buf);
            if (n < 3 || buf[n - 1] != ']')
                abc_die("%s:%d: malformed section header '%s' (expected [name])", path, line, buf);
            cur = new_section(cfg, abc_xstrdup(buf), line);
            continue;
        }
        char *eq = strchr(buf, '=');
        /* quote at most 60 bytes: a binary file has long "lines" */
        const char *more = strlen(buf) > 60 ? "..." : "";
        if (!eq) abc_die("%s:%d: expected key=value, found '%.60s%s'", path, line, buf, more);
        if (!cur) abc_die("%s:%d: '%.60s%s' comes before the first [section]", path, line, buf, more);
        if (eq == buf) abc_die("%s:%d: %s: missing key before '='", path, line, cur->type);
        if (!eq[1]) {
            *eq = 0;
            abc_die("%s:%d: %s: key '%s' has no value", path, line, cur->type, buf);
        }
        /* key and value share one allocation, as in darknet (free_section frees key) */
        char *key = abc_xstrdup(buf);
        char *val = key + (eq - buf);
        *val++ = 0;
        add_key(cur, key, val, line);
    }
    if (cfg->n == 0) abc_die("%s: no sections (is this a darknet cfg file?)", path);
    abc_text_close(&in);
    return cfg;
}

void abc_cfg_free(abc_cfg *cfg)
{
    if (!cfg) return;
    for (int i = 0; i < cfg->n; ++i) {
        abc_section *s = &cfg->sec[i];
        for (int k = 0; k < s->n; ++k) {
            free(s->kv[k]->key);
            free(s->kv[k]);
        }
        free_list(s->options);
        free(s->kv);
        free(s->lines);
        free(s->type);
    }
    free(cfg->sec);
    free(cfg->path);
    free(cfg);
}

static int key_pos(const abc_section *s, const char *key)
{
    for (int i = 0; i < s->n; ++i)
        if (!strcmp(s->kv[i]->key, key)) return i;
    return -1;
}

const char *abc_sec_where(const abc_section *s, const char *key)
{
    static char buf[1024];
    int i = key ? key_pos(s, key) : -1;
    int line = i >= 0 ? s->lines[i] : s->line;
    if (s->index < 0)
        snprintf(buf, sizeof buf, "%s:%d: %s", s->path, line, s->type);
    else
        snprintf(buf, sizeof buf, "%s:%d: layer %d %s", s->path, line, s->index, s->type);
    return buf;
}

static void sec_report(int fatal, const abc_section *s, const char *key, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (fatal)
        abc_die("%s: %s%s%s", abc_sec_where(s, key), key ? key : "", key ? ": " : "", msg);
    abc_warn("%s: %s%s%s", abc_sec_where(s, key), key ? key : "", key ? ": " : "", msg);
}

void abc_sec_die(const abc_section *s, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sec_report(1, s, key, fmt, ap);
    va_end(ap);
    abort(); /* not reached */
}

void abc_sec_warn(const abc_section *s, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sec_report(0, s, key, fmt, ap);
    va_end(ap);
}

const char *abc_sec_str(const abc_section *s, const char *key)
{
    int i = key_pos(s, key);
    if (i < 0) return NULL;
    s->kv[i]->used = 1;
    return s->kv[i]->val;
}

int abc_sec_has(const abc_section *s, const char *key)
{
    return key_pos(s, key) >= 0;
}

int abc_sec_choice(const abc_section *s, const char *key, const char *a, const char *b, int def)
{
    const char *x = abc_sec_str(s, key);
    if (!x) return def;
    if (!strcmp(x, a)) return 0;
    if (!strcmp(x, b)) return 1;
    abc_sec_die(s, key, "expected '%s' or '%s', got '%s'", a, b, x);
}

static int parse_int(const char *v, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end) return 0;
    *out = x;
    return 1;
}

static int parse_float(const char *v, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x)) return 0;
    *out = x;
    return 1;
}

int abc_sec_int(const abc_section *s, const char *key, int def, int min, int max)
{
    const char *v = abc_sec_str(s, key);
    if (!v) return def;
    long x;
    if (!parse_int(v, &x)) abc_sec_die(s, key, "'%s' is not an integer", v);
    if (x < min || x > max) {
        if (max == INT_MAX) abc_sec_die(s, key, "%ld is out of range (must be >= %d)", x, min);
        abc_sec_die(s, key, "%ld is out of range (must be %d..%d)", x, min, max);
    }
    return (int)x;
}

int abc_sec_int_req(const abc_section *s, const char *key, int min, int max)
{
    if (!abc_sec_has(s, key)) abc_sec_die(s, NULL, "missing required key '%s'", key);
    return abc_sec_int(s, key, 0, min, max);
}

float abc_sec_float(const abc_section *s, const char *key, float def, float min, float max)
{
    const char *v = abc_sec_str(s, key);
    if (!v) return def;
    double x;
    if (!parse_float(v, &x)) abc_sec_die(s, key, "'%s' is not a number", v);
    if (x < min || x > max) abc_sec_die(s, key, "%g is out of range (must be %g..%g)", x, min, max);
    return (float)x;
}

/* Splits "a,b,c" and checks each item with ok(); returns count and items. */
static char **split_list(const abc_section *s, const char *key, int *n)
{
    const char *v = abc_sec_str(s, key);
    *n = 0;
    if (!v) return NULL;
    int cnt = 1, len = 0; /* items counted, and an empty one refused, before anything is allocated */
    for (const char *p = v;; ++p, ++len) {
        if (*p && *p != ',') continue;
        if (!len) abc_sec_die(s, key, "empty item %d in list '%s'", cnt, v);
        if (!*p) break;
        ++cnt;
        len = -1;
    }
    char *copy = abc_xstrdup(v);
    char **items = abc_xcalloc((size_t)cnt + 1, sizeof *items);
    items[cnt] = copy; /* owner of the storage, freed by the caller */
    char *p = copy;
    for (int i = 0; i < cnt; ++i) {
        items[i] = p;
        char *c = strchr(p, ',');
        if (c) { *c = 0; p = c + 1; }
    }
    *n = cnt;
    return items;
}

/* A list being parsed, freed by abc_die's cleanups should an item be refused. */
typedef struct {
    char **items;
    int n;
    void *out;
} list_parse;

static void list_parse_free(void *arg)
{
    list_parse *l = arg;
    free(l->items[l->n]);
    free(l->items);
    free(l->out);
}

float *abc_sec_floats(const abc_section *s, const char *key, int *n)
{
    char **items = split_list(s, key, n);
    if (!items) return NULL;
    float *out = abc_xcalloc((size_t)*n, sizeof *out);
    list_parse lp = {items, *n, out};
    abc_cleanup_push(list_parse_free, &lp);
    for (int i = 0; i < *n; ++i) {
        double x;
        if (!parse_float(items[i], &x)) abc_sec_die(s, key, "item %d '%s' is not a number", i + 1, items[i]);
        out[i] = (float)x;
    }
    abc_cleanup_pop(&lp);
    free(items[*n]);
    free(items);
    return out;
}

int *abc_sec_ints(const abc_section *s, const char *key, int *n)
{
    char **items = split_list(s, key, n);
    if (!items) return NULL;
    int *out = abc_xcalloc((size_t)*n, sizeof *out);
    list_parse lp = {items, *n, out};
    abc_cleanup_push(list_parse_free, &lp);
    for (int i = 0; i < *n; ++i) {
        long x;
        if (!parse_int(items[i], &x) || x < INT_MIN || x > INT_MAX)
            abc_sec_die(s, key, "item %d '%s' is not an integer", i + 1, items[i]);
        out[i] = (int)x;
    }
    abc_cleanup_pop(&lp);
    free(items[*n]);
    free(items);
    return out;
}

void abc_sec_only_keys(const abc_section *s, const char *const *keys)
{
    for (int i = 0; i < s->n; ++i) {
        int known = 0;
        for (const char *const *k = keys; *k && !known; ++k) known = !strcmp(*k, s->kv[i]->key);
        if (!known) abc_sec_die(s, s->kv[i]->key, "unknown key for %s (misspelled?)", s->type);
    }
}
