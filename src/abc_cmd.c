/* ./darknet abc ...: project tools (hook self-test, build info, benchmarks). */
#include <string.h>

#include "abc/base/threads.h"
#include "abc/base/util.h"
#include "abc/hooks.h"
#include "commands.h"

int abc_abc_main(int argc, char **argv)
{
    if (argc < 3) abc_die("usage: %s abc selftest|info|check|trainspeed|bench", argv[0]);
    if (!strcmp(argv[2], "selftest")) {
        const char *why = abc_hooks_selftest();
        if (why) abc_die("hooks: %s", why);
        abc_hook_counts c = abc_hooks_counts();
        printf("hooks live: parse_network_cfg=%ld save_weights_upto=%ld load_weights_upto=%ld gemm=%ld\n",
               c.parse, c.save, c.load, c.gemm);
        return 0;
    }
    if (!strcmp(argv[2], "check")) { int abc_check_main(int, char **); return abc_check_main(argc, argv); }
    if (!strcmp(argv[2], "trainspeed")) return abc_trainspeed_main(argc, argv);
    if (!strcmp(argv[2], "bench")) return abc_bench_main(argc, argv);
    if (!strcmp(argv[2], "info")) {
        printf("threads: %d (cores: %d)\n", abc_get_threads(), abc_cpu_count());
        return 0;
    }
    abc_die("unknown abc subcommand '%s' (selftest, info, check, trainspeed, bench)", argv[2]);
}
