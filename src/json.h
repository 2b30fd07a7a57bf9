/* JSON output: what the commands' -json and -out files share. */
#ifndef ABC_JSON_H
#define ABC_JSON_H

#include <stdio.h>

/* s as a JSON string, quotes included (escaped: quote, backslash, control characters); NULL as null. */
void abc_json_string(FILE *fp, const char *s);

#endif
