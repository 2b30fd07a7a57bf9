/* ./darknet: command dispatch, darknet style. Global options (-threads N) are
 * read here; everything else belongs to the command family. */
#include <stdlib.h>
#include <string.h>

#include "abc/base/threads.h"
#include "abc/base/util.h"
#include "abc/float/float_fast.h"
#include "abc/hooks.h"
#include "abc/kernels/blas_core.h"
#include "commands.h"

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s <command> [args] [-threads N]\n"
            "commands:\n"
            "  classifier train|valid|predict [data] <cfg> [weights] [image]\n"
            "  data fashion-mnist [-out DIR] [-limit N]\n"
            "  demo                 prepare data, train a small model, evaluate it\n"
            "  abc selftest|info    check the libdarknet hooks; print CPU and build info\n"
            "  abc check <cfg> [weights]   parse a cfg (and weights) and print the network or the first error\n"
            "  abc trainspeed <cfg> [-iters N] [-compare]   training images/s (ABC_FLOAT=stock: darknet's layers)\n",
            prog);
}

/* Removes "-threads N" from argv and applies it; returns the new argc. */
static int take_threads_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "-threads") != 0) continue;
        if (i + 1 >= argc) abc_die("-threads needs a number");
        char *end;
        long n = strtol(argv[i + 1], &end, 10);
        if (*end || n < 1 || n > 1024) abc_die("-threads: '%s' is not a number from 1 to 1024", argv[i + 1]);
        abc_set_threads((int)n);
        memmove(argv + i, argv + i + 2, (size_t)(argc - i - 1) * sizeof *argv);
        return argc - 2;
    }
    return argc;
}

int main(int argc, char **argv)
{
    abc_blas_fix_core(argv); /* before anything: may start the program again with OPENBLAS_CORETYPE set */
    argc = take_threads_arg(argc, argv);
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argv[0]);
        return argc < 2 ? 1 : 0;
    }
    abc_float_fast_enabled(); /* checks ABC_FLOAT before anything runs quietly */
    abc_hooks_require_live();
    const char *cmd = argv[1];
    if (!strcmp(cmd, "classifier")) return abc_classifier_main(argc, argv);
    if (!strcmp(cmd, "data")) return abc_data_main(argc, argv);
    if (!strcmp(cmd, "demo")) return abc_demo_main(argc, argv);
    if (!strcmp(cmd, "abc")) return abc_abc_main(argc, argv);
    usage(argv[0]);
    abc_die("unknown command '%s'", cmd);
}
