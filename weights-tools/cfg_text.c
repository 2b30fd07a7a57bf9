/* A cfg as text (cfg_text.h). */
#include "cfg_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/cfg.h"
#include "abc/base/files.h"
#include "abc/base/util.h"

abc_cfg_text abc_cfg_text_read(const char *path)
{
    FILE *fp = abc_open_text(path, "cfg file");
    abc_cfg_text t = {0};
    int cap = 0, scap = 0;
    char *buf = NULL;
    size_t bcap = 0;
    long got;
    while ((got = abc_read_line(fp, &buf, &bcap, ABC_CFG_LINE_MAX)) != -1) {
        if (got == ABC_LINE_TOO_LONG || memchr(buf, 0, (size_t)got))
            abc_die(got < 0 ? "%s:%d: a line longer than %d bytes (not a cfg file?)" : "%s:%d: NUL byte (not a cfg file?)",
                    path, t.nlines + 1, ABC_CFG_LINE_MAX);
        if (t.nlines == cap) t.line = realloc(t.line, (size_t)(cap = cap ? 2 * cap : 256) * sizeof *t.line);
        if (!t.line) abc_die("out of memory (cfg)");
        t.line[t.nlines] = abc_xstrdup(buf);
        const char *p = buf + strspn(buf, " \t");
        if (*p == '[') {
            if (t.nsec + 1 >= scap) t.sec = realloc(t.sec, (size_t)(scap = scap ? 2 * scap : 64) * sizeof *t.sec);
            if (!t.sec) abc_die("out of memory (cfg)");
            t.sec[t.nsec++] = t.nlines;
        }
        ++t.nlines;
    }
    free(buf);
    fclose(fp);
    if (!t.nsec) abc_die("cfg file '%s' has no sections", path);
    t.sec = realloc(t.sec, (size_t)(t.nsec + 1) * sizeof *t.sec);
    t.sec[t.nsec] = t.nlines;
    return t;
}

void abc_cfg_key_of(const char *line, char *k, size_t n)
{
    const char *p = line + strspn(line, " \t");
    k[0] = 0;
    if (*p == '#' || *p == ';' || *p == '[' || !strchr(p, '=')) return;
    size_t len = strcspn(p, "= \t");
    if (len >= n) len = n - 1;
    memcpy(k, p, len);
    k[len] = 0;
}

void abc_cfg_text_free(abc_cfg_text *t)
{
    for (int i = 0; i < t->nlines; ++i) free(t->line[i]);
    free(t->line);
    free(t->sec);
    memset(t, 0, sizeof *t);
}

void abc_cfg_text_write(const abc_cfg_text *t, const char *const *becomes, int (*takes)(const char *type,
                        const char *key), const char *const *trailer, const char *path)
{
    abc_atomic_file out;
    if (abc_atomic_open(&out, path)) abc_die("cannot write '%s': %s", path, strerror(errno));
    for (int l = 0; l < t->sec[0]; ++l) fputs(t->line[l], out.fp); /* comments before [net] */
    for (int k = 0; k < t->nsec; ++k) {
        int i = k - 1, end = t->sec[k + 1];
        if (k == 0 || !becomes[i]) {
            for (int l = t->sec[k]; l < end; ++l) fputs(t->line[l], out.fp);
            continue;
        }
        /* the section's own lines end at its last key; blank lines and comments after it stay after the keys */
        int last = t->sec[k];
        for (int l = t->sec[k] + 1; l < end; ++l) {
            char key[64];
            abc_cfg_key_of(t->line[l], key, sizeof key);
            if (key[0]) last = l;
        }
        fprintf(out.fp, "[%s]\n", becomes[i]);
        for (int l = t->sec[k] + 1; l <= last; ++l) {
            char key[64];
            abc_cfg_key_of(t->line[l], key, sizeof key);
            if (key[0] && !takes(becomes[i], key)) continue;
            fputs(t->line[l], out.fp);
            if (l == last && t->line[l][strlen(t->line[l]) - 1] != '\n') fputc('\n', out.fp);
        }
        if (trailer && trailer[i]) fputs(trailer[i], out.fp);
        for (int l = last + 1; l < end; ++l) fputs(t->line[l], out.fp);
    }
    if (abc_atomic_commit(&out)) abc_die("writing '%s' failed (disk full?)", path);
}
