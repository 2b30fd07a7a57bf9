/* A small JSON checker for the tests of commands that print JSON. */
#include <string.h>

#include "test_util.h"

const char *abc_test_json_ws(const char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') ++s;
    return s;
}

static const char *json_string(const char *s)
{
    if (*s != '"') return NULL;
    for (++s; *s && *s != '"'; ++s) {
        if ((unsigned char)*s < 0x20) return NULL;
        if (*s == '\\') {
            ++s;
            if (*s == 'u') {
                for (int i = 1; i <= 4; ++i)
                    if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i]) return NULL;
                s += 4;
            } else if (!*s || !strchr("\"\\/bfnrt", *s)) {
                return NULL;
            }
        }
    }
    return *s == '"' ? s + 1 : NULL;
}

const char *abc_test_json_value(const char *s, int depth)
{
    if (depth > 64) return NULL;
    s = abc_test_json_ws(s);
    if (*s == '{' || *s == '[') {
        char close = *s == '{' ? '}' : ']';
        s = abc_test_json_ws(s + 1);
        if (*s == close) return s + 1;
        for (;;) {
            if (close == '}') {
                if (!(s = json_string(abc_test_json_ws(s)))) return NULL;
                s = abc_test_json_ws(s);
                if (*s++ != ':') return NULL;
            }
            if (!(s = abc_test_json_value(s, depth + 1))) return NULL;
            s = abc_test_json_ws(s);
            if (*s == close) return s + 1;
            if (*s++ != ',') return NULL;
        }
    }
    if (*s == '"') return json_string(s);
    if (!strncmp(s, "true", 4)) return s + 4;
    if (!strncmp(s, "false", 5)) return s + 5;
    if (!strncmp(s, "null", 4)) return s + 4;
    /* a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
    const char *p = s;
    if (*p == '-') ++p;
    if (*p == '0') ++p;
    else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') ++p;
    else return NULL;
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') ++p;
    }
    if (*p == 'e' || *p == 'E') {
        ++p;
        if (*p == '+' || *p == '-') ++p;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') ++p;
    }
    return p;
}

int abc_test_json_valid(const char *text)
{
    const char *e = abc_test_json_value(text, 0);
    return e && !*abc_test_json_ws(e);
}

