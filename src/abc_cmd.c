/* ./darknet abc ...: the project's own tools (hook self-test, build info, cfg
 * check, benchmarks). */
#include "abc/base/util.h"
#include "abc/hooks.h"
#include "commands.h"

static int selftest_run(const abc_cli *a)
{
    const char *why = abc_hooks_selftest();
    if (why) abc_die("hooks: %s", why);
    abc_hook_counts c = abc_hooks_counts();
    printf("hooks live: parse_network_cfg=%ld save_weights_upto=%ld load_weights_upto=%ld gemm=%ld\n", c.parse,
           c.save, c.load, c.gemm);
    return 0;
}

static const abc_cmd selftest_cmd = {
    .name = "selftest",
    .what = "check that the libdarknet hooks (parser, weights I/O, gemm) are live",
    .run = selftest_run,
};

static const abc_cmd *const subs[] = {&selftest_cmd, &abc_info_cmd, &abc_check_cmd, &abc_trainspeed_cmd,
                                      &abc_bench_cmd, &abc_pareto_cmd, NULL};

const abc_cmd abc_abc_cmd = {
    .name = "abc",
    .what = "the project's tools: hook self-test, CPU and build info, cfg check, benchmarks, the accuracy/cost front",
    .subs = subs,
};
