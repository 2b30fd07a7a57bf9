/* libFuzzer's entry points: `fuzz <target> [libFuzzer flags] [corpus dirs]` (make fuzz); `fuzz seeds <weights
 * dir> <packfile dir>` writes those targets' seeds (make fuzz-seeds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seeds.h"
#include "targets.h"

static const abc_fuzz_target *target;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (*argc == 4 && !strcmp((*argv)[1], "seeds")) { /* fuzz seeds <weights dir> <packfile dir> */
        abc_fuzz_write_seeds((*argv)[2], (*argv)[3]);
        exit(0);
    }
    /* libFuzzer runs itself again for -merge and -fork with the flags it saw, without the target: the
     * environment carries it */
    const char *env = getenv("ABC_FUZZ_TARGET");
    if (env && (*argc < 2 || !abc_fuzz_find((*argv)[1]))) {
        target = abc_fuzz_find(env);
        if (target) {
            abc_fuzz_keep_stderr();
            return 0;
        }
    }
    if (*argc < 2 || !(target = abc_fuzz_find((*argv)[1]))) {
        fprintf(stderr, "usage: %s <target> [libFuzzer flags] [corpus dirs]\ntargets:\n", (*argv)[0]);
        for (int i = 0; i < abc_fuzz_count(); ++i)
            fprintf(stderr, "  %-9s %s\n", abc_fuzz_at(i)->name, abc_fuzz_at(i)->what);
        exit(2);
    }
    setenv("ABC_FUZZ_TARGET", target->name, 1);
    for (int i = 1; i < *argc; ++i) (*argv)[i] = (*argv)[i + 1]; /* libFuzzer reads the rest */
    --*argc;
    abc_fuzz_keep_stderr();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    abc_fuzz_one(target, data, size);
    return 0;
}
