/* ./darknet data fashion-mnist [-out DIR] [-limit N] */
#include <stdlib.h>
#include <string.h>

#include "abc/base/util.h"
#include "commands.h"
#include "fmnist.h"

int abc_data_main(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[2], "fashion-mnist"))
        abc_die("usage: %s data fashion-mnist [-out DIR] [-limit N]", argv[0]);
    const char *out = ABC_FMNIST_DIR;
    int limit = 0;
    for (int i = 3; i < argc; ++i) {
        if (!strcmp(argv[i], "-out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "-limit") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 1000000) abc_die("-limit: '%s' is not a positive number", argv[i]);
            limit = (int)n;
        } else {
            abc_die("data fashion-mnist: unknown or incomplete option '%s'", argv[i]);
        }
    }
    abc_fmnist_prepare(out, limit);
    return 0;
}
