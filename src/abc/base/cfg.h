/* A darknet cfg file read with line numbers, so that every error can name
 * file:line, layer index, section and key. Each section also carries the
 * darknet `list` of `kvp` that libdarknet's parse_* functions read. */
#ifndef ABC_CFG_H
#define ABC_CFG_H

/* The longest cfg line read: darknet's anchors= and layers= lists fit many times over. */
#define ABC_CFG_LINE_MAX 65536

#include "darknet_private.h"

typedef struct {
    const char *path;  /* the cfg file */
    char *type;        /* "[convolutional]" */
    int line;          /* line of the header */
    int index;         /* layer index (-1 for [net]) */
    list *options;     /* darknet kvp list, in file order */
    int n;             /* number of keys */
    kvp **kv;          /* kv[i] is the i-th key, line[i] its line */
    int *lines;
} abc_section;

typedef struct {
    char *path;
    int n;
    abc_section *sec;
} abc_cfg;

/* Reads and checks the syntax; dies with file:line on the first problem. */
abc_cfg *abc_cfg_read(const char *path);
void abc_cfg_free(abc_cfg *cfg);

/* "cfg/x.cfg:12: layer 3 [convolutional]" for messages about a key (line of
 * the key) or about the section (key NULL: line of the header). */
const char *abc_sec_where(const abc_section *s, const char *key);
void abc_sec_die(const abc_section *s, const char *key, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
void abc_sec_warn(const abc_section *s, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Raw value of a key, or NULL. Marks it used (as darknet's option_find). */
const char *abc_sec_str(const abc_section *s, const char *key);
int abc_sec_has(const abc_section *s, const char *key);

/* Typed, range-checked lookups: a missing key gives def; a malformed or out
 * of range value dies naming the key. */
int abc_sec_int(const abc_section *s, const char *key, int def, int min, int max);
float abc_sec_float(const abc_section *s, const char *key, float def, float min, float max);
/* One of two words: 0 for a, 1 for b, def when the key is missing; anything else dies naming both. */
int abc_sec_choice(const abc_section *s, const char *key, const char *a, const char *b, int def);
/* Mandatory variant: dies if the key is missing. */
int abc_sec_int_req(const abc_section *s, const char *key, int min, int max);
/* Comma separated list; returns a malloc'd array and its length in *n. */
float *abc_sec_floats(const abc_section *s, const char *key, int *n);
int *abc_sec_ints(const abc_section *s, const char *key, int *n);

/* Dies on the first key of the section that is not in keys (NULL ended). */
void abc_sec_only_keys(const abc_section *s, const char *const *keys);

#endif
