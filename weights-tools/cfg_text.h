/* A cfg as text, section by section, for the tools that rewrite some sections of a cfg and keep every other line
 * (comments included) as it was: weights convert and weights export. */
#ifndef ABC_CFG_TEXT_H
#define ABC_CFG_TEXT_H

#include <stddef.h>

typedef struct {
    char **line;   /* each with its newline */
    int nlines;
    int nsec;      /* sections ([net] is section 0) */
    int *sec;      /* sec[k]: the line where section k starts (its [header]); sec[nsec] = nlines */
} abc_cfg_text;

/* Reads path (dies with one line if it cannot, or if it has no section). */
abc_cfg_text abc_cfg_text_read(const char *path);
void abc_cfg_text_free(abc_cfg_text *t);
/* The key of a "key=value" line into k (empty for comments, blank lines and headers). */
void abc_cfg_key_of(const char *line, char *k, size_t n);
/* Writes t to path atomically, layer section i (section i + 1) as [becomes[i]] where becomes[i] is not NULL: its
 * keys that takes(becomes[i], key) accepts, in their order, then trailer[i] (lines, may be NULL), then the blank
 * lines and comments that followed its last key. */
void abc_cfg_text_write(const abc_cfg_text *t, const char *const *becomes, int (*takes)(const char *type,
                        const char *key), const char *const *trailer, const char *path);

#endif
